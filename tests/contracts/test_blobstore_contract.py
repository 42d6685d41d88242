"""The BlobStore contract: ``FileBlobStore`` and ``S3BlobStore`` (on a real S3-compatible
server, moto's, started by ``tests/fixtures/s3.py``) pass these same tests.

"Nothing left behind" is checked by listing everything the adapter can have written: every
file under the store's root (temporaries included), or every object and every unfinished
multipart upload in the bucket. The S3 store uses S3's minimum part size (5 MiB), so the
blobs above it go through a multipart upload.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import stat
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from faramesh_cloud.blobstore import (
    CHUNK_SIZE,
    BlobInfo,
    BlobNotFound,
    BlobStore,
    BlobTooLarge,
    DigestMismatch,
)
from faramesh_cloud.blobstore.files import FileBlobStore
from faramesh_cloud.blobstore.s3 import MIN_PART_SIZE, S3BlobStore
from tests.fixtures.s3 import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, S3Server

MULTIPART = MIN_PART_SIZE * 2 + 12_345  # three parts on S3, many chunks on disk
PREFIX = "registry/"


@dataclass
class Adapter:
    store: BlobStore
    leftovers: Callable[[], Awaitable[set[str]]]  # everything the store holds, temporaries too


@pytest.fixture
async def file_adapter(tmp_path: Path) -> AsyncIterator[Adapter]:
    root = tmp_path / "blobs"
    store = FileBlobStore(root)

    async def leftovers() -> set[str]:
        if not root.exists():
            return set()
        return {str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir()}

    yield Adapter(store, leftovers)
    await store.close()


@pytest.fixture
async def s3_adapter(s3_server: S3Server, s3_bucket: str) -> AsyncIterator[Adapter]:
    store = S3BlobStore(s3_bucket, prefix=PREFIX, endpoint_url=s3_server.endpoint_url, region=REGION,
                        access_key_id=ACCESS_KEY_ID, secret_access_key=SECRET_ACCESS_KEY,
                        part_size=MIN_PART_SIZE)
    client = s3_server.client()

    def listing() -> set[str]:
        keys = {item["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=s3_bucket)
                for item in page.get("Contents", [])}
        uploads = client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", [])
        return keys | {f"unfinished upload of {u['Key']}" for u in uploads}

    async def leftovers() -> set[str]:
        return await asyncio.to_thread(listing)

    yield Adapter(store, leftovers)
    await store.close()
    client.close()


@pytest.fixture(params=[pytest.param("file", id="file"),
                        pytest.param("s3", id="s3", marks=[pytest.mark.s3, pytest.mark.integration])])
def adapter(request: pytest.FixtureRequest) -> Adapter:
    found: Adapter = request.getfixturevalue(f"{request.param}_adapter")
    return found


def _blob(size: int, seed: int = 0) -> bytes:
    """``size`` bytes that differ from other seeds' (and are not all one value)."""
    block = hashlib.sha256(f"seed-{seed}".encode()).digest()
    return (block * (size // len(block) + 1))[:size]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Stream:
    """Yields ``data`` in uneven chunks and records how many it was asked for."""

    def __init__(self, data: bytes, sizes: tuple[int, ...] = (1, 7, 65_536, 300_001)) -> None:
        self.data = data
        self.sizes = sizes
        self.served = 0

    def chunks(self) -> Iterator[bytes]:
        start, i = 0, 0
        while start < len(self.data):
            size = self.sizes[i % len(self.sizes)]
            yield self.data[start:start + size]
            start, i = start + size, i + 1

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks():
            self.served += 1
            yield chunk


class FailingStream(Stream):
    """Yields ``after`` bytes, then fails as a dropped upload would."""

    def __init__(self, data: bytes, after: int) -> None:
        super().__init__(data)
        self.after = after

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, self.after, 65_536):
            yield self.data[start:min(start + 65_536, self.after)]
        raise ConnectionResetError("the client went away")


async def _read(store: BlobStore, sha256: str, chunk_size: int = CHUNK_SIZE) -> bytes:
    return b"".join([chunk async for chunk in store.open(sha256, chunk_size=chunk_size)])


# -- round trips ------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [0, 1, 1000, CHUNK_SIZE * 3 + 17, MULTIPART],
                         ids=["empty", "one-byte", "small", "multi-chunk", "multipart"])
async def test_round_trip(adapter: Adapter, size: int) -> None:
    data = _blob(size)
    info = await adapter.store.put(Stream(data), max_size=size)
    assert info == BlobInfo(_sha(data), size)
    assert await adapter.store.stat(info.sha256) == info
    assert await _read(adapter.store, info.sha256) == data
    assert await adapter.store.read_bytes(info.sha256, max_size=size) == data
    assert len(await adapter.leftovers()) == 1  # the blob, and no temporary


@pytest.mark.parametrize("size", [10, MULTIPART], ids=["small", "multipart"])
async def test_put_with_the_right_expected_digest(adapter: Adapter, size: int) -> None:
    data = _blob(size, seed=1)
    info = await adapter.store.put(Stream(data), max_size=size, expected_sha256=_sha(data))
    assert info == BlobInfo(_sha(data), size)
    assert await _read(adapter.store, info.sha256) == data
    assert len(await adapter.leftovers()) == 1


async def test_put_bytes_round_trip(adapter: Adapter) -> None:
    data = _blob(5000, seed=2)
    info = await adapter.store.put_bytes(data, max_size=5000, expected_sha256=_sha(data))
    assert info == BlobInfo(_sha(data), 5000)
    assert await adapter.store.read_bytes(info.sha256, max_size=5000) == data


async def test_open_streams_in_chunks_of_at_most_chunk_size(adapter: Adapter) -> None:
    data = _blob(10_000, seed=3)
    info = await adapter.store.put_bytes(data, max_size=10_000)
    chunks = [chunk async for chunk in adapter.store.open(info.sha256, chunk_size=1024)]
    assert b"".join(chunks) == data
    assert len(chunks) >= 10 and all(0 < len(c) <= 1024 for c in chunks)


@pytest.mark.parametrize("size", [100, MULTIPART], ids=["small", "multipart"])
async def test_putting_stored_bytes_again_is_a_no_op(adapter: Adapter, size: int) -> None:
    data = _blob(size, seed=4)
    first = await adapter.store.put(Stream(data), max_size=size)
    before = await adapter.leftovers()
    assert await adapter.store.put(Stream(data, sizes=(999,)), max_size=size) == first
    assert await adapter.store.put_bytes(data, max_size=size, expected_sha256=first.sha256) == first
    assert await adapter.leftovers() == before
    assert await _read(adapter.store, first.sha256) == data


async def test_different_blobs_are_kept_apart(adapter: Adapter) -> None:
    infos = [await adapter.store.put_bytes(_blob(300, seed=s), max_size=300) for s in range(5)]
    assert len({i.sha256 for i in infos}) == 5
    for seed, info in enumerate(infos):
        assert await adapter.store.read_bytes(info.sha256, max_size=300) == _blob(300, seed=seed)
    assert len(await adapter.leftovers()) == 5


# -- missing blobs --------------------------------------------------------------------------

async def test_a_missing_blob_is_none_or_not_found(adapter: Adapter) -> None:
    missing = _sha(b"never stored")
    assert await adapter.store.stat(missing) is None
    with pytest.raises(BlobNotFound):
        await _read(adapter.store, missing)
    with pytest.raises(BlobNotFound):
        await adapter.store.read_bytes(missing, max_size=100)


# -- refusals leave nothing behind -----------------------------------------------------------

@pytest.mark.parametrize("size", [1000, MULTIPART], ids=["small", "multipart"])
async def test_over_the_limit_is_refused_as_soon_as_it_is_exceeded(adapter: Adapter, size: int) -> None:
    keep = await adapter.store.put_bytes(b"already here", max_size=100)
    before = await adapter.leftovers()
    data = _blob(size + 5 * MIN_PART_SIZE, seed=5)
    stream = Stream(data, sizes=(4096,))
    with pytest.raises(BlobTooLarge):
        await adapter.store.put(stream, max_size=size)
    # It read the chunk that crossed the limit, and not one more.
    assert stream.served == size // 4096 + 1
    assert await adapter.leftovers() == before
    assert await adapter.store.stat(_sha(data)) is None
    assert await adapter.store.read_bytes(keep.sha256, max_size=100) == b"already here"


async def test_exactly_the_limit_is_accepted_and_one_byte_more_is_not(adapter: Adapter) -> None:
    data = _blob(4097, seed=6)
    with pytest.raises(BlobTooLarge):
        await adapter.store.put(Stream(data), max_size=4096)
    with pytest.raises(BlobTooLarge):
        await adapter.store.put_bytes(data, max_size=4096)
    assert await adapter.leftovers() == set()
    assert (await adapter.store.put(Stream(data), max_size=4097)).size == 4097


async def test_a_zero_limit_takes_only_the_empty_blob(adapter: Adapter) -> None:
    with pytest.raises(BlobTooLarge):
        await adapter.store.put_bytes(b"x", max_size=0)
    assert (await adapter.store.put_bytes(b"", max_size=0)).sha256 == _sha(b"")


@pytest.mark.parametrize("size", [1000, MULTIPART], ids=["small", "multipart"])
async def test_digest_mismatch_is_refused_and_leaves_nothing(adapter: Adapter, size: int) -> None:
    keep = await adapter.store.put_bytes(b"already here", max_size=100)
    before = await adapter.leftovers()
    data = _blob(size, seed=7)
    wrong = _sha(data + b"!")
    with pytest.raises(DigestMismatch):
        await adapter.store.put(Stream(data), max_size=size, expected_sha256=wrong)
    with pytest.raises(DigestMismatch):
        await adapter.store.put_bytes(data, max_size=size, expected_sha256=keep.sha256)
    assert await adapter.leftovers() == before
    assert await adapter.store.stat(_sha(data)) is None and await adapter.store.stat(wrong) is None
    # A mismatch naming a stored blob leaves that blob as it was.
    assert await adapter.store.read_bytes(keep.sha256, max_size=100) == b"already here"


@pytest.mark.parametrize("size", [1000, MULTIPART], ids=["small", "multipart"])
async def test_a_stream_that_fails_midway_leaves_nothing(adapter: Adapter, size: int) -> None:
    data = _blob(size, seed=8)
    with pytest.raises(ConnectionResetError):
        await adapter.store.put(FailingStream(data, after=size - 100), max_size=size)
    assert await adapter.leftovers() == set()


async def test_a_cancelled_put_leaves_nothing(adapter: Adapter) -> None:
    data = _blob(MULTIPART, seed=9)
    reached = asyncio.Event()

    async def stalls() -> AsyncIterator[bytes]:
        yield data[:MIN_PART_SIZE + 10]  # past one part: a multipart upload exists on S3
        yield data[MIN_PART_SIZE + 10:MIN_PART_SIZE * 2 + 20]
        reached.set()
        await asyncio.Event().wait()  # never comes
        yield b""

    task = asyncio.create_task(adapter.store.put(stalls(), max_size=MULTIPART))
    await reached.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await adapter.leftovers() == set()


# -- delete -------------------------------------------------------------------------------

async def test_delete_is_idempotent(adapter: Adapter) -> None:
    info = await adapter.store.put_bytes(b"short-lived", max_size=100)
    await adapter.store.delete(info.sha256)
    assert await adapter.store.stat(info.sha256) is None
    with pytest.raises(BlobNotFound):
        await adapter.store.read_bytes(info.sha256, max_size=100)
    await adapter.store.delete(info.sha256)
    await adapter.store.delete(_sha(b"never stored"))
    assert await adapter.leftovers() == set()
    # and the same bytes can be stored again
    assert await adapter.store.put_bytes(b"short-lived", max_size=100) == info


# -- digests are validated everywhere ----------------------------------------------------------

BAD_DIGESTS = [
    "",
    "abc",
    "A" * 64,  # uppercase
    "0" * 63,
    "0" * 65,
    "0" * 64 + "\n",
    "g" * 64,
    "../" + "0" * 61,
    "0" * 62 + "/x",
    "..",
    "/etc/passwd",
    "00/00/" + "0" * 58,
    " " + "0" * 63,
]


@pytest.mark.parametrize("bad", BAD_DIGESTS, ids=range(len(BAD_DIGESTS)))
async def test_invalid_digests_are_refused_everywhere(adapter: Adapter, bad: str) -> None:
    store = adapter.store
    with pytest.raises(ValueError):
        await store.stat(bad)
    with pytest.raises(ValueError):
        store.open(bad)
    with pytest.raises(ValueError):
        await store.read_bytes(bad, max_size=10)
    with pytest.raises(ValueError):
        await store.delete(bad)
    with pytest.raises(ValueError):
        await store.put(Stream(b"data"), max_size=10, expected_sha256=bad)
    with pytest.raises(ValueError):
        await store.put_bytes(b"data", max_size=10, expected_sha256=bad)
    assert await adapter.leftovers() == set()


async def test_a_non_string_digest_is_refused(adapter: Adapter) -> None:
    with pytest.raises(ValueError):
        await adapter.store.stat(b"0" * 64)  # type: ignore[arg-type]


# -- concurrency -------------------------------------------------------------------------

@pytest.mark.parametrize(("size", "count"), [(70_000, 8), (MULTIPART, 3)], ids=["small", "multipart"])
async def test_concurrent_puts_of_the_same_bytes(adapter: Adapter, size: int, count: int) -> None:
    data = _blob(size, seed=10)
    infos = await asyncio.gather(*(adapter.store.put(Stream(data), max_size=size) for _ in range(count)))
    assert set(infos) == {BlobInfo(_sha(data), size)}
    assert len(await adapter.leftovers()) == 1
    assert await _read(adapter.store, _sha(data)) == data


# -- read_bytes --------------------------------------------------------------------------

async def test_read_bytes_refuses_a_blob_over_its_limit(adapter: Adapter) -> None:
    data = _blob(2048, seed=11)
    info = await adapter.store.put_bytes(data, max_size=2048)
    assert await adapter.store.read_bytes(info.sha256, max_size=2048) == data
    with pytest.raises(BlobTooLarge):
        await adapter.store.read_bytes(info.sha256, max_size=2047)


# -- adapter specifics: the file layout, and that S3 really went multipart ----------------------

async def test_files_are_content_addressed_read_only_and_fsynced_into_place(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    info = await store.put_bytes(b"hello", max_size=10)
    digest = info.sha256
    path = tmp_path / "blobs" / digest[:2] / digest[2:4] / digest
    assert store.path_for(digest) == path and path.read_bytes() == b"hello"
    mode = stat.S_IMODE(os.stat(path).st_mode)
    assert mode & 0o222 == 0 and mode & 0o007 == 0, oct(mode)  # immutable, nothing for others
    assert list((tmp_path / "blobs" / ".tmp").iterdir()) == []


async def test_s3_uses_multipart_above_a_part_and_one_put_below(s3_adapter: Adapter) -> None:
    store = s3_adapter.store
    assert isinstance(store, S3BlobStore)
    calls: list[str] = []
    store.client.meta.events.register("before-call.s3.*", lambda model, **_: calls.append(model.name))
    small = await store.put_bytes(_blob(1000, seed=12), max_size=1000)
    assert "PutObject" in calls and "CreateMultipartUpload" not in calls
    calls.clear()
    big = await store.put(Stream(_blob(MULTIPART, seed=12)), max_size=MULTIPART)
    assert calls.count("UploadPart") == 3 and "CompleteMultipartUpload" in calls
    assert await s3_adapter.leftovers() == {PREFIX + small.sha256, PREFIX + big.sha256}


async def test_files_a_repeated_put_leaves_the_stored_file_untouched(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    info = await store.put_bytes(b"stored once", max_size=100)
    before = os.stat(store.path_for(info.sha256))
    assert await store.put(Stream(b"stored once"), max_size=100) == info
    after = os.stat(store.path_for(info.sha256))
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


@pytest.mark.parametrize("size", [1000, MULTIPART], ids=["small", "multipart"])
async def test_s3_a_repeated_put_writes_no_object(s3_adapter: Adapter, size: int) -> None:
    store = s3_adapter.store
    assert isinstance(store, S3BlobStore)
    data = _blob(size, seed=13)
    await store.put(Stream(data), max_size=size)
    calls: list[str] = []
    store.client.meta.events.register("before-call.s3.*", lambda model, **_: calls.append(model.name))
    await store.put(Stream(data), max_size=size)
    await store.put(Stream(data), max_size=size, expected_sha256=_sha(data))
    written = {"PutObject", "CompleteMultipartUpload", "CopyObject", "UploadPartCopy"}
    assert not written & set(calls), calls
