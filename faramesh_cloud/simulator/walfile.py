"""The simulated daemon's ``faramesh.wal``: real frames (FARAMESH_FORMATS 1.8), appended and
fsynced before a decision counts as made, so the file can later be imported or checked with
``faramesh-cloud verify``.

Opening does what the daemon's ``OpenWAL`` does: a torn tail (a write cut short by a crash)
is truncated back to the last good frame; corruption before the end is refused rather than
silently cut away. It also returns what a restarted daemon needs: each agent's chain tip and
``lamport_seq``, and the DPR frames past a given offset (written, but not yet enqueued for
sync when the process stopped). All methods block: call them from a worker thread.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import orjson

from faramesh_cloud.dpr.wal import VERSION_DPR, StopKind, WalFormatError, WalReader, encode_frame

WAL_NAME: Final = "faramesh.wal"


class WalFileError(RuntimeError):
    """The WAL cannot be used; the message says what to do."""


@dataclass(frozen=True, slots=True)
class WalFrame:
    """Where one DPR frame sits in the file, and its payload."""

    offset: int
    index: int
    payload: bytes


@dataclass(slots=True)
class WalScan:
    """What opening the WAL found."""

    tips: dict[str, tuple[str, int]] = field(default_factory=dict)  # agent -> (record_hash, lamport)
    frames: int = 0
    truncated_bytes: int = 0
    pending: list[WalFrame] = field(default_factory=list)  # DPR frames at or past recover_from


class WalFile:
    def __init__(self, path: Path, fd: int, size: int, frames: int) -> None:
        self.path = path
        self._fd = fd
        self.size = size
        self.frames = frames

    @classmethod
    def open(cls, path: Path, *, recover_from: int = 0) -> tuple[WalFile, WalScan]:
        scan = WalScan()
        data = path.read_bytes() if path.exists() else b""
        good = 0
        if data:
            reader = WalReader(data)
            try:
                for index, frame in enumerate(reader):
                    if frame.version == VERSION_DPR:
                        cls._note(scan, frame.payload)
                        if frame.offset >= recover_from:
                            scan.pending.append(WalFrame(frame.offset, index, frame.payload))
            except WalFormatError as exc:
                raise WalFileError(f"{path} is not a Faramesh WAL ({exc}); move it aside or use another data dir") from None
            scan.frames, good = reader.frames, reader.good_bytes
            if reader.stop is not None and reader.stop.kind is StopKind.CORRUPT:
                raise WalFileError(
                    f"{path} is damaged at byte {reader.stop.offset} ({reader.stop.reason}) with "
                    f"{reader.stop.unread_bytes} bytes after it; keep it for inspection "
                    f"(faramesh-cloud verify {path}) and move it aside to start a new WAL"
                )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise WalFileError(f"cannot open {path} for writing ({exc.strerror}); check the "
                               "simulator's data dir") from exc
        if good < len(data):  # a torn tail: the daemon truncates it too
            os.ftruncate(fd, good)
            os.fsync(fd)
            scan.truncated_bytes = len(data) - good
        return cls(path, fd, good, scan.frames), scan

    @staticmethod
    def _note(scan: WalScan, payload: bytes) -> None:
        try:
            record = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return
        if isinstance(record, dict) and record.get("agent_id") and record.get("record_hash"):
            lamport = record.get("lamport_seq")
            scan.tips[str(record["agent_id"])] = (
                str(record["record_hash"]), lamport if isinstance(lamport, int) else 0)

    def append(self, payloads: list[bytes]) -> list[WalFrame]:
        """Write one DPR frame per payload and fsync; returns where each landed."""
        out: list[WalFrame] = []
        chunks: list[bytes] = []
        offset = self.size
        for payload in payloads:
            frame = encode_frame(payload, VERSION_DPR)
            out.append(WalFrame(offset, self.frames + len(out), payload))
            chunks.append(frame)
            offset += len(frame)
        data = b"".join(chunks)
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)
        self.size = offset
        self.frames += len(out)
        return out

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
