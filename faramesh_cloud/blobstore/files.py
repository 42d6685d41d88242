"""``FileBlobStore``: the embedded ``BlobStore`` adapter, a directory (``<root>/<aa>/<sha256>``).

A put streams into a temporary file in ``<root>/.tmp`` while hashing, is refused (and the
temporary file removed) when it grows past ``max_size`` or its digest is not the expected
one, and becomes visible only by an atomic rename once fsynced. File I/O runs in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Final

from faramesh_cloud.blobstore import (
    CHUNK_SIZE,
    BlobError,
    BlobInfo,
    BlobNotFound,
    BlobTooLarge,
    DigestMismatch,
)

_DIGEST: Final = re.compile(r"^[0-9a-f]{64}$")


def _check(sha256: str) -> str:
    if not _DIGEST.fullmatch(sha256):
        raise BlobError(f"{sha256!r} is not a lowercase hex SHA-256")
    return sha256


class FileBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / _check(sha256)

    async def put(self, chunks: AsyncIterable[bytes], *, max_size: int,
                  expected_sha256: str | None = None) -> BlobInfo:
        if expected_sha256 is not None:
            _check(expected_sha256)
        tmp_dir = self.root / ".tmp"
        await asyncio.to_thread(tmp_dir.mkdir, parents=True, exist_ok=True)
        fd, tmp = await asyncio.to_thread(tempfile.mkstemp, dir=tmp_dir)
        out = os.fdopen(fd, "wb")
        digest, size = hashlib.sha256(), 0
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_size:
                    raise BlobTooLarge(f"the blob is larger than the limit of {max_size} bytes")
                digest.update(chunk)
                await asyncio.to_thread(out.write, chunk)
            sha = digest.hexdigest()
            if expected_sha256 is not None and sha != expected_sha256:
                raise DigestMismatch(f"the bytes hash to {sha}, not the expected {expected_sha256}")
            await asyncio.to_thread(_finish, out)
            target = self._path(sha)
            await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
            await asyncio.to_thread(os.replace, tmp, target)
            return BlobInfo(sha, size)
        finally:
            out.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    async def put_bytes(self, data: bytes, *, max_size: int, expected_sha256: str | None = None) -> BlobInfo:
        async def one() -> AsyncIterator[bytes]:
            for i in range(0, len(data), CHUNK_SIZE):
                yield data[i:i + CHUNK_SIZE]
        return await self.put(one(), max_size=max_size, expected_sha256=expected_sha256)

    async def stat(self, sha256: str) -> BlobInfo | None:
        try:
            return BlobInfo(sha256, (await asyncio.to_thread(self._path(sha256).stat)).st_size)
        except FileNotFoundError:
            return None

    async def open(self, sha256: str, *, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        path = self._path(sha256)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None
        try:
            while chunk := await asyncio.to_thread(handle.read, chunk_size):
                yield chunk
        finally:
            handle.close()

    async def read_bytes(self, sha256: str, *, max_size: int) -> bytes:
        out = bytearray()
        async for chunk in self.open(sha256):
            out += chunk
            if len(out) > max_size:
                raise BlobTooLarge(f"blob {sha256} is larger than {max_size} bytes")
        return bytes(out)

    async def delete(self, sha256: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(self._path(sha256).unlink)

    async def close(self) -> None:
        return None


def _finish(out: object) -> None:
    out.flush()  # type: ignore[attr-defined]
    os.fsync(out.fileno())  # type: ignore[attr-defined]
