#!/usr/bin/env python3
"""A well-behaved SECRETS provider: listens, answers Init healthy with version 1.0.0."""

from _serve import Provider, serve
from faramesh_interop.provider.v1 import provider_pb2

if __name__ == "__main__":
    serve(Provider([provider_pb2.CAPABILITY_SECRETS]))
