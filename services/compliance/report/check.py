"""Offline checks of a report PDF (what ``faramesh-cloud verify-report`` runs), in order:

1. ``PDF signature``: the PAdES signature is intact, valid, covers the whole file and chains
   to the trust root: the certificate given, else the one the PDF carries (and it says which);
2. ``appendix``: the PDF carries ``dpr-appendix.json`` and ``chain-heads.json``;
3. ``appendix signature``: the appendix's ed25519 signature under the platform key given;
4. ``record hashes and chain links``: every DPR hash recomputed from its raw bytes with the
   DPR kernel, every link between consecutive records of an agent;
5. ``chain heads``: ``chain-heads.json`` names exactly the appendix's heads and its size,
   hash and record count, and each head is printed in the certificate pages;
6. ``verification hash``: recomputed (``verification.py``) and equal to the one in
   ``chain-heads.json``, in the PDF information dictionary and printed on the cover.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.general import load_cert_from_pemder
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from faramesh_cloud.compliance.report.embed import INFO_HASH_KEY
from faramesh_cloud.compliance.report.verification import (
    APPENDIX_NAME,
    HEADS_FORMAT,
    HEADS_NAME,
    ChainHead,
    verification_hash,
)
from faramesh_cloud.signing.bundle import BundleError
from faramesh_cloud.signing.dpr_bundle import verify_dpr_bundle_stream

HEX64 = re.compile(rb"[0-9a-f]{64}")
LITERAL = re.compile(rb"\((?:[^()\\]|\\.)*\)", re.DOTALL)


class UnreadableReport(ValueError):
    """The file is not a PDF this command can read (exit 2)."""


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class ReportCheck:
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def first_failure(self) -> Check | None:
        return next((c for c in self.checks if not c.ok), None)

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append(Check(name, ok, detail))


def _embedded(reader: PdfFileReader) -> dict[str, generic.StreamObject]:
    names = reader.root["/Names"] if "/Names" in reader.root else None
    tree = names["/EmbeddedFiles"] if isinstance(names, generic.DictionaryObject) and "/EmbeddedFiles" in names \
        else None
    pairs = tree["/Names"] if isinstance(tree, generic.DictionaryObject) and "/Names" in tree else None
    found: dict[str, generic.StreamObject] = {}
    for i in range(0, len(pairs or []) - 1, 2):
        spec = pairs[i + 1]  # type: ignore[index]
        found[str(pairs[i])] = spec["/EF"]["/F"]  # type: ignore[index]
    return found


IN_CHUNK = 1 << 16  # compressed bytes fed to zlib at a time
OUT_CHUNK = 1 << 20  # at most this much inflated per step (a zip bomb stays a stream too)


class Inflated(io.RawIOBase):
    """An embedded file's bytes, inflated chunk by chunk as they are read (a ``/FlateDecode``
    stream: its compressed bytes, never the whole file in memory) or the decoded bytes of any
    other stream; hashed with SHA-256 and counted as they go, so one pass verifies and hashes."""

    def __init__(self, stream: generic.StreamObject) -> None:
        flate = stream.get("/Filter") == "/FlateDecode" and "/DecodeParms" not in stream
        self._source = memoryview(stream.encoded_data if flate else stream.data)
        self._z = zlib.decompressobj() if flate else None
        self._at = 0
        self._pending = memoryview(b"")
        self._done = False
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def _fill(self) -> None:
        while not self._pending and not self._done:
            if self._z is None:
                self._pending, self._done = self._source, True
            elif self._z.unconsumed_tail:
                self._pending = memoryview(self._z.decompress(self._z.unconsumed_tail, OUT_CHUNK))
            elif self._z.eof or self._at >= len(self._source):
                self._pending, self._done = memoryview(self._z.flush()), True
            else:
                chunk = self._source[self._at:self._at + IN_CHUNK]
                self._at += len(chunk)
                self._pending = memoryview(self._z.decompress(chunk, OUT_CHUNK))

    def readinto(self, buffer: Any) -> int:
        self._fill()
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self.sha256.update(self._pending[:n])
        self.size += n
        self._pending = self._pending[n:]
        return n

    def finish(self) -> None:
        """Read what the verifier left (so the hash and size cover the whole file)."""
        while self.read(OUT_CHUNK):
            pass


def _page_text(reader: PdfFileReader) -> bytes:
    """The literal strings drawn on every page (reportlab draws standard-font text as ``(...) Tj``)."""
    out: list[bytes] = []

    def walk(node: Any) -> None:
        if node["/Type"] == "/Pages":
            for kid in node["/Kids"]:
                walk(kid.get_object())
            return
        contents = node.raw_get("/Contents") if "/Contents" in node else None
        contents = contents.get_object() if contents is not None else None
        streams = contents if isinstance(contents, generic.ArrayObject) else [contents]
        for stream in streams:
            if stream is not None:
                out.extend(LITERAL.findall(stream.get_object().data))

    walk(reader.root["/Pages"])
    return b"\n".join(out)


def _pdf_signature(reader: PdfFileReader, certificate: Path | None, result: ReportCheck) -> None:
    signatures = reader.embedded_signatures
    if not signatures:
        result.add("PDF signature", False, "the PDF is not signed")
        return
    sig = signatures[-1]
    if certificate is not None:
        root = load_cert_from_pemder(str(certificate))
        which = f"trust root: the certificate given ({certificate})"
    else:
        root = sig.signer_cert
        which = ("trust root: the certificate the PDF carries (subject "
                 f"{root.subject.human_friendly}, SHA-256 {root.sha256.hex()}); pass --certificate to pin the "
                 "platform's document certificate")
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    logging.getLogger("pyhanko_certvalidator").setLevel(logging.CRITICAL)
    status = validate_pdf_signature(sig, ValidationContext(trust_roots=[root], allow_fetching=False))
    problems = [what for what, bad in (
        ("the signed bytes were changed (digest mismatch)", not status.intact),
        ("the signature value does not verify", not status.valid),
        ("the signer is not the trusted certificate", not status.trusted),
        (f"the signature does not cover the whole file ({status.coverage.name})",
         status.coverage.name != "ENTIRE_FILE")) if bad]
    result.add("PDF signature", not problems, f"{'; '.join(problems) or 'valid, covers the whole file'}; {which}")


def check_report(path: Path, *, platform_key: Ed25519PublicKey | None, certificate: Path | None) -> ReportCheck:
    """Run every check (see the module docstring); raises ``UnreadableReport`` for a file that
    is not a readable PDF."""
    result = ReportCheck()
    try:
        source = open(path, "rb")  # closed by the with below
    except OSError as exc:
        raise UnreadableReport(f"cannot read {path}: {exc.strerror}") from None
    with source:
        try:
            reader = PdfFileReader(source, strict=False)
            _ = reader.root["/Pages"]
        except (PdfError, ValueError, KeyError, TypeError, IndexError) as exc:
            raise UnreadableReport(f"{path} is not a readable PDF ({exc})") from None
        _pdf_signature(reader, certificate, result)
        try:
            files = _embedded(reader)
            printed = _page_text(reader)
            info = reader.trailer_view["/Info"] if "/Info" in reader.trailer_view else None
            info_hash = str(info[INFO_HASH_KEY]) if info is not None and INFO_HASH_KEY in info else ""
        except (PdfError, ValueError, KeyError, TypeError, AttributeError, zlib.error) as exc:
            result.add("appendix", False, f"the attachments cannot be read ({exc})")
            return result
        if APPENDIX_NAME not in files or HEADS_NAME not in files:
            result.add("appendix", False, f"the PDF lacks {APPENDIX_NAME} or {HEADS_NAME} (found: {sorted(files)})")
            return result
        try:
            heads_data = files[HEADS_NAME].data
            appendix = Inflated(files[APPENDIX_NAME])
        except (PdfError, ValueError, KeyError, TypeError, AttributeError, zlib.error) as exc:
            result.add("appendix", False, f"the attachments cannot be read ({exc})")
            return result
    # The appendix is verified as it is inflated (one pass, bounded memory), then hashed to its end.
    try:
        streamed: Any = verify_dpr_bundle_stream(
            io.TextIOWrapper(io.BufferedReader(appendix, OUT_CHUNK), encoding="utf-8", newline=""),
            platform_key or Ed25519PrivateKey.generate().public_key())
    except (BundleError, UnicodeDecodeError) as exc:
        streamed = exc
    except zlib.error as exc:
        result.add("appendix", False, f"{APPENDIX_NAME} cannot be inflated ({exc})")
        return result
    try:
        appendix.finish()
    except zlib.error as exc:
        result.add("appendix", False, f"{APPENDIX_NAME} cannot be inflated ({exc})")
        return result
    appendix_sha256 = appendix.sha256.hexdigest()
    result.add("appendix", True, f"{APPENDIX_NAME}: {appendix.size:,} bytes, SHA-256 {appendix_sha256}")
    if isinstance(streamed, Exception):
        result.add("appendix signature", False, f"{APPENDIX_NAME} is not a signed bundle: {streamed}")
        return result
    report = streamed.report
    if platform_key is None:
        result.add("appendix signature", False, "not checked: pass --platform-key (the platform's ed25519 key, "
                   "GET /api/v1/platform/signing-key?format=pem)")
    else:
        result.add("appendix signature", report.signature_ok,  # a key no signature verifies under when none given
                   "valid under the platform key given" if report.signature_ok else report.problems[0])
    content = report.problems if report.signature_ok else report.problems[1:]  # [0]: the signature's
    result.add("record hashes and chain links", not content,
               content[0] + (f" (and {len(content) - 1} more)" if len(content) > 1 else "") if content
               else report.notes[0])
    heads = [ChainHead(s, a, i, h) for (s, a), (i, h) in streamed.heads.items()]
    _check_heads(heads_data, heads, appendix_sha256, appendix.size, report.entries, printed, result)
    expected = verification_hash(appendix_sha256, heads)
    try:
        doc_hash = json.loads(heads_data).get("verification_hash")
    except (ValueError, AttributeError):
        doc_hash = None
    where = [name for name, value in (("chain-heads.json", doc_hash), ("the PDF metadata", info_hash))
             if value != expected]
    if expected.encode() not in HEX64.findall(printed):
        where.append("the cover")
    result.add("verification hash", not where, f"{expected} recomputed from the appendix" if not where else
               f"recomputed {expected} from the appendix; it differs from {', '.join(where)}")
    return result


def _check_heads(data: bytes, heads: list[ChainHead], appendix_sha256: str, size: int, records: int,
                 printed: bytes, result: ReportCheck) -> None:
    try:
        document = json.loads(data)
        if document.get("format") != HEADS_FORMAT:
            raise ValueError(f"format {document.get('format')!r}")
        declared = sorted(ChainHead.from_json(h) for h in document["heads"])
        facts = document["appendix"]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        result.add("chain heads", False, f"{HEADS_NAME} is not a chain-heads document ({exc})")
        return
    actual = sorted(heads)
    problems: list[str] = []
    if declared != actual:
        missing = [h for h in actual if h not in declared] + [h for h in declared if h not in actual]
        h = missing[0]
        problems.append(f"{HEADS_NAME} and the appendix disagree on the head of {h.stack_id}/{h.agent_id}")
    if (facts.get("sha256"), facts.get("size"), facts.get("records")) != (appendix_sha256, size, records):
        problems.append(f"{HEADS_NAME} describes another appendix (hash, size or record count differ)")
    tokens = set(HEX64.findall(printed))
    for h in actual:
        if h.record_hash.encode() not in tokens:
            problems.append(f"the head of {h.stack_id}/{h.agent_id} printed in the certificate is not the appendix's "
                            f"last record {h.record_hash} (chain index {h.chain_index})")
            break
    result.add("chain heads", not problems,
               "; ".join(problems) or f"{len(actual)} chain heads printed and embedded match the appendix")

