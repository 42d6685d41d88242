"""What every test provider shares: serve ProviderService on the socket the daemon names.

Packed into each provider's zipapp with the generated stubs (tests/unit/test_registry_sandbox.py).
"""

from __future__ import annotations

import os
import sys
from concurrent import futures

import grpc
from faramesh_interop.provider.v1 import provider_pb2, provider_pb2_grpc


def params(name: str, default: object) -> object:
    """A value the test packed in (module ``_params``), else ``default``."""
    try:
        import _params  # type: ignore[import-not-found]
    except ImportError:
        return default
    return getattr(_params, name, default)


def socket_path() -> str:
    path = sys.argv[1] if len(sys.argv) > 1 else os.environ["FARAMESH_PROVIDER_SOCKET"]
    if path != os.environ.get("FARAMESH_PROVIDER_SOCKET"):
        sys.exit("argv[1] and FARAMESH_PROVIDER_SOCKET disagree")
    return path


class Provider(provider_pb2_grpc.ProviderServiceServicer):
    def __init__(self, capabilities: list[int], version: str = "1.0.0") -> None:
        self.capabilities = capabilities
        self.version = version

    def Init(self, request, context):
        if not request.dry_run:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "expected a dry run")
        return provider_pb2.ProviderInfo(
            capabilities=self.capabilities,
            health=provider_pb2.HealthStatus(healthy=True, detail="ok"),
            schema=[
                provider_pb2.ConfigSchemaField(name="vault_addr", type="string", required=True)
            ],
            version=self.version,
        )


def serve(provider: Provider) -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    provider_pb2_grpc.add_ProviderServiceServicer_to_server(provider, server)
    server.add_insecure_port(f"unix://{socket_path()}")
    server.start()
    server.wait_for_termination()
