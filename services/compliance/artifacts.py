"""Where the evidence library keeps artifacts' bytes: content-addressed by SHA-256.

``ArtifactStore`` is the port; ``FileArtifactStore`` keeps them under ``<root>/<aa>/<sha256>``
(embedded default: ``<data_dir>/compliance/artifacts``). A file is written to a temporary
name in the same directory, fsynced and renamed, so a reader never sees half of one and a
crash leaves nothing under its final name. Bytes are immutable: an artifact's SHA-256 is
checked when it is stored, and a second store of the same bytes is a no-op.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Final, Protocol

CHUNK: Final = 1 << 20


class ArtifactStore(Protocol):
    def put_file(self, source: Path) -> tuple[str, int]:
        """Store the file at ``source`` (moved or copied in); returns (sha256, size)."""
        ...

    def put_bytes(self, data: bytes) -> tuple[str, int]: ...

    def open(self, sha256: str) -> BinaryIO:
        """The stored bytes (FileNotFoundError when absent)."""
        ...

    def scratch(self) -> Path:
        """A private directory for a job's files on the way in (same file system: rename is atomic)."""
        ...


def sha256_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def chunks(f: BinaryIO, chunk: int = CHUNK) -> Iterator[bytes]:
    with f:
        while data := f.read(chunk):
            yield data


class FileArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"{sha256!r} is not a lower-case SHA-256")
        return self.root / sha256[:2] / sha256

    def scratch(self) -> Path:
        path = self.root / "incoming"
        path.mkdir(exist_ok=True, mode=0o700)
        return Path(tempfile.mkdtemp(dir=path))

    def put_file(self, source: Path) -> tuple[str, int]:
        sha, size = sha256_file(source)
        final = self._path(sha)
        if final.exists():
            return sha, size
        final.parent.mkdir(exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".in-")
        try:
            with os.fdopen(fd, "wb") as out, source.open("rb") as src:
                shutil.copyfileobj(src, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha, size

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        directory = self.scratch()
        try:
            path = directory / "artifact"
            path.write_bytes(data)
            return self.put_file(path)
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def open(self, sha256: str) -> BinaryIO:
        return self._path(sha256).open("rb")
