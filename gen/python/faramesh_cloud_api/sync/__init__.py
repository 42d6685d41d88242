"""Generated from proto/faramesh_cloud_api/sync by scripts/gen_protos.py. Do not edit."""
