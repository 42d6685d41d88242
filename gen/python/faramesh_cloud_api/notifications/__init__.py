"""Generated from proto/faramesh_cloud_api/notifications by scripts/gen_protos.py. Do not edit."""
