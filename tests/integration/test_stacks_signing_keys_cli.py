"""``faramesh-cloud stacks pin-key / unpin-key / keys`` on a real embedded data dir: the key
forms, a clear error for a malformed key, each change in the platform audit log, and each
change's event on stacks.signing_keys.v1 (the CLI relays the stacks outbox itself, so the
audit index learns of it when no gateway runs)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from faramesh_cloud.events.topics import SIGNING_KEYS
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.platform_audit.chain import AuditEntry
from faramesh_cloud.platform_audit.events import AuditAction
from tests.fixtures.ingest import read_topic
from tests.integration import test_admin_cli
from tests.integration.test_admin_cli import run, with_identity

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

data_dir = test_admin_cli.data_dir  # the same module-scoped embedded data dir fixture

KEY = base64.b64encode(bytes(SigningKey(bytes([3]) * 32).verify_key)).decode()


def test_pin_list_unpin_and_bad_keys(data_dir: Path, tmp_path: Path) -> None:
    assert run(data_dir, "stacks", "register", "pay").exit_code == 0
    empty = run(data_dir, "stacks", "keys", "pay")
    assert empty.exit_code == 0 and "no pinned signing key" in empty.output

    bad = run(data_dir, "stacks", "pin-key", "pay", "not-a-key")
    assert bad.exit_code == 2 and "error: " in bad.stderr and "not an Ed25519 public key" in bad.stderr
    pub = tmp_path / "faramesh.ed25519.pub"
    pub.write_text(KEY + "\n")
    pinned = run(data_dir, "stacks", "pin-key", "pay", f"@{pub}", "--label", "prod")
    assert pinned.exit_code == 0, pinned.output
    assert KEY in pinned.output
    assert run(data_dir, "stacks", "pin-key", "pay", f"ed25519:{KEY}").exit_code == 0  # same key: no-op

    listed = run(data_dir, "stacks", "keys", "pay")
    assert listed.exit_code == 0 and KEY in listed.output and "pinned" in listed.output and "prod" in listed.output
    unpinned = run(data_dir, "stacks", "unpin-key", "pay", KEY)
    assert unpinned.exit_code == 0, unpinned.output
    assert "revoked" in run(data_dir, "stacks", "keys", "pay").output
    assert run(data_dir, "stacks", "unpin-key", "pay", "0" * 64).exit_code == 2

    async def entries(identity: Identity) -> list[AuditEntry]:
        async with identity.db.connection() as conn:
            row = await (await conn.execute("SELECT org_id FROM orgs WHERE slug = 'default'")).fetchone()
        assert row is not None
        return await identity.audit.entries(str(row[0]))

    actions = [e.action for e in with_identity(data_dir, entries)]
    assert actions.count(AuditAction.STACK_SIGNING_KEY_PINNED) == 2
    assert actions.count(AuditAction.STACK_SIGNING_KEY_UNPINNED) == 1

    async def on_the_log(identity: Identity) -> tuple[list[str], int]:
        log = PostgresLog(identity.db)
        await log.start()
        try:
            kinds = [m.headers["kind"].decode() for m in await read_topic(log, SIGNING_KEYS)]
        finally:
            await log.close()
        async with identity.db.connection() as conn:
            row = await (await conn.execute("SELECT count(*) FROM stacks_outbox")).fetchone()
        assert row is not None
        return kinds, int(row[0])

    # The repeated pin of the same key changed nothing, so it is no event.
    assert with_identity(data_dir, on_the_log) == (["SigningKeyPinned", "SigningKeyUnpinned"], 0)
