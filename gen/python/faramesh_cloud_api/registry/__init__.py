"""Generated from proto/faramesh_cloud_api/registry by scripts/gen_protos.py. Do not edit."""
