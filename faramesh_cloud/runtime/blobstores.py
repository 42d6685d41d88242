"""Which ``BlobStore`` this install uses, chosen once from the settings.

No ``blob_s3_bucket``: a ``FileBlobStore`` at the root the caller names (the registry's is
``<data_dir>/registry/blobs``). A bucket: an ``S3BlobStore`` on it, with the credentials
from the settings or the files they name (read here, once; a file's surrounding whitespace,
such as the newline a mounted secret ends with, is not part of the key), or boto3's own
credential chain when none are set. boto3 is imported only then, so an embedded install
never loads it.
"""

from __future__ import annotations

from pathlib import Path

from faramesh_cloud.blobstore import BlobStore
from faramesh_cloud.config import ConfigError, Settings, read_setting_file


def blobstore_from_settings(settings: Settings, default_root: Path) -> BlobStore:
    if not settings.blob_s3_bucket:
        from faramesh_cloud.blobstore.files import FileBlobStore

        return FileBlobStore(default_root)
    from faramesh_cloud.blobstore.s3 import S3BlobStore

    key_id = _secret(settings.blob_s3_access_key_id, settings.blob_s3_access_key_id_file,
                     "blob_s3_access_key_id_file")
    secret = _secret(settings.blob_s3_secret_access_key, settings.blob_s3_secret_access_key_file,
                     "blob_s3_secret_access_key_file")
    try:
        return S3BlobStore(settings.blob_s3_bucket, prefix=settings.blob_s3_prefix,
                           endpoint_url=settings.blob_s3_endpoint or None,
                           region=settings.blob_s3_region or None,
                           access_key_id=key_id, secret_access_key=secret)
    except ValueError as exc:
        raise ConfigError(f"blob_s3_*: {exc}") from None


def _secret(value: str, path: Path | None, setting: str) -> str | None:
    if path is None:
        return value or None
    text = read_setting_file(setting, path, "the key").strip()
    if not text:
        raise ConfigError(f"{setting}={path} is empty; it should hold the key")
    return text
