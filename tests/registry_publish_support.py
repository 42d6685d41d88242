"""What the publishing tests share: a ``PublishApi`` on the test's PostgreSQL with the real
registry log, a file BlobStore in a temp dir, Cloud's registry key from the data dir (listed in
``registry_keys`` as the service lists it), the real FPL checker and the real sandbox; helpers
to count blobs and rows (nothing partial after a refusal) and to pack test providers."""

from __future__ import annotations

import hashlib
import shutil
import sys
import zipapp
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from faramesh_cloud.log.pg_copy import decode_headers
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.registry.publish_events import decode
from faramesh_cloud.sql.database import Database

REVIEWER = "reviewer@platform.test"
PACK = """agent payments-bot {
  default deny
  rules {
    permit stripe/refund when amount < 100
    deny shell/run
  }
}
"""
REPO = Path(__file__).resolve().parents[1]
PROVIDERS = REPO / "tests" / "data" / "providers"
STUBS = REPO / "gen" / "python" / "faramesh_interop"
PYTHON = Path(sys.base_prefix)  # the interpreter (with grpcio) the packed test providers run on


def person(email: str, user_id: str = "") -> Actor:
    return Actor(ActorType.USER, user_id or "u-" + hashlib.sha1(email.encode()).hexdigest()[:8], email, "10.0.0.7")


def blob_count(root: Path) -> int:
    return sum(1 for p in root.rglob("*") if p.is_file())


async def chunks(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


async def events(db: Database) -> list[tuple[bytes, str, Any]]:
    """The outbox's records: (key, kind header, decoded message), oldest first."""
    async with db.connection() as conn:
        rows = await (await conn.execute("SELECT key, headers, value FROM registry_outbox ORDER BY id")).fetchall()
    out = []
    for key, headers, value in rows:
        kind = decode_headers(headers)["kind"].decode()
        out.append((bytes(key), kind, decode(kind, bytes(value))))
    return out


def pack_provider(case: str, out: Path, **params: object) -> Path:
    """tests/data/providers/<case>.py as one executable file, as a provider is uploaded (the
    way tests/integration/test_registry_sandbox.py packs them)."""
    staging = out.parent / f"{case}-src"
    shutil.copytree(STUBS, staging / "faramesh_interop", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROVIDERS / "_serve.py", staging)
    shutil.copy(PROVIDERS / f"{case}.py", staging / "__main__.py")
    (staging / "_params.py").write_text("".join(f"{k} = {v!r}\n" for k, v in params.items()))
    zipapp.create_archive(staging, out, interpreter=str(PYTHON / "bin" / "python3"))
    shutil.rmtree(staging)
    return out


class Texts:
    """Applied governance.fms texts per (org, stack), as the fleet would hold them."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []

    async def applied(self) -> Sequence[tuple[str, str, str]]:
        return list(self.rows)
