"""Generated from proto/faramesh_cloud_api/forwarding/v1 by scripts/gen_protos.py. Do not edit."""
