"""Benchmarks that print figures with their goals (run e.g. ``python -m bench.engine``)."""
