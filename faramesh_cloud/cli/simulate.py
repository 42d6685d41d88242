"""``faramesh-cloud simulate``: run a fleet of simulated daemons against a Cloud sync endpoint.

Each stack is one simulated daemon with its own WAL, keys and durable sync buffer in
``<data dir>/simulator/<stack>``; running the command again with the same keys and data dir
continues those chains and delivers whatever is still buffered.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from faramesh_cloud.config import ConfigError, Settings

if TYPE_CHECKING:
    from faramesh_cloud.simulator.daemon import DaemonOptions

KEYS_ENV = "FARAMESH_CLOUD_API_KEY"


def _keys_from_file(path: Path) -> list[str]:
    """One key per line (``#`` comments allowed), or the JSON file ``--register`` writes."""
    text = path.read_text()
    if text.lstrip().startswith("{"):
        from faramesh_cloud.simulator.registration import load_saved

        saved = load_saved(path)
        return [s.api_key for s in saved.stacks] if saved else []
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _local_target(settings: Settings) -> str:
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(settings.sync_host, settings.sync_host)
    return f"{host}:{settings.sync_port}"


async def _register(settings: Settings, count: int) -> list[tuple[str, str]]:
    from faramesh_cloud.runtime.database import open_database
    from faramesh_cloud.runtime.platform import open_region
    from faramesh_cloud.simulator.registration import ensure_stacks
    from faramesh_cloud.stacks.store import StackStore

    async with open_database(settings) as db:
        region, directory = await open_region(settings, {})  # a multi-region install: claims in the directory
        try:
            store = StackStore(db, region=region)
            await store.start()
            specs = await ensure_stacks(store, settings.data_dir / "simulator" / "keys.json",
                                        [f"sim-stack-{i + 1}" for i in range(count)],
                                        org_slug="simulator", org_name="Simulated fleet")
        finally:
            if directory is not None:
                await directory.close()
    return [(s.label, s.api_key) for s in specs]


def _stack_specs(keys: list[str], registered: list[tuple[str, str]]) -> list[tuple[str, str]]:
    from faramesh_cloud.stacks.keys import parse_key

    if registered:
        return registered
    specs = []
    for key in keys:
        parsed = parse_key(key)
        if parsed is None:
            raise click.UsageError("an --api-key is not a stack API key (fmc_sk_<id>_<secret>); use "
                                   "the key shown when the stack was registered")
        specs.append((parsed.key_id, key))
    return specs


@click.command()
@click.option("--stacks", "stack_count", type=click.IntRange(min=1),
              help="Simulated stacks (daemons). Default: one per key, or 3 with --register.")
@click.option("--agents", type=click.IntRange(min=1), default=3, show_default=True, help="Agents per stack.")
@click.option("--rate", type=click.FloatRange(min=0), default=5.0, show_default=True,
              help="Decisions (DPRs) per second per stack.")
@click.option("--duration", type=click.FloatRange(min=0), help="Seconds to run (default: until Ctrl-C).")
@click.option("--drain-timeout", type=click.FloatRange(min=0), default=10.0, show_default=True,
              help="After stopping, keep syncing up to this many seconds until the buffers are empty.")
@click.option("--target", help="Cloud's sync endpoint host:port (default: this machine's, from the settings).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Cloud's data dir (for --register and its TLS certificate); the simulator keeps "
                   "its stacks in <data-dir>/simulator.")
@click.option("--ca-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="PEM certificate(s) to trust (default: <data-dir>/tls/sync-cert.pem when present, "
                   "else the system store).")
@click.option("--server-name", help="Check the server certificate against this name instead of the host.")
@click.option("--api-key", "api_keys", multiple=True, envvar=KEYS_ENV,
              help=f"Stack API key, once per stack (env {KEYS_ENV}, space-separated).")
@click.option("--keys-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="File with one stack API key per line (or the keys.json --register writes).")
@click.option("--register", is_flag=True,
              help="Register the stacks in the Cloud database in --data-dir (reused on later runs).")
@click.option("--seed", type=int, help="Fix the simulated decisions (record ids stay random).")
@click.option("--local-resolve-share", type=click.FloatRange(0.0, 1.0), default=0.1, show_default=True,
              help="Share of pending approvals the daemon host resolves itself (CLI approve / deny, session "
                   "ended) once they have waited --local-resolve-after seconds; Cloud shows them withdrawn.")
@click.option("--local-resolve-after", type=click.FloatRange(min=0.0), default=60.0, show_default=True)
def simulate(stack_count: int | None, agents: int, rate: float, duration: float | None, drain_timeout: float,
             target: str | None, data_dir: Path | None, ca_file: Path | None, server_name: str | None,
             api_keys: tuple[str, ...], keys_file: Path | None, register: bool, seed: int | None,
             local_resolve_share: float, local_resolve_after: float) -> None:
    """Simulate Faramesh daemons syncing to Cloud: chained, signed DPRs (also written to a real
    faramesh.wal per stack), pending approvals, health, status, budgets and credential events,
    buffered durably while Cloud is unreachable."""
    from faramesh_cloud.telemetry import configure_logging

    try:
        settings = Settings.load(data_dir=data_dir)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    keys = [k for value in api_keys for k in value.split()]
    if keys_file is not None:
        keys.extend(_keys_from_file(keys_file))
    if register and keys:
        raise click.UsageError("use either --register or stack keys (--api-key / --keys-file), not both")
    if not register and not keys:
        raise click.UsageError(f"no stack API keys: pass --api-key (or {KEYS_ENV}) / --keys-file, or "
                               "--register to register stacks in the Cloud database in --data-dir")
    count = stack_count or (3 if register else len(keys))
    if not register and count > len(keys):
        raise click.UsageError(f"--stacks {count} needs {count} keys, got {len(keys)}: each simulated "
                               "daemon needs its own stack key")
    configure_logging("WARNING")
    registered: list[tuple[str, str]] = []
    if register:
        try:
            registered = asyncio.run(_register(settings, count))
        except ConfigError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
    specs = _stack_specs(keys[:count], registered)
    ca = ca_file or settings.data_dir / "tls" / "sync-cert.pem"
    roots = ca.read_bytes() if ca.is_file() else None
    from faramesh_cloud.simulator.daemon import DaemonOptions

    errors = asyncio.run(_main(specs, settings.data_dir / "simulator", target or _local_target(settings),
                               roots, server_name, duration, drain_timeout,
                               DaemonOptions(agents=agents, rate_per_s=rate, seed=seed,
                                             local_resolve_share=local_resolve_share,
                                             local_resolve_after_s=local_resolve_after)))
    for error in errors:
        click.echo(f"error: {error}", err=True)
    sys.exit(1 if errors else 0)


async def _main(specs: list[tuple[str, str]], directory: Path, target: str, roots: bytes | None,
                server_name: str | None, duration: float | None, drain_timeout: float,
                options: DaemonOptions) -> list[str]:
    from faramesh_cloud.cli.simulate_view import run_fleet
    from faramesh_cloud.simulator.fleet import Connection, Fleet, StackSpec

    fleet = Fleet([StackSpec(label, key) for label, key in specs], directory,
                  Connection(target, roots, server_name), options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()

    def interrupted() -> None:  # first Ctrl-C: stop and drain; second: stop draining
        if stop.is_set() and main is not None:
            main.cancel()
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, interrupted)
    if duration is not None:
        loop.call_later(duration, stop.set)
    try:
        await run_fleet(fleet, stop, target, drain_timeout)
    except asyncio.CancelledError:
        click.echo("interrupted: undelivered items stay buffered for the next run", err=True)
    return fleet.errors
