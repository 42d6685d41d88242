"""What ``--help`` tells a newcomer: every port ``up`` opens (the internal gRPC range and how to
move it too), every service ``serve`` can run; the README says the same; and the one
``error: ...`` style for click's own usage errors."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from faramesh_cloud.cli.main import cli
from faramesh_cloud.config import Settings
from faramesh_cloud.runtime.services import SERVICES

README = Path(__file__).resolve().parents[2] / "README.md"


def test_up_help_names_every_port_and_the_internal_base_port() -> None:
    result = CliRunner().invoke(cli, ["up", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    defaults = Settings()
    for port in (defaults.http_port, defaults.sync_port):
        assert str(port) in text
    assert "FARAMESH_CLOUD_INTERNAL_BASE_PORT" in text
    assert f"{defaults.internal_host}:{defaults.internal_base_port}" in text
    assert "internal service-to-service gRPC" in text
    from faramesh_cloud.config import INTERNAL_APIS
    from faramesh_cloud.runtime.services import INTERNAL_API_SERVERS
    for service in INTERNAL_API_SERVERS:  # every internal port up opens, named by its service
        assert f"{defaults.internal_base_port + INTERNAL_APIS[service]} {service}" in text


def test_serve_help_lists_every_service_with_what_it_does() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0
    listed = dict(re.findall(r"^  ([a-z-]+)\s{2,}(\S.*)$", result.output.split("Services:")[1], re.MULTILINE))
    assert set(listed) == set(SERVICES)
    assert all(listed.values())


def test_the_readme_documents_the_internal_ports() -> None:
    text = " ".join(README.read_text().split())
    assert "FARAMESH_CLOUD_INTERNAL_BASE_PORT" in text
    assert str(Settings().internal_base_port) in text


def test_a_usage_error_reads_error_with_the_usage_above_and_exits_2() -> None:
    result = CliRunner().invoke(cli, ["serve", "nope"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Usage: ") and " serve [OPTIONS] SERVICE" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("error: Invalid value for SERVICE: choose from")
    assert "Error:" not in result.stderr


def test_a_group_without_a_command_shows_its_help_not_an_error() -> None:
    for args in ([], ["stacks"]):
        result = CliRunner().invoke(cli, args)
        assert "Commands:" in result.output and "error:" not in result.output, args
