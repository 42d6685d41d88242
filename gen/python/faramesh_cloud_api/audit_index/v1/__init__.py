"""Generated from proto/faramesh_cloud_api/audit_index/v1 by scripts/gen_protos.py. Do not edit."""
