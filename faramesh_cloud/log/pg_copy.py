"""The PostgreSQL log's record encoding: headers as one blob, rows as one binary COPY buffer.

Building the binary COPY stream here, with ``struct`` in one pass, and handing it to psycopg
in a single write is several times cheaper than ``write_row`` per record (which dumps every
value in Python and awaits per row), and appends are ingest's hot path.

Header blob: for each header, ``u16 name length, name (UTF-8), u32 value length, value``,
all big-endian. An empty mapping is NULL.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from functools import lru_cache
from types import MappingProxyType
from typing import Final

from faramesh_cloud.log.port import SharedHeaders

COPY_SIGNATURE: Final = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
COPY_TRAILER: Final = struct.pack("!h", -1)
_ROW_HEAD: Final = struct.Struct("!hii ii iq")  # 6 fields; int4 topic, int4 partition, int8 offset
_LEN: Final = struct.Struct("!i")
_NULL: Final = _LEN.pack(-1)
_NAME: Final = struct.Struct("!H")
_VALUE: Final = struct.Struct("!I")
_EMPTY: Final[Mapping[str, bytes]] = MappingProxyType({})


@lru_cache(maxsize=1024)
def _name_part(name: str) -> bytes:
    raw = name.encode()
    return _NAME.pack(len(raw)) + raw


def encode_headers(headers: Mapping[str, bytes], memo: dict[int, bytes] | None = None) -> bytes | None:
    """The header blob; with ``memo`` (kept by the caller for one batch, whose records keep
    their header objects alive) the shared part of :class:`SharedHeaders` is encoded once."""
    if memo is not None and isinstance(headers, SharedHeaders):
        key = id(headers.shared)
        shared = memo.get(key)
        if shared is None:
            shared = memo[key] = _encode(headers.shared)
        return (shared + _encode(headers.own)) or None
    return _encode(headers) or None


def _encode(headers: Mapping[str, bytes]) -> bytes:
    if not headers:
        return b""
    value_length = _VALUE.pack
    # Header names are a handful of constants: their encoding is cached.
    return b"".join([_name_part(name) + value_length(len(value)) + value
                     for name, value in headers.items()])


_NAMES: dict[bytes, str] = {}  # header names are a handful of constants: decoded once


def decode_headers(blob: bytes | None) -> Mapping[str, bytes]:
    if not blob:
        return _EMPTY
    out: dict[str, bytes] = {}
    names = _NAMES
    at = 0
    end = len(blob)
    # Byte arithmetic, no struct calls and no int.from_bytes: this runs per record per poll
    # (six headers on a DPR), and the log read is paid by every consumer group.
    while at < end:
        if at + 2 > end:
            raise ValueError(f"header blob truncated at byte {at} of {end}")
        name_end = at + 2 + ((blob[at] << 8) | blob[at + 1])
        raw = blob[at + 2 : name_end]
        name = names.get(raw)
        if name is None:
            if len(names) >= 1024:
                names.clear()
            name = names[raw] = raw.decode()
        if name_end + 4 > end:
            raise ValueError(f"header blob truncated at byte {name_end} of {end}")
        at = name_end + 4 + ((blob[name_end] << 24) | (blob[name_end + 1] << 16)
                             | (blob[name_end + 2] << 8) | blob[name_end + 3])
        if at > end:
            raise ValueError(f"header blob truncated at byte {name_end + 4} of {end}")
        out[name] = blob[name_end + 4 : at]
    return out


def copy_buffer(topic_id: int, rows: Sequence[tuple[int, int, bytes, bytes, bytes | None]]) -> bytes:
    """Binary COPY data for ``(topic_id, partition, "offset", key, value, headers)``;
    each row is ``(partition, offset, key, value, header blob or None)``."""
    return COPY_SIGNATURE + copy_rows(topic_id, rows) + COPY_TRAILER


def copy_rows(topic_id: int, rows: Sequence[tuple[int, int, bytes, bytes, bytes | None]]) -> bytes:
    """The rows of :func:`copy_buffer` without its signature and trailer, so one COPY can
    carry several topics: ``COPY_SIGNATURE``, then ``copy_rows`` per topic, then
    ``COPY_TRAILER``."""
    parts: list[bytes] = []
    head = _ROW_HEAD.pack
    length = _LEN.pack
    for partition, offset, key, value, headers in rows:
        parts += (
            head(6, 4, topic_id, 4, partition, 8, offset),
            length(len(key)), key,
            length(len(value)), value,
        )
        if headers is None:
            parts.append(_NULL)
        else:
            parts += (length(len(headers)), headers)
    return b"".join(parts)
