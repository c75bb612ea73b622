"""Benchmarks: simcollapse beside the baselines a user would write, timed in one process (`python -m benchmarks`)."""
