"""Standalone chain-integrity certificates: what the audit index certifies about each agent
chain of the chosen stacks over a range (its ``integrity_certificate`` read), signed by the
platform key as a ``faramesh_cloud.signing.integrity_bundle`` bundle, for the evidence library
(``ComplianceApi.certify`` files it)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faramesh_cloud.compliance.domain import NS, to_ns
from faramesh_cloud.signing.bundle import build_bundle, iso_utc, sign_bundle
from faramesh_cloud.signing.integrity_bundle import KIND, chain_facts


def _point(p: Any) -> dict[str, Any] | None:
    return None if p is None else {"record_id": p.record_id, "record_hash": p.record_hash,
                                   "chain_index": p.chain_index, "created_at": p.created_at}


def entry(c: Any) -> dict[str, Any]:
    return {
        "stack_id": c.stack_id, "agent_id": c.agent_id, "records": c.records, "first": _point(c.first),
        "head": _point(c.head), "invalid_hashes": c.invalid_hashes, "signatures": dict(c.signatures),
        "chain_length": c.chain_length, "segments": c.segments, "tip_hash": c.tip_hash,
        "verified_at": iso_utc(datetime.fromtimestamp(c.verified_ns / NS, UTC)) if c.verified_ns else None,
        "findings": [{"kind": f.kind, "severity": str(getattr(f.severity, "value", f.severity)),
                      "record_id": f.record_id, "chain_index": f.chain_index, "message": f.message}
                     for f in c.findings],
        "intact": bool(c.intact)}


class Certifier:
    def __init__(self, audit: Any, key: Ed25519PrivateKey) -> None:
        self._audit = audit
        self._key = key

    async def certificate(self, org: dict[str, str], stacks: Sequence[str], start: datetime,
                          end: datetime) -> bytes:
        """The signed bundle's bytes (JSON, indented for people)."""
        found = await self._audit.integrity_certificate(org["id"], list(stacks), to_ns(start), to_ns(end))
        entries = [entry(c) for c in sorted(found, key=lambda c: (c.stack_id, c.agent_id))]
        bundle = build_bundle(kind=KIND, org=org, entries=entries, chain=chain_facts(entries),
                              query={"stacks": list(stacks), "since": iso_utc(start), "until": iso_utc(end)},
                              created_at=datetime.now(UTC))
        return json.dumps(sign_bundle(bundle, self._key), indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
