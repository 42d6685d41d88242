"""The framework control maps load, and the loader rejects a broken file naming the file and
the control."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from faramesh_cloud.compliance.evidence import catalogue
from faramesh_cloud.compliance.frameworks import (
    FRAMEWORKS,
    POLICY_RULE_NAMES,
    Combine,
    FrameworkError,
    UnknownFramework,
    check_slugs,
    load_framework,
    load_frameworks,
    parse_framework,
)

HEADER = """\
slug = "hipaa"
name = "HIPAA Security Rule"
edition = "45 CFR Part 164 Subpart C"
version = "1.2.3"
effective = 2013-03-26
citation_prefixes = ["45 CFR 164.308(", "45 CFR 164.312("]
"""
AUDIT = """
[[controls]]
id = "164.312(b)"
title = "Audit controls"
citation = "45 CFR 164.312(b)"
why = "records"
evidence = ["dpr_decisions_recorded", "chains_verified"]
policy = ["cloud_sync_declared"]
"""


def control(**fields: object) -> str:
    body = {"id": "164.312(d)", "title": "Person or entity authentication", "citation": "45 CFR 164.312(d)",
            "why": "who", "evidence": ["sso_configured"], **fields}
    lines = ["", "[[controls]]"]
    for key, value in body.items():
        if value is None:
            continue
        rendered = "[" + ", ".join(f'"{v}"' for v in value) + "]" if isinstance(value, list) else f'"{value}"'
        lines.append(f"{key} = {rendered}")
    return "\n".join(lines) + "\n"


def test_shipped_frameworks_load_with_real_citations() -> None:
    loaded = load_frameworks()
    assert list(loaded) == ["soc2", "hipaa", "pci-dss", "iso27001", "gdpr"]
    prefixes = {"soc2": "TSC CC", "hipaa": "45 CFR 164.3", "pci-dss": "PCI DSS v4.0.1 Req. ",
                "iso27001": "ISO/IEC 27001:2022 Annex A ", "gdpr": "GDPR Art. "}
    queries, rules = set(catalogue()), set(POLICY_RULE_NAMES)
    for slug, framework in loaded.items():
        assert framework.slug == slug and framework.file == FRAMEWORKS[slug]
        assert 8 <= len(framework.controls) <= 15, slug
        for c in framework.controls:
            assert c.citation.startswith(prefixes[slug]) and c.citation.endswith(c.id), (slug, c.id)
            assert c.title and c.why
            assert set(c.evidence) <= queries and set(c.policy) <= rules
    hipaa = loaded["hipaa"]
    assert hipaa.control("164.312(b)").title == "Audit controls"
    assert hipaa.effective == date(2013, 3, 26)
    assert loaded["iso27001"].control("8.15").title == "Logging"
    assert loaded["gdpr"].control("Art. 30(1)").title == "Records of processing activities"


def test_every_catalogue_query_and_policy_rule_is_used_by_some_framework() -> None:
    used_queries = {q for f in load_frameworks().values() for c in f.controls for q in c.evidence}
    used_rules = {r for f in load_frameworks().values() for c in f.controls for r in c.policy}
    assert used_queries == set(catalogue())
    assert used_rules == set(POLICY_RULE_NAMES)


def test_a_valid_file_parses_with_modes_and_version() -> None:
    framework = parse_framework(HEADER + AUDIT + control(evidence_mode="any"), "hipaa.toml")
    assert framework.version == "1.2.3"
    assert [c.id for c in framework.controls] == ["164.312(b)", "164.312(d)"]
    assert framework.controls[0].evidence_mode is Combine.ALL
    assert framework.controls[1].evidence_mode is Combine.ANY


def test_a_control_without_a_citation_fails_naming_file_and_control() -> None:
    with pytest.raises(FrameworkError, match=r"^hipaa\.toml: control '164\.312\(d\)': 'citation' is missing"):
        parse_framework(HEADER + AUDIT + control(citation=None), "hipaa.toml")


def test_an_empty_citation_fails() -> None:
    with pytest.raises(FrameworkError, match=r"control '164\.312\(d\)': 'citation' is missing or empty"):
        parse_framework(HEADER + control(citation="  "), "hipaa.toml")


def test_a_citation_outside_the_framework_fails() -> None:
    with pytest.raises(FrameworkError, match=r"control '164\.312\(d\)': citation 'GDPR Art\. 32' does not start"):
        parse_framework(HEADER + control(citation="GDPR Art. 32"), "hipaa.toml")


def test_a_rule_naming_an_unknown_query_fails() -> None:
    with pytest.raises(FrameworkError, match=r"hipaa\.toml: control '164\.312\(d\)': evidence names unknown "
                                             r"evidence query 'dpr_everything_fine'"):
        parse_framework(HEADER + control(evidence=["sso_configured", "dpr_everything_fine"]), "hipaa.toml")


def test_an_unknown_policy_rule_fails() -> None:
    with pytest.raises(FrameworkError, match=r"control '164\.312\(d\)': policy names unknown policy rule 'trust_me'"):
        parse_framework(HEADER + control(policy=["trust_me"]), "hipaa.toml")


def test_duplicate_control_ids_fail() -> None:
    with pytest.raises(FrameworkError, match=r"hipaa\.toml: control '164\.312\(b\)': duplicate control id"):
        parse_framework(HEADER + AUDIT + AUDIT, "hipaa.toml")


@pytest.mark.parametrize("version", ["1.0", "v1.0.0", "01.0.0", ""])
def test_a_bad_version_fails(version: str) -> None:
    with pytest.raises(FrameworkError, match=r"^hipaa\.toml: 'version'|^hipaa\.toml: version"):
        parse_framework(HEADER.replace('"1.2.3"', f'"{version}"') + AUDIT, "hipaa.toml")


def test_an_effective_that_is_not_a_date_fails() -> None:
    with pytest.raises(FrameworkError, match="effective '2013-03-26' is not a date"):
        parse_framework(HEADER.replace("2013-03-26", '"2013-03-26"') + AUDIT, "hipaa.toml")


def test_a_misspelt_key_fails_instead_of_being_ignored() -> None:
    with pytest.raises(FrameworkError, match=r"control '164\.312\(d\)': unknown key evidnce"):
        parse_framework(HEADER + control(evidnce=["chains_verified"]), "hipaa.toml")


def test_a_control_with_neither_evidence_nor_policy_fails() -> None:
    with pytest.raises(FrameworkError, match="names neither evidence queries nor policy rules"):
        parse_framework(HEADER + control(evidence=[]), "hipaa.toml")


def test_a_bad_mode_fails() -> None:
    with pytest.raises(FrameworkError, match="evidence_mode 'most' is not 'all' or 'any'"):
        parse_framework(HEADER + control(evidence_mode="most"), "hipaa.toml")


def test_invalid_toml_fails_naming_the_file() -> None:
    with pytest.raises(FrameworkError, match=r"^hipaa\.toml: not valid TOML"):
        parse_framework(HEADER + "[[controls]\n", "hipaa.toml")


def test_a_file_registered_under_another_slug_fails(tmp_path: Path) -> None:
    for slug, name in FRAMEWORKS.items():
        (tmp_path / name).write_text(HEADER.replace('"hipaa"', f'"{slug}"') + AUDIT, encoding="utf-8")
    (tmp_path / FRAMEWORKS["gdpr"]).write_text(HEADER + AUDIT, encoding="utf-8")
    assert load_framework("hipaa", tmp_path).slug == "hipaa"
    with pytest.raises(FrameworkError, match=r"^gdpr\.toml: declares slug 'hipaa', registered as 'gdpr'"):
        load_framework("gdpr", tmp_path)


def test_a_missing_file_fails_naming_it(tmp_path: Path) -> None:
    with pytest.raises(FrameworkError, match=r"^soc2\.toml: cannot be read"):
        load_framework("soc2", tmp_path)


def test_an_unknown_framework_is_named() -> None:
    assert check_slugs(["gdpr", "soc2", "gdpr"]) == ("gdpr", "soc2")
    with pytest.raises(UnknownFramework, match=r"unknown framework 'sox', 'nist'; known: soc2, hipaa"):
        check_slugs(["soc2", "sox", "nist"])
    with pytest.raises(UnknownFramework, match="'sox'"):
        load_framework("sox")
