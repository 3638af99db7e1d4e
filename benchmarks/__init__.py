"""Benchmarks: run by hand, print figures, assert nothing about time (kept apart from tests)."""
