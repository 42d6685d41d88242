"""Cloud's ACTIVE registry key, as publishing signs with it (upstream's formats, from
``signatures``) and as the registry log signs its checkpoints (``translog.Signer``).

The key is read on every use from the running registry (``Registry.signing_key``, set by
``keyring.ensure_cloud_key`` at start and replaced by a rotation), so a version approved after
a rotation is signed by the new key and never by a retired one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from faramesh_cloud.registry.keys import CloudKey
from faramesh_cloud.registry.signatures import binary_signature, sign_manifest, signature_object


class CloudSigner:
    def __init__(self, current: Callable[[], CloudKey | None]) -> None:
        self._current = current

    @property
    def key(self) -> CloudKey:
        key = self._current()
        if key is None:
            raise RuntimeError("the registry has no signing key yet (it lists Cloud's key when it starts)")
        return key

    def pinned(self) -> CloudSigner:
        """This signer fixed to the key active now (one approval signs everything with one key)."""
        key = self.key
        return CloudSigner(lambda: key)

    # translog.Signer
    @property
    def key_id(self) -> str:
        return self.key.key_id

    @property
    def public_key(self) -> bytes:
        return self.key.public_key

    def sign(self, message: bytes) -> bytes:
        return bytes(self.key.signing_key.sign(message).signature)

    # publishing
    def sign_fpl(self, body: bytes) -> dict[str, str]:
        """The ``.fpl.sig`` object over the exact FPL bytes."""
        key = self.key
        return signature_object(key.key_id, key.signing_key, body)

    def sign_binary(self, data: bytes) -> str:
        """A binary's ``.sig``: bare base64 of the signature over its bytes."""
        return binary_signature(self.key.signing_key, data)

    def sign_manifest(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """``manifest`` with its ``signature`` over its Go-JSON without ``signature``."""
        key = self.key
        return sign_manifest(key.key_id, key.signing_key, manifest)
