"""Upstream's registry signatures, exactly (pure; Ed25519 with PyNaCl).

* Policy pack / framework profile: the ``.fpl.sig`` JSON ``{key_id, algorithm:"ed25519",
  value_b64, public_key_b64}``, Ed25519 over the raw FPL bytes; written by upstream's signer as
  2-space indented JSON without a trailing newline (:func:`fpl_signature_file`).
* Provider manifest: the ``signature`` object (same shape) over the compact Go ``json.Marshal``
  of the manifest without ``signature`` (:func:`manifest_signed_bytes`: keys in the order
  ``name, version, dev_only, capabilities, config_schema, downloads``, empty ones left out as Go's
  ``omitempty`` does, maps with sorted keys, ``<``, ``>``, ``&``, U+2028 and U+2029 escaped as
  Go escapes them; FARAMESH_FORMATS.md §5).
* Provider binary: ``<binary>.sig`` = bare standard base64 of the 64-byte signature, no newline.

:func:`verify_signature` checks a signature object against a key the *caller* trusts, never
against the public key the object carries (which only has to agree with it).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

ALGORITHM: Final = "ed25519"
_MANIFEST_ORDER: Final = ("name", "version", "dev_only", "capabilities", "config_schema", "downloads")
_DOWNLOAD_ORDER: Final = ("url", "sha256_hex", "size")


class SignatureError(ValueError):
    """A signature that is malformed or does not verify; the message says which."""


@dataclass(frozen=True, slots=True)
class TrustedKey:
    key_id: str
    public_key: bytes  # 32 raw bytes


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object, what: str, size: int) -> bytes:
    if not isinstance(text, str):
        raise SignatureError(f"{what} is missing or not a string")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        try:  # upstream's binary .sig reader accepts the URL alphabet too
            raw = base64.urlsafe_b64decode(text)
        except (binascii.Error, ValueError):
            raise SignatureError(f"{what} is not base64") from None
    if len(raw) != size:
        raise SignatureError(f"{what} is {len(raw)} bytes, not {size}")
    return raw


def public_key_bytes(public_key_b64: str) -> bytes:
    return _unb64(public_key_b64, "public_key_b64", 32)


# --- Go's json.Marshal, for the manifest ---------------------------------------------------------

def _go_string(text: str) -> str:
    out = json.dumps(text, ensure_ascii=False)
    return out.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def go_json(value: Any) -> str:
    """Compact ``json.Marshal`` of a decoded-JSON value as Go writes a ``map[string]any`` /
    ``[]any`` (map keys sorted; floats that are whole numbers without a fraction)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _go_string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{_go_string(k)}:{go_json(value[k])}" for k in sorted(value)) + "}"
    raise TypeError(f"not a JSON value: {value!r}")


def _empty(value: Any) -> bool:
    return value is None or value is False or value == "" or value == 0 or value == [] or value == {}


def manifest_signed_bytes(manifest: Mapping[str, Any]) -> bytes:
    """The bytes a provider manifest's ``signature`` covers (upstream's ``ProviderManifest``
    struct: ``dev_only``, ``capabilities`` and ``config_schema`` are ``omitempty``)."""
    unknown = set(manifest) - {*_MANIFEST_ORDER, "signature"}
    if unknown:
        raise SignatureError(f"manifest has fields upstream's format does not: {', '.join(sorted(unknown))}")
    parts: list[str] = []
    for key in _MANIFEST_ORDER:
        value = manifest.get(key)
        if key == "downloads":
            downloads = value or {}
            if not isinstance(downloads, Mapping):
                raise SignatureError("manifest downloads is not an object")
            items = []
            for platform in sorted(downloads):
                entry = downloads[platform]
                if not isinstance(entry, Mapping):
                    raise SignatureError(f"manifest download {platform!r} is not an object")
                fields = [f"{_go_string(f)}:{go_json(entry.get(f, '' if f != 'size' else 0))}" for f in _DOWNLOAD_ORDER
                          if not (f == "size" and not entry.get("size"))]
                items.append(f"{_go_string(platform)}:{{{','.join(fields)}}}")
            parts.append(f'"downloads":{{{",".join(items)}}}')
        elif key in ("name", "version"):
            parts.append(f"{_go_string(key)}:{go_json(value if value is not None else '')}")
        elif not _empty(value):
            parts.append(f"{_go_string(key)}:{go_json(value)}")
    return ("{" + ",".join(parts) + "}").encode()


# --- signing --------------------------------------------------------------------------------------

def signature_object(key_id: str, key: SigningKey, data: bytes) -> dict[str, str]:
    """Upstream's signature object over ``data`` (field order as its signer writes it)."""
    value = key.sign(data).signature
    return {"key_id": key_id, "algorithm": ALGORITHM, "value_b64": b64(value),
            "public_key_b64": b64(bytes(key.verify_key))}


def fpl_signature_file(key_id: str, key: SigningKey, fpl: bytes) -> bytes:
    """The ``.fpl.sig`` file upstream's ``sign-catalog`` writes for ``fpl``."""
    return json.dumps(signature_object(key_id, key, fpl), indent=2).encode()


def sign_manifest(key_id: str, key: SigningKey, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """``manifest`` with its ``signature`` (re)made over its Go-JSON."""
    body = {k: v for k, v in manifest.items() if k != "signature"}
    return {**body, "signature": signature_object(key_id, key, manifest_signed_bytes(body))}


def binary_signature(key: SigningKey, binary: bytes) -> str:
    """A binary's ``.sig`` content: bare base64, no newline."""
    return b64(key.sign(binary).signature)


# --- verifying ------------------------------------------------------------------------------------

def parse_signature(raw: Any) -> dict[str, str]:
    """A signature object checked for shape (what the daemon would silently ignore is refused)."""
    if not isinstance(raw, Mapping):
        raise SignatureError("signature is not a JSON object")
    algorithm = raw.get("algorithm")
    if not isinstance(algorithm, str) or algorithm.lower() != ALGORITHM:
        raise SignatureError(f"signature algorithm {algorithm!r} is not ed25519")
    key_id = raw.get("key_id")
    if not isinstance(key_id, str) or not key_id:
        raise SignatureError("signature has no key_id")
    _unb64(raw.get("value_b64"), "value_b64", 64)
    _unb64(raw.get("public_key_b64"), "public_key_b64", 32)
    return {str(k): str(v) for k, v in raw.items()}


def verify_signature(raw: Any, data: bytes, trusted: Mapping[str, TrustedKey]) -> TrustedKey:
    """The trusted key that made signature object ``raw`` over ``data``; ``SignatureError``
    when its key is not trusted, the key it carries is not that key, or it does not verify."""
    sig = parse_signature(raw)
    key = trusted.get(sig["key_id"])
    if key is None:
        raise SignatureError(f"signed by key {sig['key_id']!r}, which is not a trusted registry key")
    if _unb64(sig["public_key_b64"], "public_key_b64", 32) != key.public_key:
        raise SignatureError(f"carries a public key that is not the one of trusted key {key.key_id!r}")
    verify_raw(key.public_key, data, _unb64(sig["value_b64"], "value_b64", 64))
    return key


def verify_raw(public_key: bytes, data: bytes, signature: bytes) -> None:
    try:
        VerifyKey(public_key).verify(data, signature)
    except BadSignatureError:
        raise SignatureError("ed25519 verification failed") from None


def verify_binary_signature(text: str, binary: bytes, key: TrustedKey) -> None:
    verify_raw(key.public_key, binary, _unb64(text.strip(), "binary signature", 64))


def check_binary_signature(text: str) -> str:
    """A binary ``.sig``'s content, checked to be 64 bytes of base64 (returned stripped)."""
    _unb64(text.strip(), "binary signature", 64)
    return text.strip()
