"""The PostgreSQL log's header blob and binary COPY encoding."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from faramesh_cloud.log.pg_copy import copy_buffer, decode_headers, encode_headers


@given(st.dictionaries(st.text(max_size=40), st.binary(max_size=300), max_size=8))
def test_headers_round_trip(headers: dict[str, bytes]) -> None:
    assert dict(decode_headers(encode_headers(headers))) == headers


def test_no_headers_is_null() -> None:
    assert encode_headers({}) is None
    assert dict(decode_headers(None)) == {}


def test_copy_buffer_is_pg_binary_copy() -> None:
    data = copy_buffer(7, [(1, 42, b"k", b"value", None), (0, 3, b"", b"v2", b"\x00\x01h")])
    assert data.startswith(b"PGCOPY\n\xff\r\n\x00") and data.endswith(struct.pack("!h", -1))
    body = data[19:-2]
    fields, l1, topic, l2, part, l3, off = struct.unpack_from("!hiiiiiq", body)
    assert (fields, l1, topic, l2, part, l3, off) == (6, 4, 7, 4, 1, 8, 42)
    assert b"value" in body and struct.pack("!i", -1) in body
