"""``S3BlobStore``: the ``BlobStore`` on any S3-compatible object store (AWS S3, MinIO, Ceph
RGW, R2, ...). Objects are ``<prefix><sha256>``; puts in progress use ``<prefix>tmp/<uuid>``.

Library: boto3, called from worker threads (``asyncio.to_thread``). It is AWS's own SDK,
released every week, and already what S3-compatible servers test against. The async
alternatives wrap the same botocore: aiobotocore pins an exact botocore range, so it and any
boto3 in the same environment must move in lockstep (a frequent source of broken installs),
and aioboto3 adds a layer on top of that. Every call here is one request on a pooled
connection, so a thread per call costs little next to the network round trip.

A put reads the stream once, counting bytes before buffering them (``BlobTooLarge`` the moment
the total passes ``max_size``) and hashing them in order in the worker threads:
* A blob that fits in one part (< ``part_size``, default 8 MiB, at least S3's 5 MiB minimum)
  is held in memory until the stream ends; its digest is then known, so it is checked
  (``DigestMismatch``) and, unless the object exists already (a HEAD: repeated puts are a
  no-op), written with one ``PutObject`` straight to its final key. S3 makes an object
  visible only once its PUT is complete.
* A larger blob goes up as a multipart upload, one ``part_size`` part in memory at a time.
  Parts are invisible until the upload is completed, so a refusal (too large, mismatch,
  an error, a cancellation) aborts the upload and nothing is left. Its final key is unknown
  until the last byte, so the upload targets ``<prefix>tmp/<uuid>``, is completed there and
  copied server-side to ``<prefix><sha256>`` (then the temporary object is deleted); when the
  caller gives ``expected_sha256`` the upload targets the final key itself and is completed
  only once the digest matched, saving the copy. When the object already exists the upload
  is aborted instead.
Cleanup runs under a lock shared with the upload's own calls, so a put cancelled while a
worker thread is still creating its upload or sending a part cannot miss that upload.

A process killed mid-put can leave an incomplete multipart upload or a ``tmp/`` object;
set a bucket lifecycle rule (AbortIncompleteMultipartUpload after a day, and expiry of
``<prefix>tmp/``) as the backstop (docs/registry-blobs.md).

Compatibility: path-style addressing when an endpoint is given (what MinIO and most
self-hosted servers expect), and botocore's default CRC checksums only where a request
requires them (several S3-compatible servers refuse the newer checksum headers).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from faramesh_cloud.blobstore import (
    CHUNK_SIZE,
    BlobError,
    BlobInfo,
    BlobNotFound,
    BlobTooLarge,
    DigestMismatch,
    check_sha256,
)

log = logging.getLogger(__name__)

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's minimum for every part but the last
DEFAULT_PART_SIZE = 8 * 1024 * 1024
MAX_PARTS = 10_000
_COPY_CONFIG = TransferConfig(multipart_threshold=5 * 1024**3, multipart_chunksize=512 * 1024**2,
                              use_threads=False)
_MISSING = ("404", "NoSuchKey", "NotFound")


class S3BlobStore:
    def __init__(self, bucket: str, *, prefix: str = "", endpoint_url: str | None = None,
                 region: str | None = None, access_key_id: str | None = None,
                 secret_access_key: str | None = None, part_size: int = DEFAULT_PART_SIZE) -> None:
        if len(bucket) < 3:
            raise ValueError(f"bucket {bucket!r} is not an S3 bucket name (3 to 63 characters)")
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size={part_size} is below S3's 5 MiB minimum part size")
        if (access_key_id is None) != (secret_access_key is None):
            raise ValueError("give both the access key id and the secret access key, or neither "
                             "(for boto3's own credential chain: AWS_* variables, an instance role)")
        self.bucket = bucket
        self.prefix = normalise_prefix(prefix)
        self.part_size = part_size
        config = Config(
            region_name=region,
            signature_version="s3v4",
            s3={"addressing_style": "path" if endpoint_url else "auto"},
            retries={"mode": "standard", "max_attempts": 5},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            connect_timeout=10,
            read_timeout=60,
        )
        session = boto3.session.Session(aws_access_key_id=access_key_id,
                                        aws_secret_access_key=secret_access_key, region_name=region)
        self._client: Any = session.client("s3", endpoint_url=endpoint_url or None, config=config)

    @property
    def client(self) -> Any:
        """The boto3 S3 client (for operators' tools and tests that inspect the bucket)."""
        return self._client

    def key_for(self, sha256: str) -> str:
        return self.prefix + check_sha256(sha256)

    @property
    def temp_prefix(self) -> str:
        return self.prefix + "tmp/"

    async def put(self, chunks: AsyncIterable[bytes], *, max_size: int,
                  expected_sha256: str | None = None) -> BlobInfo:
        if expected_sha256 is not None:
            check_sha256(expected_sha256)
        _check_max_size(max_size)
        upload = _Upload(self, self.key_for(expected_sha256) if expected_sha256 else
                         self.temp_prefix + uuid.uuid4().hex)
        hasher = hashlib.sha256()
        size = 0
        pending = bytearray()
        finished = False
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_size:
                    raise BlobTooLarge(f"the blob is larger than the {max_size}-byte limit")
                pending += chunk
                while len(pending) >= self.part_size:
                    part = bytes(pending[:self.part_size])
                    del pending[:self.part_size]
                    await asyncio.to_thread(upload.send_part, hasher, part)
            rest = bytes(pending)
            pending.clear()
            await asyncio.to_thread(hasher.update, rest)
            info = BlobInfo(hasher.hexdigest(), size)
            if expected_sha256 is not None and info.sha256 != expected_sha256:
                raise DigestMismatch(f"the bytes hash to {info.sha256}, not the expected {expected_sha256}")
            await asyncio.to_thread(upload.finish, info.sha256, rest)
            finished = True
            return info
        finally:
            if not finished:
                await asyncio.to_thread(upload.abandon)

    async def put_bytes(self, data: bytes, *, max_size: int,
                        expected_sha256: str | None = None) -> BlobInfo:
        if expected_sha256 is not None:
            check_sha256(expected_sha256)
        _check_max_size(max_size)
        if len(data) > max_size:
            raise BlobTooLarge(f"the blob is {len(data)} bytes, larger than the {max_size}-byte limit")
        return await self.put(_slices(data, self.part_size), max_size=max_size,
                              expected_sha256=expected_sha256)

    async def stat(self, sha256: str) -> BlobInfo | None:
        size = await asyncio.to_thread(self._head, self.key_for(sha256))
        return None if size is None else BlobInfo(sha256, size)

    def open(self, sha256: str, *, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        key = self.key_for(sha256)  # a bad digest fails here, at the call
        if chunk_size <= 0:
            raise ValueError(f"chunk_size={chunk_size} must be positive")
        return self._stream(key, sha256, chunk_size)

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
            if len(out) > max_size:
                raise BlobTooLarge(f"blob {sha256} is larger than the {max_size}-byte limit")
        return bytes(out)

    async def delete(self, sha256: str) -> None:
        key = self.key_for(sha256)
        await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=key)

    async def close(self) -> None:
        await asyncio.to_thread(self._client.close)

    # -- blocking helpers, run in worker threads -------------------------------------------

    def _head(self, key: str) -> int | None:
        try:
            head = self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise
        return int(head["ContentLength"])

    async def _stream(self, key: str, sha256: str, chunk_size: int) -> AsyncIterator[bytes]:
        try:
            response = await asyncio.to_thread(self._client.get_object, Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise BlobNotFound(sha256) from None
            raise
        body = response["Body"]
        chunks: Iterator[bytes] = body.iter_chunks(chunk_size)
        try:
            while chunk := await asyncio.to_thread(next, chunks, b""):
                yield chunk
        finally:
            body.close()


class _Upload:
    """One put's S3 state: a multipart upload once the blob outgrows a part, its parts, and
    what must be undone if the put does not finish. Every method runs in a worker thread;
    the lock orders them, so ``abandon`` always sees an upload that is being created."""

    def __init__(self, store: S3BlobStore, key: str) -> None:
        self.store = store
        self.client = store.client
        self.key = key
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []
        self.object_written = False  # a temporary object exists under self.key
        self.abandoned = False
        self.lock = threading.Lock()

    def send_part(self, hasher: Any, data: bytes) -> None:
        with self.lock:
            if self.abandoned:
                raise BlobError("the put was abandoned")
            hasher.update(data)
            if len(self.parts) >= MAX_PARTS:
                raise BlobTooLarge(f"the blob needs more than {MAX_PARTS} parts of {self.store.part_size} bytes")
            if self.upload_id is None:
                created = self.client.create_multipart_upload(Bucket=self.store.bucket, Key=self.key)
                self.upload_id = created["UploadId"]
            number = len(self.parts) + 1
            sent = self.client.upload_part(Bucket=self.store.bucket, Key=self.key, UploadId=self.upload_id,
                                           PartNumber=number, Body=data)
            self.parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    def finish(self, sha256: str, rest: bytes) -> None:
        """Make the blob visible under its digest (or find it there already)."""
        bucket, final = self.store.bucket, self.store.key_for(sha256)
        with self.lock:
            if self.abandoned:
                raise BlobError("the put was abandoned")
            if self.store._head(final) is not None:  # stored already: a no-op
                self._undo()
                return
            if self.upload_id is None:  # one part: straight to the final key
                self.client.put_object(Bucket=bucket, Key=final, Body=rest)
                return
            if rest:
                number = len(self.parts) + 1
                sent = self.client.upload_part(Bucket=bucket, Key=self.key, UploadId=self.upload_id,
                                               PartNumber=number, Body=rest)
                self.parts.append({"PartNumber": number, "ETag": sent["ETag"]})
            self.client.complete_multipart_upload(Bucket=bucket, Key=self.key, UploadId=self.upload_id,
                                                  MultipartUpload={"Parts": self.parts})
            self.upload_id = None
            if self.key == final:
                return
            self.object_written = True
            self.client.copy({"Bucket": bucket, "Key": self.key}, bucket, final, Config=_COPY_CONFIG)
            self._undo()

    def abandon(self) -> None:
        """Leave nothing behind: abort the multipart upload, delete the temporary object.
        A failure here is logged (the lifecycle rule is the backstop), never raised over
        the error that made the put fail."""
        with self.lock:
            self.abandoned = True
            try:
                self._undo()
            except Exception:
                log.warning("could not clean up after a refused put to s3://%s/%s; the bucket's "
                            "lifecycle rule will", self.store.bucket, self.key, exc_info=True)

    def _undo(self) -> None:
        if self.upload_id is not None:
            self.client.abort_multipart_upload(Bucket=self.store.bucket, Key=self.key, UploadId=self.upload_id)
            self.upload_id = None
        if self.object_written:
            self.client.delete_object(Bucket=self.store.bucket, Key=self.key)
            self.object_written = False


def normalise_prefix(prefix: str) -> str:
    """``""`` or a key prefix ending in one ``/`` (``"registry"`` → ``"registry/"``)."""
    prefix = prefix.strip("/")
    return f"{prefix}/" if prefix else ""


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


async def _slices(data: bytes, size: int) -> AsyncIterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(view), size):
        yield bytes(view[start:start + size])


def _check_max_size(max_size: int) -> None:
    if max_size < 0:
        raise ValueError(f"max_size={max_size} must be zero or more")
