"""Audit index: every DPR searchable in ClickHouse, every agent chain verified in PostgreSQL.

Consumes ``dpr.records.v1`` (consumer group ``audit-index``). Per message the processor
(pure) parses the record, recomputes its hash and checks its signature; per batch the sink
classifies chain links against the per-agent tips kept in PostgreSQL, inserts the new rows
into the ClickHouse table and stores tips, findings, alerts and the consumed position in one
PostgreSQL transaction. ``query`` is the tenant-scoped read API the explorer uses.
"""
