"""storekit's benchmarks: the shared workloads W1-W5 and start-up, with floors measured in the same run.

Run ``python -m benchmarks.run --help``; see ``benchmarks/README.md``.
"""
