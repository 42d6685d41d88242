"""OpenTelemetry end to end: ``faramesh-cloud up --otel`` exporting to a local OTLP/HTTP
receiver (as a collector would get it). One push over the sync channel gives ONE trace that
runs from ingest's gRPC ``Push`` through the log append into the audit index's consumer and
sink, and the metrics of docs/observability.md arrive under their documented names."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from faramesh_cloud.events.topics import DPR_RECORDS
from faramesh_cloud.observability import catalogue
from faramesh_cloud.rpc.sync_client import SyncClient
from tests.fixtures.otlp import OtlpReceiver, ReceivedSpan, serve_otlp
from tests.fixtures.secrets import SharedSecrets
from tests.integration.test_up import Up, free_port
from tests.ports import free_internal_base
from tests.sync_items import dpr_item, synthetic_records

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.chdb]

SERVER, PRODUCER, CONSUMER = 2, 4, 5  # opentelemetry.proto.trace.v1.Span.SpanKind
AUDIT_GROUP = "audit-index"


class OtelUp(Up):
    def _spawn(self, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        return super()._spawn([*argv, "--otel"], env)


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    yield from serve_otlp()


def _register(data_dir: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "faramesh_cloud", "stacks", "register", "traced",
                           "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    match = re.search(r"fmc_sk_\S+", done.stdout)
    assert match, done.stdout
    return match[0].strip("'")


async def _push_one(up: Up, key: str) -> None:
    ca = (up.data_dir / "tls" / "sync-cert.pem").read_bytes()
    async with SyncClient(f"127.0.0.1:{up.sync}", key, root_certificates=ca) as client:
        response = await client.push(str(uuid.uuid4()), [dpr_item(1, synthetic_records(1)[0])])
    assert response.acked_through_sequence == 1 and not response.rejections


def _the_trace(receiver: OtlpReceiver) -> list[ReceivedSpan] | None:
    """The spans of the trace that holds the Push, once its audit-index sink span is in."""
    pushes = [s for s in receiver.spans if s.kind == SERVER and s.name.endswith("SyncService/Push")]
    if len(pushes) != 1:
        return None
    spans = [s for s in receiver.spans if s.trace_id == pushes[0].trace_id]
    if not any(s.name == f"sink {AUDIT_GROUP}" for s in spans):
        return None
    return spans


def test_one_push_is_one_trace_from_ingest_to_the_audit_index_and_metrics_arrive(
        pg_data_dir: Path, receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "1000")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "200")
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    up = OtelUp(pg_data_dir / "cloud")
    up.start()
    try:
        asyncio.run(_push_one(up, _register(up.data_dir)))
        spans = receiver.wait_for(_the_trace, 60, "one trace from the Push to the audit index's sink")
        metrics = receiver.wait_for(
            lambda r: {p.metric for p in r.points} >= {s.name for s in catalogue.METRICS[:5]} and r.points,
            60, "the ingest and consumer metrics")
    finally:
        code, _, output = up.interrupt()
    assert code == 0, output[-3000:]
    assert not receiver.errors

    by_id = {s.span_id: s for s in spans}
    (push,) = [s for s in spans if s.kind == SERVER and s.name.endswith("SyncService/Push")]
    (append,) = [s for s in spans if s.kind == PRODUCER and s.name == f"publish {DPR_RECORDS}"]
    (batch,) = [s for s in spans if s.kind == CONSUMER and s.attributes.get("messaging.consumer.group.name")
                == AUDIT_GROUP and s.name == f"process {DPR_RECORDS}"]
    (sink,) = [s for s in spans if s.name == f"sink {AUDIT_GROUP}"]
    # The chain of parents: Push ← append ← the audit index's batch ← its sink write.
    assert append.parent_span_id == push.span_id
    assert batch.parent_span_id == append.span_id
    assert sink.parent_span_id == batch.span_id
    assert push.attributes["faramesh.push.appended"] == 1
    assert {s.service for s in spans} == {"faramesh-cloud"}
    # psycopg's instrumentation is on: the audit index's position commit is in the trace too.
    assert any(by_id.get(s.parent_span_id) in (sink, batch) and s.attributes.get("db.system") == "postgresql"
               for s in spans)

    assert metrics  # every name arrived (waited for above); now their values and attributes
    points = receiver.points
    records = [p for p in points if p.metric == catalogue.INGEST_RECORDS.name and p.attributes["topic"] == DPR_RECORDS]
    assert records and max(p.value for p in records) == 1 and records[-1].attributes["stack_id"]
    assert any(p.metric == catalogue.ACK_LATENCY.name and p.value >= 1 for p in points)
    lag = [p for p in points if p.metric == catalogue.CONSUMER_LAG.name
           and p.attributes == {"topic": DPR_RECORDS, "group": AUDIT_GROUP, "partition": p.attributes["partition"]}]
    assert lag, "no lag for the audit index's group"
    ours = {p.metric for p in points if p.metric.startswith("faramesh.")}  # beside the instrumentation's http.*
    assert ours <= {s.name for s in catalogue.METRICS}, ours - {s.name for s in catalogue.METRICS}


def test_an_unsupported_otlp_protocol_refuses_to_start_with_one_line(tmp_path: Path) -> None:
    env = {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}
    done = subprocess.run([sys.executable, "-m", "faramesh_cloud", "up", "--otel", "--data-dir", str(tmp_path / "d"),
                           "--http-port", str(free_port()), "--sync-port", str(free_port())],
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**_environment(), **env})
    assert done.returncode == 2, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: OTEL_EXPORTER_OTLP_PROTOCOL='http/json' is not supported; use http/protobuf "
                      "(the default) or grpc"], done.stderr


def _environment() -> dict[str, str]:
    return {**os.environ, "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(free_internal_base())}


def test_a_serve_process_exports_as_faramesh_cloud_and_its_service(
        pg_data_dir: Path, receiver: OtlpReceiver, shared_secrets: SharedSecrets) -> None:
    env = {**_environment(), **shared_secrets.env, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "200",
           "FARAMESH_CLOUD_SYNC_PORT": str(free_port()), "FARAMESH_CLOUD_INGEST_HTTP_PORT": str(free_port())}
    env.pop("OTEL_SERVICE_NAME", None)
    proc = subprocess.Popen([sys.executable, "-m", "faramesh_cloud", "serve", "ingest", "--otel", "--data-dir",
                             str(pg_data_dir / "ingest")], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        # Its start-up statements (psycopg's spans) are exported under the process's own name.
        receiver.wait_for(lambda r: any(s.service == "faramesh-cloud-ingest" and s.attributes.get("db.system")
                                        for s in r.spans), 90, "a span of serve ingest")
    finally:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=30)[0].decode()
    assert proc.returncode == 0, output[-3000:]
    assert {s.service for s in receiver.spans} == {"faramesh-cloud-ingest"}
