"""Generated from proto/faramesh_cloud_api/stacks by scripts/gen_protos.py. Do not edit."""
