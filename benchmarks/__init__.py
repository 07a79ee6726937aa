"""Benchmarks, run with `openbss bench NAME`; each prints one JSON object on its last line."""
