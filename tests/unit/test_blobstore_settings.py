"""Which BlobStore the settings select, and the S3 settings' checks (pure: building a boto3
client opens no connection)."""

from __future__ import annotations

from pathlib import Path

import pytest

from faramesh_cloud.blobstore import BlobStore, check_sha256
from faramesh_cloud.blobstore.files import FileBlobStore
from faramesh_cloud.blobstore.s3 import S3BlobStore, normalise_prefix
from faramesh_cloud.config import ConfigError, Settings
from faramesh_cloud.runtime.blobstores import blobstore_from_settings


def test_no_bucket_keeps_blobs_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings.load(env={}, data_dir=tmp_path)
    store = blobstore_from_settings(settings, tmp_path / "registry" / "blobs")
    assert isinstance(store, FileBlobStore) and isinstance(store, BlobStore)
    assert store.root == tmp_path / "registry" / "blobs"


def test_a_bucket_selects_s3_with_the_settings_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.load(env={"FARAMESH_CLOUD_BLOB_S3_BUCKET": "acme-registry",
                                  "FARAMESH_CLOUD_BLOB_S3_PREFIX": "cloud/blobs",
                                  "FARAMESH_CLOUD_BLOB_S3_ENDPOINT": "https://minio.internal:9000",
                                  "FARAMESH_CLOUD_BLOB_S3_REGION": "eu-central-1",
                                  "FARAMESH_CLOUD_BLOB_S3_ACCESS_KEY_ID": "AKIAEXAMPLE",
                                  "FARAMESH_CLOUD_BLOB_S3_SECRET_ACCESS_KEY": "s3cr3t"}, data_dir=tmp_path)
    assert "s3cr3t" not in repr(settings)
    store = blobstore_from_settings(settings, tmp_path / "unused")
    assert isinstance(store, S3BlobStore) and isinstance(store, BlobStore)
    assert store.bucket == "acme-registry" and store.prefix == "cloud/blobs/"
    assert store.client.meta.endpoint_url == "https://minio.internal:9000"
    assert store.client.meta.region_name == "eu-central-1"
    credentials = store.client._get_credentials()
    assert (credentials.access_key, credentials.secret_key) == ("AKIAEXAMPLE", "s3cr3t")
    assert not (tmp_path / "unused").exists()


def test_credentials_can_come_from_files(tmp_path: Path) -> None:
    (tmp_path / "id").write_text("AKIAFROMFILE\n")
    (tmp_path / "secret").write_text("from-a-mounted-secret\n")
    settings = Settings.load(env={"FARAMESH_CLOUD_BLOB_S3_BUCKET": "acme-registry",
                                  "FARAMESH_CLOUD_BLOB_S3_ACCESS_KEY_ID_FILE": str(tmp_path / "id"),
                                  "FARAMESH_CLOUD_BLOB_S3_SECRET_ACCESS_KEY_FILE": str(tmp_path / "secret")},
                             data_dir=tmp_path)
    store = blobstore_from_settings(settings, tmp_path)
    assert isinstance(store, S3BlobStore)
    credentials = store.client._get_credentials()
    assert (credentials.access_key, credentials.secret_key) == ("AKIAFROMFILE", "from-a-mounted-secret")


def test_a_missing_or_empty_credentials_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("\n")
    for path, words in ((tmp_path / "absent", "cannot read it"), (tmp_path / "empty", "is empty")):
        settings = Settings.load(env={"FARAMESH_CLOUD_BLOB_S3_BUCKET": "acme-registry",
                                      "FARAMESH_CLOUD_BLOB_S3_ACCESS_KEY_ID": "AKIA",
                                      "FARAMESH_CLOUD_BLOB_S3_SECRET_ACCESS_KEY_FILE": str(path)},
                                 data_dir=tmp_path)
        with pytest.raises(ConfigError, match=words):
            blobstore_from_settings(settings, tmp_path)


@pytest.mark.parametrize(("env", "words"), [
    ({"FARAMESH_CLOUD_BLOB_S3_BUCKET": "ab"}, "3 to 63"),
    ({"FARAMESH_CLOUD_BLOB_S3_BUCKET": "acme", "FARAMESH_CLOUD_BLOB_S3_ENDPOINT": "minio:9000"}, "not a URL"),
    ({"FARAMESH_CLOUD_BLOB_S3_BUCKET": "acme", "FARAMESH_CLOUD_BLOB_S3_ACCESS_KEY_ID": "AKIA"}, "set both"),
    ({"FARAMESH_CLOUD_BLOB_S3_BUCKET": "acme", "FARAMESH_CLOUD_BLOB_S3_SECRET_ACCESS_KEY": "x"}, "set both"),
    ({"FARAMESH_CLOUD_BLOB_S3_SECRET_ACCESS_KEY": "x",
      "FARAMESH_CLOUD_BLOB_S3_SECRET_ACCESS_KEY_FILE": "/run/secret"}, "not both"),
])
def test_unworkable_s3_settings_are_refused_with_a_reason(env: dict[str, str], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        Settings.load(env=env)


def test_prefixes_end_in_one_slash_and_digests_are_64_lowercase_hex() -> None:
    assert [normalise_prefix(p) for p in ("", "/", "a", "a/", "/a/b/")] == ["", "", "a/", "a/", "a/b/"]
    digest = "0123456789abcdef" * 4
    assert check_sha256(digest) == digest
    for bad in (digest.upper(), digest + "\n", digest[:-1], None, b"0" * 64):
        with pytest.raises(ValueError, match="64 lowercase hex"):
            check_sha256(bad)
    with pytest.raises(ValueError, match="5 MiB"):
        S3BlobStore("acme", part_size=1024)
    with pytest.raises(ValueError, match="both"):
        S3BlobStore("acme", access_key_id="AKIA")
