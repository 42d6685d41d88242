"""Posture is re-evaluated when the log moves, not when a page is loaded: the compliance
service's signal consumers mark the organisation an approval, emergency command, alert or
stack status event names, and the posture loop evaluates just those organisations a moment
later (long before its interval); other sync items (health) move nothing; the service's own
changes (a declaration) re-evaluate everyone."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest

from faramesh_cloud.compliance.service import Compliance, ComplianceConfig
from faramesh_cloud.events.topics import APPROVAL_EVENTS, H_KIND, H_ORG, SYNC_ITEMS, org_key
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.sql.database import Database
from tests.simulator_support import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


class Evaluations:
    """The posture sweep's calls (its measuring is tested on its own: test_compliance_end_to_end)."""

    def __init__(self) -> None:
        self.calls: list[set[str] | None] = []

    async def run_once(self, orgs: Collection[str] | None = None) -> int:
        self.calls.append(None if orgs is None else set(orgs))
        return 0


class Unused:
    async def make(self, *args: Any) -> Any:
        raise AssertionError("no report is asked for here")


def record(org: str, kind: str) -> LogRecord:
    return LogRecord(org_key(org), b"", {H_ORG: org.encode(), H_KIND: kind.encode()})


async def test_events_on_the_log_re_evaluate_the_organisations_they_name(
        database: Database, postgres_log: PostgresLog, tmp_path: Path) -> None:
    seen = Evaluations()
    config = ComplianceConfig(artifacts=tmp_path / "artifacts", posture_interval_s=3600.0, signal_debounce_s=0.05)
    compliance = Compliance(database, postgres_log, config, maker=Unused(), sweep=lambda api: seen)
    await compliance.start()
    try:
        await eventually(lambda: seen.calls == [None], "the evaluation at start (every organisation)")
        acme, globex = str(uuid.uuid4()), str(uuid.uuid4())
        await postgres_log.append(SYNC_ITEMS, [record(acme, "health")])  # moves no evidence
        await postgres_log.append(APPROVAL_EVENTS, [record(globex, "ApprovalDecided")])
        await eventually(lambda: len(seen.calls) >= 2, "an evaluation after the approval event")
        assert seen.calls[1] == {globex}
        await postgres_log.append(SYNC_ITEMS, [record(acme, "stack_status")])
        await eventually(lambda: len(seen.calls) >= 3, "an evaluation after the stack status")
        assert seen.calls[2] == {acme}
        compliance.wake()  # the service's own change: everyone
        await eventually(lambda: len(seen.calls) >= 4, "an evaluation after a declaration")
        assert seen.calls[3] is None
        await asyncio.sleep(0.2)
        assert len(seen.calls) == 4  # nothing else moved
    finally:
        await compliance.stop()
