"""Registry pack version alerts where people look for them: a stack's Providers and Config
tabs and Home's attention panel list the organisation's open alerts (artifact, imported →
latest, yanked, raised, and what the daemon did: delivered, acknowledged with its message).

The gateway reads them through :class:`PackAlertReads` (``registry/alert_reads.py``'s
``AlertReads`` in process under ``up``; under ``serve gateway`` the registry's gRPC client).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from fastapi import FastAPI, Request

_log = logging.getLogger(__name__)


class PackAlertReads(Protocol):
    async def open_alerts(self, org_id: str, stack_id: str | None = None, limit: int = ...) -> Sequence[Any]:
        """The organisation's open alerts (of one stack when given), newest first."""
        ...


def mount_pack_alerts(app: FastAPI, reads: PackAlertReads) -> None:
    app.state.pack_alerts = reads


async def open_alerts(request: Request, org_id: str, stack_id: str | None = None) -> list[Any]:
    """The open alerts, or none when the registry's reads are not mounted here or fail (the
    page still renders; the failure is logged)."""
    reads: PackAlertReads | None = getattr(request.app.state, "pack_alerts", None)
    if reads is None:
        return []
    try:
        return list(await reads.open_alerts(org_id, stack_id))
    except Exception:  # a page must not fail because the registry's reads did
        _log.warning("registry pack alerts could not be read", exc_info=True)
        return []
