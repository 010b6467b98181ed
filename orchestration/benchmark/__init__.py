"""Benchmark: the pipeline against a floor of the same work hand-written as one DuckDB statement."""
