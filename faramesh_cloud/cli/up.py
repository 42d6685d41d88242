"""``faramesh-cloud up`` (everything embedded, one process) and ``serve SERVICE``."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import click

from faramesh_cloud.config import ConfigError, Settings
from faramesh_cloud.rpc.ports import (
    INTERNAL_PORT_SETTING,
    PortUnavailable,
    check_free,
    internal_api,
)
from faramesh_cloud.rpc.tls13 import InsecureTransport
from faramesh_cloud.telemetry import configure_logging


def _settings(**overrides: object) -> Settings:
    try:
        return Settings.load(**overrides)  # type: ignore[arg-type]
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None


def _serve(settings: Settings, names: list[str], banner: bool, record_addresses: bool = False,
           health: bool = False, process: str = "up") -> None:
    from faramesh_cloud.observability import setup as observability
    from faramesh_cloud.runtime import interpreter, running
    from faramesh_cloud.runtime.runner import run
    from faramesh_cloud.runtime.services import RuntimeContext

    configure_logging(settings.log_level)
    interpreter.tune_for_throughput()
    if settings.otel_enabled:  # before any server or client exists: the instrumentation patches them
        try:
            observability.start(process)
        except ConfigError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    def ready(ctx: RuntimeContext) -> None:
        interpreter.freeze_startup_objects()
        if record_addresses:  # for `stacks register` & co. beside it (runtime/running.py)
            running.record(settings, ctx.started_at)
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
        try:
            await run(settings, names, stop, on_ready=ready, health=health)
        finally:
            if record_addresses:
                running.clear(settings)

    try:
        asyncio.run(main())
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except PortUnavailable as exc:  # a port: the message names it and the setting
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except InsecureTransport as exc:  # this process's gRPC would also speak TLS 1.2: refuse to serve
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except OSError as exc:
        click.echo(f"error: {exc}; is another Faramesh Cloud already running? Stop it or change "
                   "--http-port / --sync-port", err=True)
        sys.exit(1)
    finally:
        observability.stop()  # flush what is batched (nothing to do when off)
    click.echo("stopped.")


def _internal_ports(settings: Settings) -> str:
    """"8450 approvals, 8451 fleet, ..." for the internal APIs ``up`` serves."""
    from faramesh_cloud.runtime.services import enabled_services, internal_binds

    return ", ".join(f"{address.rsplit(':', 1)[1]} {service}"
                     for service, address in internal_binds(settings, enabled_services(settings)))


class _UpCommand(click.Command):
    """``up --help`` ends with every port the process opens and how to move each."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        d = Settings()
        with formatter.section("Ports (each also set by its FARAMESH_CLOUD_* variable)"):
            formatter.write_dl([
                ("--http-port", f"web UI, REST API and the legacy HTTP daemon feeds (default {d.http_port}; "
                                "FARAMESH_CLOUD_HTTP_PORT)"),
                ("--sync-port", f"daemon sync channel, gRPC over TLS 1.3 (default {d.sync_port}; "
                                "FARAMESH_CLOUD_SYNC_PORT)"),
                ("FARAMESH_CLOUD_INTERNAL_BASE_PORT",
                 f"internal service-to-service gRPC, one port per service from this one up, on "
                 f"FARAMESH_CLOUD_INTERNAL_HOST (default {d.internal_host}:{d.internal_base_port}: "
                 f"{_internal_ports(d)}; mutual TLS, docs/internal-tls.md). Change it when another Cloud or "
                 "program uses that range."),
            ])


class _ServeCommand(click.Command):
    """``serve --help`` lists the services one can run."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from faramesh_cloud.runtime.services import describe_services

        with formatter.section("Services"):
            formatter.write_dl(describe_services())


data_dir_option = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
                               help="Where PostgreSQL, chDB and TLS material live (default: your user data dir).")
region_option = click.option("--region", help="This install's region in a multi-region deployment (needs "
                             "FARAMESH_CLOUD_DIRECTORY_POSTGRES_URL; docs/deployment.md). Default: one region.")

otel_option = click.option("--otel", is_flag=True,
                           help="Send OpenTelemetry traces and metrics with OTLP, configured by the standard "
                                "OTEL_* variables (FARAMESH_CLOUD_OTEL_ENABLED=true; docs/observability.md).")


@click.command(cls=_UpCommand)
@data_dir_option
@click.option("--http-port", type=int, help="Web UI and REST API port (default 8080).")
@click.option("--sync-port", type=int, help="Daemon sync channel port, gRPC over TLS 1.3 (default 8443).")
@click.option("--demo", is_flag=True, help="Also run a simulated daemon fleet feeding Cloud.")
@otel_option
@region_option
def up(data_dir: Path | None, http_port: int | None, sync_port: int | None, demo: bool, otel: bool,
       region: str | None = None) -> None:
    """Run the whole product embedded in one process: PostgreSQL, the log, chDB, every service."""
    from faramesh_cloud.runtime.services import enabled_services, internal_binds

    settings = _settings(data_dir=data_dir, http_port=http_port, sync_port=sync_port, demo=demo or None,
                         otel_enabled=otel or None, region=region)
    try:  # fail fast, before the platform starts: each server checks its port again when it binds
        check_free(f"{settings.http_host}:{settings.http_port}", "the web UI and REST API",
                   "FARAMESH_CLOUD_HTTP_PORT (up --http-port)")
        check_free(settings.sync_address, "the sync channel", "FARAMESH_CLOUD_SYNC_PORT (up --sync-port)")
        for service, address in internal_binds(settings, enabled_services(settings)):
            check_free(address, internal_api(service), INTERNAL_PORT_SETTING)
    except PortUnavailable as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    _serve(settings, enabled_services(settings), banner=True, record_addresses=True)


@click.command(cls=_ServeCommand)
@click.argument("service")
@data_dir_option
@otel_option
@region_option
def serve(service: str, data_dir: Path | None, otel: bool, region: str | None = None) -> None:
    """Run one SERVICE alone (distributed mode) against the PostgreSQL, Kafka and ClickHouse
    configured with FARAMESH_CLOUD_POSTGRES_URL, _KAFKA_BOOTSTRAP and _CLICKHOUSE_DSN.
    SERVICE is one of those listed below. Probes: GET /livez and /readyz on
    FARAMESH_CLOUD_HEALTH_HOST:FARAMESH_CLOUD_HEALTH_PORT (default 127.0.0.1:8090; 0: off)."""
    from faramesh_cloud.runtime.services import SERVICES

    if service not in SERVICES:
        raise click.BadParameter(f"choose from {', '.join(SERVICES)}", param_hint="SERVICE")
    # Replicas must share every secret: a `serve` process makes none in its data dir.
    settings = _settings(data_dir=data_dir, secrets_in_data_dir=False, otel_enabled=otel or None,
                         region=region)
    try:
        _preflight(settings, service)
    except ValueError as exc:  # ConfigError and key errors: one line naming the setting, before anything starts
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    _serve(settings, [service], banner=True, health=True, process=service)


def _preflight(settings: Settings, service: str) -> None:
    """The shared secrets and internal TLS material ``service`` needs: there, and usable."""
    from faramesh_cloud.rpc.internal_pki import service_credentials
    from faramesh_cloud.runtime.services import SERVICES
    from faramesh_cloud.secrets import preflight

    preflight(settings, SERVICES[service].secrets)
    if service == "registry":
        from faramesh_cloud.registry.keys import KeySource

        KeySource.for_settings(settings).current()
    if service != "demo":  # every other service serves or dials an internal API
        service_credentials(settings, service)
    if service == "ingest" and settings.tls_cert is None:
        # Under `up` a self-signed pair is made in the data dir; replicas would each make their own.
        raise ConfigError("no tls_cert / tls_key (FARAMESH_CLOUD_TLS_CERT / _KEY) configured; every serve ingest "
                          "replica must present the one sync certificate the daemons trust")
