"""Framework control maps as data: one versioned TOML file per framework under
``frameworks/`` (read with the stdlib ``tomllib``), loaded and validated here.

A file::

    slug = "hipaa"                       # one of FRAMEWORKS
    name = "HIPAA Security Rule"
    edition = "45 CFR Part 164 Subpart C"
    version = "1.0.0"                    # this mapping's version (MAJOR.MINOR.PATCH)
    effective = 2013-03-26               # a TOML date: when the cited edition took effect
    citation_prefixes = ["45 CFR 164.308(", "45 CFR 164.312("]

    [[controls]]
    id = "164.312(b)"
    title = "Audit controls"
    citation = "45 CFR 164.312(b)"       # must start with one of citation_prefixes
    why = "..."                          # why it matters for governed agents
    evidence = ["dpr_decisions_recorded", "chains_verified"]  # evidence.catalogue() names
    evidence_mode = "all"                # evidence holds when all (or any) queries meet threshold
    policy = ["cloud_sync_declared"]     # policy-rule names (POLICY_RULE_NAMES)
    policy_mode = "all"

Anything wrong (an unknown key, an unknown query or policy rule, a missing citation, a
duplicate id, a bad version) raises :class:`FrameworkError` naming the file and the control.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from faramesh_cloud.compliance.evidence import catalogue
from faramesh_cloud.compliance.policy_rules import POLICY_RULES

# The registry: slug -> file under frameworks/.
FRAMEWORKS: Final = MappingProxyType({
    "soc2": "soc2.toml",
    "hipaa": "hipaa.toml",
    "pci-dss": "pci-dss-4.0.1.toml",
    "iso27001": "iso27001-2022.toml",
    "gdpr": "gdpr.toml",
})

# The policy rules a control may name: the catalogue's own names (``policy_rules.py``).
POLICY_RULE_NAMES: Final = tuple(POLICY_RULES)

_VERSION: Final = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 .()\-]{0,39}$")
_TOP_KEYS: Final = frozenset({"slug", "name", "edition", "version", "effective", "citation_prefixes",
                              "controls"})
_CONTROL_KEYS: Final = frozenset({"id", "title", "citation", "why", "evidence", "evidence_mode", "policy",
                                  "policy_mode"})


class Combine(StrEnum):
    ALL = "all"
    ANY = "any"


class FrameworkError(ValueError):
    """A framework file that does not load, naming the file and (when known) the control."""

    def __init__(self, file: str, message: str, control: str | None = None) -> None:
        where = file if control is None else f"{file}: control {control!r}"
        super().__init__(f"{where}: {message}")
        self.file = file
        self.control = control


class UnknownFramework(ValueError):
    """A framework slug that is not in the registry (a 400 naming it)."""

    def __init__(self, slugs: Sequence[str]) -> None:
        super().__init__(f"unknown framework {', '.join(repr(s) for s in slugs)}; "
                         f"known: {', '.join(FRAMEWORKS)}")
        self.slugs = tuple(slugs)


@dataclass(frozen=True, slots=True)
class Control:
    id: str
    title: str
    citation: str
    why: str
    evidence: tuple[str, ...]
    evidence_mode: Combine
    policy: tuple[str, ...]
    policy_mode: Combine


@dataclass(frozen=True, slots=True)
class Framework:
    slug: str
    name: str
    edition: str
    version: str
    effective: date
    file: str
    controls: tuple[Control, ...]

    def control(self, control_id: str) -> Control:
        for control in self.controls:
            if control.id == control_id:
                return control
        raise KeyError(control_id)


def _text(file: str, raw: Mapping[str, Any], key: str, control: str | None = None) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise FrameworkError(file, f"{key!r} is missing or empty", control)
    return value.strip()


def _names(file: str, raw: Mapping[str, Any], key: str, known: Iterable[str], control: str,
           what: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FrameworkError(file, f"{key!r} must be a list of names", control)
    known = set(known)
    for name in value:
        if name not in known:
            raise FrameworkError(file, f"{key} names unknown {what} {name!r}", control)
    if len(set(value)) != len(value):
        raise FrameworkError(file, f"{key} names a {what} twice", control)
    return tuple(value)


def _mode(file: str, raw: Mapping[str, Any], key: str, control: str) -> Combine:
    value = raw.get(key, "all")
    try:
        return Combine(value)
    except ValueError:
        raise FrameworkError(file, f"{key} {value!r} is not 'all' or 'any'", control) from None


def _control(file: str, raw: Any, prefixes: tuple[str, ...], queries: Iterable[str],
             rules: Iterable[str], index: int) -> Control:
    if not isinstance(raw, dict):
        raise FrameworkError(file, f"controls[{index}] is not a table")
    control_id = raw.get("id")
    if not isinstance(control_id, str) or not _ID.match(control_id):
        raise FrameworkError(file, f"controls[{index}] has no valid id (got {control_id!r})")
    unknown = sorted(set(raw) - _CONTROL_KEYS)
    if unknown:
        raise FrameworkError(file, f"unknown key {', '.join(unknown)}", control_id)
    citation = _text(file, raw, "citation", control_id)
    if not citation.startswith(prefixes):
        raise FrameworkError(file, f"citation {citation!r} does not start with one of {list(prefixes)}",
                             control_id)
    evidence = _names(file, raw, "evidence", queries, control_id, "evidence query")
    policy = _names(file, raw, "policy", rules, control_id, "policy rule")
    if not evidence and not policy:
        raise FrameworkError(file, "names neither evidence queries nor policy rules", control_id)
    return Control(control_id, _text(file, raw, "title", control_id), citation, _text(file, raw, "why", control_id),
                   evidence, _mode(file, raw, "evidence_mode", control_id), policy,
                   _mode(file, raw, "policy_mode", control_id))


def parse_framework(text: str, file: str, *, queries: Iterable[str] | None = None,
                    policy_rules: Iterable[str] = POLICY_RULE_NAMES) -> Framework:
    """One framework file's text, validated. ``queries`` defaults to the evidence catalogue."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FrameworkError(file, f"not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise FrameworkError(file, f"unknown key {', '.join(unknown)}")
    slug = _text(file, raw, "slug")
    if slug not in FRAMEWORKS:
        raise FrameworkError(file, f"slug {slug!r} is not one of {', '.join(FRAMEWORKS)}")
    version = _text(file, raw, "version")
    if not _VERSION.match(version):
        raise FrameworkError(file, f"version {version!r} is not MAJOR.MINOR.PATCH")
    effective = raw.get("effective")
    if not isinstance(effective, date) or isinstance(effective, datetime):
        raise FrameworkError(file, f"effective {effective!r} is not a date (write it as 2024-01-31)")
    prefixes = raw.get("citation_prefixes")
    if not isinstance(prefixes, list) or not prefixes or not all(isinstance(p, str) and p for p in prefixes):
        raise FrameworkError(file, "citation_prefixes must be a non-empty list of strings")
    controls_raw = raw.get("controls")
    if not isinstance(controls_raw, list) or not controls_raw:
        raise FrameworkError(file, "has no [[controls]]")
    query_names = tuple(catalogue() if queries is None else queries)
    rules = tuple(policy_rules)
    controls: list[Control] = []
    seen: set[str] = set()
    for index, item in enumerate(controls_raw):
        control = _control(file, item, tuple(prefixes), query_names, rules, index)
        if control.id in seen:
            raise FrameworkError(file, "duplicate control id", control.id)
        seen.add(control.id)
        controls.append(control)
    return Framework(slug, _text(file, raw, "name"), _text(file, raw, "edition"), version, effective, file,
                     tuple(controls))


def _directory() -> Path:
    return Path(str(resources.files("faramesh_cloud.compliance").joinpath("frameworks")))


def check_slugs(slugs: Iterable[str]) -> tuple[str, ...]:
    """The slugs, de-duplicated in order; :class:`UnknownFramework` naming any not registered."""
    given = tuple(dict.fromkeys(slugs))
    unknown = [s for s in given if s not in FRAMEWORKS]
    if unknown:
        raise UnknownFramework(unknown)
    return given


def load_framework(slug: str, directory: Path | None = None) -> Framework:
    """The framework of ``slug`` from its file (``directory`` defaults to the shipped files)."""
    check_slugs([slug])
    path = (directory or _directory()) / FRAMEWORKS[slug]
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FrameworkError(path.name, f"cannot be read: {exc.strerror}") from None
    framework = parse_framework(text, path.name)
    if framework.slug != slug:
        raise FrameworkError(path.name, f"declares slug {framework.slug!r}, registered as {slug!r}")
    return framework


def load_frameworks(directory: Path | None = None) -> dict[str, Framework]:
    """Every registered framework by slug."""
    return {slug: load_framework(slug, directory) for slug in FRAMEWORKS}
