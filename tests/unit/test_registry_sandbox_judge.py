"""What the registry accepts of Init's answer (services/registry/sandbox.py ``judge``): the
daemon's own check (not unhealthy) and the registry's (the manifest's capabilities and version)."""

from __future__ import annotations

from faramesh_cloud.registry.sandbox import InitAnswer, capability_name, judge


def answer(
    caps: tuple[str, ...] = ("SECRETS",), healthy: bool | None = True, version: str = "1.0.0"
) -> InitAnswer:
    return InitAnswer(
        capabilities=caps, healthy=healthy, health_detail="vault sealed", version=version, schema=()
    )


def test_a_matching_answer_is_accepted_whatever_the_spelling_of_the_manifest() -> None:
    assert (
        judge(
            answer(("KMS", "SECRETS")),
            version="v1.0.0",
            declared_capabilities=["secrets", "CAPABILITY_KMS"],
        )
        is None
    )


def test_no_health_in_the_answer_is_accepted_as_the_daemon_does() -> None:
    assert judge(answer(healthy=None), version="1.0.0", declared_capabilities=["SECRETS"]) is None


def test_unhealthy_is_refused_as_the_daemon_refuses_it() -> None:
    assert judge(answer(healthy=False), version="1.0.0", declared_capabilities=["SECRETS"]) == (
        "Init answered unhealthy: vault sealed"
    )


def test_missing_or_extra_capabilities_are_named() -> None:
    assert judge(
        answer(("SECRETS",)), version="1.0.0", declared_capabilities=["SECRETS", "AUDIT_SINK"]
    ) == ("Init answered capabilities [SECRETS] but the manifest declares [AUDIT_SINK, SECRETS]")


def test_another_version_is_refused_an_empty_one_is_not() -> None:
    assert judge(answer(version="2.0.0"), version="1.0.0", declared_capabilities=["SECRETS"]) == (
        "Init answered version 2.0.0 but the manifest declares 1.0.0"
    )
    assert judge(answer(version=""), version="1.0.0", declared_capabilities=["SECRETS"]) is None


def test_capability_names_from_numbers_and_manifests() -> None:
    assert capability_name(4) == "AUDIT_SINK"
    assert capability_name("capability_cost") == "COST"
