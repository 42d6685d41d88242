"""TLS 1.3 minimum for gRPC servers, which grpcio cannot be told directly.

grpcio (1.85) has no TLS-version argument (upstream issue grpc/grpc#37305). Its BoringSSL
core reads the TLS 1.2 cipher list from the ``GRPC_SSL_CIPHER_SUITES`` environment
variable; naming TLS 1.3 suites there makes the server fail ("Invalid cipher list"). What
works is to allow exactly one TLS 1.2 suite that can never be negotiated:
``PSK-AES128-CBC-SHA`` needs a pre-shared key, which gRPC never configures, so a TLS 1.2
client finds no shared cipher and the handshake fails, while TLS 1.3 (whose suites this
variable does not govern) negotiates normally. See design/TOOLING.md section 9.

Two consequences, both handled here:

* gRPC reads the variable once, when its core initialises on ``import grpc``; setting it
  later changes nothing. Entry points therefore call :func:`require_tls13_env` before
  anything imports ``grpc`` (this module does not import it), and every server checks the
  result with :func:`tls12_refused` after it binds, refusing to run if TLS 1.2 gets through.
* The variable is process-wide, so gRPC *clients* in the same process are TLS 1.3-only
  too, which the sync channel wants anyway.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from typing import Final

CIPHER_ENV: Final = "GRPC_SSL_CIPHER_SUITES"
TLS12_BLOCKER: Final = "PSK-AES128-CBC-SHA"


class InsecureTransport(RuntimeError):
    """A gRPC server would accept TLS 1.2; the message says how to start it correctly."""


def require_tls13_env() -> None:
    """Put the TLS 1.2 blocker into the environment (effective only if gRPC has not been
    imported yet in this process)."""
    os.environ[CIPHER_ENV] = TLS12_BLOCKER
    # gRPC core logs every refused TLS 1.2 handshake (including the start-up self-check) at
    # INFO on stderr; keep its errors, drop that noise, unless the operator chose otherwise.
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")


def insecure_transport_message(address: str) -> str:
    return (
        f"the gRPC server on {address} accepted a TLS 1.2 handshake, but the sync channel "
        f"requires TLS 1.3: start the process with {CIPHER_ENV}={TLS12_BLOCKER} in its "
        "environment (the faramesh-cloud entry point sets it before gRPC is imported), or "
        "call faramesh_cloud.rpc.tls13.require_tls13_env() before anything imports grpc"
    )


async def tls12_refused(host: str, port: int, timeout_s: float = 5.0) -> bool:
    """Try a TLS 1.2-only handshake against ``host:port``: True when the server refuses it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # only the protocol version is being probed
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["h2"])
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context), timeout=timeout_s
        )
    except (ssl.SSLError, ConnectionError, asyncio.IncompleteReadError):
        return True
    except TimeoutError:
        raise InsecureTransport(
            f"no TLS answer from {host}:{port} within {timeout_s:g} s, so TLS 1.2 refusal could "
            "not be confirmed; check that the address is reachable from this host"
        ) from None
    writer.transport.abort()  # the verdict is in; no polite TLS shutdown needed
    return False
