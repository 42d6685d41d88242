"""Generated from proto/faramesh_cloud_api/billing/v1 by scripts/gen_protos.py. Do not edit."""
