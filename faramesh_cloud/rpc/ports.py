"""Binding gRPC servers: one owner per port, and a one-line error when a port is taken.

grpcio sets ``SO_REUSEPORT`` on its listening sockets by default, so a second Cloud (another
data dir) binds the same sync or internal port without complaint and the kernel splits the
connections between the two. Every server is built with :func:`server_options` (reuse
off) and bound with :func:`bind`, which first tries the address with a plain socket: a
taken port is reported as :class:`PortUnavailable` naming the address and the setting to
change, before gRPC logs its own multi-line error. gRPC's bind failure is still caught, for
the port taken in between.

No gRPC import here: the CLI imports :class:`PortUnavailable` before gRPC is loaded.
"""

from __future__ import annotations

import errno
import socket
from typing import Any, Final, Protocol

REUSEPORT_OFF: Final = ("grpc.so_reuseport", 0)
INTERNAL_PORT_SETTING: Final = ("FARAMESH_CLOUD_INTERNAL_BASE_PORT to the first of a free range of ports "
                                "(each service listens on the base plus its index)")


class PortUnavailable(OSError):
    """A server cannot listen on its address; ``str()`` is one line saying what to change."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class _Server(Protocol):
    def add_secure_port(self, address: str, server_credentials: Any) -> int: ...


def server_options(*extra: tuple[str, Any]) -> list[tuple[str, Any]]:
    """Options for ``grpc.aio.server``: port reuse off, then ``extra``."""
    return [REUSEPORT_OFF, *extra]


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` → (host, port)."""
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def _reason(exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return "is in use (another Faramesh Cloud, or another program, listens there)"
    if exc.errno == errno.EACCES:
        return "needs privileges this user does not have"
    if exc.errno == errno.EADDRNOTAVAIL:
        return "is not an address of this host"
    return f"cannot be bound ({exc.strerror or exc})"


def _message(what: str, address: str, reason: str, setting: str) -> str:
    return f"{what} cannot listen on {address}: the port {reason}; set {setting}"


def internal_api(service: str) -> str:
    """How a port error names ``service``'s internal API."""
    return f"the {service} service's internal gRPC API"


def check_free(address: str, what: str, setting: str) -> None:
    """Raise :class:`PortUnavailable` unless ``address`` can be bound now (port 0 always can)."""
    host, port = split_address(address)
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise PortUnavailable(f"{what} cannot listen on {address}: {exc.strerror}; set {setting}") from None
    for family, kind, proto, _, sockaddr in infos:
        with socket.socket(family, kind, proto) as probe:
            # As gRPC binds: address reuse on (a closed server's TIME_WAIT connections do not
            # block it), port reuse off (a listening socket does).
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(sockaddr)
            except OSError as exc:
                raise PortUnavailable(_message(what, address, _reason(exc), setting)) from None


def bind(server: _Server, address: str, credentials: Any, what: str, setting: str) -> int:
    """Add a TLS port to ``server`` (built with :func:`server_options`); the bound port."""
    check_free(address, what, setting)
    try:
        return server.add_secure_port(address, credentials)
    except RuntimeError:  # taken between the check and now
        raise PortUnavailable(_message(what, address, "is in use or cannot be bound", setting)) from None

