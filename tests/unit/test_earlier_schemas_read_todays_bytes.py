"""Rolling restarts, the other direction (issue 13): a v1 record written by this code is read
by older code without error. Older code is its message definitions: the descriptor snapshots
of earlier commits (``tests/data/descriptors/``, README there), loaded into their own pool.

* Every event kind this code writes (its golden bytes, ``tests/data/events/<service>/v1``) that
  an earlier snapshot defines decodes with that definition, and passing through older code
  (decode, encode again) loses nothing: this code reads back exactly what it wrote.
* The sync items this code's ingest puts on ``sync.items.v1`` carry a field and an enum value
  added after the first v1 snapshot (``AppliedConfig.governance_fms``,
  ``APPROVAL_STATE_WITHDRAWN``): the first snapshot's definitions read them, keep the field as
  an unknown field and the value as its number, and give them back unchanged."""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from faramesh_cloud_api.sync.v1 import approvals_pb2, push_pb2, sync_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message
from google.protobuf.unknown_fields import UnknownFieldSet

from faramesh_cloud.events.topics import H_KIND, SYNC_ITEMS
from faramesh_cloud.ingest.limits import IngestLimits
from faramesh_cloud.ingest.processor import Caller, plan_push
from faramesh_cloud.simulator import reports
from tests.approvals_support import pending_event

DATA = Path(__file__).resolve().parents[1] / "data"
SNAPSHOTS = DATA / "descriptors"
GOLDEN = DATA / "events"
SYNC_KINDS = {"approval_event": "ApprovalEvent", "daemon_health": "DaemonHealth", "stack_status": "StackStatus",
              "credential_expiry": "CredentialExpiryEvent", "budget_snapshot": "BudgetSnapshot"}
ORG, STACK = "7d5e9f8e-0d1c-4a3b-9f8e-0d1c4a3b9f8e", "2b8f5c1a-6e4d-4c2b-8a1f-5e4d3c2b1a0f"


@cache
def earlier(commit: str) -> descriptor_pool.DescriptorPool:
    """The message definitions of ``commit``, in a pool of their own (not this code's)."""
    pool = descriptor_pool.DescriptorPool()
    for file in descriptor_pb2.FileDescriptorSet.FromString((SNAPSHOTS / f"{commit}.binpb").read_bytes()).file:
        pool.Add(file)
    return pool


def older_class(commit: str, full_name: str) -> type[Message] | None:
    try:
        descriptor = earlier(commit).FindMessageTypeByName(full_name)
    except KeyError:
        return None
    return message_factory.GetMessageClass(descriptor)


def todays_class(full_name: str) -> type[Message]:
    return message_factory.GetMessageClass(descriptor_pool.Default().FindMessageTypeByName(full_name))


def snapshots() -> list[str]:
    return sorted(p.stem for p in SNAPSHOTS.glob("*.binpb"))


def golden_events() -> Iterator[tuple[str, str, Path]]:
    """(snapshot, message full name, golden file) for every kind an earlier snapshot defines."""
    for path in sorted(GOLDEN.glob("*/v1/*.bin")):
        service = path.parent.parent.name
        full_name = f"faramesh_cloud_api.{service}.v1.{path.stem}"
        for commit in snapshots():
            if older_class(commit, full_name) is not None:
                yield commit, full_name, path


def read_by_older_code(commit: str, full_name: str, written: bytes) -> tuple[Message, bytes]:
    """What older code decodes from ``written``, and what it writes back (a relay, a re-encode)."""
    older = older_class(commit, full_name)
    assert older is not None
    decoded = older.FromString(written)  # no error
    return decoded, decoded.SerializeToString()


def test_the_snapshots_are_earlier_than_todays_definitions() -> None:
    assert snapshots() == ["9321abe", "a5c32c8"]
    assert older_class("9321abe", "faramesh_cloud_api.approvals.v1.ApprovalDecided") is None  # events came later
    first = earlier("9321abe").FindMessageTypeByName("faramesh_cloud_api.sync.v1.AppliedConfig")
    assert "governance_fms" not in first.fields_by_name
    state = earlier("9321abe").FindEnumTypeByName("faramesh_cloud_api.sync.v1.ApprovalState")
    assert "APPROVAL_STATE_WITHDRAWN" not in state.values_by_name


@pytest.mark.parametrize(("commit", "full_name", "path"), list(golden_events()),
                         ids=lambda v: v.name if isinstance(v, Path) else str(v))
def test_an_earlier_definition_reads_the_events_this_code_writes(commit: str, full_name: str, path: Path) -> None:
    written = path.read_bytes()
    decoded, again = read_by_older_code(commit, full_name, written)
    today = todays_class(full_name).FromString(written)
    assert todays_class(full_name).FromString(again) == today  # nothing lost or changed on the way
    for field, value in decoded.ListFields():  # what older code sees is what this code wrote
        assert getattr(today, field.name) == value or _same(getattr(today, field.name), value), field.name


def test_the_approvals_events_are_read_by_the_first_events_definitions() -> None:
    found = {(c, name) for c, name, _ in golden_events()}
    kinds = {p.stem for p in (GOLDEN / "approvals" / "v1").glob("*.bin")}
    assert {("a5c32c8", f"faramesh_cloud_api.approvals.v1.{k}") for k in kinds} <= found and len(kinds) == 7


def _same(today: object, older: object) -> bool:
    """A message field compared by its bytes (this code's class against the older one's)."""
    if isinstance(today, Message) and isinstance(older, Message):
        return today.SerializeToString(deterministic=True) == older.SerializeToString(deterministic=True)
    return False


def todays_sync_items() -> dict[str, bytes]:
    """What this code's ingest appends to sync.items.v1 for a daemon's push, by kind: the
    simulated daemon's stack status (with governance.fms) and budget, and an approval it
    withdrew (its session ended)."""
    facts = reports.StackFacts("payments-prod", "1.4.2", "3f2a9c1b7d4e5f60", time.time_ns())
    agents = [reports.AgentFacts("payments-bot", False, False, 2)]
    withdrawn = pending_event("0000c0de", state=approvals_pb2.APPROVAL_STATE_WITHDRAWN,
                              source=approvals_pb2.RESOLUTION_SOURCE_LOCAL, approver="", reason="session ended")
    items = [push_pb2.PushItem(sequence=1, stack_status=reports.stack_status(facts, agents, time.time_ns())),
             push_pb2.PushItem(sequence=2, budget_snapshot=reports.budget_snapshot("payments-bot", 1.5, 100.0, 7,
                                                                                   time.time_ns())),
             push_pb2.PushItem(sequence=3, approval_event=withdrawn)]
    request = sync_pb2.PushRequest(buffer_id="5f0c1e2d-3b4a-4c5d-8e9f-0a1b2c3d4e5f", items=items)
    plan = plan_push(request, Caller(ORG, STACK, request.buffer_id, time.time_ns()), 0, IngestLimits())
    assert not plan.rejections
    return {r.headers[H_KIND].decode(): r.value for r in plan.appends[SYNC_ITEMS]}


def test_the_first_sync_definitions_read_fields_and_values_added_since() -> None:
    written = todays_sync_items()
    assert set(written) == {"stack_status", "budget_snapshot", "approval_event"}
    for kind, value in written.items():
        full_name = f"faramesh_cloud_api.sync.v1.{SYNC_KINDS[kind]}"
        _, again = read_by_older_code("9321abe", full_name, value)
        assert todays_class(full_name).FromString(again) == todays_class(full_name).FromString(value), kind

    status, _ = read_by_older_code("9321abe", "faramesh_cloud_api.sync.v1.StackStatus", written["stack_status"])
    config = status.applied_config  # type: ignore[attr-defined]
    today = todays_class("faramesh_cloud_api.sync.v1.StackStatus").FromString(written["stack_status"])
    assert config.git_commit == today.applied_config.git_commit and today.applied_config.governance_fms  # type: ignore[attr-defined]
    kept = [f.field_number for f in UnknownFieldSet(config)]
    assert kept == [10]  # governance_fms, unknown to that definition, kept as it came

    event, _ = read_by_older_code("9321abe", "faramesh_cloud_api.sync.v1.ApprovalEvent", written["approval_event"])
    assert event.state == approvals_pb2.APPROVAL_STATE_WITHDRAWN  # type: ignore[attr-defined]  # a number it has no name for
    assert event.approval.defer_token == "0000c0de"  # type: ignore[attr-defined]
