"""Benchmarks run by `make bench`; each writes its section of docs/PERFORMANCE.md."""
