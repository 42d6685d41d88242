"""Generated from proto/faramesh_cloud_api/approvals by scripts/gen_protos.py. Do not edit."""
