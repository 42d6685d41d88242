"""Where a running ``faramesh-cloud up`` can be reached, kept in its data dir.

``up`` writes ``<data_dir>/running.json`` once every service has started and removes it when it
stops: its pid, web UI URL, daemon sync address and, for a self-signed sync certificate, the CA
file a daemon needs. Commands run beside it on the same data dir (``stacks register``,
``stacks webhook-secret``) print those addresses rather than the defaults of their own
settings, so what they tell a daemon is where this Cloud listens (``up --http-port 9000`` and
all). A file whose process is gone (a crash) is ignored.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

from faramesh_cloud.config import Settings

FILE: Final = "running.json"


@dataclass(frozen=True, slots=True)
class RunningCloud:
    pid: int
    http_url: str
    sync_address: str
    sync_ca: str | None  # the self-signed certificate a daemon must trust, when there is one
    started_at: str


def addresses(settings: Settings, started_at: str = "") -> RunningCloud:
    """What a Cloud run with ``settings`` in this process answers on."""
    ca = None if settings.tls_cert is not None else str(settings.data_dir / "tls" / "sync-cert.pem")
    return RunningCloud(os.getpid(), settings.http_url, settings.sync_address, ca, started_at)


def record(settings: Settings, started_at: str) -> None:
    """Write this process's addresses into its data dir (atomically: a reader never sees half)."""
    path = settings.data_dir / FILE
    temporary = path.with_name(f".{FILE}.{os.getpid()}")
    temporary.write_text(json.dumps(asdict(addresses(settings, started_at)), indent=2) + "\n")
    temporary.replace(path)


def clear(settings: Settings) -> None:
    """Remove the record, if it is this process's."""
    path = settings.data_dir / FILE
    found = _read(path)
    if found is not None and found.pid == os.getpid():
        path.unlink(missing_ok=True)


def find(data_dir: Path) -> RunningCloud | None:
    """The Cloud running from ``data_dir``, if one is."""
    found = _read(data_dir / FILE)
    if found is None or not _alive(found.pid):
        return None
    return found


def _read(path: Path) -> RunningCloud | None:
    try:
        data = json.loads(path.read_text())
        return RunningCloud(int(data["pid"]), str(data["http_url"]), str(data["sync_address"]),
                            None if data.get("sync_ca") is None else str(data["sync_ca"]), str(data["started_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True
