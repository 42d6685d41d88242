"""Chain checkpoints: signed over their canonical JSON with the instant in UTC (a store in
another time zone hands the same instant back), any changed field breaks the signature, and
the internal gRPC API carries them whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faramesh_cloud.audit_index.client import agent_integrity_view
from faramesh_cloud.audit_index.retention import checkpoint
from faramesh_cloud.audit_index.retention.events import Checkpoint
from faramesh_cloud.audit_index.servicer import agent_integrity_message
from faramesh_cloud.audit_index.views import AgentIntegrity

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
REMOVED = datetime(2026, 4, 20, 23, 30, 5, 123456, tzinfo=UTC)


def made() -> Checkpoint:
    return checkpoint.sign(Checkpoint(org_id="org", stack_id="s", agent_id="a", chain_index=41, record_hash="ab" * 32,
                                      record_id="r-41", record_created_at="2026-02-27T10:00:00.000000001Z",
                                      removed_on=REMOVED, sweep_id="sweep-1"), KEY)


def test_a_checkpoint_verifies_with_the_platform_key_whatever_zone_its_time_comes_back_in() -> None:
    cp = made()
    assert checkpoint.verify(cp, KEY.public_key())
    berlin = REMOVED.astimezone(timezone(timedelta(hours=2)))
    assert checkpoint.verify(msgspec.structs.replace(cp, removed_on=berlin), KEY.public_key())
    for field, value in (("chain_index", 40), ("record_hash", "cd" * 32), ("org_id", "other"),
                         ("removed_on", REMOVED + timedelta(seconds=1))):
        assert not checkpoint.verify(msgspec.structs.replace(cp, **{field: value}), KEY.public_key()), field
    other = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
    assert not checkpoint.verify(cp, other.public_key())


def test_the_internal_api_carries_the_checkpoint_and_the_view_says_verified_from_it() -> None:
    cp = made()
    agent = AgentIntegrity("s", "a", 60, 1, "ff" * 32, "r-59", 60, "", "2026-04-01T00:00:00Z", 1, [], cp)
    back = agent_integrity_view(agent_integrity_message(agent), "org")
    assert back.checkpoint == cp and checkpoint.verify(back.checkpoint, KEY.public_key())
    assert back.verified_from == ("verified from checkpoint 41 (earlier records removed by retention on "
                                  "2026-04-20)")
    plain = agent_integrity_view(agent_integrity_message(AgentIntegrity("s", "a", 1, 1, "", "", 0, "", "", 0, [])))
    assert plain.checkpoint is None and plain.verified_from == "verified from genesis"
