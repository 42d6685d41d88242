"""verify-report reads the embedded appendix as a stream: a ``/FlateDecode`` file is inflated
from its compressed bytes a chunk at a time (never the whole appendix, 1.4 GB for 1M DPRs,
in memory), hashed and counted as it is read; any other stream is read as pyHanko decodes it."""

from __future__ import annotations

import hashlib
import io
import os
import zlib

import pytest
from pyhanko.pdf_utils import generic

from faramesh_cloud.compliance.report.check import OUT_CHUNK, Inflated


def _stream(data: bytes, *, flate: bool = True) -> generic.StreamObject:
    if flate:
        return generic.StreamObject({generic.NameObject("/Filter"): generic.NameObject("/FlateDecode")},
                                    encoded_data=zlib.compress(data, 6))
    return generic.StreamObject(stream_data=data)


def test_a_flate_stream_is_inflated_in_bounded_steps_hashed_and_counted() -> None:
    data = b"".join(b'{"n":%d,"pad":"%s"},\n' % (i, os.urandom(16).hex().encode()) for i in range(60_000))
    data += b"\x00" * (8 * OUT_CHUNK)  # compresses ~1000:1, yet comes out at most OUT_CHUNK a step
    inflated = Inflated(_stream(data))
    steps = []
    while chunk := inflated.read(4 * OUT_CHUNK):
        steps.append(chunk)
    assert b"".join(steps) == data and max(map(len, steps)) <= OUT_CHUNK
    assert (inflated.size, inflated.sha256.hexdigest()) == (len(data), hashlib.sha256(data).hexdigest())


def test_a_reader_that_stops_early_still_hashes_the_whole_file_when_finished() -> None:
    data = "ünïcode line\n".encode() * 200_000
    inflated = Inflated(_stream(data))
    text = io.TextIOWrapper(io.BufferedReader(inflated, OUT_CHUNK), encoding="utf-8", newline="")
    assert text.readline() == "ünïcode line\n"
    inflated.finish()
    assert (inflated.size, inflated.sha256.hexdigest()) == (len(data), hashlib.sha256(data).hexdigest())


def test_a_stream_without_flate_is_read_as_decoded() -> None:
    inflated = Inflated(_stream(b"plain bytes", flate=False))
    assert inflated.read() == b"plain bytes" and inflated.size == 11


def test_a_corrupt_flate_stream_raises_zlib_error() -> None:
    broken = generic.StreamObject({generic.NameObject("/Filter"): generic.NameObject("/FlateDecode")},
                                  encoded_data=b"not zlib at all" * 100)
    with pytest.raises(zlib.error):
        Inflated(broken).read()
