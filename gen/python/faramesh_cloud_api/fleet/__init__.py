"""Generated from proto/faramesh_cloud_api/fleet by scripts/gen_protos.py. Do not edit."""
