"""Strict verification of a governance.fms's registry imports (``faramesh-cloud registry
verify``), whatever the daemon does: each import's artifact is fetched from a registry's daemon
API and its signature checked against the keys the organisation trusts **only** (the official
key, Cloud's registry keys, retired ones included), never against the key the answer carries.

Per import: ``verified`` (by which key), ``unverified`` (why: the ref the daemon refuses, no
signature, an untrusted key, a signature that fails, a sha256 that does not match),
``not in registry`` or ``yanked``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from faramesh_cloud.fpl.preview import parse_imports
from faramesh_cloud.registry.domain import Kind
from faramesh_cloud.registry.mirror_sources import signed_manifest
from faramesh_cloud.registry.signatures import (
    SignatureError,
    TrustedKey,
    verify_signature,
)

VERIFIED: Final = "verified"
UNVERIFIED: Final = "unverified"
MISSING: Final = "not in registry"
YANKED: Final = "yanked"

# (status, body) of GET <registry>/<path>
Fetch = Callable[[str], Awaitable[tuple[int, str, Any]]]


@dataclass(frozen=True, slots=True)
class ImportVerdict:
    line: int
    ref: str
    status: str
    detail: str

    @property
    def ok(self) -> bool:
        return self.status == VERIFIED


async def verify_imports(text: str, fetch: Fetch, trusted: Mapping[str, TrustedKey]) -> list[ImportVerdict]:
    out = []
    for ref in parse_imports(text):
        shown = ref.import_path or f"{ref.kind}/{ref.name}@{ref.version}"
        if not ref.ok:
            out.append(ImportVerdict(ref.line, shown, UNVERIFIED, ref.problem))
            continue
        kind = Kind.parse(ref.kind)
        status, body, answer = await fetch(f"v1/{kind.plural}/{ref.name.replace('/', '%2F')}/versions/{ref.version}")
        if status == 404:
            yanked = "was yanked" in body
            out.append(ImportVerdict(ref.line, shown, YANKED if yanked else MISSING, body.strip()))
            continue
        if status != 200 or not isinstance(answer, dict):
            out.append(ImportVerdict(ref.line, shown, UNVERIFIED, f"the registry answered HTTP {status}"))
            continue
        out.append(ImportVerdict(ref.line, shown, *_judge(kind, answer, trusted)))
    return out


def _judge(kind: Kind, answer: Mapping[str, Any], trusted: Mapping[str, TrustedKey]) -> tuple[str, str]:
    if not answer.get("signature"):
        return UNVERIFIED, "not signed"
    if kind is Kind.PROVIDER:
        served = answer.get("downloads") if isinstance(answer.get("downloads"), dict) else {}
        try:
            manifest, key = signed_manifest(answer, trusted)
        except SignatureError as exc:
            return UNVERIFIED, f"manifest signature: {exc}"
        signed = manifest.get("downloads") or {}
        for platform, d in served.items():
            if str((signed.get(platform) or {}).get("sha256_hex", "")).lower() != str(d.get("sha256_hex")).lower():
                return UNVERIFIED, f"download {platform}: sha256 is not the one the signed manifest names"
        return VERIFIED, f"manifest signed by {key.key_id}"
    fpl = answer.get("policy_fpl")
    if not isinstance(fpl, str) or not fpl:
        return UNVERIFIED, "no policy_fpl in the answer"
    body = fpl.encode()
    claimed = str(answer.get("sha256_hex") or "").lower()
    if claimed and claimed != hashlib.sha256(body).hexdigest():
        return UNVERIFIED, "sha256 mismatch between sha256_hex and policy_fpl"
    try:
        key = verify_signature(answer.get("signature"), body, trusted)
    except SignatureError as exc:
        return UNVERIFIED, f"signature: {exc}"
    return VERIFIED, f"signed by {key.key_id}"
