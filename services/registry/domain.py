"""The registry's words: kinds, artifact names, strict semantic versions (pure).

* Kinds: ``provider``, ``policy``, ``framework`` (singular, as stored and searched); their
  plural is the import path segment and the daemon API's (``providers``, ``policies``,
  ``frameworks``).
* Names: ``<namespace>/<name>`` for policies and providers; framework profiles may be bare
  (``langgraph``: owned by the ``faramesh`` namespace) or prefixed. Each segment is lower-case
  letters, digits and ``-`` (starting with a letter or digit, at most 64 characters), which
  every catalog name upstream keeps (``faramesh/dev-kms``, ``openai-agents``). Upstream's client
  only requires a non-empty name; the registry is stricter so a name is safe in a URL path, a
  file name and an import line.
* Versions: Semantic Versioning 2.0.0 exactly (``MAJOR.MINOR.PATCH[-PRERELEASE]``, no leading
  ``v``, no leading zeros); build metadata (``+…``) is refused because two versions differing only
  in it would have the same precedence. Ordering is SemVer precedence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Kind(StrEnum):
    PROVIDER = "provider"
    POLICY = "policy"
    FRAMEWORK = "framework"

    @property
    def plural(self) -> str:
        return {"provider": "providers", "policy": "policies", "framework": "frameworks"}[self.value]

    @classmethod
    def parse(cls, text: str) -> Kind:
        """A kind from its singular or plural word; ``ValueError`` naming the choices."""
        for kind in cls:
            if text in (kind.value, kind.plural):
                return kind
        raise ValueError(f"unknown kind {text!r} (want provider, policy or framework)")


class TrustTier(StrEnum):
    OFFICIAL = "official"
    COMMUNITY = "community"


class VersionState(StrEnum):
    PUBLISHED = "published"
    YANKED = "yanked"


OFFICIAL_NAMESPACE: Final = "faramesh"
# Platforms a provider binary is built for (the daemon's GOOS_GOARCH).
PLATFORMS: Final = ("linux_amd64", "linux_arm64", "darwin_amd64", "darwin_arm64", "windows_amd64",
                    "windows_arm64")
CAPABILITIES: Final = ("SECRETS", "IDENTITY", "KMS", "AUDIT_SINK", "COST")

_SEGMENT: Final = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


@dataclass(frozen=True, slots=True)
class ArtifactName:
    namespace: str
    name: str  # the full name as served and imported (``faramesh/stripe``, ``langgraph``)

    def __str__(self) -> str:
        return self.name


def parse_name(kind: Kind, text: str) -> ArtifactName:
    """``text`` as an artifact name of ``kind``; ``ValueError`` saying what is wrong."""
    parts = text.split("/")
    if len(parts) > 2 or not all(_SEGMENT.fullmatch(p) for p in parts):
        raise ValueError(f"artifact name {text!r} is not valid: use <namespace>/<name>, each part lower-case "
                         "letters, digits and '-' (at most 64 characters)")
    if len(parts) == 1:
        if kind is not Kind.FRAMEWORK:
            raise ValueError(f"{kind.value} name {text!r} needs a namespace: <namespace>/<name>, "
                             f"e.g. {OFFICIAL_NAMESPACE}/{text}")
        return ArtifactName(OFFICIAL_NAMESPACE, text)
    return ArtifactName(parts[0], text)


_SEMVER: Final = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$")
_MAX_VERSION_LEN: Final = 128


@dataclass(frozen=True, slots=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: str = ""  # dot-separated identifiers, "" for a release

    @classmethod
    def parse(cls, text: str) -> Version:
        if len(text) > _MAX_VERSION_LEN:
            raise ValueError(f"version is longer than {_MAX_VERSION_LEN} characters")
        m = _SEMVER.fullmatch(text)
        if m is None:
            hint = " (no leading 'v')" if text[:1] in ("v", "V") else ""
            raise ValueError(f"version {text!r} is not semantic versioning MAJOR.MINOR.PATCH[-PRERELEASE]{hint}, "
                             "e.g. 1.0.0 or 1.1.0-rc.1")
        if m.group(5) is not None:
            raise ValueError(f"version {text!r} has build metadata (+{m.group(5)}); it is not accepted, "
                             "because it does not order versions: use a prerelease or a new patch version")
        major, minor, patch = (int(m.group(i)) for i in (1, 2, 3))
        if max(major, minor, patch) > 2**31 - 1:
            raise ValueError(f"version {text!r} has a number too large")
        return cls(major, minor, patch, m.group(4) or "")

    def __str__(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return f"{core}-{self.prerelease}" if self.prerelease else core

    @property
    def is_prerelease(self) -> bool:
        return bool(self.prerelease)

    def sort_key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        """SemVer 2.0.0 precedence (§11): a release outranks its prereleases; prerelease
        identifiers compare numerically when numeric, numbers before words, more fields win."""
        if not self.prerelease:
            return (self.major, self.minor, self.patch, 1, ())
        ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease.split("."))
        return (self.major, self.minor, self.patch, 0, ids)

    def __lt__(self, other: Version) -> bool:
        return self.sort_key() < other.sort_key()

    def __le__(self, other: Version) -> bool:
        return self.sort_key() <= other.sort_key()

    def __gt__(self, other: Version) -> bool:
        return self.sort_key() > other.sort_key()

    def __ge__(self, other: Version) -> bool:
        return self.sort_key() >= other.sort_key()


def latest(versions: list[str], *, include_prerelease: bool = False) -> str | None:
    """The highest of ``versions`` (releases only unless none or ``include_prerelease``)."""
    parsed = [Version.parse(v) for v in versions]
    releases = [v for v in parsed if include_prerelease or not v.is_prerelease] or parsed
    return str(max(releases)) if releases else None


def check_platform(platform: str) -> str:
    if platform not in PLATFORMS:
        raise ValueError(f"platform {platform!r} is not one the daemon runs on; use one of {', '.join(PLATFORMS)}")
    return platform
