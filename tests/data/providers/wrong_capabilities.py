#!/usr/bin/env python3
"""Answers Init with KMS while its manifest declares SECRETS."""

from _serve import Provider, serve
from faramesh_interop.provider.v1 import provider_pb2

if __name__ == "__main__":
    serve(Provider([provider_pb2.CAPABILITY_KMS]))
