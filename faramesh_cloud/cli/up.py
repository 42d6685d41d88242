"""``faramesh-cloud up`` (everything embedded, one process) and ``serve SERVICE``."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import click

from faramesh_cloud.config import ConfigError, Settings
from faramesh_cloud.rpc.ports import PortUnavailable
from faramesh_cloud.telemetry import configure_logging


def _settings(**overrides: object) -> Settings:
    try:
        return Settings.load(**overrides)  # type: ignore[arg-type]
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


def _serve(settings: Settings, names: list[str], banner: bool) -> None:
    from faramesh_cloud.runtime import interpreter
    from faramesh_cloud.runtime.runner import run
    from faramesh_cloud.runtime.services import RuntimeContext

    configure_logging(settings.log_level)
    interpreter.tune_for_throughput()

    def ready(ctx: RuntimeContext) -> None:
        interpreter.freeze_startup_objects()
        if not banner:
            return
        click.echo(click.style("Faramesh Cloud is up", bold=True) + f" ({settings.mode} mode, data in {settings.data_dir})")
        for info in ctx.infos():
            click.echo(f"  {info.name:<12} {info.address:<28} {info.role}")
        click.echo(f"Open {settings.http_url} — Ctrl-C stops.")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run(settings, names, stop, on_ready=ready)

    try:
        asyncio.run(main())
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except PortUnavailable as exc:  # a gRPC port: the message names it and the setting
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except OSError as exc:
        click.echo(f"error: {exc}; is another Faramesh Cloud already running? Stop it or change "
                   "--http-port / --sync-port", err=True)
        sys.exit(1)
    click.echo("stopped.")


data_dir_option = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
                               help="Where PostgreSQL, chDB and TLS material live (default: your user data dir).")


@click.command()
@data_dir_option
@click.option("--http-port", type=int, help="Web UI and REST API port (default 8080).")
@click.option("--sync-port", type=int, help="Daemon sync channel port, gRPC over TLS 1.3 (default 8443).")
@click.option("--demo", is_flag=True, help="Also run a simulated daemon fleet feeding Cloud.")
def up(data_dir: Path | None, http_port: int | None, sync_port: int | None, demo: bool) -> None:
    """Run the whole product embedded in one process: PostgreSQL, the log, chDB, every service."""
    from faramesh_cloud.runtime.services import enabled_services

    settings = _settings(data_dir=data_dir, http_port=http_port, sync_port=sync_port, demo=demo or None)
    _serve(settings, enabled_services(settings), banner=True)


@click.command()
@click.argument("service")
@data_dir_option
def serve(service: str, data_dir: Path | None) -> None:
    """Run one SERVICE alone (distributed mode) against the PostgreSQL, Kafka and ClickHouse
    configured with FARAMESH_CLOUD_POSTGRES_URL, _KAFKA_BOOTSTRAP and _CLICKHOUSE_DSN."""
    from faramesh_cloud.runtime.services import SERVICES

    if service not in SERVICES:
        raise click.BadParameter(f"choose from {', '.join(SERVICES)}", param_hint="SERVICE")
    _serve(_settings(data_dir=data_dir), [service], banner=True)
