"""``faramesh-cloud registry mirror | mirror-status | search | show``.

* ``mirror SOURCE [--pin ID=BASE64 ...]``: one mirror run of an upstream registry (an
  ``http(s)://`` registry URL speaking the daemon API, or a local catalog checkout) into this
  install, from its host as the admin commands are (``--data-dir`` or the configured
  PostgreSQL and blob store), with a progress bar; every signature is verified against the
  pinned keys (default: the official key). Exit 1 when anything was quarantined or failed.
* ``mirror-status``: the latest runs (progress, counts, errors) and everything quarantined.
* ``search [Q] [--kind] [--tier]`` and ``show KIND NAME [VERSION]``: read a registry through its
  daemon API (no key needed; what ``faramesh registry search`` reads): ``--url``, else
  ``FARAMESH_REGISTRY_URL``, else this host's ``http://127.0.0.1:8080/registry``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from faramesh_cloud.cli.errors import Failed, Refused
from faramesh_cloud.cli.up import data_dir_option

DEFAULT_URL = "http://127.0.0.1:8080/registry"
url_option = click.option("--url", default=lambda: os.environ.get("FARAMESH_REGISTRY_URL") or DEFAULT_URL,
                          show_default="$FARAMESH_REGISTRY_URL or " + DEFAULT_URL,
                          help="The registry's base URL (Cloud's is https://<cloud>/registry).")


def _daemon_get(url: str, path: str, params: dict[str, str] | None = None) -> Any:
    import httpx

    target = f"{url.rstrip('/')}/{path}"
    try:
        response = httpx.get(target, params={k: v for k, v in (params or {}).items() if v}, timeout=30.0)
    except httpx.HTTPError as exc:
        raise Failed(f"cannot reach the registry at {url}: {exc}; pass --url or set FARAMESH_REGISTRY_URL") from None
    if response.status_code == 404:
        raise Refused(response.text.strip() or f"{target}: not found")
    if response.status_code != 200:
        raise Failed(f"GET {target}: HTTP {response.status_code}: {response.text.strip()[:200]}")
    try:
        return response.json()
    except ValueError:
        raise Failed(f"GET {target}: the answer is not JSON; is {url} a registry?") from None


@click.command("search")
@click.argument("query", required=False, default="")
@click.option("--kind", type=click.Choice(["provider", "policy", "framework"]), help="Only this kind.")
@click.option("--tier", type=click.Choice(["official", "community"]), help="Only this trust tier.")
@url_option
def search(query: str, kind: str | None, tier: str | None, url: str) -> None:
    """Artifacts whose name or description contains QUERY."""
    found = _daemon_get(url, "v1/search", {"q": query, "kind": kind or "", "tier": tier or ""})
    results = found.get("results") or found.get("packs") or []
    if not results:
        click.echo("no artifacts matched")
        return
    width = max(len(r.get("name", "")) for r in results)
    for r in results:
        click.echo(f"{r.get('kind', ''):<9} {r.get('name', ''):<{width}}  {r.get('latest_version', ''):<9} "
                   f"{r.get('trust_tier', ''):<9}  {r.get('description', '')}")
    click.echo(f"{len(results)} artifact(s)")


@click.command("show")
@click.argument("kind", type=click.Choice(["provider", "policy", "framework"]))
@click.argument("name")
@click.argument("version", required=False)
@url_option
def show(kind: str, name: str, version: str | None, url: str) -> None:
    """An artifact's versions, or one version (its signature, digests, downloads, FPL)."""
    plural = {"provider": "providers", "policy": "policies", "framework": "frameworks"}[kind]
    quoted = name.replace("/", "%2F")
    if version is None:
        listed = _daemon_get(url, f"v1/{plural}/{quoted}/versions")
        click.echo(f"{kind} {name}")
        for v in listed.get("versions") or []:
            flag = "  (yanked)" if v.get("yanked") else ""
            click.echo(f"  {v.get('version')}{flag}  {v.get('changelog', '')}".rstrip())
        return
    answer = _daemon_get(url, f"v1/{plural}/{quoted}/versions/{version}")
    sig = answer.get("signature") or {}
    click.echo(f"{kind} {name}@{version}  [{answer.get('trust_tier', '')}]")
    if answer.get("description"):
        click.echo(f"  {answer['description']}")
    click.echo(f"  signed by: {sig.get('key_id') or '(unsigned)'}")
    if kind == "provider":
        for platform, d in sorted((answer.get("downloads") or {}).items()):
            click.echo(f"  {platform:<13} sha256 {d.get('sha256_hex')}  {d.get('size')} bytes  {d.get('url')}")
        return
    click.echo(f"  sha256: {answer.get('sha256_hex', '')}")
    click.echo("")
    click.echo(answer.get("policy_fpl", "").rstrip())


@click.command("mirror")
@click.argument("source")
@click.option("--pin", "pins", multiple=True, metavar="ID=BASE64",
              help="A key to trust for this mirror (its id and Ed25519 public key). Repeatable. "
                   "Default: the official key faramesh-ed25519-2026 alone.")
@data_dir_option
def mirror(source: str, pins: tuple[str, ...], data_dir: Path | None) -> None:
    """Mirror SOURCE (a registry URL or a catalog checkout) into this install, verified."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from faramesh_cloud.cli.admin import Admin, load_settings, run_admin
    from faramesh_cloud.registry import mirror as mirroring
    from faramesh_cloud.registry.mirror_sources import FetchError

    try:
        pinned = mirroring.pins_of(pins)
        upstream = mirroring.source_for(source)
    except (ValueError, FetchError) as exc:
        raise Refused(str(exc)) from None
    settings = load_settings(data_dir)

    async def work(admin: Admin) -> mirroring.Progress:
        the_mirror, close = await _open(admin)
        bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                       console=Console(stderr=True), transient=True)
        task = bar.add_task(f"mirroring {upstream.label}", total=None)

        def on_progress(p: mirroring.Progress) -> None:
            bar.update(task, total=p.total or None, completed=p.done,
                       description=f"{p.current or 'listing'}  ({p.quarantined} quarantined)")

        try:
            with bar:
                return await the_mirror.run(upstream, pinned, on_progress=on_progress)
        finally:
            await close()

    done = run_admin(settings, work)
    click.echo(f"mirror of {done.source}: {done.state}; {done.total} version(s): {done.mirrored} mirrored, "
               f"{done.unchanged} unchanged, {done.quarantined} quarantined, {done.failed} failed (run {done.run_id})")
    for item, reason in done.quarantines:
        click.echo(click.style("  quarantined ", fg="red") + f"{item}: {reason}")
    for error in done.errors:
        click.echo(click.style("  failed ", fg="yellow") + f"{error['item'] or done.source}: {error['error']}")
    sys.exit(0 if done.state == "finished" and not done.quarantined and not done.failed else 1)


async def _open(admin: Any) -> tuple[Any, Any]:
    """The mirror over the install's database and blob store; after the run, a checkpoint
    signed by the registry key that signs now (when the registry has listed it)."""
    from faramesh_cloud.registry.keys import KeySource
    from faramesh_cloud.registry.log_entries import sign_checkpoint
    from faramesh_cloud.registry.mirror import Mirror
    from faramesh_cloud.registry.service import utc_now
    from faramesh_cloud.registry.store import RegistryStore
    from faramesh_cloud.runtime.blobstores import blobstore_from_settings

    settings, db = admin.settings, admin.platform.db
    store = RegistryStore(db)
    blobs = blobstore_from_settings(settings, settings.data_dir / "registry" / "blobs")

    async def checkpoint() -> None:
        key = KeySource.for_settings(settings).current()
        listed = {k.key_id: k for k in await store.keys()}
        active = listed.get(key.key_id)
        if active is not None and active.retired_at is None and active.public_key == key.public_key:
            await sign_checkpoint(db, key)

    return Mirror(db, store, blobs, utc_now, after_batch=checkpoint), blobs.close


@click.command("mirror-status")
@click.option("--limit", default=10, show_default=True, help="How many recent runs.")
@data_dir_option
def mirror_status(limit: int, data_dir: Path | None) -> None:
    """The latest mirror runs (progress, counts, errors) and everything quarantined."""
    from faramesh_cloud.cli.admin import Admin, load_settings, run_admin

    async def work(admin: Admin) -> tuple[list[Any], list[Any]]:
        the_mirror, close = await _open(admin)
        try:
            return await the_mirror.runs(limit), await the_mirror.quarantined()
        finally:
            await close()

    runs, quarantined = run_admin(load_settings(data_dir), work)
    if not runs:
        click.echo("no mirror runs yet")
    for r in runs:
        click.echo(f"{r.run_id}  {r.state:<8} {r.done}/{r.total}  {r.mirrored} mirrored, {r.unchanged} unchanged, "
                   f"{r.quarantined} quarantined, {r.failed} failed  {r.source}"
                   + (f"  now: {r.current}" if r.state == "running" and r.current else ""))
        for error in r.errors:
            click.echo(f"    failed {error.get('item') or r.source}: {error.get('error')}")
    click.echo(f"quarantined ({len(quarantined)}): never served")
    for q in quarantined:
        click.echo(f"  {q.kind} {q.name}@{q.version}  from {q.source}  last seen {q.last_seen:%Y-%m-%d %H:%M}Z: "
                   f"{q.reason}")
