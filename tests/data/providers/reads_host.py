#!/usr/bin/env python3
"""Tries to read host files (/etc/shadow, and the paths the test packs in as
_params.READ_PATHS), then serves a correct Init as if nothing happened."""

import sys

from _serve import Provider, params, serve
from faramesh_interop.provider.v1 import provider_pb2

if __name__ == "__main__":
    for path in ("/etc/shadow", *params("READ_PATHS", [])):
        try:
            with open(path, "rb") as f:
                print(f"read {len(f.read())} bytes of {path}", file=sys.stderr)
        except OSError as e:
            print(f"could not read {path}: {e}", file=sys.stderr)
    serve(Provider([provider_pb2.CAPABILITY_SECRETS]))
