"""Collectors: decode what real network elements emit into `UsageRecord`s and store them through
`mediation.service.ingest_lines`, so rating, dedupe (source, record_key) and rejection reports are the
same as for every other intake.

- `asterisk`, `freeswitch`: CSV call records (decoding rules and the time-zone option in `calls`).
- `radius`: a RADIUS accounting server (UDP, RFC 2866) storing data usage per session.
- `spool`: a directory where CDR files are dropped, each stored exactly once with a decoder above.

This package's own import is light (the schema module imports its `tables`).
"""
