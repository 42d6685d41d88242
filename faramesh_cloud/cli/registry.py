"""``faramesh-cloud registry ...``: the registry from the installation's host.

``registry export-log --out FILE`` writes the registry log (every entry, every signed
checkpoint, the public keys that signed them) as one JSON file for ``faramesh-cloud
verify-registry FILE --key ID=BASE64`` (also ``registry verify-registry``) to check offline.
``search``, ``show``, ``mirror`` and ``mirror-status`` are in ``registry_mirror.py``, ``verify`` in ``registry_imports.py``;
``publish`` and ``yank`` go through the REST API with a platform API key
(``cli/registry_publish.py``). ``export-log`` opens the platform as the admin commands do
(``--data-dir``, or the configured
``FARAMESH_CLOUD_POSTGRES_URL``). Exit codes as every command (``cli/errors.py``).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from faramesh_cloud.cli import registry_imports, registry_mirror
from faramesh_cloud.cli.errors import CliGroup, Failed, Refused
from faramesh_cloud.cli.registry_publish import publish, yank
from faramesh_cloud.cli.registry_verify import verify_registry
from faramesh_cloud.cli.up import data_dir_option


@click.group(cls=CliGroup)
def registry() -> None:
    """The registry: search and show artifacts, publish and yank versions, mirror an upstream,
    verify stacks' imports, export and verify its tamper-evident log."""


@registry.command("export-log")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the export (JSON).")
@data_dir_option
def export_log(out: Path, data_dir: Path | None) -> None:
    """Write the registry log, its checkpoints and their keys to FILE for verify-registry."""
    import psycopg

    from faramesh_cloud.cli.admin import Admin, load_settings, run_admin
    from faramesh_cloud.registry import translog

    async def work(admin: Admin) -> dict[str, Any]:
        try:
            return await translog.export_log(admin.platform.db, now=datetime.now(UTC))
        except psycopg.errors.UndefinedTable:
            raise Failed("this Cloud's database has no registry log yet; start it once with the registry "
                         "(faramesh-cloud up) so that its tables are made") from None

    bundle = run_admin(load_settings(data_dir), work)
    part = out.with_name(f".{out.name}.part")
    try:
        part.write_text(json.dumps(bundle, indent=1, ensure_ascii=False) + "\n", "utf-8")
        os.replace(part, out)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise Refused(f"cannot write {out}: {exc.strerror}") from None
    entries, checkpoints = bundle["entries"], bundle["checkpoints"]
    click.echo(f"wrote {len(entries)} entries and {len(checkpoints)} checkpoint(s) of registry log "
               f"{bundle['origin']!r} to {out}")
    if entries:
        click.echo(f"head: entry {entries[-1]['seq']} {entries[-1]['entry_hash']}")
    keys = " ".join(f"--key {k['key_id']}={k['public_key_b64']}" for k in bundle["keys"])
    click.echo(f"verify it (compare the keys with the ones you trust first): "
               f"faramesh-cloud verify-registry {out} {keys}".rstrip())


registry.add_command(verify_registry)
for _command in (registry_mirror.search, registry_mirror.show, registry_mirror.mirror, registry_mirror.mirror_status,
                 registry_imports.verify_imports):
    registry.add_command(_command)
registry.add_command(publish)
registry.add_command(yank)
