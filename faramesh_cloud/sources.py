"""Read DPRs from files a daemon produced: a JSONL export or a binary ``faramesh.wal``.

Yields every item in file order, with a human position ("line 12", "byte offset 2218"),
so that callers (``verify``, ``import-wal``) can report precisely and keep going. Files are
memory-mapped, read-only: nothing here ever writes to the input.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, NamedTuple

from faramesh_cloud.dpr.canonical import DprFormatError, parse_record
from faramesh_cloud.dpr.chain import ChainVerifier
from faramesh_cloud.dpr.ordering import FileOrder, LinkMeta, decode_links, verification_order
from faramesh_cloud.dpr.view import decode_view
from faramesh_cloud.dpr.wal import (
    VERSION_CONTROL,
    WalFormatError,
    WalReader,
    WalStop,
    looks_like_wal,
)


class SourceError(Exception):
    """The file cannot be read as DPRs at all (exit code 2 in the CLI)."""


class Item(NamedTuple):
    """One DPR (``record``), one control frame (``control``) or one unreadable entry (``error``)."""

    index: int
    where: str
    record: Any = None  # a dict, or a view from decode_view (lean mode)
    control: dict[str, Any] | None = None
    error: str | None = None
    raw: bytes = b""
    canonical: bytes | None = None  # the record's canonical bytes, when lean decoding made them
    position: int = 0  # the frame's byte offset (WAL) or the line number (JSONL)
    end: int = 0  # the byte offset just after the item (its frame, or its line and newline)


# Builds an Item from a tuple of all nine fields in order, without the keyword-argument
# __new__ (three times cheaper; the WAL loop makes a million).
_new_item: Final = tuple.__new__


class DprSource:
    """``lean=True`` yields msgspec views (``dpr/view.py``) with their canonical bytes instead
    of full dicts where it can: enough for verification, several times cheaper."""

    def __init__(self, path: Path, data: bytes | mmap.mmap, lean: bool = False) -> None:
        self.path = path
        self._lean = lean
        self._data = data
        self.format = "wal" if looks_like_wal(bytes(data[:4])) else "jsonl"
        self.stop: WalStop | None = None
        self.file_order: FileOrder | None = None  # set by in_chain_order() for a JSONL export
        self.size = len(data)
        self.bytes_read = 0

    def __iter__(self) -> Iterator[Item]:
        return self._wal() if self.format == "wal" else self._jsonl()

    def _wal(self) -> Iterator[Item]:
        # The hot path of `verify` (a million frames a file): the lean decode inline and the
        # Item built positionally (`_item` says the same with keywords).
        reader = WalReader(self._data)
        lean = self._lean
        index = 0
        try:
            for offset, version, payload in reader:
                end = self.bytes_read = reader.good_bytes
                where = f"byte offset {offset}"
                if version == VERSION_CONTROL:
                    try:
                        yield Item(-1, where, control=parse_record(payload), raw=payload,
                                   position=offset, end=end)
                    except DprFormatError as exc:
                        yield Item(-1, where, error=f"control frame is not JSON: {exc}", raw=payload,
                                   position=offset, end=end)
                    continue
                fast = decode_view(payload) if lean else None
                if fast is not None:
                    yield _new_item(Item, (index, where, fast[0], None, None, payload, fast[1], offset, end))
                else:
                    yield self._parsed(index, where, payload, offset, end)
                index += 1
        except WalFormatError as exc:
            raise SourceError(f"{self.path}: {exc}") from None
        self.stop = reader.stop

    def verify_into(self, verifier: ChainVerifier, other: Callable[[Item], object]) -> None:
        """``verifier.add_items(self.in_chain_order(), other)``, the CLI's loop. For a lean WAL
        when the accelerator runs (``verifier.frames_compiled``), the per-frame layer of
        ``_wal`` runs compiled with it: the same ``WalReader`` and ``decode_view``, but an
        item (and its "byte offset" text) is built only for a frame that needs ``add``'s
        full path, ``other``, or the full parser."""
        if not (self.format == "wal" and self._lean and verifier.frames_compiled):
            verifier.add_items(self.in_chain_order(), other)
            return
        reader = WalReader(self._data)

        def item_of(offset: int, version: int, payload: bytes, index: int | None, decoded: Any) -> Item:
            # What _wal yields for this frame (the reader has just read it: good_bytes is its end).
            end = self.bytes_read = reader.good_bytes
            where = f"byte offset {offset}"
            if index is None:  # a control frame
                try:
                    return Item(-1, where, control=parse_record(payload), raw=payload, position=offset, end=end)
                except DprFormatError as exc:
                    return Item(-1, where, error=f"control frame is not JSON: {exc}", raw=payload,
                                position=offset, end=end)
            if decoded is not None:
                return _new_item(Item, (index, where, decoded[0], None, None, payload, decoded[1], offset, end))
            return self._parsed(index, where, payload, offset, end)

        try:
            verifier.add_frames(reader, decode_view, VERSION_CONTROL, item_of, other)
        except WalFormatError as exc:
            raise SourceError(f"{self.path}: {exc}") from None
        finally:
            self.bytes_read = reader.good_bytes
        self.stop = reader.stop

    def _item(self, index: int, where: str, raw: bytes, position: int, end: int) -> Item:
        if self._lean:
            fast = decode_view(raw)
            if fast is not None:
                return Item(index, where, record=fast[0], raw=raw, position=position, canonical=fast[1], end=end)
        return self._parsed(index, where, raw, position, end)

    def _parsed(self, index: int, where: str, raw: bytes, position: int, end: int) -> Item:
        """The item of a record the lean decode left to the full parser (or of every record
        when not lean)."""
        try:
            return Item(index, where, record=parse_record(raw), raw=raw, position=position, end=end)
        except DprFormatError as exc:
            return Item(index, where, error=str(exc), raw=raw, position=position, end=end)

    def read(self, start: int, end: int) -> bytes:
        """The file's bytes ``[start, end)`` (valid while the source is open)."""
        return bytes(self._data[start:end])

    def jsonl_lines(self) -> Iterator[tuple[int, int, int, int]]:
        """(record index, line number, start, end) of each non-blank JSONL line, in file order."""
        data = self._data
        start = 0
        line_no = 0
        index = 0
        size = len(data)
        while start < size:
            end = data.find(b"\n", start)
            if end < 0:
                end = size
            line_start = start
            line_no += 1
            start = end + 1
            self.bytes_read = min(start, size)
            if not data[line_start:end].strip():
                continue
            if index == 0 and not data[line_start:end].lstrip().startswith(b"{"):
                raise SourceError(
                    f"{self.path}: line {line_no} is neither a JSON object nor a WAL frame; "
                    "pass a JSONL export (one DPR per line) or a faramesh.wal file"
                )
            yield index, line_no, line_start, end
            index += 1

    def line_view(self, start: int, end: int) -> memoryview:
        """The line without a copy (valid while the source is open)."""
        return memoryview(self._data)[start:end]

    def jsonl_item(self, index: int, line_no: int, start: int, end: int) -> Item:
        """The item of one line ``jsonl_lines`` gave (in any order: the file is mapped)."""
        return self._item(index, f"line {line_no}", self.read(start, end), line_no,
                          min(end + 1, len(self._data)))

    def _jsonl(self) -> Iterator[Item]:
        for index, line_no, start, end in self.jsonl_lines():
            yield self.jsonl_item(index, line_no, start, end)

    def in_chain_order(self) -> Iterator[Item]:
        """Every item, each agent's records in chain order: a WAL as written (its write order
        is authoritative); a JSONL export, which has no order of its own, by its links
        (``dpr/ordering.py``: two passes over the mapped file, the first decoding only the
        links), with the lines that cannot be placed last. ``file_order`` then says how the
        export held its chains."""
        # A WAL's own loop, not wrapped in a second generator (one hop less a frame).
        return self._wal() if self.format == "wal" else self._linked()

    def _linked(self) -> Iterator[Item]:
        lines: list[tuple[int, int, int]] = []  # by record index: (line number, start, end)
        entries: list[LinkMeta] = []
        unplaced: list[int] = []
        for index, line_no, start, end in self.jsonl_lines():
            lines.append((line_no, start, end))
            entry = decode_links(self.line_view(start, end), index)
            if entry is None:
                unplaced.append(index)
            else:
                entries.append(entry)
        ordered, self.file_order = verification_order(entries)
        for index in [entry.position for entry in ordered] + unplaced:
            yield self.jsonl_item(index, *lines[index])


@contextmanager
def open_source(path: str | os.PathLike[str], *, lean: bool = False) -> Iterator[DprSource]:
    """Open a JSONL export or WAL read-only. Raises SourceError with a one-line reason."""
    p = Path(path)
    try:
        handle = p.open("rb")
    except FileNotFoundError:
        raise SourceError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise SourceError(f"{p}: is a directory; pass the faramesh.wal file or a .jsonl export inside it") from None
    except PermissionError:
        raise SourceError(f"{p}: permission denied; run as a user who can read it") from None
    except OSError as exc:
        raise SourceError(f"{p}: cannot open: {exc.strerror}") from None
    with handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            yield DprSource(p, b"", lean)
            return
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            yield DprSource(p, data, lean)
