"""The registry-log entries of the commands the service runs itself (the seed, key changes,
the mirror), and the signed checkpoint written after each batch of them.

Each ``log_*`` call goes on the connection of the command's own transaction, next to its state
and its outbox event (``translog.append`` insists on an open transaction), so all three commit
together or not at all. :func:`sign_checkpoint` runs after the batch commits, in a transaction
of its own, with the Cloud registry key that signs now (``keys.CloudKey`` is a
``translog.Signer``); it is idempotent (nothing new logged: the existing checkpoint).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.registry import translog
from faramesh_cloud.registry.signatures import manifest_signed_bytes
from faramesh_cloud.registry.translog import Signer
from faramesh_cloud.registry.translog_format import Checkpoint, LogAction
from faramesh_cloud.sql.database import Database

Conn = Any


def actor_json(actor: Actor) -> dict[str, str]:
    return {"type": actor.type.value, "id": actor.id, "label": actor.label}


def manifest_digest(manifest: Mapping[str, Any] | None) -> str | None:
    """SHA-256 (hex) of the bytes a provider manifest's signature covers; None for no manifest."""
    return None if manifest is None else hashlib.sha256(manifest_signed_bytes(manifest)).hexdigest()


def version_facts(*, source: str, key_id: str, signature: Mapping[str, Any], trust_tier: str,
                  body_sha256: str | None = None, yaml_sha256: str | None = None,
                  readme_sha256: str | None = None, manifest_sha256: str | None = None,
                  binaries: Sequence[tuple[str, str, int, bool]] = (), origin: str = "") -> dict[str, Any]:
    """What a version's entry keeps: its digests, its signer and signature value, where it came
    from. ``binaries``: (platform, sha256, size, hosted)."""
    body: dict[str, Any] = {"source": source, "key_id": key_id, "trust_tier": trust_tier,
                            "signature_b64": str(signature.get("value_b64", ""))}
    for name, value in (("body_sha256", body_sha256), ("yaml_sha256", yaml_sha256),
                        ("readme_sha256", readme_sha256), ("manifest_sha256", manifest_sha256)):
        if value:
            body[name] = value
    if binaries:
        body["binaries"] = [{"platform": p, "sha256": s, "size": int(n), "hosted": h} for p, s, n, h in binaries]
    if origin:
        body["origin"] = origin
    return body


async def log_version(conn: Conn, action: LogAction, kind: str, name: str, version: str, actor: Actor,
                      facts: Mapping[str, Any]) -> None:
    await translog.append(conn, action=action.value, subject={"kind": kind, "name": name, "version": version},
                          actor=actor_json(actor), body=facts)


async def log_key_added(conn: Conn, key_id: str, origin: str, public_key_b64: str, actor: Actor) -> None:
    await translog.append(conn, action=LogAction.KEY_ADDED.value, subject={"key_id": key_id},
                          actor=actor_json(actor), body={"origin": origin, "public_key_b64": public_key_b64})


async def log_key_retired(conn: Conn, key_id: str, replaced_by: str, actor: Actor) -> None:
    await translog.append(conn, action=LogAction.KEY_RETIRED.value, subject={"key_id": key_id},
                          actor=actor_json(actor), body={"replaced_by": replaced_by})


async def sign_checkpoint(db: Database, signer: Signer) -> Checkpoint:
    """A signed checkpoint of the log as it is now (after a command batch committed)."""
    async with db.transaction() as conn:
        return await translog.checkpoint(conn, signer)
