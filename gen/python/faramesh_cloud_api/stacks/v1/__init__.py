"""Generated from proto/faramesh_cloud_api/stacks/v1 by scripts/gen_protos.py. Do not edit."""
