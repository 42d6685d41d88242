"""Signed bundles written and read as a stream, in bounded memory whatever their size.

``BundleWriter`` writes a ``faramesh-cloud/signed-bundle/v1`` object (``bundle.py``) entry by
entry and signs it with the streamed signature (``ed25519-entries-sha256``): the header
members first, then ``entries`` one canonical JSON text per line, then ``chain`` (known only
at the end) and ``signature``. The file is ordinary JSON: ``json.loads`` and
``faramesh-cloud verify-bundle`` read it like any bundle.

``read_bundle`` reads any bundle file (any member order, any whitespace) as events: each
top-level member but ``entries`` as ``("member", key, value)``, each entry as
``("entry", index, value)``, holding one value at a time, so a verifier of a streamed
signature never needs the whole file in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import IO, Any, Final, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faramesh_cloud.signing.bundle import (
    FORMAT,
    BundleError,
    EntriesDigest,
    iso_utc,
    streamed_signature,
)
from faramesh_cloud.signing.canonical import canonical_json

CHUNK: Final = 1 << 20


class BinaryWriter(Protocol):
    def write(self, data: bytes, /) -> int: ...


class BundleWriter:
    """Write a streamed-signed bundle to ``out`` (a binary file): ``add`` each entry, then ``finish``."""

    def __init__(self, out: BinaryWriter, *, kind: str, org: Mapping[str, str], created_at: datetime,
                 query: Mapping[str, Any] | None = None) -> None:
        self._out = out
        self._header: dict[str, Any] = {"format": FORMAT, "kind": kind, "created_at": iso_utc(created_at),
                                        "org": dict(org), "query": dict(query or {})}
        self._digest = EntriesDigest()
        self._done = False
        out.write(b"{" + b",".join(canonical_json(k) + b":" + canonical_json(v) for k, v in self._header.items())
                  + b',"entries":[')

    @property
    def count(self) -> int:
        return self._digest.count

    def add(self, entry: Mapping[str, Any]) -> None:
        data = self._digest.add(entry)
        self._out.write((b"\n" if self._digest.count == 1 else b",\n") + data)

    def finish(self, chain: Mapping[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
        """Close the object with ``chain`` and the signature; returns the signature member."""
        if self._done:
            raise BundleError("the bundle is already finished")
        self._done = True
        summary = self._digest.summary()
        signature = streamed_signature({**self._header, "chain": dict(chain)}, summary, key)
        self._out.write(b"\n]," + b'"chain":' + canonical_json(dict(chain)) + b',"signature":'
                        + canonical_json(signature) + b"}\n")
        return signature


class _Scanner:
    """A window over a text stream that ``json.JSONDecoder.raw_decode`` can parse values from."""

    def __init__(self, source: IO[str]) -> None:
        self._source = source
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._decoder = json.JSONDecoder()

    def _more(self) -> bool:
        if self._eof:
            return False
        chunk = self._source.read(CHUNK)
        if not chunk:
            self._eof = True
            return False
        self._buf = self._buf[self._pos:] + chunk
        self._pos = 0
        return True

    def peek(self) -> str:
        """The next non-blank character ('' at the end), not consumed."""
        while True:
            while self._pos < len(self._buf) and self._buf[self._pos] in " \t\r\n":
                self._pos += 1
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._more():
                return ""

    def expect(self, char: str) -> None:
        found = self.peek()
        if found != char:
            raise BundleError(f"not a JSON bundle: expected {char!r}, found {found or 'the end of the file'!r}")
        self._pos += 1

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                if self._more():
                    continue
                raise BundleError(f"not a JSON bundle: {exc.msg}") from None
            if end == len(self._buf) and self._more():  # a number may go on in the next chunk
                continue
            self._pos = end
            return value


def read_bundle(source: IO[str]) -> Iterator[tuple[str, Any, Any]]:
    """``("member", key, value)`` and ``("entry", index, value)`` events of a bundle file."""
    scan = _Scanner(source)
    scan.expect("{")
    if scan.peek() == "}":
        scan.expect("}")
    else:
        while True:
            key = scan.value()
            if not isinstance(key, str):
                raise BundleError("not a JSON bundle: an object key is not a string")
            scan.expect(":")
            if key == "entries" and scan.peek() == "[":
                scan.expect("[")
                index = 0
                if scan.peek() == "]":
                    scan.expect("]")
                else:
                    while True:
                        yield "entry", index, scan.value()
                        index += 1
                        if scan.peek() == "]":
                            scan.expect("]")
                            break
                        scan.expect(",")
            else:
                yield "member", key, scan.value()
            if scan.peek() == "}":
                scan.expect("}")
                break
            scan.expect(",")
    if scan.peek() != "":
        raise BundleError("not a JSON bundle: there is more after the object")
