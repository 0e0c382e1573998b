"""Benchmarks: how the cost of each layer grows with data size, against a DuckDB-only baseline.

``lakehouse.bench.generate`` writes synthetic weather history in the real landing format,
``lakehouse.bench.duckdb_baseline`` is the baseline, ``lakehouse.bench.runner`` measures every
step and ``lakehouse.bench.report`` prints the table and writes the JSON and docs figures.
"""
