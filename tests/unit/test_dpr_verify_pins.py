"""The explain view's Verify reports whether the record's signer is pinned for its stack:
yes, no (an untrusted signer), or "no pins"."""

from __future__ import annotations

import base64
import random

from nacl.signing import SigningKey

from faramesh_cloud.dpr.builder import to_go_json
from faramesh_cloud.gateway.web.dpr_verify import verify_record
from faramesh_cloud.simulator.records import AgentWriter

SEED = bytes(range(32))
SIGNER = base64.b64encode(bytes(SigningKey(SEED).verify_key)).decode()
OTHER = base64.b64encode(bytes(SigningKey(bytes(32)).verify_key)).decode()


def _pinned_check(pinned: frozenset[str] | None) -> tuple[bool | None, str]:
    writer = AgentWriter("agent-1", random.Random(1), ed25519_seed=SEED, signed_share=1.0)
    record = writer.next(1_780_000_000_000_000_000)
    assert record["signer_public_key"] == SIGNER
    checks = {c.name: c for c in verify_record(to_go_json(record).decode(), "agent-1", 0, None, None, pinned)}
    assert checks["signature"].ok is True
    return checks["pinned"].ok, checks["pinned"].message


def test_signer_pinned_yes_no_and_no_pins() -> None:
    assert _pinned_check(frozenset({SIGNER, OTHER})) == (True, "signer pinned for this stack: yes")
    ok, message = _pinned_check(frozenset({OTHER}))
    assert ok is False and message.startswith("signer pinned for this stack: no (")
    for none in (None, frozenset()):
        ok, message = _pinned_check(none)
        assert ok is None and message.startswith("signer pinned for this stack: no pins")
