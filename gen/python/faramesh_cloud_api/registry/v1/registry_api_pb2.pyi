import datetime

from faramesh_cloud_api.registry.v1 import publish_api_pb2 as _publish_api_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ArtifactSummary(_message.Message):
    __slots__ = ("kind", "name", "namespace", "description", "category", "domains", "trust_tier", "capabilities", "latest_version", "platforms")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    DOMAINS_FIELD_NUMBER: _ClassVar[int]
    TRUST_TIER_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    LATEST_VERSION_FIELD_NUMBER: _ClassVar[int]
    PLATFORMS_FIELD_NUMBER: _ClassVar[int]
    kind: str
    name: str
    namespace: str
    description: str
    category: str
    domains: _containers.RepeatedScalarFieldContainer[str]
    trust_tier: str
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    latest_version: str
    platforms: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, kind: _Optional[str] = ..., name: _Optional[str] = ..., namespace: _Optional[str] = ..., description: _Optional[str] = ..., category: _Optional[str] = ..., domains: _Optional[_Iterable[str]] = ..., trust_tier: _Optional[str] = ..., capabilities: _Optional[_Iterable[str]] = ..., latest_version: _Optional[str] = ..., platforms: _Optional[_Iterable[str]] = ...) -> None: ...

class VersionSummary(_message.Message):
    __slots__ = ("version", "state", "published_at", "published_by", "source", "changelog", "key_id", "downloads", "yanked_at", "yank_reason")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_AT_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_BY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CHANGELOG_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    DOWNLOADS_FIELD_NUMBER: _ClassVar[int]
    YANKED_AT_FIELD_NUMBER: _ClassVar[int]
    YANK_REASON_FIELD_NUMBER: _ClassVar[int]
    version: str
    state: str
    published_at: _timestamp_pb2.Timestamp
    published_by: str
    source: str
    changelog: str
    key_id: str
    downloads: int
    yanked_at: _timestamp_pb2.Timestamp
    yank_reason: str
    def __init__(self, version: _Optional[str] = ..., state: _Optional[str] = ..., published_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., published_by: _Optional[str] = ..., source: _Optional[str] = ..., changelog: _Optional[str] = ..., key_id: _Optional[str] = ..., downloads: _Optional[int] = ..., yanked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., yank_reason: _Optional[str] = ...) -> None: ...

class SignatureStatus(_message.Message):
    __slots__ = ("verified", "key_id", "key_origin", "key_retired", "problem", "verdict")
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ORIGIN_FIELD_NUMBER: _ClassVar[int]
    KEY_RETIRED_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    verified: bool
    key_id: str
    key_origin: str
    key_retired: bool
    problem: str
    verdict: str
    def __init__(self, verified: _Optional[bool] = ..., key_id: _Optional[str] = ..., key_origin: _Optional[str] = ..., key_retired: _Optional[bool] = ..., problem: _Optional[str] = ..., verdict: _Optional[str] = ...) -> None: ...

class BinaryInfo(_message.Message):
    __slots__ = ("platform", "sha256", "size", "signature_b64", "hosted")
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_B64_FIELD_NUMBER: _ClassVar[int]
    HOSTED_FIELD_NUMBER: _ClassVar[int]
    platform: str
    sha256: str
    size: int
    signature_b64: str
    hosted: bool
    def __init__(self, platform: _Optional[str] = ..., sha256: _Optional[str] = ..., size: _Optional[int] = ..., signature_b64: _Optional[str] = ..., hosted: _Optional[bool] = ...) -> None: ...

class DayDownloads(_message.Message):
    __slots__ = ("day", "count")
    DAY_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    day: str
    count: int
    def __init__(self, day: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class VersionDetail(_message.Message):
    __slots__ = ("kind", "name", "version", "summary", "artifact", "meta_json", "fpl", "fpl_sha256", "yaml", "readme", "manifest_json", "binaries", "signature_json", "signature_status", "downloads_by_day", "import_line", "snippet")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    META_JSON_FIELD_NUMBER: _ClassVar[int]
    FPL_FIELD_NUMBER: _ClassVar[int]
    FPL_SHA256_FIELD_NUMBER: _ClassVar[int]
    YAML_FIELD_NUMBER: _ClassVar[int]
    README_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_JSON_FIELD_NUMBER: _ClassVar[int]
    BINARIES_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_JSON_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_STATUS_FIELD_NUMBER: _ClassVar[int]
    DOWNLOADS_BY_DAY_FIELD_NUMBER: _ClassVar[int]
    IMPORT_LINE_FIELD_NUMBER: _ClassVar[int]
    SNIPPET_FIELD_NUMBER: _ClassVar[int]
    kind: str
    name: str
    version: str
    summary: VersionSummary
    artifact: ArtifactSummary
    meta_json: str
    fpl: str
    fpl_sha256: str
    yaml: str
    readme: str
    manifest_json: str
    binaries: _containers.RepeatedCompositeFieldContainer[BinaryInfo]
    signature_json: str
    signature_status: SignatureStatus
    downloads_by_day: _containers.RepeatedCompositeFieldContainer[DayDownloads]
    import_line: str
    snippet: str
    def __init__(self, kind: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., summary: _Optional[_Union[VersionSummary, _Mapping]] = ..., artifact: _Optional[_Union[ArtifactSummary, _Mapping]] = ..., meta_json: _Optional[str] = ..., fpl: _Optional[str] = ..., fpl_sha256: _Optional[str] = ..., yaml: _Optional[str] = ..., readme: _Optional[str] = ..., manifest_json: _Optional[str] = ..., binaries: _Optional[_Iterable[_Union[BinaryInfo, _Mapping]]] = ..., signature_json: _Optional[str] = ..., signature_status: _Optional[_Union[SignatureStatus, _Mapping]] = ..., downloads_by_day: _Optional[_Iterable[_Union[DayDownloads, _Mapping]]] = ..., import_line: _Optional[str] = ..., snippet: _Optional[str] = ...) -> None: ...

class ImportCheck(_message.Message):
    __slots__ = ("line", "ref", "kind", "name", "version", "status", "reason", "key_id")
    LINE_FIELD_NUMBER: _ClassVar[int]
    REF_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    line: int
    ref: str
    kind: str
    name: str
    version: str
    status: str
    reason: str
    key_id: str
    def __init__(self, line: _Optional[int] = ..., ref: _Optional[str] = ..., kind: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ..., key_id: _Optional[str] = ...) -> None: ...

class TrustKey(_message.Message):
    __slots__ = ("key_id", "algorithm", "public_key_b64", "owner", "origin", "purpose", "created_at", "retired_at", "trust_snippet", "trusted")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_B64_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    RETIRED_AT_FIELD_NUMBER: _ClassVar[int]
    TRUST_SNIPPET_FIELD_NUMBER: _ClassVar[int]
    TRUSTED_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    algorithm: str
    public_key_b64: str
    owner: str
    origin: str
    purpose: str
    created_at: _timestamp_pb2.Timestamp
    retired_at: _timestamp_pb2.Timestamp
    trust_snippet: str
    trusted: bool
    def __init__(self, key_id: _Optional[str] = ..., algorithm: _Optional[str] = ..., public_key_b64: _Optional[str] = ..., owner: _Optional[str] = ..., origin: _Optional[str] = ..., purpose: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., retired_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., trust_snippet: _Optional[str] = ..., trusted: _Optional[bool] = ...) -> None: ...

class Alert(_message.Message):
    __slots__ = ("alert_id", "stack_id", "kind", "name", "imported_version", "latest_version", "yanked", "severity", "summary", "details_url", "raised_at", "handed_out", "delivered_at", "acked_at", "outcome", "message")
    ALERT_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    IMPORTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    LATEST_VERSION_FIELD_NUMBER: _ClassVar[int]
    YANKED_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    DETAILS_URL_FIELD_NUMBER: _ClassVar[int]
    RAISED_AT_FIELD_NUMBER: _ClassVar[int]
    HANDED_OUT_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_AT_FIELD_NUMBER: _ClassVar[int]
    ACKED_AT_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    alert_id: str
    stack_id: str
    kind: str
    name: str
    imported_version: str
    latest_version: str
    yanked: bool
    severity: str
    summary: str
    details_url: str
    raised_at: _timestamp_pb2.Timestamp
    handed_out: int
    delivered_at: _timestamp_pb2.Timestamp
    acked_at: _timestamp_pb2.Timestamp
    outcome: str
    message: str
    def __init__(self, alert_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., kind: _Optional[str] = ..., name: _Optional[str] = ..., imported_version: _Optional[str] = ..., latest_version: _Optional[str] = ..., yanked: _Optional[bool] = ..., severity: _Optional[str] = ..., summary: _Optional[str] = ..., details_url: _Optional[str] = ..., raised_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., handed_out: _Optional[int] = ..., delivered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., acked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., outcome: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class SearchRequest(_message.Message):
    __slots__ = ("kind", "text", "tier", "category", "capability", "platform", "namespace", "limit", "offset")
    KIND_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    kind: str
    text: str
    tier: str
    category: str
    capability: str
    platform: str
    namespace: str
    limit: int
    offset: int
    def __init__(self, kind: _Optional[str] = ..., text: _Optional[str] = ..., tier: _Optional[str] = ..., category: _Optional[str] = ..., capability: _Optional[str] = ..., platform: _Optional[str] = ..., namespace: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("items", "total", "limit", "offset")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ArtifactSummary]
    total: int
    limit: int
    offset: int
    def __init__(self, items: _Optional[_Iterable[_Union[ArtifactSummary, _Mapping]]] = ..., total: _Optional[int] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class GetFacetsRequest(_message.Message):
    __slots__ = ("kind",)
    KIND_FIELD_NUMBER: _ClassVar[int]
    kind: str
    def __init__(self, kind: _Optional[str] = ...) -> None: ...

class FacetValues(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, values: _Optional[_Iterable[str]] = ...) -> None: ...

class GetFacetsResponse(_message.Message):
    __slots__ = ("facets",)
    class FacetsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: FacetValues
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[FacetValues, _Mapping]] = ...) -> None: ...
    FACETS_FIELD_NUMBER: _ClassVar[int]
    facets: _containers.MessageMap[str, FacetValues]
    def __init__(self, facets: _Optional[_Mapping[str, FacetValues]] = ...) -> None: ...

class GetArtifactRequest(_message.Message):
    __slots__ = ("kind", "name")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    kind: str
    name: str
    def __init__(self, kind: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class GetArtifactResponse(_message.Message):
    __slots__ = ("artifact", "created_at", "versions", "downloads")
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    DOWNLOADS_FIELD_NUMBER: _ClassVar[int]
    artifact: ArtifactSummary
    created_at: _timestamp_pb2.Timestamp
    versions: _containers.RepeatedCompositeFieldContainer[VersionSummary]
    downloads: int
    def __init__(self, artifact: _Optional[_Union[ArtifactSummary, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., versions: _Optional[_Iterable[_Union[VersionSummary, _Mapping]]] = ..., downloads: _Optional[int] = ...) -> None: ...

class GetVersionRequest(_message.Message):
    __slots__ = ("kind", "name", "version", "org_id")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    kind: str
    name: str
    version: str
    org_id: str
    def __init__(self, kind: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., org_id: _Optional[str] = ...) -> None: ...

class GetVersionResponse(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: VersionDetail
    def __init__(self, version: _Optional[_Union[VersionDetail, _Mapping]] = ...) -> None: ...

class ListTrustKeysRequest(_message.Message):
    __slots__ = ("org_id",)
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    def __init__(self, org_id: _Optional[str] = ...) -> None: ...

class ListTrustKeysResponse(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[TrustKey]
    def __init__(self, keys: _Optional[_Iterable[_Union[TrustKey, _Mapping]]] = ...) -> None: ...

class CheckImportsRequest(_message.Message):
    __slots__ = ("governance_fms", "org_id")
    GOVERNANCE_FMS_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    governance_fms: str
    org_id: str
    def __init__(self, governance_fms: _Optional[str] = ..., org_id: _Optional[str] = ...) -> None: ...

class CheckImportsResponse(_message.Message):
    __slots__ = ("imports",)
    IMPORTS_FIELD_NUMBER: _ClassVar[int]
    imports: _containers.RepeatedCompositeFieldContainer[ImportCheck]
    def __init__(self, imports: _Optional[_Iterable[_Union[ImportCheck, _Mapping]]] = ...) -> None: ...

class ListOpenAlertsRequest(_message.Message):
    __slots__ = ("org_id", "stack_id", "limit")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    STACK_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    stack_id: str
    limit: int
    def __init__(self, org_id: _Optional[str] = ..., stack_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListOpenAlertsResponse(_message.Message):
    __slots__ = ("alerts",)
    ALERTS_FIELD_NUMBER: _ClassVar[int]
    alerts: _containers.RepeatedCompositeFieldContainer[Alert]
    def __init__(self, alerts: _Optional[_Iterable[_Union[Alert, _Mapping]]] = ...) -> None: ...

class SetTrustedKeysRequest(_message.Message):
    __slots__ = ("org_id", "actor", "key_ids")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    KEY_IDS_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: _publish_api_pb2.PublishActor
    key_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[_publish_api_pb2.PublishActor, _Mapping]] = ..., key_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class SetTrustedKeysResponse(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[TrustKey]
    def __init__(self, keys: _Optional[_Iterable[_Union[TrustKey, _Mapping]]] = ...) -> None: ...
