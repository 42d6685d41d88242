"""Waiting for a service started with ``faramesh-cloud serve NAME`` in its own process."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol


class Closable(Protocol):
    async def close(self) -> None: ...


async def wait_until_it_answers(service: str, client: Closable, ask: Callable[[], Awaitable[Any]],
                                proc: subprocess.Popen[bytes], within_s: float = 90) -> None:
    """Until ``ask()`` (a read for an unknown organisation, which answers empty) gets an answer
    from the service's internal API; fails when its process exits first or time runs out.
    Closes ``client``."""
    from faramesh_cloud.rpc.errors import ServiceUnavailable

    try:
        deadline = time.monotonic() + within_s
        while True:
            assert proc.poll() is None, f"serve {service} exited"
            try:
                assert not await ask()
                return
            except ServiceUnavailable:
                assert time.monotonic() < deadline, f"serve {service} did not answer on its internal address"
                await asyncio.sleep(0.3)
    finally:
        await client.close()
