"""The PostgreSQL log's header blob and binary COPY encoding."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from faramesh_cloud.log.pg_copy import copy_buffer, decode_headers, encode_headers
from faramesh_cloud.log.port import SharedHeaders


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


def test_shared_headers_encode_the_shared_part_once_per_memo() -> None:
    shared = {"org": b"o-1", "stack": b"s-1"}
    memo: dict[int, bytes] = {}
    blobs = [encode_headers(SharedHeaders(shared, {"seq": str(i).encode()}), memo) for i in range(3)]
    assert [dict(decode_headers(b)) for b in blobs] == [{**shared, "seq": str(i).encode()} for i in range(3)]
    assert list(memo.values()) == [encode_headers(shared)]
    plain = SharedHeaders(shared, {"seq": b"9"})
    assert dict(decode_headers(encode_headers(plain))) == dict(plain) == {**shared, "seq": b"9"}
    assert encode_headers(SharedHeaders({}, {}), memo) is None


def test_a_truncated_header_blob_is_an_error_not_a_short_value() -> None:
    blob = encode_headers({"org": b"o-1", "seq": b"12345"})
    assert blob is not None
    for cut in (len(blob) - 1, len(blob) - 6, 3):
        try:
            decoded = decode_headers(blob[:cut])
        except ValueError:
            continue
        raise AssertionError(f"cut at {cut} decoded as {decoded!r}")


def test_a_blob_cut_anywhere_but_between_headers_is_a_value_error() -> None:
    blob = encode_headers({"org": b"o-1", "seq": b"12345", "received_ns": b"1765000000000000000"})
    assert blob is not None
    boundaries = {0, len(blob)}
    at = 0
    while at < len(blob):  # where each header ends: a blob cut there is a shorter, valid one
        at += 2 + struct.unpack_from("!H", blob, at)[0]
        at += 4 + struct.unpack_from("!I", blob, at)[0]
        boundaries.add(at)
    for cut in range(1, len(blob)):
        if cut in boundaries:
            continue
        try:
            decoded = decode_headers(blob[:cut])
        except ValueError:
            continue
        raise AssertionError(f"cut at {cut} decoded as {decoded!r}")
