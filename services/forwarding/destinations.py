"""A destination from what a person typed: its shown config and its sealed secret fields,
checked per kind and against the SSRF guard (``egress.ssrf``; the same rule as notifications,
``Settings.allow_private_destinations`` the self-hosted escape hatch)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from faramesh_cloud.config import Settings
from faramesh_cloud.egress.ssrf import Resolver, UnsafeDestination, check_url, system_resolver
from faramesh_cloud.forwarding.domain import InvalidForwarding, Kind
from faramesh_cloud.forwarding.senders import DATADOG_SITES, otlp_headers
from faramesh_cloud.secrets import resolve_secret


@dataclass(frozen=True, slots=True)
class Prepared:
    config: dict[str, Any]
    secret: dict[str, str]


def _text(fields: dict[str, Any], name: str, what: str, limit: int = 2000, *, required: bool = True) -> str:
    value = str(fields.get(name) or "").strip()
    if required and not value:
        raise InvalidForwarding(f"{what} is required")
    if len(value) > limit:
        raise InvalidForwarding(f"{what} is at most {limit} characters")
    return value


def _url(fields: dict[str, Any], what: str, allow_private: bool, resolver: Resolver) -> str:
    url = _text(fields, "url", what).rstrip("/")
    check_url(url, allow_private=allow_private, resolver=resolver)
    return url


def prepare(kind: str, fields: dict[str, Any], *, allow_private: bool,
            resolver: Resolver = system_resolver) -> Prepared:
    try:
        k = Kind(kind)
    except ValueError:
        raise InvalidForwarding(f"unknown destination kind {kind!r}; use one of {', '.join(Kind)}") from None
    try:
        match k:
            case Kind.DATADOG:
                site = _text(fields, "site", "the Datadog site", 100, required=False) or "datadoghq.com"
                if site not in DATADOG_SITES:
                    raise InvalidForwarding(f"unknown Datadog site {site!r}; use one of {', '.join(DATADOG_SITES)}")
                key = _text(fields, "api_key", "the Datadog API key", 200)
                return Prepared({"site": site, "key_hint": key[-4:]}, {"api_key": key})
            case Kind.SPLUNK_HEC:
                url = _url(fields, "the HEC base URL (https://http-inputs-<stack>.splunkcloud.com)", allow_private,
                           resolver)
                token = _text(fields, "token", "the HEC token", 200)
                index = _text(fields, "index", "the index", 80, required=False)
                sourcetype = _text(fields, "sourcetype", "the sourcetype", 80, required=False) or "faramesh:dpr"
                return Prepared({"url": url, "index": index, "sourcetype": sourcetype, "key_hint": token[-4:]},
                                {"token": token})
            case Kind.ELASTIC:
                url = _url(fields, "the Elasticsearch URL", allow_private, resolver)
                key = _text(fields, "api_key", "the API key (the encoded value Elastic shows once)", 500)
                index = _text(fields, "index", "the DPR index or data stream", 200, required=False) or "faramesh-dpr"
                metrics = _text(fields, "metrics_index", "the metrics index", 200, required=False) or "faramesh-metrics"
                for name in (index, metrics):
                    if name != name.lower() or any(c in name for c in ' "*\\<|,>/?#') or name.startswith(("-", "_")):
                        raise InvalidForwarding(f"{name!r} is not an Elasticsearch index name (lower case, no spaces "
                                                "or \\/*?\"<>|,#, not starting with - or _)")
                return Prepared({"url": url, "index": index, "metrics_index": metrics, "key_hint": key[-4:]},
                                {"api_key": key})
            case Kind.GRAFANA_OTLP:
                url = _url(fields, "the OTLP endpoint (https://otlp-gateway-<zone>.grafana.net/otlp)", allow_private,
                           resolver)
                instance = _text(fields, "instance_id", "the instance ID", 40)
                if not instance.isdigit():
                    raise InvalidForwarding("the Grafana Cloud instance ID is a number (Details of the OTLP tile)")
                token = _text(fields, "token", "the access policy token", 2000)
                return Prepared({"url": url, "instance_id": instance, "key_hint": token[-4:]}, {"token": token})
            case Kind.OTLP:
                url = _url(fields, "the OTLP/HTTP base URL (the /v1/logs and /v1/metrics paths are added)",
                           allow_private, resolver)
                headers = _text(fields, "headers", "the headers", 4000, required=False)
                try:
                    names = sorted(otlp_headers(headers))
                except ValueError as exc:
                    raise InvalidForwarding(f"headers: {exc}; write name=value,name2=value2") from None
                return Prepared({"url": url, "header_names": names}, {"headers": headers})
    except UnsafeDestination as exc:
        raise InvalidForwarding(str(exc)) from None
    raise InvalidForwarding(f"unknown destination kind {kind!r}")


def forwarding_key(settings: Settings) -> bytes:
    """The 32-byte sealing key every forwarding replica shares (``faramesh_cloud.secrets``:
    inline, ``forwarding_key_file``, ``secrets_dir/forwarding.key``; under ``up``, made once in
    ``<data_dir>/keys/forwarding.key``)."""
    return resolve_secret(settings, "forwarding_key")

