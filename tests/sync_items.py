"""Push items for sync tests: real DPRs from the interop vectors, synthetic ones written the
way a daemon writes them, and one valid payload of every other kind."""

from __future__ import annotations

import random
import zlib
from pathlib import Path

from faramesh_cloud_api.sync.v1 import agent_state_pb2, approvals_pb2, fleet_pb2, push_pb2
from google.protobuf.message import Message

from faramesh_cloud.dpr.builder import to_go_json
from faramesh_cloud.dpr.wal import VERSION_DPR, WalReader
from faramesh_cloud.rpc.sync_client import push_item
from faramesh_cloud.simulator.records import AgentWriter

WAL_VECTOR = "dpr_chain_valid_jcs.wal"


def dpr_item(sequence: int, raw: bytes, *, with_crc: bool = True, wal_file: str = "",
             wal_offset: int = 0, wal_frame_index: int = 0) -> push_pb2.PushItem:
    record = push_pb2.DprRecord(record_json=raw, wal_file=wal_file, wal_offset=wal_offset,
                                wal_frame_index=wal_frame_index)
    if with_crc:
        record.frame_crc32 = zlib.crc32(raw)
    return push_item(sequence, record)


def wal_frames(vectors_dir: Path) -> list[tuple[int, int, bytes]]:
    """(offset, frame index, payload) of every DPR frame of the WAL vector."""
    reader = WalReader((vectors_dir / WAL_VECTOR).read_bytes())
    return [(f.offset, index, f.payload) for index, f in enumerate(reader) if f.version == VERSION_DPR]


def jsonl_records(vectors_dir: Path, name: str) -> list[bytes]:
    return [line for line in (vectors_dir / name).read_bytes().splitlines() if line.strip()]


def synthetic_records(count: int, seed: int = 7, agents: int = 2) -> list[bytes]:
    rng = random.Random(seed)
    writers = [AgentWriter(f"agent-{i}", rng, ed25519_seed=bytes([i + 1]) * 32, hmac_key=b"k")
               for i in range(agents)]
    start = 1_764_081_234_000_000_000
    return [to_go_json(writers[i % agents].next(start + i * 1_000_003)) for i in range(count)]


def other_payloads() -> dict[str, Message]:
    """One valid payload of each non-DPR kind, keyed by its PushItem field name."""
    return {
        "approval_event": approvals_pb2.ApprovalEvent(
            state=approvals_pb2.APPROVAL_STATE_PENDING,
            approval=approvals_pb2.PendingApproval(defer_token="0a1b2c3d", agent_id="payments-bot",
                                                   tool_id="stripe/refund", approvals_required=1),
        ),
        "daemon_health": fleet_pb2.DaemonHealth(ok=True, policy_loaded=True, wal_open=True,
                                                pipeline_ready=True, wal_size_bytes=6900),
        "stack_status": fleet_pb2.StackStatus(daemon_version="1.4.2", framework="langgraph"),
        "credential_expiry": agent_state_pb2.CredentialExpiryEvent(
            agent_id="payments-bot", credential_source="vault", credential_scope="stripe:refund",
            event_type=agent_state_pb2.CREDENTIAL_EVENT_TYPE_ISSUED, credential_id="lease-1"),
        "budget_snapshot": agent_state_pb2.BudgetSnapshot(
            agent_id="payments-bot", scope=agent_state_pb2.BUDGET_SCOPE_DAILY, spent_usd=12.5,
            ceiling_usd=100.0),
    }
