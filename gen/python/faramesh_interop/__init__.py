"""Generated from proto/faramesh_interop by scripts/gen_protos.py. Do not edit."""
