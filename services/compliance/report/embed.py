"""Attach the appendix (and the chain heads) to the report PDF as embedded files, streamed.

pyHanko's ``embed_file`` needs the file's bytes in memory; an appendix of a million DPRs is
about a gigabyte. So this appends one incremental update by hand (ISO 32000-1 §7.5.6) that
streams the appendix through zlib into a ``/FlateDecode`` ``/EmbeddedFile`` stream whose
``/Length`` is an indirect object written after it; pyHanko's reader and object serialiser
are used only for the small objects (the new catalogue with ``/Names /EmbeddedFiles`` and
``/AF``, the document information dictionary with the verification hash). The result is an
ordinary PDF with a classic cross-reference section, which pyHanko then signs on top.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Final

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

CHUNK: Final = 1 << 20
INFO_HASH_KEY: Final = "/FarameshVerificationHash"


class EmbedError(ValueError):
    """The PDF cannot take the attachment (it already has embedded files, or is not readable)."""


@dataclass(frozen=True)
class Attachment:
    name: str
    path: Path
    description: str
    md5: str  # hex, for /Params /CheckSum
    size: int
    mime: str = "application/json"


def _pdf_date(moment: datetime) -> str:
    return "D:" + moment.strftime("%Y%m%d%H%M%S") + "Z"


def _ref(value: object) -> generic.IndirectObject:
    return generic.IndirectObject(value.idnum, value.generation, None)  # type: ignore[attr-defined]


def _serialise(obj: generic.PdfObject) -> bytes:
    buf = io.BytesIO()
    obj.write_to_stream(buf, None)
    return buf.getvalue()


def _write_stream(out: IO[bytes], attachment: Attachment, length_ref: int, modified: datetime) -> int:
    """Write the embedded-file stream's dictionary and body; return the compressed length."""
    params = generic.DictionaryObject({
        generic.NameObject("/Size"): generic.NumberObject(attachment.size),
        generic.NameObject("/ModDate"): generic.pdf_string(_pdf_date(modified)),
        generic.NameObject("/CheckSum"): generic.ByteStringObject(bytes.fromhex(attachment.md5))})
    head = generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/EmbeddedFile"),
        generic.NameObject("/Subtype"): generic.NameObject("/" + attachment.mime.replace("/", "#2F")),
        generic.NameObject("/Filter"): generic.NameObject("/FlateDecode"),
        generic.NameObject("/Params"): params,
        generic.NameObject("/Length"): generic.IndirectObject(length_ref, 0, None)})
    out.write(_serialise(head) + b"\nstream\n")
    compressor = zlib.compressobj(6)
    written = 0
    with open(attachment.path, "rb") as source:
        while chunk := source.read(CHUNK):
            data = compressor.compress(chunk)
            out.write(data)
            written += len(data)
    data = compressor.flush()
    out.write(data)
    return written + len(data)


def embed_files(pdf: Path, out_path: Path, attachments: list[Attachment], *, info: Mapping[str, str],
                modified: datetime) -> None:
    """Copy ``pdf`` to ``out_path`` and append an update that embeds ``attachments`` (streamed)
    and adds ``info`` entries (``{"/Key": "text"}``) to the document information dictionary."""
    with open(pdf, "rb") as source:
        reader = PdfFileReader(source, strict=False)
        root_ref = _ref(reader.root_ref)
        root = generic.DictionaryObject(dict(reader.root))
        if "/Names" in root and "/EmbeddedFiles" in root["/Names"]:
            raise EmbedError(f"{pdf} already has embedded files")
        trailer = reader.trailer_view
        info_ref = _ref(trailer.raw_get("/Info")) if "/Info" in trailer else None
        info_dict = generic.DictionaryObject(dict(trailer["/Info"])) if info_ref is not None else None
        doc_id = trailer.raw_get("/ID") if "/ID" in trailer else None
        size = int(trailer["/Size"])
        prev = reader.last_startxref
        source.seek(0)
        with open(out_path, "wb") as out:
            while chunk := source.read(CHUNK):
                out.write(chunk)
            offsets: dict[int, int] = {}
            next_num = size

            def begin(num: int) -> None:
                out.write(b"\n")
                offsets[num] = out.tell()
                out.write(b"%d 0 obj\n" % num)

            specs: list[tuple[str, int]] = []
            for attachment in attachments:
                stream_num, length_num, spec_num = next_num, next_num + 1, next_num + 2
                next_num += 3
                begin(stream_num)
                length = _write_stream(out, attachment, length_num, modified)
                out.write(b"\nendstream\nendobj\n")
                begin(length_num)
                out.write(b"%d\nendobj\n" % length)
                ef = generic.DictionaryObject({generic.NameObject("/F"): generic.IndirectObject(stream_num, 0, None),
                                               generic.NameObject("/UF"): generic.IndirectObject(stream_num, 0, None)})
                spec = generic.DictionaryObject({
                    generic.NameObject("/Type"): generic.NameObject("/Filespec"),
                    generic.NameObject("/F"): generic.pdf_string(attachment.name),
                    generic.NameObject("/UF"): generic.pdf_string(attachment.name),
                    generic.NameObject("/Desc"): generic.pdf_string(attachment.description),
                    generic.NameObject("/AFRelationship"): generic.NameObject("/Data"),
                    generic.NameObject("/EF"): ef})
                begin(spec_num)
                out.write(_serialise(spec) + b"\nendobj\n")
                specs.append((attachment.name, spec_num))
            names = generic.ArrayObject()
            for name, num in sorted(specs):
                names += [generic.pdf_string(name), generic.IndirectObject(num, 0, None)]
            name_tree = generic.DictionaryObject(dict(root.get("/Names", {})))
            name_tree[generic.NameObject("/EmbeddedFiles")] = generic.DictionaryObject(
                {generic.NameObject("/Names"): names})
            root[generic.NameObject("/Names")] = name_tree
            root[generic.NameObject("/AF")] = generic.ArrayObject(
                [generic.IndirectObject(num, 0, None) for _, num in specs])
            root[generic.NameObject("/PageMode")] = generic.NameObject("/UseAttachments")
            begin(root_ref.idnum)
            out.write(_serialise(root) + b"\nendobj\n")
            changed = [root_ref.idnum]
            if info_ref is not None and info_dict is not None:
                for key, value in info.items():
                    info_dict[generic.NameObject(key)] = generic.pdf_string(value)
                begin(info_ref.idnum)
                out.write(_serialise(info_dict) + b"\nendobj\n")
                changed.append(info_ref.idnum)
            xref_at = out.tell() + 1
            out.write(b"\nxref\n")
            nums = sorted([*changed, *range(size, next_num)])
            for num in nums:  # one subsection per object: simple and valid
                out.write(b"%d 1\n%010d 00000 n\r\n" % (num, offsets[num]))
            new_trailer = generic.DictionaryObject({
                generic.NameObject("/Size"): generic.NumberObject(next_num),
                generic.NameObject("/Root"): root_ref,
                generic.NameObject("/Prev"): generic.NumberObject(prev)})
            if info_ref is not None:
                new_trailer[generic.NameObject("/Info")] = info_ref
            if doc_id is not None:
                new_trailer[generic.NameObject("/ID")] = doc_id
            out.write(b"trailer\n" + _serialise(new_trailer) + b"\nstartxref\n%d\n%%%%EOF\n" % xref_at)
