"""``faramesh-cloud reports generate | list | share | revoke``: compliance reports and auditor
share links over a running Cloud's REST API (``/api/v1/orgs/{org}/compliance``), with a
platform API key (``--api-key`` or ``FARAMESH_CLOUD_API_KEY``; its role decides what it may
do: Owner, Admin or Operator generate; Auditor lists, downloads and shares). The Cloud is
``--url``, else the one running from the data dir (``running.json``), else the URL its
settings give. ``generate`` waits for the report with a progress bar, prints the artifact id
and, with ``--out``, downloads the signed PDF.

Exit codes as every command (``cli/errors.py``): 2 when the request was refused (a bad
framework, stack, range or id: the server's reason), 1 when the Cloud could not be reached,
said no (401/403/503) or the report failed (its reason)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import click
import httpx

from faramesh_cloud.cli.errors import Failed, Refused
from faramesh_cloud.cli.up import data_dir_option

ENV_KEY: Final = "FARAMESH_CLOUD_API_KEY"
POLL_S: Final = 1.0


class Api:
    """The REST API of one Cloud, as one API key's organisation."""

    def __init__(self, url: str, key: str, org: str | None, *, timeout_s: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {key}"},
                                    timeout=timeout_s)
        self._org = org

    def close(self) -> None:
        self._client.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise Failed(f"cannot reach Faramesh Cloud at {self.url} ({exc}); is it running? pass --url") from None

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self._send(method, path, **kwargs)
        check(answer)
        return answer.json()

    @property
    def base(self) -> str:
        return f"{self.org_base}/compliance"

    @property
    def org_base(self) -> str:
        """``/api/v1/orgs/{slug}`` of ``--org``, else of the API key's organisation."""
        if self._org is None:
            me = self.call("GET", "/api/v1/me")
            memberships = me.get("memberships") or []
            if not memberships:
                raise Refused("this API key belongs to no organisation; make one under Settings → API keys")
            self._org = str(memberships[0]["org"]["slug"])
        return f"/api/v1/orgs/{self._org}"

    def download(self, artifact_id: str, out: Path) -> int:
        part = out.with_name(f".{out.name}.part")
        try:
            with self._client.stream("GET", f"{self.base}/artifacts/{artifact_id}/download") as answer:
                if answer.status_code != 200:
                    answer.read()
                    check(answer)
                size = 0
                with part.open("wb") as f:
                    for chunk in answer.iter_bytes(1 << 20):
                        f.write(chunk)
                        size += len(chunk)
        except httpx.HTTPError as exc:
            part.unlink(missing_ok=True)
            raise Failed(f"the download from {self.url} broke off ({exc}); run it again") from None
        except OSError as exc:
            part.unlink(missing_ok=True)
            raise Refused(f"cannot write {out}: {exc.strerror}") from None
        part.replace(out)
        return size


def check(answer: httpx.Response) -> None:
    if answer.status_code < 400:
        return
    try:
        detail = answer.json().get("detail")
    except ValueError:
        detail = None
    if isinstance(detail, list):  # 422: the fields refused
        detail = "; ".join(f"{'.'.join(str(p) for p in d.get('loc', [])[1:])}: {d.get('msg')}" for d in detail)
    reason = str(detail or answer.reason_phrase)
    if answer.status_code == 401:
        raise Failed(f"the API key was not accepted ({reason}); pass --api-key or set {ENV_KEY}")
    if answer.status_code in (400, 404, 409, 410, 422):
        raise Refused(reason)
    raise Failed(f"Faramesh Cloud answered {answer.status_code}: {reason}")


def cloud_url(url: str | None, data_dir: Path | None) -> str:
    if url:
        return url
    from faramesh_cloud.cli.admin import cloud_addresses, load_settings

    return cloud_addresses(load_settings(data_dir)).http_url


def connect(url: str | None, api_key: str | None, org: str | None, data_dir: Path | None) -> Api:
    key = api_key or os.environ.get(ENV_KEY, "")
    if not key:
        raise Refused(f"give a platform API key: --api-key or {ENV_KEY} (Settings → API keys)")
    return Api(cloud_url(url, data_dir), key, org)


def parse_moment(value: str, what: str) -> str:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Refused(f"{what} {value!r} is not a time; write 2026-05-01 or 2026-05-01T09:00 (UTC)") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def connection_options(command: Any) -> Any:
    for option in reversed((
        click.option("--url", help="The Cloud's web URL (default: the Cloud running from the data dir)."),
        click.option("--api-key", help=f"A platform API key (default: ${ENV_KEY})."),
        click.option("--org", "org", help="The organisation's slug (default: the API key's)."),
        data_dir_option,
    )):
        command = option(command)
    return command


@click.group()
def reports() -> None:
    """Compliance reports and auditor share links (over the REST API, with an API key)."""


def _wait(api: Api, report: dict[str, Any]) -> dict[str, Any]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    path = f"{api.base}/reports/{report['report_id']}"
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), transient=False) as bar:
        task = bar.add_task(report["state"], total=1.0)
        while report["state"] in ("queued", "running"):
            bar.update(task, completed=float(report["progress"]),
                       description=f"{report['state']}: {report['stage'] or 'waiting'}"[:60])
            time.sleep(POLL_S)
            report = api.call("GET", path)
        bar.update(task, completed=1.0 if report["state"] == "done" else float(report["progress"]),
                   description=report["state"])
    return report


@reports.command()
@click.option("--framework", required=True, help="soc2, hipaa, pci-dss, iso27001 or gdpr.")
@click.option("--from", "start", required=True, help="Start of the range (UTC unless a zone is given).")
@click.option("--to", "end", required=True, help="End of the range.")
@click.option("--stack", "stack_ids", multiple=True, help="A stack id (repeat; none: every stack).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Download the signed PDF here.")
@click.option("--no-wait", is_flag=True, help="Queue it and print its id without waiting.")
@connection_options
def generate(framework: str, start: str, end: str, stack_ids: tuple[str, ...], out: Path | None, no_wait: bool,
             url: str | None, api_key: str | None, org: str | None, data_dir: Path | None) -> None:
    """Generate a signed PDF compliance report, showing its progress."""
    body = {"framework": framework, "stack_ids": list(stack_ids), "start": parse_moment(start, "--from"),
            "end": parse_moment(end, "--to")}
    api = connect(url, api_key, org, data_dir)
    try:
        report = api.call("POST", f"{api.base}/reports", json=body)
        click.echo(f"Report {report['report_id']} queued.", err=True)
        if no_wait:
            click.echo(report["report_id"])
            return
        report = _wait(api, report)
        if report["state"] != "done":
            raise Failed(f"report {report['report_id']} failed: {report['error'] or 'no reason given'}; "
                         f"retry it from Compliance → Reports")
        click.echo(f"artifact {report['artifact_id']}")
        if out is not None:
            size = api.download(report["artifact_id"], out)
            click.echo(f"Wrote {out} ({size:,} bytes). Verify it: faramesh-cloud verify-report {out}", err=True)
    finally:
        api.close()


@reports.command("list")
@click.option("--library", is_flag=True, help="List the evidence library's artifacts instead of report jobs.")
@connection_options
def list_reports(library: bool, url: str | None, api_key: str | None, org: str | None,
                 data_dir: Path | None) -> None:
    """List report jobs (state, progress) or the evidence library's artifacts."""
    api = connect(url, api_key, org, data_dir)
    try:
        if library:
            for a in api.call("GET", f"{api.base}/library"):
                active = sum(1 for link in a["share_links"] if link["state"] == "active")
                click.echo(f"{a['artifact_id']}  {a['kind']:<22} {a['created_at'][:19]}  {a['sha256'][:16]}  "
                           f"{a['size']:>10,}  {active} active link(s)  {a['title']}")
            return
        for r in api.call("GET", f"{api.base}/reports"):
            state = f"{r['state']} {round(r['progress'] * 100)}%" if r["state"] == "running" else r["state"]
            click.echo(f"{r['report_id']}  {r['framework']:<9} {r['start'][:10]} → {r['end'][:10]}  {state:<12} "
                       f"{r['artifact_id'] or ''}{('  ' + r['error']) if r['error'] else ''}")
    finally:
        api.close()


@reports.command()
@click.argument("artifact_id")
@click.option("--days", type=click.IntRange(1, 90), default=7, show_default=True, help="How long the link works.")
@click.option("--note", default="", help="Who it is for (shown in the library).")
@connection_options
def share(artifact_id: str, days: int, note: str, url: str | None, api_key: str | None, org: str | None,
          data_dir: Path | None) -> None:
    """Make a share link to ARTIFACT_ID for an auditor without an account (printed once)."""
    api = connect(url, api_key, org, data_dir)
    try:
        link = api.call("POST", f"{api.base}/artifacts/{artifact_id}/shares", json={"days": days, "note": note})
    finally:
        api.close()
    click.echo(f"Share link {link['link_id']} expires {link['expires_at']}; copy it now, it is not shown again:",
               err=True)
    click.echo(link["url"])


@reports.command()
@click.argument("link_id")
@connection_options
def revoke(link_id: str, url: str | None, api_key: str | None, org: str | None, data_dir: Path | None) -> None:
    """Revoke share link LINK_ID (it then answers 410 Gone)."""
    api = connect(url, api_key, org, data_dir)
    try:
        link = api.call("DELETE", f"{api.base}/shares/{link_id}")
    finally:
        api.close()
    click.echo(f"Share link {link['link_id']} revoked at {link['revoked_at']}.")
