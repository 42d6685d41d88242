"""Compliance report PDFs end to end: generated from DPRs built the way a daemon writes them,
signed (poppler's pdfsig says valid), verified offline by ``faramesh-cloud verify-report``,
and every tampering (a byte of the appendix, a printed head digit, one record) found and named."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from faramesh_cloud.cli.main import cli
from faramesh_cloud.compliance.report.appendix import write_appendix
from faramesh_cloud.compliance.report.embed import INFO_HASH_KEY, Attachment, embed_files
from faramesh_cloud.compliance.report.generate import GeneratedReport, generate_report
from faramesh_cloud.compliance.report.model import (
    ApprovalsSummary,
    CertifiedChain,
    CoverageRow,
    CoverageStatus,
    DecisionStats,
    EffectBucket,
    Parameters,
    PostureRow,
    PostureStatus,
    ReportModel,
)
from faramesh_cloud.compliance.report.render import render_pdf
from faramesh_cloud.compliance.report.sign import load_or_create_document_key, sign_pdf
from faramesh_cloud.compliance.report.verification import (
    APPENDIX_NAME,
    HEADS_NAME,
    ChainHead,
    heads_document,
)
from faramesh_cloud.signing.keys import load_or_create_signing_key, public_pem
from tests.unit.compliance.dpr_entries import built_entries, vector_entries

T0 = datetime(2026, 3, 1, tzinfo=UTC)
EVIL = "<b>evil</b> & </para>"


def model(empty: bool = False) -> ReportModel:
    params = Parameters("org-1", "acme", "Acme & Co", "soc2", "SOC 2 (Trust Services Criteria)", ("stack-1", "stack-2"),
                        T0, T0 + timedelta(days=1), T0 + timedelta(days=1, hours=1), "alice@example.test")
    if empty:
        return ReportModel(params)
    buckets = tuple(EffectBucket(T0 + timedelta(hours=h), {"PERMIT": 3 + h % 4, "DENY": h % 3, "DEFER": 1})
                    for h in range(24))
    return ReportModel(
        params, certificate=(CertifiedChain("stack-2", "agent-00", "", None, 12, 12, 1, 0, T0),),
        coverage=(CoverageRow("stack-1", EVIL, CoverageStatus.PARTIAL, ("stripe/charge", "x<y>"), ("x<y>",)),),
        stats=DecisionStats(buckets=buckets, top_tools=(("stripe/charge", 40), (EVIL, 12)),
                            top_agents=((EVIL, 30),), top_rules=(("fpl-1", 20),),
                            total=sum(sum(b.counts.values()) for b in buckets)),
        approvals=ApprovalsSummary({"approved": 4, "denied": 1, "expired": 1}, 30.0, 600.0, (("bob@x", 5),), 1, 1),
        posture=(PostureRow("CC7.2", "System monitoring", PostureStatus.EVIDENCE),))


def entries(vectors_dir: Path) -> list[dict[str, Any]]:
    return vector_entries(vectors_dir, "stack-1") + list(built_entries("stack-2", 2, 12))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    (tmp_path / "platform.pem").write_text(public_pem(load_or_create_signing_key(d).public_key()))
    load_or_create_document_key(d)
    return d


def generate(tmp_path: Path, data_dir: Path, items: list[dict[str, Any]], m: ReportModel | None = None) -> GeneratedReport:
    return generate_report(tmp_path / "report.pdf", m or model(), items, signing_key=load_or_create_signing_key(data_dir),
                           document_key=load_or_create_document_key(data_dir), work_dir=tmp_path / "work")


def verify(tmp_path: Path, pdf: Path, *extra: str, cert: bool = True) -> tuple[int, str]:
    args = ["verify-report", str(pdf), "--platform-key", str(tmp_path / "platform.pem"), *extra]
    if cert:
        args += ["--certificate", str(tmp_path / "data" / "keys" / "platform-document-cert.pem")]
    result = CliRunner().invoke(cli, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def assemble(tmp_path: Path, data_dir: Path, items: list[dict[str, Any]], *, printed: list[ChainHead] | None = None,
             doc_dir: Path | None = None, edit_appendix: bool = False) -> Path:
    """The generation steps one by one, so a test can tamper between them."""
    work = tmp_path / "forge"
    work.mkdir()
    appendix = write_appendix(work / APPENDIX_NAME, items, org={"id": "org-1", "slug": "acme", "name": "Acme"},
                              query={}, created_at=T0, key=load_or_create_signing_key(data_dir))
    if edit_appendix:  # one byte of one record's raw text, after the appendix was signed
        data = bytearray((work / APPENDIX_NAME).read_bytes())
        at = data.index(b'\\"effect\\":\\"DENY') + len(b'\\"effect\\":\\"')
        data[at:at + 4] = b"DENZ"
        (work / APPENDIX_NAME).write_bytes(bytes(data))
        appendix = replace(appendix, sha256=__import__("hashlib").sha256(data).hexdigest(),
                           md5=__import__("hashlib").md5(data).hexdigest())
    doc = heads_document(appendix_sha256=appendix.sha256, appendix_size=appendix.size, records=appendix.records,
                         heads=appendix.heads)
    heads_bytes = json.dumps(doc).encode()
    (work / HEADS_NAME).write_bytes(heads_bytes)
    render_pdf(work / "u.pdf", model(), verification_hash=doc["verification_hash"], appendix_sha256=appendix.sha256,
               records=appendix.records, heads=printed or list(appendix.heads))
    embed_files(work / "u.pdf", work / "e.pdf", [
        Attachment(APPENDIX_NAME, work / APPENDIX_NAME, "appendix", appendix.md5, appendix.size),
        Attachment(HEADS_NAME, work / HEADS_NAME, "heads", __import__("hashlib").md5(heads_bytes).hexdigest(),
                   len(heads_bytes))], info={INFO_HASH_KEY: doc["verification_hash"]}, modified=T0)
    sign_pdf(work / "e.pdf", tmp_path / "forged.pdf", load_or_create_document_key(doc_dir or data_dir), reason="test")
    return tmp_path / "forged.pdf"


def test_pdfsig_reports_the_signature_valid_and_the_appendix_is_attached(tmp_path: Path, data_dir: Path,
                                                                          vectors_dir: Path) -> None:
    report = generate(tmp_path, data_dir, entries(vectors_dir))
    out = subprocess.run(["pdfsig", str(report.path)], capture_output=True, text=True, timeout=60).stdout
    assert "Signature is Valid" in out and "Total document signed" in out and "SHA-256" in out
    listed = subprocess.run(["pdfdetach", "-list", str(report.path)], capture_output=True, text=True, timeout=60).stdout
    assert APPENDIX_NAME in listed and HEADS_NAME in listed
    info = subprocess.run(["pdfinfo", str(report.path)], capture_output=True, text=True, timeout=60).stdout
    assert report.verification_hash in info
    text = subprocess.run(["pdftotext", str(report.path), "-"], capture_output=True, text=True, timeout=60).stdout
    assert report.verification_hash in text and EVIL in text and "x<y>" in text
    assert all(h.record_hash in text for h in report.heads)
    assert report.records == 29 and not (tmp_path / "work" / APPENDIX_NAME).exists()


def test_verify_report_passes_and_says_which_trust_root(tmp_path: Path, data_dir: Path, vectors_dir: Path) -> None:
    report = generate(tmp_path, data_dir, entries(vectors_dir))
    code, out = verify(tmp_path, report.path)
    assert code == 0, out
    assert "OK: the report, its appendix and every DPR in it verify" in out
    assert "trust root: the certificate given" in out and "29 record hashes recomputed" in out
    code, out = verify(tmp_path, report.path, cert=False)
    assert code == 0 and "trust root: the certificate the PDF carries" in out
    code, out = verify(tmp_path, report.path, "--platform-key", str(tmp_path / "nope.pem"))
    assert code == 2


def test_a_report_signed_by_another_certificate_fails_against_the_platform_one(tmp_path: Path, data_dir: Path,
                                                                                vectors_dir: Path) -> None:
    forged = assemble(tmp_path, data_dir, entries(vectors_dir), doc_dir=tmp_path / "mallory")
    code, out = verify(tmp_path, forged)
    assert code == 1 and "FAILED: PDF signature: the signer is not the trusted certificate" in out


def test_one_changed_byte_of_the_appendix_fails(tmp_path: Path, data_dir: Path, vectors_dir: Path) -> None:
    report = generate(tmp_path, data_dir, entries(vectors_dir))
    pdf = bytearray(report.path.read_bytes())
    at = pdf.index(b"/EmbeddedFile")
    at = pdf.index(b"stream\n", at) + 200  # inside the appendix's compressed bytes
    pdf[at] ^= 0x01
    (tmp_path / "t.pdf").write_bytes(bytes(pdf))
    code, out = verify(tmp_path, tmp_path / "t.pdf")
    assert code == 1 and "FAILED: PDF signature: the signed bytes were changed" in out
    # The same byte changed before an attacker re-signs the PDF with a certificate of their own:
    forged = assemble(tmp_path, data_dir, entries(vectors_dir), doc_dir=tmp_path / "mallory", edit_appendix=True)
    code, out = verify(tmp_path, forged, cert=False)
    assert code == 1 and "FAILED: appendix signature: the signature does not match" in out


def test_one_changed_digit_of_a_printed_head_fails(tmp_path: Path, data_dir: Path, vectors_dir: Path) -> None:
    items = entries(vectors_dir)
    good = write_appendix(tmp_path / "probe.json", items, org={}, query={}, created_at=T0,
                          key=load_or_create_signing_key(data_dir)).heads
    first = good[0]
    digit = "1" if first.record_hash[10] != "1" else "2"
    printed = [replace(first, record_hash=first.record_hash[:10] + digit + first.record_hash[11:]), *good[1:]]
    code, out = verify(tmp_path, assemble(tmp_path, data_dir, items, printed=printed))
    assert code == 1, out
    assert f"FAILED: chain heads: the head of {first.stack_id}/{first.agent_id} printed in the certificate" in out


def test_one_changed_record_in_a_resigned_appendix_fails(tmp_path: Path, data_dir: Path, vectors_dir: Path) -> None:
    items = entries(vectors_dir)
    items[1] = {**items[1], "raw": items[1]["raw"].replace('"PERMIT"', '"DENY"')}
    report = generate(tmp_path, data_dir, items)
    code, out = verify(tmp_path, report.path)
    assert code == 1, out
    assert "ok  appendix signature" in out
    assert "FAILED: record hashes and chain links: entry 1 (" in out and "hash mismatch" in out


def test_an_unreadable_file_exits_2(tmp_path: Path) -> None:
    (tmp_path / "platform.pem").write_text("x")
    (tmp_path / "junk.pdf").write_bytes(b"%PDF-1.7\nnot really")
    for path in (tmp_path / "junk.pdf", tmp_path / "missing.pdf"):
        result = CliRunner().invoke(cli, ["verify-report", str(path)])
        assert result.exit_code == 2 and "error:" in result.output, result.output


def test_an_empty_range_gives_a_report_that_says_so_and_verifies(tmp_path: Path, data_dir: Path) -> None:
    report = generate(tmp_path, data_dir, [], model(empty=True))
    assert report.records == 0 and report.heads == ()
    text = subprocess.run(["pdftotext", str(report.path), "-"], capture_output=True, text=True, timeout=60).stdout
    assert "There is no data in this range" in text
    code, out = verify(tmp_path, report.path)
    assert code == 0, out


def test_records_indexed_while_the_report_is_made_leave_it_consistent(tmp_path: Path, data_dir: Path,
                                                                      vectors_dir: Path) -> None:
    """The index's certificate was read before the export, which then met records indexed
    since (late arrivals in the range): the certificate takes each chain's head and records in
    range from the appendix (what verify-report checks) and keeps the index's length, segments
    and findings; the report verifies."""
    items = entries(vectors_dir)
    stale = replace(model(), certificate=(CertifiedChain("stack-2", "agent-00", "0" * 64, 5, 12, 6, 1, 0, T0),))
    made = generate(tmp_path, data_dir, items, stale)
    code, output = verify(tmp_path, made.path)
    assert code == 0, output
    text = subprocess.run(["pdftotext", str(made.path), "-"], capture_output=True, text=True, check=True).stdout
    head = next(h for h in made.heads if (h.stack_id, h.agent_id) == ("stack-2", "agent-00"))
    assert head.chain_index == 11 and head.record_hash in text and "0" * 64 not in text
