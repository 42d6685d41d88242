"""A simulated daemon's signing keys, kept in its data dir the way the daemon keeps them
(FARAMESH_FORMATS 1.7): ``faramesh.hmac.key`` (32 raw random bytes), ``faramesh.ed25519.key``
(base64 of the 64-byte Go private key, seed then public key) and ``faramesh.ed25519.pub``
(base64 of the 32-byte public key). Private files are created with mode 0600."""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from nacl.signing import SigningKey

HMAC_FILE: Final = "faramesh.hmac.key"
ED25519_FILE: Final = "faramesh.ed25519.key"
ED25519_PUB_FILE: Final = "faramesh.ed25519.pub"


class KeyFileError(RuntimeError):
    """A key file exists but cannot be used; the message says what to do."""


@dataclass(frozen=True, slots=True)
class DaemonKeys:
    hmac_key: bytes
    ed25519_seed: bytes

    @property
    def public_key_b64(self) -> str:
        return base64.b64encode(bytes(SigningKey(self.ed25519_seed).verify_key)).decode()


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600, atomically (a crash leaves the old file or
    the new one, never half of one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load_or_create_keys(directory: Path) -> DaemonKeys:
    hmac_path, ed_path = directory / HMAC_FILE, directory / ED25519_FILE
    if not hmac_path.exists():
        write_private(hmac_path, secrets.token_bytes(32))
    if not ed_path.exists():
        signing = SigningKey.generate()
        public = bytes(signing.verify_key)
        write_private(ed_path, base64.b64encode(bytes(signing) + public))
        (directory / ED25519_PUB_FILE).write_bytes(base64.b64encode(public))
    hmac_key = hmac_path.read_bytes()
    try:
        raw = base64.b64decode(ed_path.read_bytes(), validate=True)
    except ValueError:
        raw = b""
    if len(hmac_key) == 0 or len(raw) != 64:
        raise KeyFileError(f"the key files in {directory} are damaged; delete {HMAC_FILE} and "
                           f"{ED25519_FILE} there to create new ones (new records then carry new keys)")
    return DaemonKeys(hmac_key=hmac_key, ed25519_seed=raw[:32])
