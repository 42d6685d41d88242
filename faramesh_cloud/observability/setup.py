"""Turning OpenTelemetry on for one process (``up --otel``, ``serve NAME --otel``).

Off (the default) nothing here runs: no SDK, no exporter, no instrumentation, and
:func:`current` is None, so the hot paths skip every telemetry call with one ``is None``
test per push or per batch (never per record). On, :func:`start`:

* builds a resource whose ``service.name`` is ``faramesh-cloud-<process>`` (``up`` runs every
  service: ``faramesh-cloud``) unless ``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES`` say
  otherwise;
* exports spans (batched) and metrics (every ``OTEL_METRIC_EXPORT_INTERVAL`` ms) with OTLP:
  the endpoint, protocol (``http/protobuf``, the default, or ``grpc``), headers, timeouts and
  TLS all come from the standard ``OTEL_EXPORTER_OTLP_*`` variables, read by the exporters;
* instruments FastAPI, gRPC (server and client, asyncio), psycopg and httpx with the
  official instrumentation packages;
* makes Cloud's own instruments (:mod:`.catalogue`).

This module holds the process's one :class:`Telemetry` (``_current``), set only by ``start``
from ``main``: the same process-wide choice OpenTelemetry itself makes with its global
providers, which the instrumentation packages read.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from faramesh_cloud.observability import catalogue

if TYPE_CHECKING:
    from opentelemetry.metrics import Meter
    from opentelemetry.trace import Tracer

_log = logging.getLogger(__name__)

SCOPE = "faramesh_cloud"


@dataclass
class Telemetry:
    """The process's tracer, meter and Cloud's instruments (``instruments[spec.name]``)."""

    tracer: Tracer
    meter: Meter
    instruments: dict[str, Any]
    lag_sources: list[Callable[[], Iterable[tuple[int, dict[str, str]]]]] = field(default_factory=list)
    shutdown: Callable[[], None] = lambda: None
    providers: tuple[Any, Any] = (None, None)  # the SDK's TracerProvider and MeterProvider

    def add(self, spec: catalogue.MetricSpec, amount: float, attributes: dict[str, str]) -> None:
        self.instruments[spec.name].add(amount, attributes)

    def record(self, spec: catalogue.MetricSpec, value: float, attributes: dict[str, str]) -> None:
        self.instruments[spec.name].record(value, attributes)


_current: Telemetry | None = None


def current() -> Telemetry | None:
    """The process's telemetry, or None when OpenTelemetry is off (ask once, at start)."""
    return _current


def service_name(process: str) -> str:
    return "faramesh-cloud" if process == "up" else f"faramesh-cloud-{process}"


def build(process: str, span_processor: Any, metric_reader: Any) -> Telemetry:
    """A :class:`Telemetry` over its own SDK providers (``span_processor`` and
    ``metric_reader`` say where spans and metrics go), touching no global state."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider

    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service_name(process)}
    resource = Resource.create(attributes)  # OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES win
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(span_processor)
    meter_provider = MeterProvider(resource=resource, metric_readers=[metric_reader])
    telemetry = Telemetry(tracer_provider.get_tracer(SCOPE), meter_provider.get_meter(SCOPE), {})
    telemetry.providers = (tracer_provider, meter_provider)
    _make_instruments(telemetry)

    def shutdown() -> None:
        for provider in (tracer_provider, meter_provider):
            try:
                provider.shutdown()  # flushes what is batched
            except Exception:
                _log.warning("OpenTelemetry %s did not shut down cleanly", type(provider).__name__, exc_info=True)

    telemetry.shutdown = shutdown
    return telemetry


def start(process: str) -> Telemetry:
    """Install the SDK, OTLP exporters and instrumentation for this process (module doc)."""
    global _current
    if _current is not None:
        return _current
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import SERVICE_NAME
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    span_exporter, metric_exporter = _exporters()
    telemetry = build(process, BatchSpanProcessor(span_exporter), PeriodicExportingMetricReader(metric_exporter))
    tracer_provider, meter_provider = telemetry.providers
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    _instrument_libraries()
    _current = telemetry
    _log.info("OpenTelemetry on: service.name=%s, OTLP %s to %s",
              tracer_provider.resource.attributes.get(SERVICE_NAME), _protocol(),
              os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "the exporter's default endpoint"))
    return telemetry


@contextlib.contextmanager
def activated(telemetry: Telemetry) -> Iterator[Telemetry]:
    """``telemetry`` as the process's for the block (what :func:`start` does for good), for a
    program that embeds Cloud's parts and brings its own providers (a bench, a test)."""
    global _current
    previous, _current = _current, telemetry
    try:
        yield telemetry
    finally:
        _current = previous


def stop() -> None:
    """Flush and shut down the exporters (end of ``main``)."""
    global _current
    telemetry, _current = _current, None
    if telemetry is not None:
        telemetry.shutdown()


def _protocol() -> str:
    return os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")


def _exporters() -> tuple[Any, Any]:
    protocol = _protocol()
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
            OTLPMetricExporter as GrpcMetrics,
        )
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcSpans,
        )

        return GrpcSpans(), GrpcMetrics()
    if protocol != "http/protobuf":
        from faramesh_cloud.config import ConfigError

        raise ConfigError(f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not supported; use http/protobuf "
                          "(the default) or grpc")
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(), OTLPMetricExporter()


def _instrument_libraries() -> None:
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.instrumentation.grpc import (
        GrpcAioInstrumentorClient,
        GrpcAioInstrumentorServer,
    )
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor

    FastAPIInstrumentor().instrument()
    GrpcAioInstrumentorServer().instrument()  # type: ignore[no-untyped-call]
    GrpcAioInstrumentorClient().instrument()  # type: ignore[no-untyped-call]
    PsycopgInstrumentor().instrument(enable_commenter=False)
    HTTPXClientInstrumentor().instrument()


def _make_instruments(telemetry: Telemetry) -> None:
    from opentelemetry.metrics import CallbackOptions, Observation

    meter = telemetry.meter
    for spec in catalogue.METRICS:
        if spec.kind is catalogue.Kind.COUNTER:
            telemetry.instruments[spec.name] = meter.create_counter(spec.name, spec.unit, spec.description)
        elif spec.kind is catalogue.Kind.HISTOGRAM:
            telemetry.instruments[spec.name] = meter.create_histogram(spec.name, spec.unit, spec.description)

    def lag(_: CallbackOptions) -> Iterable[Observation]:
        for source in list(telemetry.lag_sources):
            for value, attributes in source():
                yield Observation(value, attributes)

    spec = catalogue.CONSUMER_LAG
    telemetry.instruments[spec.name] = meter.create_observable_gauge(spec.name, [lag], spec.unit, spec.description)
