"""Generated from proto/faramesh_cloud_api/forwarding by scripts/gen_protos.py. Do not edit."""
