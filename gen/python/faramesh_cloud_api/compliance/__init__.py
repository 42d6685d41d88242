"""Generated from proto/faramesh_cloud_api/compliance by scripts/gen_protos.py. Do not edit."""
