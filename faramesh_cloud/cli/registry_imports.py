"""``faramesh-cloud registry verify``: a governance.fms's registry imports checked strictly
against the keys the organisation trusts, whatever the daemon does. Two ways:

* ``verify GOVERNANCE_FMS [--pin ID=BASE64 ...] [--url REGISTRY]``: a local file, each import
  fetched from a registry's daemon API (no key needed) and its signature checked against the
  official key and the pinned ones only (``registry/import_verify.py``).
* ``verify --org ORG [--stack STACK] [--url CLOUD] [--api-key KEY]``: the governance.fms each
  stack of the organisation last applied, judged by Cloud itself against the organisation's
  trusted keys, through the REST API (``GET /api/v1/orgs/{org}/registry/imports`` or
  ``.../stacks/{id}/imports``) with a platform API key (``--api-key`` or
  ``FARAMESH_CLOUD_API_KEY``; a role with ``registry:artifact:read``), like ``registry publish``.
  ``--stack`` is a stack's id or name; without it, every stack the key may read.

Per import: verified (by which key), unverified (why), not in registry, yanked or refused.
Exit 1 when any import is not verified; 2 refused (a bad argument, an unknown stack)."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from typing import Any

import click

from faramesh_cloud.cli.errors import Failed, Refused
from faramesh_cloud.cli.reports import connect
from faramesh_cloud.cli.up import data_dir_option

DEFAULT_URL = "http://127.0.0.1:8080/registry"
COLOUR = {"verified": "green", "yanked": "yellow"}


@click.command("verify")
@click.argument("governance_fms", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--pin", "pins", multiple=True, metavar="ID=BASE64",
              help="With GOVERNANCE_FMS: a key the organisation trusts besides the official one (Cloud's registry "
                   "keys, retired ones included, as /registry/v1/trust/keys lists them; compare them out of band). "
                   "Repeatable.")
@click.option("--org", "org", help="Check the stacks of this organisation (its slug) through Cloud's REST API.")
@click.option("--stack", help="With --org: one stack (its id or name); default: every stack.")
@click.option("--url", help="With GOVERNANCE_FMS: the registry's base URL (default $FARAMESH_REGISTRY_URL or "
                            f"{DEFAULT_URL}); with --org: the Cloud's web URL (default: the Cloud running from the "
                            "data dir).")
@click.option("--api-key", help="With --org: a platform API key (default: $FARAMESH_CLOUD_API_KEY).")
@data_dir_option
def verify_imports(governance_fms: Path | None, pins: tuple[str, ...], org: str | None, stack: str | None,
                   url: str | None, api_key: str | None, data_dir: Path | None) -> None:
    """Check every registry import strictly against the trusted keys: of GOVERNANCE_FMS, or of
    the governance.fms the stacks of --org last applied.

    Per import: verified (by which key), unverified (why), not in registry, or yanked. Exit 1
    when any import is not verified."""
    if org is None:
        if governance_fms is None:
            raise Refused("give a governance.fms file, or --org ORG [--stack STACK] to check applied stacks")
        if stack is not None:
            raise Refused("--stack needs --org")
        _verify_file(governance_fms, pins, url or os.environ.get("FARAMESH_REGISTRY_URL") or DEFAULT_URL)
        return
    if governance_fms is not None or pins:
        raise Refused("--org checks the stacks' applied governance.fms against the organisation's trusted keys; "
                      "give no file and no --pin with it")
    _verify_org(org, stack, url, api_key, data_dir)


def _verify_org(org: str, stack: str | None, url: str | None, api_key: str | None, data_dir: Path | None) -> None:
    api = connect(url, api_key, org, data_dir)
    base = f"/api/v1/orgs/{org}/registry"
    try:
        if stack is not None and _is_uuid(stack):
            stacks = [api.call("GET", f"{base}/stacks/{stack}/imports")]
        else:
            stacks = api.call("GET", f"{base}/imports")
            if stack is not None:
                stacks = [s for s in stacks if s.get("name") == stack]
                if not stacks:
                    raise Refused(f"no stack {stack!r} in organisation {org} (or not one this API key may read)")
    finally:
        api.close()
    bad = total = 0
    for found in stacks:
        where = f"{found['name']} ({found['stack_id']})"
        if not found.get("applied"):
            click.echo(f"{where}: no governance.fms applied yet")
            continue
        for i in found.get("imports") or []:
            total += 1
            bad += i["status"] != "verified"
            click.echo(f"{where}:{i['line']}  {i['ref']}  " + click.style(i["status"], fg=COLOUR.get(i["status"], "red"))
                       + (f" ({i['reason']})" if i.get("reason") else ""))
    click.echo(f"{len(stacks)} stack(s), {total} import(s), {total - bad} verified, {bad} not verified "
               f"(against the keys organisation {org} trusts)")
    sys.exit(1 if bad else 0)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _verify_file(governance_fms: Path, pins: tuple[str, ...], url: str) -> None:
    import asyncio

    import httpx

    from faramesh_cloud.registry.import_verify import verify_imports as judge
    from faramesh_cloud.registry.mirror import OFFICIAL_PIN, parse_pin

    try:
        text = governance_fms.read_text("utf-8")
        trusted = {OFFICIAL_PIN.key_id: OFFICIAL_PIN} | {k.key_id: k for k in map(parse_pin, pins)}
    except OSError as exc:
        raise Refused(f"cannot read {governance_fms}: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(str(exc)) from None

    async def work() -> list[Any]:
        async with httpx.AsyncClient(timeout=60.0, follow_redirects=True) as client:
            async def fetch(path: str) -> tuple[int, str, Any]:
                try:
                    response = await client.get(f"{url.rstrip('/')}/{path}")
                except httpx.HTTPError as exc:
                    raise Failed(f"cannot reach the registry at {url}: {exc}") from None
                try:
                    body = response.json() if response.status_code == 200 else None
                except ValueError:
                    body = None
                return response.status_code, response.text, body

            return await judge(text, fetch, trusted)

    verdicts = asyncio.run(work())
    for v in verdicts:
        click.echo(f"{governance_fms}:{v.line}  {v.ref}  " + click.style(v.status, fg=COLOUR.get(v.status, "red"))
                   + (f" ({v.detail})" if v.detail else ""))
    bad = sum(1 for v in verdicts if not v.ok)
    click.echo(f"{len(verdicts)} import(s), {len(verdicts) - bad} verified, {bad} not verified"
               f" (trusted keys: {', '.join(sorted(trusted))})")
    sys.exit(1 if bad else 0)
