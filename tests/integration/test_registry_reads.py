"""``Blobs``: the registry's texts kept in memory by their content digest, on a real
``FileBlobStore``."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from faramesh_cloud.blobstore import BlobNotFound
from faramesh_cloud.blobstore.files import FileBlobStore
from faramesh_cloud.registry.reads import CACHED_TEXT_BLOB, Blobs

pytestmark = pytest.mark.integration


def _overwrite(store: FileBlobStore, sha256: str, data: bytes) -> None:
    path = store.path_for(sha256)
    os.chmod(path, 0o640)
    path.write_bytes(data)


async def test_a_text_read_once_is_answered_from_memory(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    info = await store.put_bytes(b"agent a { rules { deny * } }\n", max_size=1024)
    blobs = Blobs(store)
    assert await blobs.text(info.sha256) == "agent a { rules { deny * } }\n"
    await store.delete(info.sha256)  # the store is not asked again: the digest names the content
    assert await blobs.text(info.sha256) == "agent a { rules { deny * } }\n"
    assert await blobs.text(None) is None


async def test_a_blob_whose_bytes_do_not_match_its_digest_is_read_again_every_time(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    info = await store.put_bytes(b"original\n", max_size=1024)
    _overwrite(store, info.sha256, b"changed on disk\n")
    blobs = Blobs(store)
    assert await blobs.text(info.sha256) == "changed on disk\n"
    _overwrite(store, info.sha256, b"changed again\n")
    assert await blobs.text(info.sha256) == "changed again\n"


async def test_memory_is_bounded_least_recently_used_out(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    texts = [f"text {i} ".encode() * 10 for i in range(3)]  # 70 B each
    infos = [await store.put_bytes(t, max_size=1024) for t in texts]
    blobs = Blobs(store, cache_bytes=150)  # room for two
    for info in infos:
        await blobs.text(info.sha256)
    for info in infos:
        await store.delete(info.sha256)
    with pytest.raises(BlobNotFound):
        await blobs.text(infos[0].sha256)  # the oldest was dropped
    assert await blobs.text(infos[1].sha256) == texts[1].decode()
    assert await blobs.text(infos[2].sha256) == texts[2].decode()


async def test_a_large_text_is_not_kept(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    data = b"x" * (CACHED_TEXT_BLOB + 1)
    info = await store.put_bytes(data, max_size=len(data))
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    blobs = Blobs(store)
    assert await blobs.text(info.sha256) == data.decode()
    await store.delete(info.sha256)
    with pytest.raises(BlobNotFound):
        await blobs.text(info.sha256)
