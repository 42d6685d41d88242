"""Secrets kept as files in the data dir (``<data_dir>/keys/``): made once, never replaced.

The file is created with ``O_EXCL`` and mode 0600 (its folder 0700), written and fsynced
before anyone reads it, so two processes starting at once cannot each make one: the loser
reads the winner's.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def read_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
    """The bytes of ``path``, written from ``make()`` first if the file does not exist."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        content = make()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: use theirs
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
    return path.read_bytes()
