"""Realistic synthetic DPRs for the reference daemon simulator, benchmarks and tests.

Each ``AgentWriter`` is one agent's chain as a daemon would write it: lamport_seq 1, 2, ...,
linked from the genesis hash, a mix of tools decided by the simulated policy
(:mod:`faramesh_cloud.simulator.policy`: each record's effect and ``matched_rule_id`` are what
the enforced rules give for its tool and args), some records Ed25519-signed,
some HMAC-only, some in legacy canonicalisation. Deterministic for a given ``random.Random``.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from faramesh_cloud.dpr.builder import seal
from faramesh_cloud.dpr.canonical import genesis_prev_hash
from faramesh_cloud.dpr.fields import JCS_ALGORITHM, LEGACY_ALGORITHM
from faramesh_cloud.simulator.policy import OUTCOME_WEIGHTS, OUTCOMES


def rfc3339_nano(ns: int) -> str:
    seconds, nanos = divmod(ns, 1_000_000_000)
    text = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{nanos:09d}".rstrip("0")
    return f"{text}.{fraction}Z" if fraction else f"{text}Z"


@dataclass
class AgentWriter:
    agent_id: str
    rng: random.Random
    ed25519_seed: bytes | None = None
    hmac_key: bytes | None = None
    signed_share: float = 0.3
    legacy_share: float = 0.1
    policy_version: str = "3f2a9c1b7d4e5f60"
    tip: str = ""
    lamport: int = 0
    sessions: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tip = self.tip or genesis_prev_hash(self.agent_id)
        if not self.sessions:
            self.sessions = [f"sess-{self.rng.getrandbits(32):08x}" for _ in range(3)]

    def next(self, created_ns: int, **overrides: Any) -> dict[str, Any]:
        rng = self.rng
        self.lamport += 1
        outcome = rng.choices(OUTCOMES, OUTCOME_WEIGHTS)[0]
        tool, effect = outcome.tool, outcome.effect
        if rng.random() < 0.02:
            self.sessions[rng.randrange(len(self.sessions))] = f"sess-{rng.getrandbits(32):08x}"
        fields: dict[str, Any] = {
            "schema_version": "dpr/2.0",
            "fpl_version": "1.0",
            "car_version": "car/2.0",
            "canonicalization_algorithm": LEGACY_ALGORITHM if rng.random() < self.legacy_share else JCS_ALGORITHM,
            "record_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "agent_id": self.agent_id,
            "session_id": self.sessions[rng.randrange(len(self.sessions))],
            "tool_id": tool,
            "action_type": "tool_call",
            "lamport_seq": self.lamport,
            "intercept_adapter": "sdk",
            "effect": effect,
            "matched_rule_id": outcome.rule,
            "reason_code": outcome.reason_code,
            "reason": outcome.reason,
            "policy_version": self.policy_version,
            "policy_source_type": "file",
            "args_structural_sig": hashlib.sha256(tool.encode()).hexdigest()[:16],
            "selector_snapshot": dict(outcome.args),
            "degraded_mode": "FULL",
            "created_at": rfc3339_nano(created_ns),
        }
        if effect == "DEFER":
            fields["defer_token"] = f"{rng.getrandbits(32):08x}"
        fields.update(overrides)
        signed = self.ed25519_seed is not None and rng.random() < self.signed_share
        record = seal(fields, self.tip, ed25519_seed=self.ed25519_seed if signed else None,
                      hmac_key=None if signed else self.hmac_key)
        self.tip = record["record_hash"]
        return record
