"""DPR export entries for report tests, built the way a daemon writes records
(``faramesh_cloud.dpr.builder``) or read from the interop vectors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from faramesh_cloud.dpr.builder import seal, to_go_json
from faramesh_cloud.dpr.canonical import genesis_prev_hash
from faramesh_cloud.signing.dpr_bundle import entry

SEED = bytes(range(32))
TOOLS = ("stripe/charge", "email/send", "search/query", "read_file")
EFFECTS = ("PERMIT", "PERMIT", "DENY", "DEFER")


def export_entry(stack_id: str, chain_index: int, raw: bytes) -> dict[str, Any]:
    record = json.loads(raw)
    return entry(SimpleNamespace(stack_id=stack_id, agent_id=record["agent_id"], record_id=record["record_id"],
                                 created_at=record["created_at"], chain_index=chain_index, link_status="linked",
                                 record_hash=record["record_hash"], prev_record_hash=record["prev_record_hash"],
                                 raw=raw.decode("utf-8")))


def vector_entries(vectors_dir: Path, stack_id: str = "stack-1") -> list[dict[str, Any]]:
    """The multi-agent interop vector as export entries, in (stack, agent, chain index) order."""
    per_agent: dict[str, list[bytes]] = {}
    for line in (vectors_dir / "dpr_chain_valid_multi_agent.jsonl").read_bytes().splitlines():
        if line.strip():
            per_agent.setdefault(json.loads(line)["agent_id"], []).append(line)
    return [export_entry(stack_id, i, raw) for agent in sorted(per_agent) for i, raw in enumerate(per_agent[agent])]


def built_entries(stack_id: str, agents: int, per_agent: int,
                  start: datetime = datetime(2026, 3, 1, tzinfo=UTC)) -> Iterator[dict[str, Any]]:
    """``agents`` chains of ``per_agent`` records each, sealed and signed like a daemon's."""
    for a in range(agents):
        agent = f"agent-{a:02d}"
        prev = genesis_prev_hash(agent)
        for i in range(per_agent):
            at = start + timedelta(minutes=7 * i + a)
            record = seal({
                "schema_version": "dpr/2.0", "fpl_version": "1.0", "car_version": "car/2.0",
                "canonicalization_algorithm": "jcs-rfc8785-v1",
                "record_id": f"{stack_id}-{agent}-{i:06d}", "agent_id": agent, "session_id": f"sess-{a}",
                "tool_id": TOOLS[(i + a) % len(TOOLS)], "action_type": "tool_call", "lamport_seq": i + 1,
                "intercept_adapter": "sdk", "effect": EFFECTS[i % len(EFFECTS)], "matched_rule_id": f"fpl-{i % 3}",
                "reason_code": "RULE_MATCH", "reason": "matched", "policy_version": "3f2a9c1b7d4e5f60",
                "policy_source_type": "file", "args_structural_sig": "8dfd58bdf94bd190",
                "degraded_mode": "FULL", "created_at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")},
                prev, ed25519_seed=SEED)
            prev = record["record_hash"]
            yield export_entry(stack_id, i, to_go_json(record))
