"""Generated from proto/faramesh_interop/provider by scripts/gen_protos.py. Do not edit."""
