"""``faramesh-cloud secrets init DIR``: every shared secret, and internal TLS material, as files.

DIR then holds what ``FARAMESH_CLOUD_SECRETS_DIR`` points every process at (the same file names
an embedded install keeps in ``<data_dir>/keys``; ``faramesh_cloud/secrets.py``), flat so that
``kubectl create secret generic faramesh-cloud --from-file=DIR`` takes all of it:

* ``platform-ed25519.pem``, ``web-secret``, ``notifications.key``, ``registry-ed25519-1.key``,
  ``platform-document-p256.pem`` + ``platform-document-cert.pem``, ``forwarding.key``;
* ``internal-ca.pem`` and, per service, ``internal-<service>.pem`` + ``internal-<service>-key.pem``
  (``rpc/internal_pki.py``). The CA's private key is not written to DIR (no pod needs it); give
  ``--ca-key FILE`` to keep it for issuing certificates later.

Nothing existing is replaced: a secret that already exists in DIR stops the command before it
writes anything (rotating a secret is a deliberate act, not a re-run).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import click


def shared_files(services: Iterable[str]) -> list[str]:
    """The file names ``write_secrets`` writes for ``services``."""
    from faramesh_cloud.rpc.internal_pki import SHARED_CA
    from faramesh_cloud.secrets import SECRETS

    names = [spec.file for spec in SECRETS.values()] + [SHARED_CA]
    for service in services:
        names += [f"internal-{service}.pem", f"internal-{service}-key.pem"]
    return names


def default_services() -> list[str]:
    from faramesh_cloud.runtime.services import SERVICES

    return [name for name in SERVICES if name != "demo"]


def write_secrets(directory: Path, services: Iterable[str] | None = None, ca_key: Path | None = None) -> list[str]:
    """Write every shared secret and internal TLS material into ``directory`` (0700, files 0600);
    the file names written. Refuses (FileExistsError) if any of them exists already."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from faramesh_cloud.compliance.report.sign import new_document_certificate
    from faramesh_cloud.rpc.internal_pki import SHARED_CA, embedded
    from faramesh_cloud.secrets import SECRETS

    services = list(default_services() if services is None else services)
    names = shared_files(services)
    existing = [n for n in names if (directory / n).exists()]
    if existing:
        raise FileExistsError(f"{directory} already holds {', '.join(existing[:3])}"
                              f"{' and more' if len(existing) > 3 else ''}; secrets are never replaced: "
                              "choose an empty directory")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    content: dict[str, bytes] = {}
    for name, spec in SECRETS.items():
        if name != "report_signing_cert":
            content[spec.file] = spec.make()
    report_key = serialization.load_pem_private_key(content[SECRETS["report_signing_key"].file], password=None)
    assert isinstance(report_key, ec.EllipticCurvePrivateKey)
    content[SECRETS["report_signing_cert"].file] = new_document_certificate(report_key, datetime.now(UTC))
    with tempfile.TemporaryDirectory(prefix="faramesh-ca-") as work:
        for service in services:
            made = embedded(Path(work), service)
            content[f"internal-{service}.pem"], content[f"internal-{service}-key.pem"] = made.cert, made.key
        content[SHARED_CA] = (Path(work) / "ca.pem").read_bytes()
        ca_key_pem = (Path(work) / "ca-key.pem").read_bytes()
    for name in names:
        _write_new(directory / name, content[name])
    if ca_key is not None:
        _write_new(ca_key, ca_key_pem)
    return names


def _write_new(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


@click.group()
def secrets() -> None:
    """Shared secrets for installs of more than one process (docs/configuration.md)."""


@secrets.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--ca-key", type=click.Path(dir_okay=False, path_type=Path),
              help="Also keep the internal CA's private key here (outside DIR), to issue certificates later.")
def init(directory: Path, ca_key: Path | None) -> None:
    """Write every shared secret and the internal TLS material (a CA and a certificate per
    service) into DIRECTORY, for FARAMESH_CLOUD_SECRETS_DIR or
    `kubectl create secret generic faramesh-cloud --from-file=DIRECTORY`."""
    try:
        names = write_secrets(directory, ca_key=ca_key)
    except FileExistsError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    click.echo(f"wrote {len(names)} files to {directory} (mode 0600); point FARAMESH_CLOUD_SECRETS_DIR at it, or "
               f"kubectl create secret generic faramesh-cloud --from-file={directory}")
