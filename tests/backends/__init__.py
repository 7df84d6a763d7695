"""Tests of the built-in backends."""
