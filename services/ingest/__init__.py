"""Ingest: the daemon-facing sync channel (``faramesh_cloud_api.sync.v1.SyncService``).

Daemons push batches over gRPC/TLS 1.3; ingest authenticates the stack key, validates the
batch (``processor``, pure), appends it to the log and only then acknowledges it (``acks``).
"""
