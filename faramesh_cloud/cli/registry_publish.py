"""``faramesh-cloud registry publish PATH --kind --name --version`` and ``registry yank NAME
VERSION --reason``: publishing over the REST API with a platform API key (``--api-key`` or
``FARAMESH_CLOUD_API_KEY``; a role with ``registry:artifact:publish``: Owner or Admin), like
``reports generate``. ``publish`` submits to the review queue and prints the submission id; a
provider's binary (PATH) is uploaded for one platform and smoke-tested in the sandbox first.
Exit codes as every command: 2 refused (the server's reason), 1 failed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from faramesh_cloud.cli.errors import Refused
from faramesh_cloud.cli.reports import Api, check, connect, connection_options

KINDS = ("policy", "framework", "provider")


def _base(api: Api) -> str:
    return api.base.rsplit("/", 1)[0] + "/registry"


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise Refused(f"cannot read {what} {path}: {exc.strerror}") from None


@click.command("publish")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(KINDS), required=True, help="policy, framework or provider.")
@click.option("--name", required=True, help="<namespace>/<name> in a namespace your organisation owns.")
@click.option("--version", "version", required=True, help="A strict semantic version (1.0.0).")
@click.option("--changelog", default="", help="What changed in this version.")
@click.option("--description", default="", help="One line shown when browsing.")
@click.option("--domain", "domains", multiple=True, help="A domain (payments, healthcare, ...); repeat.")
@click.option("--capability", "capabilities", multiple=True, help="Provider: a capability (SECRETS, KMS, ...); repeat.")
@click.option("--platform", default="linux_amd64", show_default=True, help="Provider: the binary's <goos>_<goarch>.")
@click.option("--config-schema", type=click.Path(dir_okay=False, path_type=Path),
              help="Provider: a JSON file with its config schema.")
@connection_options
def publish(path: Path, kind: str, name: str, version: str, changelog: str, description: str,
            domains: tuple[str, ...], capabilities: tuple[str, ...], platform: str, config_schema: Path | None,
            url: str | None, api_key: str | None, org: str | None, data_dir: Path | None) -> None:
    """Submit PATH (an FPL file, or a provider binary) to the registry's review queue."""
    data = _read(path, "the file")
    api = connect(url, api_key, org, data_dir)
    try:
        if kind == "provider":
            schema = _read(config_schema, "the config schema").decode() if config_schema else ""
            fields: dict[str, Any] = {"name": name, "version": version, "changelog": changelog,
                                      "description": description, "capabilities": ",".join(capabilities),
                                      "config_schema": schema}
            answer = api._send("POST", f"{_base(api)}/providers/submissions", data=fields,
                               files={f"binary_{platform}": (path.name, data, "application/octet-stream")})
            check(answer)
            sub = answer.json()
        else:
            try:
                fpl = data.decode("utf-8")
            except UnicodeDecodeError:
                raise Refused(f"{path} is not UTF-8 text; an FPL file is") from None
            sub = api.call("POST", f"{_base(api)}/submissions", json={
                "kind": kind, "name": name, "version": version, "fpl": fpl, "changelog": changelog,
                "description": description, "domains": list(domains)})
    finally:
        api.close()
    for plat, binary in (sub.get("binaries") or {}).items():
        smoke = binary.get("smoke") or {}
        click.echo(f"{plat}: sha256 {binary.get('sha256')}; sandbox: {smoke.get('reason') or 'not run'}", err=True)
    for warning in sub.get("warnings") or []:
        click.echo(f"warning: {'line ' + str(warning['line']) + ': ' if warning.get('line') else ''}"
                   f"{warning['message']}", err=True)
    click.echo(f"{sub['kind']} {sub['name']}@{sub['version']} submitted for review: submission "
               f"{sub['submission_id']} ({sub['state']})", err=True)
    click.echo(sub["submission_id"])


@click.command("yank")
@click.argument("name")
@click.argument("version")
@click.option("--kind", type=click.Choice(KINDS), default="policy", show_default=True)
@click.option("--reason", required=True, help="Why (shown to whoever asks for this version).")
@connection_options
def yank(name: str, version: str, kind: str, reason: str, url: str | None, api_key: str | None, org: str | None,
         data_dir: Path | None) -> None:
    """Yank VERSION of NAME: the daemon API answers 404 for it from now on."""
    api = connect(url, api_key, org, data_dir)
    try:
        answer = api._send("POST", f"{_base(api)}/yank", content=json.dumps(
            {"kind": kind, "name": name, "version": version, "reason": reason}),
            headers={"content-type": "application/json"})
        check(answer)
    finally:
        api.close()
    click.echo(f"{kind} {name}@{version} yanked")
