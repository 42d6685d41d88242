"""The ``faramesh-cloud`` command. Subcommands live in their own modules and are imported
only when run, so ``faramesh-cloud verify`` does not pay for gRPC, chDB or PostgreSQL.
Every command's errors read ``error: ...`` with exit code 2 for refused input and 1 for a
problem found or a dependency down (:mod:`faramesh_cloud.cli.errors`)."""

from __future__ import annotations

import importlib
from typing import Any

import click

from faramesh_cloud.cli.errors import CliGroup

# name -> (module, attribute): resolved lazily by LazyGroup.
COMMANDS: dict[str, tuple[str, str]] = {
    "verify": ("faramesh_cloud.cli.verify", "verify"),
    "up": ("faramesh_cloud.cli.up", "up"),
    "serve": ("faramesh_cloud.cli.up", "serve"),
    "verify-bundle": ("faramesh_cloud.cli.verify_bundle", "verify_bundle"),
    "verify-report": ("faramesh_cloud.cli.verify_report", "verify_report"),
    "simulate": ("faramesh_cloud.cli.simulate", "simulate"),
    "orgs": ("faramesh_cloud.cli.orgs", "orgs"),
    "stacks": ("faramesh_cloud.cli.stacks", "stacks"),
    "members": ("faramesh_cloud.cli.members", "members"),
    "groups": ("faramesh_cloud.cli.groups", "groups"),
    "import-wal": ("faramesh_cloud.cli.import_wal", "import_wal"),
    "reports": ("faramesh_cloud.cli.reports", "reports"),
    "git": ("faramesh_cloud.cli.git", "git"),
    "retention": ("faramesh_cloud.cli.retention", "retention"),
    "billing": ("faramesh_cloud.cli.billing", "billing"),
    "registry": ("faramesh_cloud.cli.registry", "registry"),
    "verify-registry": ("faramesh_cloud.cli.registry_verify", "verify_registry"),
    "secrets": ("faramesh_cloud.cli.secrets", "secrets"),
    "slack": ("faramesh_cloud.cli.slack", "slack"),
    "snippet": ("faramesh_cloud.cli.snippet", "snippet"),
}


class LazyGroup(CliGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module = importlib.import_module(target[0])
        command: click.Command = getattr(module, target[1])
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="faramesh-cloud")
def cli() -> None:
    """Faramesh Cloud: fleet visibility, approvals, the verified DPR replica, compliance
    evidence and the registry, next to Faramesh enforcement and never in it."""


def main(argv: list[str] | None = None) -> Any:
    # The sync channel's TLS 1.3 floor must be in the environment before grpc is imported.
    from faramesh_cloud.rpc.tls13 import require_tls13_env

    require_tls13_env()
    return cli.main(args=argv, prog_name="faramesh-cloud")
