"""What the publishing tests share: a ``PublishApi`` on the test's PostgreSQL with the real
registry log, a file BlobStore in a temp dir, an Ed25519 registry key, the FPL checker and the
sandbox; helpers to count blobs and rows (nothing partial after a refusal)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from faramesh_cloud.platform_audit.events import Actor, ActorType

REVIEWER = "reviewer@platform.test"
PACK = """agent payments-bot {
  default deny
  rules {
    permit stripe/refund when amount < 100
    deny shell/run
  }
}
"""


class KeySigner:
    """An Ed25519 registry key in upstream's formats (key id ``cloud-test-1``)."""

    key_id = "cloud-test-1"

    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.public = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def _object(self, data: bytes) -> dict[str, str]:
        return {"key_id": self.key_id, "algorithm": "ed25519",
                "value_b64": base64.b64encode(self.key.sign(data)).decode(),
                "public_key_b64": base64.b64encode(self.public).decode()}

    def sign_fpl(self, body: bytes) -> dict[str, str]:
        return self._object(body)

    def sign_binary(self, data: bytes) -> str:
        return base64.b64encode(self.key.sign(data)).decode()

    def sign_manifest(self, manifest: Mapping[str, Any]) -> dict[str, str]:
        unsigned = {k: v for k, v in manifest.items() if k != "signature"}
        return self._object(json.dumps(unsigned, separators=(",", ":"), sort_keys=True).encode())


def person(email: str, user_id: str = "") -> Actor:
    return Actor(ActorType.USER, user_id or "u-" + hashlib.sha1(email.encode()).hexdigest()[:8], email, "10.0.0.7")


def blob_count(root: Path) -> int:
    return sum(1 for p in root.rglob("*") if p.is_file())


async def chunks(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


class Texts:
    """Applied governance.fms texts per (org, stack), as the fleet would hold them."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []

    async def applied(self) -> Sequence[tuple[str, str, str]]:
        return list(self.rows)
