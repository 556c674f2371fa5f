"""Benchmarks: a generator of Harbor 0.5.0 databases at scale, and timings of the
upgrade and of snapshot/restore against what the server itself can do.
See docs/benchmarks.md for the commands and the figures."""
