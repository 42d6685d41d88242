"""``FileBlobStore``: the embedded ``BlobStore``, a content-addressed directory.

Layout: ``<root>/<aa>/<bb>/<sha256>`` (``aa``, ``bb``: the digest's first two byte pairs, so
no directory grows past 65,536 names for the first 4 billion blobs), and ``<root>/.tmp/``
for puts in progress (the same file system, so the final rename is atomic).

A put:
1. checks its arguments (``check_sha256`` on ``expected_sha256``) before touching the disk;
2. creates ``.tmp/<uuid>.part`` with ``O_CREAT | O_EXCL | O_NOFOLLOW``, mode 0600;
3. reads the stream, counting bytes *before* writing them: the chunk that takes the total past
   ``max_size`` is refused (``BlobTooLarge``) and nothing more is read;
4. writes and hashes in a worker thread (hashlib releases the GIL on large updates), in
   writes of at least ``CHUNK_SIZE`` whatever sizes the caller's chunks have;
5. compares the digest with ``expected_sha256`` (``DigestMismatch``);
6. makes the file read-only (0440: blobs are immutable; the group may read them for backups),
   fsyncs it, and renames it to its digest's path unless a blob is already there (then the
   put is a no-op returning the same ``BlobInfo``); then fsyncs the directory it landed in,
   and the parents of any directory it had to create, so the blob survives a crash.
Any refusal, error or cancellation removes the temporary file, so a refused put leaves the
tree as it was. A temporary file can only outlive its put if the process dies mid-put; they
are named ``*.part`` under ``.tmp`` and never read.

Every blocking call (open, write, fsync, rename, read, stat, unlink) runs in a thread
(``asyncio.to_thread``), so a slow disk never stalls the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import threading
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import BinaryIO

from faramesh_cloud.blobstore import (
    CHUNK_SIZE,
    BlobError,
    BlobInfo,
    BlobNotFound,
    BlobTooLarge,
    DigestMismatch,
    check_sha256,
)

BLOB_MODE = 0o440
DIR_MODE = 0o750
TEMP_DIR = ".tmp"


class FileBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._temp_dir = self.root / TEMP_DIR

    def path_for(self, sha256: str) -> Path:
        """Where the blob ``sha256`` lives (whether or not it exists)."""
        digest = check_sha256(sha256)
        return self.root / digest[:2] / digest[2:4] / digest

    async def put(self, chunks: AsyncIterable[bytes], *, max_size: int,
                  expected_sha256: str | None = None) -> BlobInfo:
        if expected_sha256 is not None:
            check_sha256(expected_sha256)
        _check_max_size(max_size)
        temp = await asyncio.to_thread(self._create_temp)
        hasher = hashlib.sha256()
        size = 0
        pending = bytearray()
        committed = False
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_size:
                    raise BlobTooLarge(f"the blob is larger than the {max_size}-byte limit")
                pending += chunk
                if len(pending) >= CHUNK_SIZE:
                    await asyncio.to_thread(temp.write, hasher, bytes(pending))
                    pending.clear()
            if pending:
                await asyncio.to_thread(temp.write, hasher, bytes(pending))
            info = BlobInfo(hasher.hexdigest(), size)
            if expected_sha256 is not None and info.sha256 != expected_sha256:
                raise DigestMismatch(f"the bytes hash to {info.sha256}, not the expected {expected_sha256}")
            await asyncio.to_thread(self._commit, temp, info.sha256)
            committed = True
            return info
        finally:
            if not committed:
                # Quick local syscalls, done inline so they also run when the put is cancelled.
                temp.discard()

    async def put_bytes(self, data: bytes, *, max_size: int,
                        expected_sha256: str | None = None) -> BlobInfo:
        if expected_sha256 is not None:
            check_sha256(expected_sha256)
        _check_max_size(max_size)
        if len(data) > max_size:
            raise BlobTooLarge(f"the blob is {len(data)} bytes, larger than the {max_size}-byte limit")
        return await self.put(_slices(data), max_size=max_size, expected_sha256=expected_sha256)

    async def stat(self, sha256: str) -> BlobInfo | None:
        path = self.path_for(sha256)
        try:
            st = await asyncio.to_thread(os.stat, path)
        except FileNotFoundError:
            return None
        return BlobInfo(sha256, st.st_size)

    def open(self, sha256: str, *, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        path = self.path_for(sha256)  # a bad digest fails here, at the call
        if chunk_size <= 0:
            raise ValueError(f"chunk_size={chunk_size} must be positive")
        return _stream(path, sha256, chunk_size)

    async def read_bytes(self, sha256: str, *, max_size: int) -> bytes:
        _check_max_size(max_size)
        info = await self.stat(sha256)
        if info is None:
            raise BlobNotFound(sha256)
        if info.size > max_size:
            raise BlobTooLarge(f"blob {sha256} is {info.size} bytes, larger than the {max_size}-byte limit")
        out = bytearray()
        async for chunk in self.open(sha256):
            out += chunk
            if len(out) > max_size:  # replaced under us: the limit still holds
                raise BlobTooLarge(f"blob {sha256} is larger than the {max_size}-byte limit")
        return bytes(out)

    async def delete(self, sha256: str) -> None:
        path = self.path_for(sha256)
        await asyncio.to_thread(_unlink, path)

    async def close(self) -> None:
        return None

    # -- blocking helpers, run in worker threads -------------------------------------------

    def _create_temp(self) -> _TempFile:
        self._temp_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self._temp_dir / f"{uuid.uuid4().hex}.part"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
        return _TempFile(path, os.open(path, flags, 0o600))

    def _commit(self, temp: _TempFile, sha256: str) -> None:
        final = self.path_for(sha256)
        with temp.lock:
            temp.seal()
            if final.exists():  # already stored: a no-op; the stored file stays as it was
                temp.discard()
                return
            created = _make_dirs(final.parent, self.root)
            os.rename(temp.path, final)
            temp.renamed = True
        _fsync_dir(final.parent)
        for directory in created:  # a new directory's entry lives in its parent
            _fsync_dir(directory.parent)


class _TempFile:
    """An open temporary file: written and hashed in a thread, sealed, or discarded.

    A cancelled put discards the file while a worker thread may still be writing it (a
    thread cannot be stopped): the lock makes the discard wait for that write, and a write
    after the discard finds no descriptor, so it can never land in a reused one."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd: int | None = fd
        self.renamed = False
        self.lock = threading.RLock()

    def write(self, hasher: hashlib._Hash, data: bytes) -> None:
        with self.lock:
            if self.fd is None:
                raise BlobError("the put was abandoned")
            hasher.update(data)
            view = memoryview(data)
            while view:
                written = os.write(self.fd, view)
                view = view[written:]

    def seal(self) -> None:
        """Read-only, on disk, closed."""
        with self.lock:
            if self.fd is None:
                raise BlobError("the put was abandoned")
            os.fchmod(self.fd, BLOB_MODE)
            os.fsync(self.fd)
            fd, self.fd = self.fd, None
            os.close(fd)

    def discard(self) -> None:
        with self.lock:
            if self.fd is not None:
                fd, self.fd = self.fd, None
                with contextlib.suppress(OSError):
                    os.close(fd)
            if not self.renamed:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path)


async def _stream(path: Path, sha256: str, chunk_size: int) -> AsyncIterator[bytes]:
    try:
        handle: BinaryIO = await asyncio.to_thread(_open_read, path)
    except FileNotFoundError:
        raise BlobNotFound(sha256) from None
    try:
        while chunk := await asyncio.to_thread(handle.read, chunk_size):
            yield chunk
    finally:
        handle.close()


def _open_read(path: Path) -> BinaryIO:
    return open(path, "rb")  # closed by _stream's finally


async def _slices(data: bytes) -> AsyncIterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(view), CHUNK_SIZE):
        yield bytes(view[start:start + CHUNK_SIZE])


def _check_max_size(max_size: int) -> None:
    if max_size < 0:
        raise ValueError(f"max_size={max_size} must be zero or more")


def _make_dirs(directory: Path, root: Path) -> list[Path]:
    """Create ``directory`` and its missing parents up to ``root``; the ones created, top first."""
    missing: list[Path] = []
    current = directory
    while not current.exists() and current != root.parent:
        missing.append(current)
        current = current.parent
    created: list[Path] = []
    for path in reversed(missing):
        try:
            path.mkdir(mode=DIR_MODE)
            created.append(path)
        except FileExistsError:  # a concurrent put made it
            pass
    return created


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
