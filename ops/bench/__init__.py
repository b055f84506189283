"""Benchmarks: the hub against the raw parts it is built on, measured side by side."""
