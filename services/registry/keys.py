"""Cloud's own registry signing key (Ed25519) and the trust snippet for it.

Where the private key comes from, in order:
* ``Settings.registry_signing_key`` (``FARAMESH_CLOUD_REGISTRY_SIGNING_KEY``): a file of secret
  material an operator manages: a PKCS#8 PEM, or standard base64 of the 32-byte seed or of
  upstream's 64-byte Go form (seed ‖ public key, what ``gen-signing-key`` prints). Its key id is
  ``cloud-registry-ed25519-<first 12 hex of SHA-256 of the public key>``. Rotating means
  configuring new material; the old key is then retired on start.
* Else ``Settings.secrets_dir/registry-ed25519-<n>.key`` (the shared secrets, ``faramesh_cloud.secrets``;
  ``secrets init`` writes ``n = 1``), read only: the highest ``n`` signs, with key id
  ``cloud-registry-ed25519-<n>``; rotating means adding ``n + 1`` to the Secret.
* Else, under ``up`` only, ``<data_dir>/keys/registry-ed25519-<n>.key`` (PKCS#8 PEM, mode 0600,
  made once by ``keyfile.read_or_create``): the highest ``n`` signs, as above.
  :meth:`KeySource.rotate` makes ``n + 1``; earlier files are kept (their public halves stay
  listed in ``registry_keys`` with ``retired_at``, so old signatures keep verifying).
  A ``serve registry`` with neither configured refuses to start (``secrets.SecretMissing``).

Only public halves go to the database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.signing import SigningKey

from faramesh_cloud.config import Settings
from faramesh_cloud.keyfile import read_or_create
from faramesh_cloud.registry.signatures import b64
from faramesh_cloud.secrets import SecretMissing, missing_message

KEY_DIR: Final = Path("keys")
KEY_PREFIX: Final = "cloud-registry-ed25519-"
_FILE: Final = re.compile(r"^registry-ed25519-([1-9]\d{0,5})\.key$")


class RegistryKeyError(ValueError):
    """The registry key material cannot be used; the message says what to do."""


@dataclass(frozen=True)
class CloudKey:
    key_id: str
    signing_key: SigningKey

    @property
    def public_key(self) -> bytes:
        return bytes(self.signing_key.verify_key)

    @property
    def public_key_b64(self) -> str:
        return b64(self.public_key)

    def sign(self, message: bytes) -> bytes:
        """Ed25519 over ``message`` (so the key is the registry log's checkpoint ``Signer``)."""
        return self.signing_key.sign(message).signature


def trust_snippet(key_id: str, public_key: bytes) -> str:
    """The ``trust { }`` block a stack's governance.fms carries for a registry key (FPL.md §5:
    parsed as raw lines; today's daemon reads no ``key`` line, Cloud's verification does)."""
    return f'trust {{\n  key "{key_id}" ed25519:{b64(public_key)}\n}}\n'


def _pem(key: SigningKey) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(bytes(key)).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def parse_private_key(data: bytes, where: str) -> SigningKey:
    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        try:
            loaded = serialization.load_pem_private_key(text, password=None)
        except (ValueError, TypeError) as exc:
            raise RegistryKeyError(f"{where}: not a readable unencrypted PEM private key ({exc})") from None
        if not isinstance(loaded, Ed25519PrivateKey):
            raise RegistryKeyError(f"{where}: the PEM key is not an Ed25519 key")
        return SigningKey(loaded.private_bytes_raw())
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == 64:  # Go's form: seed || public key; the halves must agree
        key = SigningKey(raw[:32])
        if bytes(key.verify_key) != raw[32:]:
            raise RegistryKeyError(f"{where}: the 64-byte key's public half does not match its seed")
        return key
    if len(raw) == 32:
        return SigningKey(raw)
    raise RegistryKeyError(f"{where}: registry key material is a PKCS#8 PEM, or base64 of a 32-byte seed or "
                           "of a 64-byte Ed25519 private key (seed and public key)")


class KeySource:
    """Where Cloud's registry key is read (and, in the data dir, made and rotated)."""

    def __init__(self, data_dir: Path, configured: Path | None = None, *, keys_dir: Path | None = None,
                 create: bool = True) -> None:
        self._dir = Path(keys_dir) if keys_dir is not None else Path(data_dir) / KEY_DIR
        self._configured = configured
        self._create = create

    @classmethod
    def for_settings(cls, settings: Settings) -> KeySource:
        """The source ``settings`` choose (see the module docstring)."""
        if settings.registry_signing_key is not None:
            return cls(settings.data_dir, settings.registry_signing_key)
        shared = settings.secrets_dir
        if shared is not None and any(_FILE.fullmatch(p.name) for p in shared.glob("registry-ed25519-*.key")):
            return cls(settings.data_dir, keys_dir=shared, create=False)
        if not settings.secrets_in_data_dir:
            raise SecretMissing(missing_message(["registry_signing_key"]))
        return cls(settings.data_dir)

    def _numbers(self) -> list[int]:
        if not self._dir.is_dir():
            return []
        return sorted(int(m.group(1)) for p in self._dir.iterdir() if (m := _FILE.fullmatch(p.name)))

    def _load(self, n: int) -> CloudKey:
        path = self._dir / f"registry-ed25519-{n}.key"
        if not self._create:
            try:
                pem = path.read_bytes()
            except OSError as exc:
                raise RegistryKeyError(f"registry_signing_key {path}: cannot read it ({exc.strerror})") from None
            return CloudKey(f"{KEY_PREFIX}{n}", parse_private_key(pem, f"registry_signing_key {path}"))
        pem = read_or_create(path, lambda: _pem(SigningKey.generate()))
        return CloudKey(f"{KEY_PREFIX}{n}", parse_private_key(pem, str(path)))

    def current(self) -> CloudKey:
        """The key that signs now (made on first use in the data dir)."""
        if self._configured is not None:
            try:
                data = self._configured.read_bytes()
            except OSError as exc:
                raise RegistryKeyError(f"registry_signing_key {self._configured}: cannot read it ({exc.strerror}); "
                                       "point FARAMESH_CLOUD_REGISTRY_SIGNING_KEY at a readable key file") from None
            key = parse_private_key(data, str(self._configured))
            digest = hashlib.sha256(bytes(key.verify_key)).hexdigest()[:12]
            return CloudKey(f"{KEY_PREFIX}{digest}", key)
        numbers = self._numbers()
        return self._load(numbers[-1] if numbers else 1)

    def all(self) -> list[CloudKey]:
        """Every data-dir key (oldest first), or the configured one."""
        if self._configured is not None:
            return [self.current()]
        return [self._load(n) for n in self._numbers()] or [self.current()]

    def rotate(self) -> CloudKey:
        """Make the next data-dir key, which signs from now on."""
        if self._configured is not None:
            raise RegistryKeyError("the registry key is configured (FARAMESH_CLOUD_REGISTRY_SIGNING_KEY): rotate by "
                                   "configuring new key material and restarting; the old key is then retired")
        if not self._create:
            raise RegistryKeyError(f"the registry keys are shared secrets in {self._dir}: rotate by adding "
                                   "registry-ed25519-<n+1>.key to them and restarting every registry replica")
        numbers = self._numbers()
        return self._load((numbers[-1] if numbers else 1) + 1)
