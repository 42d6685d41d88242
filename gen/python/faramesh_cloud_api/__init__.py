"""Generated from proto/faramesh_cloud_api by scripts/gen_protos.py. Do not edit."""
