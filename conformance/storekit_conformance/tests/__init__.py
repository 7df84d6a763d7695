"""Checks that run the suites against the implementations named by the ``--storekit-*`` options."""
