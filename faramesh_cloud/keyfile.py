"""Secrets kept as files in the data dir (``<data_dir>/keys/``): made once, never replaced.

The content is written, with mode 0600 (its folder 0700), to a temporary file beside the
target and fsynced, then hard-linked into place (``os.link`` fails if the target exists): a
reader sees no file or the whole file, never a partial one, and two processes starting at
once cannot each make one: the loser reads the winner's.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def read_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
    """The bytes of ``path``, written from ``make()`` first if the file does not exist."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        content = make()
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return path.read_bytes()
