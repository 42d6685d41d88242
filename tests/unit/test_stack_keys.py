"""Stack API key format and hashing."""

from __future__ import annotations

import hashlib
import re

import pytest

from faramesh_cloud.stacks.keys import KEY_PREFIX, new_key, parse_key, secret_digest

# What docs/sync-api.md tells daemons to redact.
REDACT = re.compile(r"fmc_sk_[A-Za-z0-9_-]+")


def test_a_new_key_round_trips_and_matches_the_documented_redaction_pattern() -> None:
    for _ in range(200):  # secrets often contain "_" and "-"
        key, plaintext = new_key()
        assert plaintext.startswith(KEY_PREFIX)
        assert REDACT.fullmatch(plaintext)
        assert parse_key(plaintext) == key
        assert key.prefix == f"fmc_sk_{key.key_id}" and key.secret not in key.prefix


def test_keys_are_unique() -> None:
    assert len({new_key()[1] for _ in range(500)}) == 500


@pytest.mark.parametrize(
    "text",
    [
        "",
        "fmc_pk_0123456789abcdef_" + "a" * 43,  # a platform key, not a stack key
        "fmc_sk_0123456789abcdef",  # no secret
        "fmc_sk_0123456789ABCDEF_" + "a" * 43,  # key id not lower-case hex
        "fmc_sk_0123456789abcde_" + "a" * 43,  # key id too short
        "fmc_sk_0123456789abcdef_" + "a" * 42,  # secret too short
        "fmc_sk_0123456789abcdef_" + "a" * 42 + "=",  # not base64url
    ],
)
def test_malformed_keys_do_not_parse(text: str) -> None:
    assert parse_key(text) is None


def test_the_digest_is_sha256_of_the_secret() -> None:
    key, _ = new_key()
    assert secret_digest(key.secret) == hashlib.sha256(key.secret.encode()).digest()
