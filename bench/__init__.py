"""Benchmarks of ingestion speed, query latency and memory (`make bench`, `python -m bench`)."""
