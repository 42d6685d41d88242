"""Generated from proto/faramesh_cloud_api/billing by scripts/gen_protos.py. Do not edit."""
