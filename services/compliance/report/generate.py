"""One report, end to end: appendix → PDF → attachments → PAdES signature (pure of service plumbing).

The job runner gives a ``ReportModel`` and the iterator of DPR export entries of the range
(the audit index's ``export_range``, in stack, agent, chain index order) and gets a signed
PDF. Memory stays bounded: the appendix is written and embedded as streams. Work files live
in ``work_dir`` and are removed; the PDF appears at ``out_path`` only once complete (written
beside it, then renamed), so nothing half-written is ever offered for download.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faramesh_cloud.compliance.report.appendix import Appendix, write_appendix
from faramesh_cloud.compliance.report.embed import INFO_HASH_KEY, Attachment, embed_files
from faramesh_cloud.compliance.report.model import CertifiedChain, ReportModel
from faramesh_cloud.compliance.report.render import render_pdf
from faramesh_cloud.compliance.report.sign import DocumentKey, sign_pdf
from faramesh_cloud.compliance.report.verification import (
    APPENDIX_NAME,
    HEADS_NAME,
    ChainHead,
    heads_document,
)
from faramesh_cloud.signing.bundle import iso_utc

Progress = Callable[[str, int], None]  # (phase, records written so far)


class ReportError(ValueError):
    """The report cannot be made from these inputs; the message says why (the job shows it)."""


@dataclass(frozen=True)
class GeneratedReport:
    path: Path
    sha256: str  # of the signed PDF
    size: int
    verification_hash: str
    appendix_sha256: str
    appendix_size: int
    records: int
    heads: tuple[ChainHead, ...]


def _reconciled(model: ReportModel, appendix: Appendix) -> ReportModel:
    """The model with its certificate taken at the appendix's word for what the report holds:
    each chain's head and records in the range are the appendix's (what verify-report checks);
    its length, segments, findings and verification time stay the index's, as read when the
    report began. Records indexed while the report was made (late arrivals in the range) so
    change nothing that can disagree; a chain that has records only in the appendix gets a row
    of its own."""
    certified = {(c.stack_id, c.agent_id): c for c in model.certificate}
    rows: list[CertifiedChain] = []
    for head in appendix.heads:
        key = (head.stack_id, head.agent_id)
        found = certified.pop(key, None) or CertifiedChain(head.stack_id, head.agent_id, "", None, 0, 0, 0, 0, None)
        rows.append(dataclasses.replace(found, head_record_hash=head.record_hash, head_chain_index=head.chain_index,
                                        records_in_range=appendix.chain_records.get(key, 0)))
    rows += [dataclasses.replace(c, head_record_hash="", head_chain_index=None, records_in_range=0)
             for c in certified.values()]
    return dataclasses.replace(model, certificate=tuple(rows))


def _query(model: ReportModel) -> dict[str, Any]:
    p = model.parameters
    return {"framework": p.framework, "stacks": list(p.stacks), "since": iso_utc(p.start), "until": iso_utc(p.end)}


def generate_report(out_path: Path, model: ReportModel, entries: Iterable[Mapping[str, Any]], *,
                    signing_key: Ed25519PrivateKey, document_key: DocumentKey, work_dir: Path,
                    progress: Progress | None = None) -> GeneratedReport:
    """Write the signed report PDF of ``model`` with ``entries`` as its appendix to ``out_path``."""
    p = model.parameters
    work_dir.mkdir(parents=True, exist_ok=True)
    appendix_path, heads_path = work_dir / APPENDIX_NAME, work_dir / HEADS_NAME
    unsigned, embedded = work_dir / "report.unsigned.pdf", work_dir / "report.embedded.pdf"
    partial = out_path.with_name(f".{out_path.name}.partial")
    try:
        appendix: Appendix = write_appendix(
            appendix_path, entries, org=p.org(), query=_query(model), created_at=p.generated_at, key=signing_key,
            progress=None if progress is None else (lambda n: progress("appendix", n)))
        model = _reconciled(model, appendix)
        document = heads_document(appendix_sha256=appendix.sha256, appendix_size=appendix.size,
                                  records=appendix.records, heads=appendix.heads)
        vhash = str(document["verification_hash"])
        heads_bytes = json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
        heads_path.write_bytes(heads_bytes)
        if progress is not None:
            progress("render", appendix.records)
        render_pdf(unsigned, model, verification_hash=vhash, appendix_sha256=appendix.sha256,
                   records=appendix.records, heads=appendix.heads)
        if progress is not None:
            progress("embed", appendix.records)
        embed_files(unsigned, embedded, [
            Attachment(APPENDIX_NAME, appendix_path, "Signed DPR export of the range (faramesh-cloud/signed-bundle/v1)",
                       appendix.md5, appendix.size),
            Attachment(HEADS_NAME, heads_path, "Certified chain heads and the verification hash",
                       hashlib.md5(heads_bytes, usedforsecurity=False).hexdigest(), len(heads_bytes))],
            info={INFO_HASH_KEY: vhash}, modified=p.generated_at)
        if progress is not None:
            progress("sign", appendix.records)
        sign_pdf(embedded, partial, document_key,
                 reason=f"Faramesh Cloud compliance report; verification hash sha256:{vhash}")
        digest, size = hashlib.sha256(), 0
        with open(partial, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
        os.replace(partial, out_path)
    finally:
        for path in (appendix_path, heads_path, unsigned, embedded, partial):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    if progress is not None:
        progress("done", appendix.records)
    return GeneratedReport(out_path, digest.hexdigest(), size, vhash, appendix.sha256, appendix.size,
                           appendix.records, appendix.heads)

