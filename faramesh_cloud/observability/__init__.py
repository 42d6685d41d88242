"""OpenTelemetry traces and metrics (docs/observability.md): off unless ``otel_enabled``.

``setup.start`` (called from ``main`` only) installs the SDK, the OTLP exporters (configured by
the standard ``OTEL_*`` variables) and the official instrumentation; everything else asks
``setup.current()`` once, when it starts, and does no per-record work when that is None.
"""
