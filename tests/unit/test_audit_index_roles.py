"""Issue 18: which halves of the audit index a process runs (``audit_index_roles``), read from
the environment and checked with a message that says what to do, and the niceness a process
running the chain verifier alone gives itself (``audit_verifier_nice``)."""

from __future__ import annotations

import pytest

from faramesh_cloud.audit_index.service import AuditIndexConfig, Role, verifier_niceness
from faramesh_cloud.config import ConfigError, Settings
from faramesh_cloud.runtime.audit_wiring import index_config


def test_a_process_runs_both_halves_by_default() -> None:
    config = index_config(Settings.load(env={}))
    assert config.roles == {Role.SEARCH, Role.VERIFIER}
    assert config.group == "audit-index" and config.verifier_group == "audit-verifier"
    assert verifier_niceness(config.roles, config.verifier_nice) == 0


def test_the_verifier_alone_from_the_environment_with_its_niceness() -> None:
    config = index_config(Settings.load(env={"FARAMESH_CLOUD_AUDIT_INDEX_ROLES": "verifier",
                                             "FARAMESH_CLOUD_AUDIT_VERIFIER_NICE": "10"}))
    assert config.roles == {Role.VERIFIER}
    assert verifier_niceness(config.roles, config.verifier_nice) == 10
    # With the search index in the same process, lowering its priority would slow search too.
    assert verifier_niceness(frozenset(Role), 10) == 0
    assert verifier_niceness(frozenset({Role.SEARCH}), 10) == 0


def test_a_rebuild_under_a_new_group_name_names_its_verifier_after_it() -> None:
    assert AuditIndexConfig(group="rebuild").verifier_group == "rebuild-verifier"


@pytest.mark.parametrize(("env", "message"), [
    ({"FARAMESH_CLOUD_AUDIT_INDEX_ROLES": "search,checker"}, "from search and verifier"),
    ({"FARAMESH_CLOUD_AUDIT_INDEX_ROLES": " , "}, "from search and verifier"),
    ({"FARAMESH_CLOUD_AUDIT_VERIFIER_NICE": "20"}, "niceness increment in 0..19"),
    ({"FARAMESH_CLOUD_AUDIT_VERIFIER_NICE": "-1"}, "niceness increment in 0..19"),
])
def test_bad_roles_or_niceness_are_refused_with_what_to_do(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.load(env=env)


def test_a_config_with_no_role_is_refused() -> None:
    with pytest.raises(ValueError, match="non-empty subset"):
        AuditIndexConfig(roles=frozenset())
