"""The SSRF guard for outbound destinations people configure (notifications, observability
forwarding).

Cloud sends requests to URLs people type in, from inside its own network. A destination may
therefore not resolve to loopback, link-local (cloud metadata at 169.254.169.254 and
fd00:ec2::254 included), private, shared (CGNAT), multicast, unspecified, reserved or
documentation addresses, nor hide one inside IPv6 (IPv4-mapped ``::ffff:a.b.c.d``,
IPv4-compatible, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``, Teredo). The check runs when a
destination is saved (a clear 400) and again before every send, on the addresses the
connection will actually use (DNS rebinding): callers connect to the checked address.

``allow_private`` (``Settings.allow_private_destinations``, for self-hosted installs that
notify internal systems) permits every unicast address but the cloud metadata endpoints
(169.254.169.254, fd00:ec2::254, 100.100.100.200, also wrapped in IPv6): a person who may
configure a destination must not reach the host's cloud credentials through it. Multicast and
unspecified stay refused too.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

_METADATA: Final = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"),
                              ipaddress.ip_address("100.100.100.200")})
_NAT64: Final = ipaddress.ip_network("64:ff9b::/96")
_SHARED: Final = ipaddress.ip_network("100.64.0.0/10")


class UnsafeDestination(ValueError):
    """A destination Cloud will not connect to; the message says why and what to do."""


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if int(ip) >> 32 == 0 and int(ip) > 1:  # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(int(ip))
    return None


def classify(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public unicast address (None: it is)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return "an IPv6 address with a zone"
        inner = _embedded_v4(ip)
        if inner is not None:
            why = classify(inner)
            return f"an IPv6 address wrapping {inner}, {why}" if why else None
    if ip in _METADATA:
        return "a cloud metadata address"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:
        return "not a public address"
    return None


def _metadata(ip: IPAddress) -> bool:
    inner = _embedded_v4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    return ip in _METADATA or (inner is not None and inner in _METADATA)


def refusal(ip: IPAddress, allow_private: bool) -> str | None:
    why = classify(ip)
    if why is None:
        return None
    if allow_private and not (ip.is_multicast or ip.is_unspecified or _metadata(ip)):
        return None
    return why


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True, slots=True)
class Target:
    """Where to connect: the host as named (for Host/SNI) and the checked address to dial."""

    scheme: str
    host: str
    port: int
    address: str
    path: str

    def pinned_url(self) -> str:
        """The URL with the checked address in place of the host name."""
        literal = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{literal}:{self.port}{self.path}"

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


def check_host(host: str, port: int, *, allow_private: bool, resolver: Resolver = system_resolver) -> str:
    """The address to connect to for ``host``: every address it resolves to must be allowed
    (one bad answer refuses the host, so round-robin cannot sneak one in)."""
    if not host:
        raise UnsafeDestination("the destination has no host name")
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = list(resolver(host, port))
        except (OSError, UnicodeError) as exc:
            raise UnsafeDestination(f"cannot resolve {host!r} ({exc}); check the host name") from None
    if not addresses:
        raise UnsafeDestination(f"{host!r} resolves to no address")
    for text in addresses:
        ip = ipaddress.ip_address(text)
        why = refusal(ip, allow_private)
        if why is not None:
            raise UnsafeDestination(
                f"{host!r} resolves to {ip}, {why}; Cloud does not send there" + (
                    "" if allow_private else ". A self-hosted install can allow private destinations with "
                    "FARAMESH_CLOUD_ALLOW_PRIVATE_DESTINATIONS=true"))
    return addresses[0]


def check_url(url: str, *, allow_private: bool, resolver: Resolver = system_resolver) -> Target:
    """Parse and check a destination URL. HTTPS is required unless private destinations are
    allowed (internal receivers often speak plain HTTP)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeDestination(f"not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise UnsafeDestination("the URL must start with https://")
    if parts.username or parts.password:
        raise UnsafeDestination("put credentials in the destination's secret fields, not in the URL")
    host = (parts.hostname or "").rstrip(".")
    port = port or (443 if scheme == "https" else 80)
    address = check_host(host, port, allow_private=allow_private, resolver=resolver)
    if scheme == "http" and not allow_private:
        raise UnsafeDestination("the URL must use https:// (plain http is allowed only on self-hosted installs "
                                "that allow private destinations)")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme, host, port, address, path)
