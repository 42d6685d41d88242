"""Observability forwarding: DPRs and decision metrics to Datadog, Grafana Cloud, Splunk, Elastic and OTLP."""
