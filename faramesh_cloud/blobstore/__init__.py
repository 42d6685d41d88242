"""The ``BlobStore`` port: immutable blobs addressed by the lowercase hex SHA-256 of their bytes.

Adapters: ``FileBlobStore`` (embedded default, a directory in the data dir) and
``S3BlobStore`` (any S3-compatible object store). One contract suite covers both
(``tests/contracts/test_blobstore_contract.py``).

Rules every adapter keeps:
* ``put`` streams; it never holds a whole blob in memory. It computes the SHA-256 as it
  reads, refuses (``BlobTooLarge``) as soon as more than ``max_size`` bytes arrive, and
  refuses (``DigestMismatch``) when ``expected_sha256`` is given and differs. A refused put
  leaves nothing behind: no object, no temporary file, no half-finished multipart upload.
* A blob becomes visible under its digest only once complete (write to a temporary
  name, then an atomic rename / a completed upload). Putting bytes already stored is a
  no-op that returns the same ``BlobInfo``.
* ``open`` streams the bytes back in chunks; a missing digest is ``BlobNotFound``.
* ``delete`` of a missing digest is not an error (idempotent).
* Every digest argument (``expected_sha256`` too) is 64 lowercase hex, else ``ValueError``
  before any I/O (``check_sha256``): no input can reach another path or key.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

CHUNK_SIZE = 256 * 1024
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def check_sha256(value: object) -> str:
    """``value`` if it is a digest as blobs are named (64 lowercase hex), else ValueError.

    Every adapter calls this before a digest reaches a path or a key, so no string can
    name anything but a blob."""
    if not isinstance(value, str) or _SHA256_HEX.fullmatch(value) is None:
        raise ValueError(f"{value!r:.80} is not a blob digest; write the SHA-256 as 64 lowercase hex characters")
    return value


class BlobError(Exception):
    """A blob operation was refused; the message says why."""


class BlobTooLarge(BlobError):
    pass


class DigestMismatch(BlobError):
    pass


class BlobNotFound(BlobError, KeyError):
    pass


@dataclass(frozen=True, slots=True)
class BlobInfo:
    sha256: str  # lowercase hex
    size: int


@runtime_checkable
class BlobStore(Protocol):
    async def put(self, chunks: AsyncIterable[bytes], *, max_size: int,
                  expected_sha256: str | None = None) -> BlobInfo: ...

    async def put_bytes(self, data: bytes, *, max_size: int,
                        expected_sha256: str | None = None) -> BlobInfo: ...

    async def stat(self, sha256: str) -> BlobInfo | None: ...

    def open(self, sha256: str, *, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        """Async iterator over the blob's bytes; raises BlobNotFound on first iteration if absent."""
        ...

    async def read_bytes(self, sha256: str, *, max_size: int) -> bytes: ...

    async def delete(self, sha256: str) -> None: ...

    async def close(self) -> None: ...
