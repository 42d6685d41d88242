"""Generated from proto/faramesh_interop/provider/v1 by scripts/gen_protos.py. Do not edit."""
