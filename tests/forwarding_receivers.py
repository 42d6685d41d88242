"""Local receivers (127.0.0.1) that speak each product's public intake API and check the exact
wire format Cloud sends, answering as the product does (status, error body shape):

* Datadog: ``POST /api/v2/logs`` (gzip JSON array, ``DD-API-KEY``; 202 ``{}``; 403 bad key; 413
  over 5 MB or 1000 entries; 400 ``{"errors": [...]}``) and ``POST /api/v2/series``
  (``{"series": [...]}``; 202 ``{"errors": []}``).
* Splunk HEC: ``POST /services/collector/event`` (``Authorization: Splunk <token>``;
  concatenated event objects; 200 ``{"text":"Success","code":0}``; 401 code 2, 403 code 4,
  400 code 12 / 6 / 5 as Splunk answers).
* Elastic: ``POST /_bulk`` (``Authorization: ApiKey``; ``application/x-ndjson``; action and
  document lines; per-item ``create`` results, 409 for an existing ``_id``).
* OTLP/HTTP: ``POST <prefix>/v1/logs`` and ``/v1/metrics`` (``application/x-protobuf``,
  ``ExportLogsServiceRequest`` / ``ExportMetricsServiceRequest``; the auth header given;
  400 with a ``google.rpc.Status``).

``script``: answers given before any check (e.g. ``(429, body, {"retry-after": "1"})``);
``stop()`` / ``start()`` take the receiver down and bring it back on the same port."""

from __future__ import annotations

import contextlib
import gzip
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)

Answer = tuple[int, bytes, dict[str, str]]


class Refused(Exception):
    def __init__(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        super().__init__(status)
        self.answer: Answer = (status, body, {"content-type": content_type})


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


@dataclass
class Receiver:
    product: str
    secret: str  # the key / token / expected auth header value
    prefix: str = ""  # OTLP: the path before /v1/... (Grafana Cloud: /otlp)
    auth_header: str = "authorization"
    received: list[Any] = field(default_factory=list)  # what was accepted: log entries, events, docs, points
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)  # what each request was answered
    script: list[Answer] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)  # Elastic: documents that exist
    url: str = ""
    _server: ThreadingHTTPServer | None = None
    _port: int = 0

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        self.requests.append((path, headers, body))
        if self.script:
            answer = self.script.pop(0)
        else:
            try:
                check = {"datadog": self._datadog, "splunk": self._splunk, "elastic": self._elastic,
                         "otlp": self._otlp}[self.product]
                answer = check(path, headers, body)
            except Refused as refused:
                answer = refused.answer
        self.answers.append(answer)
        return answer

    # Datadog ------------------------------------------------------------------------------
    def _datadog(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        if headers.get("dd-api-key") != self.secret:
            raise Refused(403, _json({"errors": ["Forbidden"]}))
        if headers.get("content-type", "").split(";")[0] != "application/json":
            raise Refused(415, _json({"errors": ["Unsupported Media Type"]}))
        if headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        if len(body) > 5 * 1024 * 1024:
            raise Refused(413, _json({"errors": ["Request Entity Too Large"]}))
        try:
            value = json.loads(body)
        except ValueError:
            raise Refused(400, _json({"errors": ["Malformed JSON"]})) from None
        if path == "/api/v2/logs":
            entries = value if isinstance(value, list) else [value]
            if len(entries) > 1000:
                raise Refused(413, _json({"errors": ["Too many log entries"]}))
            for entry in entries:
                if not isinstance(entry, dict) or not isinstance(entry.get("message"), str):
                    raise Refused(400, _json({"errors": ["a log entry needs a string message"]}))
                for name in ("ddsource", "ddtags", "hostname", "service"):
                    if name in entry and not isinstance(entry[name], str):
                        raise Refused(400, _json({"errors": [f"{name} must be a string"]}))
            self.received.extend(entries)
            return 202, b"{}", {"content-type": "application/json"}
        if path == "/api/v2/series":
            series = value.get("series") if isinstance(value, dict) else None
            if not isinstance(series, list) or not series:
                raise Refused(400, _json({"errors": ["series is required"]}))
            for s in series:
                if not isinstance(s.get("metric"), str) or s.get("type") not in (0, 1, 2, 3):
                    raise Refused(400, _json({"errors": ["each series needs metric and a type 0-3"]}))
                for p in s.get("points") or []:
                    if not isinstance(p.get("timestamp"), int) or not isinstance(p.get("value"), int | float):
                        raise Refused(400, _json({"errors": ["a point is {timestamp: int, value: number}"]}))
                if not all(isinstance(t, str) and ":" in t for t in s.get("tags", [])):
                    raise Refused(400, _json({"errors": ["tags are key:value strings"]}))
            self.received.extend(series)
            return 202, _json({"errors": []}), {"content-type": "application/json"}
        raise Refused(404, _json({"errors": ["Not Found"]}))

    # Splunk HEC ---------------------------------------------------------------------------
    def _splunk(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        if path != "/services/collector/event":
            raise Refused(404, _json({"text": "The requested URL was not found on this server.", "code": 404}))
        auth = headers.get("authorization", "")
        if not auth:
            raise Refused(401, _json({"text": "Token is required", "code": 2}))
        if auth != f"Splunk {self.secret}":
            raise Refused(403, _json({"text": "Invalid token", "code": 4}))
        if not body.strip():
            raise Refused(400, _json({"text": "No data", "code": 5}))
        decoder, text, at, events = json.JSONDecoder(), body.decode(), 0, []
        while at < len(text):
            while at < len(text) and text[at].isspace():
                at += 1
            if at >= len(text):
                break
            try:
                event, at = decoder.raw_decode(text, at)
            except ValueError:
                raise Refused(400, _json({"text": "Invalid data format", "code": 6,
                                          "invalid-event-number": len(events)})) from None
            if "event" not in event or event["event"] in ("", None):
                raise Refused(400, _json({"text": "Event field is required", "code": 12,
                                          "invalid-event-number": len(events)}))
            if "time" in event and not isinstance(event["time"], int | float):
                raise Refused(400, _json({"text": "Error in handling indexed fields", "code": 15,
                                          "invalid-event-number": len(events)}))
            if event["event"] == "metric" and not any(k.startswith("metric_name:") for k in event.get("fields", {})):
                raise Refused(400, _json({"text": "A metric event needs metric_name", "code": 6}))
            events.append(event)
        self.received.extend(events)
        return 200, _json({"text": "Success", "code": 0}), {"content-type": "application/json"}

    # Elastic ------------------------------------------------------------------------------
    def _elastic(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        if headers.get("authorization") != f"ApiKey {self.secret}":
            raise Refused(401, _json({"error": {"type": "security_exception", "reason": "unable to authenticate"},
                                      "status": 401}))
        if path != "/_bulk":
            raise Refused(404, _json({"error": "no handler", "status": 404}))
        if headers.get("content-type", "").split(";")[0] != "application/x-ndjson":
            raise Refused(406, _json({"error": "Content-Type header is not supported", "status": 406}))
        if not body.endswith(b"\n"):
            raise Refused(400, _json({"error": {"type": "illegal_argument_exception",
                                                "reason": "The bulk request must be terminated by a newline [\\n]"},
                                      "status": 400}))
        lines = body.decode().split("\n")[:-1]
        if len(lines) % 2:
            raise Refused(400, _json({"error": {"type": "illegal_argument_exception",
                                                "reason": "Malformed action/metadata line"}, "status": 400}))
        items, errors = [], False
        for action_line, doc_line in zip(lines[::2], lines[1::2], strict=True):
            action = json.loads(action_line)
            meta = action.get("create")
            if set(action) != {"create"} or not meta.get("_index") or not meta.get("_id"):
                raise Refused(400, _json({"error": {"type": "illegal_argument_exception",
                                                    "reason": f"Malformed action/metadata line [{action_line}]"},
                                          "status": 400}))
            doc = json.loads(doc_line)
            key = f"{meta['_index']}/{meta['_id']}"
            if key in self.ids:
                errors = True
                items.append({"create": {"_index": meta["_index"], "_id": meta["_id"], "status": 409, "error": {
                    "type": "version_conflict_engine_exception", "reason": "document already exists"}}})
            elif "@timestamp" not in doc:
                errors = True
                items.append({"create": {"_index": meta["_index"], "_id": meta["_id"], "status": 400, "error": {
                    "type": "document_parsing_exception", "reason": "data stream timestamp field [@timestamp] is "
                    "missing"}}})
            else:
                self.ids.add(key)
                self.received.append({"_index": meta["_index"], "_id": meta["_id"], **doc})
                items.append({"create": {"_index": meta["_index"], "_id": meta["_id"], "status": 201,
                                         "result": "created"}})
        return 200, _json({"took": 3, "errors": errors, "items": items}), {"content-type": "application/json"}

    # OTLP/HTTP ----------------------------------------------------------------------------
    def _otlp(self, path: str, headers: dict[str, str], body: bytes) -> Answer:
        def status(code: int, message: str) -> Refused:
            return Refused(code, status_pb2.Status(code=3, message=message).SerializeToString(),
                           "application/x-protobuf")

        if headers.get(self.auth_header) != self.secret:
            raise status(401, "unauthenticated")
        if headers.get("content-type") != "application/x-protobuf":
            raise status(415, "use application/x-protobuf")
        if headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        if path == f"{self.prefix}/v1/logs":
            request = ExportLogsServiceRequest()
            request.ParseFromString(body)
            for rl in request.resource_logs:
                for sl in rl.scope_logs:
                    self.received.extend((rl.resource, record) for record in sl.log_records)
            return 200, ExportLogsServiceResponse().SerializeToString(), {"content-type": "application/x-protobuf"}
        if path == f"{self.prefix}/v1/metrics":
            metrics = ExportMetricsServiceRequest()
            metrics.ParseFromString(body)
            for rm in metrics.resource_metrics:
                for sm in rm.scope_metrics:
                    self.received.extend((rm.resource, metric) for metric in sm.metrics)
            return 200, ExportMetricsServiceResponse().SerializeToString(), {"content-type": "application/x-protobuf"}
        raise status(404, f"no such path {path}")

    # server -------------------------------------------------------------------------------
    def start(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", self._port), _handler(self.handle))
        self._port = server.server_address[1]
        self.url = f"http://127.0.0.1:{self._port}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _handler(handle: Callable[[str, dict[str, str], bytes], Answer]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status, answer, extra = handle(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            for name, value in {"content-type": "application/json", **extra}.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextlib.contextmanager
def receiver(product: str, secret: str, **kwargs: Any) -> Iterator[Receiver]:
    r = Receiver(product, secret, **kwargs)
    r.start()
    try:
        yield r
    finally:
        r.stop()
