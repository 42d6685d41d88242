"""The daemon's binary WAL framing (FARAMESH_FORMATS 1.8), read-only and pure.

A file is a concatenation of frames: 13-byte header (magic ``LAWF`` as uint32 LE
0x4657414C, version byte 1 = DPR / 2 = control frame, payload length uint32 LE in
1..8 MiB, CRC-32/IEEE of the payload uint32 LE) followed by the payload (compact Go-JSON).

The reader stops where the daemon's ``OpenWAL`` would truncate, and says why. A stop whose
bad frame reaches the end of the file is a *torn tail* (a write cut short by a crash: that
decision was never returned, so nothing acknowledged is lost); a stop with intact data after
it is *corruption*. Nothing here ever writes to a WAL.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

MAGIC = 0x4657414C
HEADER = struct.Struct("<IBII")
HEADER_SIZE = HEADER.size  # 13
MAX_PAYLOAD = 8 * 1024 * 1024
VERSION_DPR = 1
VERSION_CONTROL = 2


class StopKind(StrEnum):
    TORN_TAIL = "torn_tail"
    CORRUPT = "corrupt"


class Frame(NamedTuple):  # a NamedTuple: built once per frame on the hot path
    offset: int
    version: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class WalStop:
    """Why reading stopped before the end of the data."""

    kind: StopKind
    offset: int
    reason: str
    unread_bytes: int


class WalFormatError(ValueError):
    """The data is not a Faramesh WAL at all."""


def encode_frame(payload: bytes, version: int = VERSION_DPR) -> bytes:
    if not 1 <= len(payload) <= MAX_PAYLOAD:
        raise ValueError(f"WAL payload must be 1..{MAX_PAYLOAD} bytes, got {len(payload)}")
    return HEADER.pack(MAGIC, version, len(payload), zlib.crc32(payload)) + payload


def looks_like_wal(head: bytes) -> bool:
    return len(head) >= 4 and struct.unpack_from("<I", head)[0] == MAGIC


class WalReader:
    """Iterate the frames of a WAL held in memory (bytes or an mmap)."""

    def __init__(self, data: bytes | memoryview) -> None:
        self._data = memoryview(data)
        self.stop: WalStop | None = None
        self.frames = 0
        self.good_bytes = 0

    def __iter__(self) -> Iterator[Frame]:
        try:
            yield from self._frames()
        finally:
            self._data.release()  # an mmap cannot close while a view of it is alive

    def _frames(self) -> Iterator[Frame]:
        data = self._data
        size = len(data)
        offset = 0
        while offset < size:
            left = size - offset
            if left < HEADER_SIZE:
                self._stop(StopKind.TORN_TAIL, offset, f"{left} trailing bytes, shorter than a frame header")
                return
            magic, version, length, crc = HEADER.unpack_from(data, offset)
            if magic != MAGIC:
                if offset == 0:
                    raise WalFormatError("not a Faramesh WAL: the first frame has no LAWF magic")
                self._stop(StopKind.CORRUPT, offset, f"bad frame magic 0x{magic:08x}")
                return
            if version not in (VERSION_DPR, VERSION_CONTROL):
                if offset == 0:
                    raise WalFormatError(f"unknown WAL frame version {version} in the first frame")
                self._stop(StopKind.CORRUPT, offset, f"unknown frame version {version}")
                return
            if length == 0 or length > MAX_PAYLOAD:
                self._stop(StopKind.CORRUPT, offset, f"invalid payload length {length}")
                return
            end = offset + HEADER_SIZE + length
            if end > size:
                self._stop(StopKind.TORN_TAIL, offset,
                           f"frame declares {length} payload bytes but only {size - offset - HEADER_SIZE} remain")
                return
            payload = bytes(data[offset + HEADER_SIZE : end])
            if zlib.crc32(payload) != crc:
                kind = StopKind.TORN_TAIL if end == size else StopKind.CORRUPT
                self._stop(kind, offset, f"CRC-32 mismatch (stored {crc:08x}, computed {zlib.crc32(payload):08x})")
                return
            self.frames += 1
            self.good_bytes = end
            yield Frame(offset, version, payload)
            offset = end

    def _stop(self, kind: StopKind, offset: int, reason: str) -> None:
        self.stop = WalStop(kind, offset, reason, len(self._data) - offset)
