"""Ports for Cloud processes a test starts.

``free_internal_base()`` is a ``FARAMESH_CLOUD_INTERNAL_BASE_PORT`` whose whole range (one port
per internal API, ``config.INTERNAL_APIS``) is free, chosen below the kernel's ephemeral range:
a base from ``bind(0)`` sits in that range, and the ports after it are the ones ``connect()``
hands out as source ports (Linux gives connections the other parity than ``bind(0)``), so on a
busy machine ``base + 1`` was sometimes some connection's own port."""

from __future__ import annotations

import random
import socket

from faramesh_cloud.config import INTERNAL_APIS

LOW, HIGH = 20000, 32000  # below the usual ephemeral range (32768-60999)


def _free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_internal_base() -> int:
    width = max(INTERNAL_APIS.values()) + 1
    for _ in range(200):
        base = random.randrange(LOW, HIGH - width)
        if all(_free(base + i) for i in range(width)):
            return base
    raise RuntimeError(f"no {width} free ports in a row between {LOW} and {HIGH}")
