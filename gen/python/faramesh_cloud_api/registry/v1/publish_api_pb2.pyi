import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PublishActor(_message.Message):
    __slots__ = ("type", "id", "label", "ip")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    type: str
    id: str
    label: str
    ip: str
    def __init__(self, type: _Optional[str] = ..., id: _Optional[str] = ..., label: _Optional[str] = ..., ip: _Optional[str] = ...) -> None: ...

class Publisher(_message.Message):
    __slots__ = ("namespace", "org_id", "display_name", "state", "claimed_at", "claimed_by", "reviewed_at", "reviewed_by", "reason")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CLAIMED_AT_FIELD_NUMBER: _ClassVar[int]
    CLAIMED_BY_FIELD_NUMBER: _ClassVar[int]
    REVIEWED_AT_FIELD_NUMBER: _ClassVar[int]
    REVIEWED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    org_id: str
    display_name: str
    state: str
    claimed_at: _timestamp_pb2.Timestamp
    claimed_by: str
    reviewed_at: _timestamp_pb2.Timestamp
    reviewed_by: str
    reason: str
    def __init__(self, namespace: _Optional[str] = ..., org_id: _Optional[str] = ..., display_name: _Optional[str] = ..., state: _Optional[str] = ..., claimed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., claimed_by: _Optional[str] = ..., reviewed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reviewed_by: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class Submission(_message.Message):
    __slots__ = ("submission_id", "org_id", "kind", "name", "version", "state", "submitted_at", "submitted_by", "description", "changelog", "category", "domains", "meta_json", "body_sha256", "readme_sha256", "manifest_json", "binaries_json", "reviewed_at", "reviewed_by", "reason")
    SUBMISSION_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_BY_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CHANGELOG_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    DOMAINS_FIELD_NUMBER: _ClassVar[int]
    META_JSON_FIELD_NUMBER: _ClassVar[int]
    BODY_SHA256_FIELD_NUMBER: _ClassVar[int]
    README_SHA256_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_JSON_FIELD_NUMBER: _ClassVar[int]
    BINARIES_JSON_FIELD_NUMBER: _ClassVar[int]
    REVIEWED_AT_FIELD_NUMBER: _ClassVar[int]
    REVIEWED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    submission_id: str
    org_id: str
    kind: str
    name: str
    version: str
    state: str
    submitted_at: _timestamp_pb2.Timestamp
    submitted_by: str
    description: str
    changelog: str
    category: str
    domains: _containers.RepeatedScalarFieldContainer[str]
    meta_json: str
    body_sha256: str
    readme_sha256: str
    manifest_json: str
    binaries_json: str
    reviewed_at: _timestamp_pb2.Timestamp
    reviewed_by: str
    reason: str
    def __init__(self, submission_id: _Optional[str] = ..., org_id: _Optional[str] = ..., kind: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., state: _Optional[str] = ..., submitted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., submitted_by: _Optional[str] = ..., description: _Optional[str] = ..., changelog: _Optional[str] = ..., category: _Optional[str] = ..., domains: _Optional[_Iterable[str]] = ..., meta_json: _Optional[str] = ..., body_sha256: _Optional[str] = ..., readme_sha256: _Optional[str] = ..., manifest_json: _Optional[str] = ..., binaries_json: _Optional[str] = ..., reviewed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reviewed_by: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class IssueReply(_message.Message):
    __slots__ = ("reply_id", "author", "body", "created_at")
    REPLY_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    reply_id: str
    author: str
    body: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, reply_id: _Optional[str] = ..., author: _Optional[str] = ..., body: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class IssueReport(_message.Message):
    __slots__ = ("issue_id", "kind", "name", "version", "reporter_org_id", "reporter", "title", "body", "created_at", "replies")
    ISSUE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REPORTER_ORG_ID_FIELD_NUMBER: _ClassVar[int]
    REPORTER_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    REPLIES_FIELD_NUMBER: _ClassVar[int]
    issue_id: str
    kind: str
    name: str
    version: str
    reporter_org_id: str
    reporter: str
    title: str
    body: str
    created_at: _timestamp_pb2.Timestamp
    replies: _containers.RepeatedCompositeFieldContainer[IssueReply]
    def __init__(self, issue_id: _Optional[str] = ..., kind: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., reporter_org_id: _Optional[str] = ..., reporter: _Optional[str] = ..., title: _Optional[str] = ..., body: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., replies: _Optional[_Iterable[_Union[IssueReply, _Mapping]]] = ...) -> None: ...

class PublishDayDownloads(_message.Message):
    __slots__ = ("day", "count")
    DAY_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    day: str
    count: int
    def __init__(self, day: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class StackUse(_message.Message):
    __slots__ = ("own_stack_ids", "other_orgs_stacks")
    OWN_STACK_IDS_FIELD_NUMBER: _ClassVar[int]
    OTHER_ORGS_STACKS_FIELD_NUMBER: _ClassVar[int]
    own_stack_ids: _containers.RepeatedScalarFieldContainer[str]
    other_orgs_stacks: int
    def __init__(self, own_stack_ids: _Optional[_Iterable[str]] = ..., other_orgs_stacks: _Optional[int] = ...) -> None: ...

class VersionStats(_message.Message):
    __slots__ = ("version", "state", "published_at", "yanked_at", "yank_reason", "downloads_total", "downloads_by_day", "used_by")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_AT_FIELD_NUMBER: _ClassVar[int]
    YANKED_AT_FIELD_NUMBER: _ClassVar[int]
    YANK_REASON_FIELD_NUMBER: _ClassVar[int]
    DOWNLOADS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    DOWNLOADS_BY_DAY_FIELD_NUMBER: _ClassVar[int]
    USED_BY_FIELD_NUMBER: _ClassVar[int]
    version: str
    state: str
    published_at: _timestamp_pb2.Timestamp
    yanked_at: _timestamp_pb2.Timestamp
    yank_reason: str
    downloads_total: int
    downloads_by_day: _containers.RepeatedCompositeFieldContainer[PublishDayDownloads]
    used_by: StackUse
    def __init__(self, version: _Optional[str] = ..., state: _Optional[str] = ..., published_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., yanked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., yank_reason: _Optional[str] = ..., downloads_total: _Optional[int] = ..., downloads_by_day: _Optional[_Iterable[_Union[PublishDayDownloads, _Mapping]]] = ..., used_by: _Optional[_Union[StackUse, _Mapping]] = ...) -> None: ...

class MyArtifact(_message.Message):
    __slots__ = ("kind", "name", "trust_tier", "versions", "submissions", "issues")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TRUST_TIER_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    SUBMISSIONS_FIELD_NUMBER: _ClassVar[int]
    ISSUES_FIELD_NUMBER: _ClassVar[int]
    kind: str
    name: str
    trust_tier: str
    versions: _containers.RepeatedCompositeFieldContainer[VersionStats]
    submissions: _containers.RepeatedCompositeFieldContainer[Submission]
    issues: _containers.RepeatedCompositeFieldContainer[IssueReport]
    def __init__(self, kind: _Optional[str] = ..., name: _Optional[str] = ..., trust_tier: _Optional[str] = ..., versions: _Optional[_Iterable[_Union[VersionStats, _Mapping]]] = ..., submissions: _Optional[_Iterable[_Union[Submission, _Mapping]]] = ..., issues: _Optional[_Iterable[_Union[IssueReport, _Mapping]]] = ...) -> None: ...

class PackInput(_message.Message):
    __slots__ = ("kind", "name", "version", "fpl", "readme", "changelog", "description", "category", "domains", "parameter_schema_json", "signature_json")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FPL_FIELD_NUMBER: _ClassVar[int]
    README_FIELD_NUMBER: _ClassVar[int]
    CHANGELOG_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    DOMAINS_FIELD_NUMBER: _ClassVar[int]
    PARAMETER_SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_JSON_FIELD_NUMBER: _ClassVar[int]
    kind: str
    name: str
    version: str
    fpl: str
    readme: str
    changelog: str
    description: str
    category: str
    domains: _containers.RepeatedScalarFieldContainer[str]
    parameter_schema_json: str
    signature_json: str
    def __init__(self, kind: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., fpl: _Optional[str] = ..., readme: _Optional[str] = ..., changelog: _Optional[str] = ..., description: _Optional[str] = ..., category: _Optional[str] = ..., domains: _Optional[_Iterable[str]] = ..., parameter_schema_json: _Optional[str] = ..., signature_json: _Optional[str] = ...) -> None: ...

class ProviderInput(_message.Message):
    __slots__ = ("name", "version", "capabilities", "config_schema_json", "dev_only", "description", "changelog", "readme", "expected_sha256", "smoke_config")
    class ExpectedSha256Entry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class SmokeConfigEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    CONFIG_SCHEMA_JSON_FIELD_NUMBER: _ClassVar[int]
    DEV_ONLY_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CHANGELOG_FIELD_NUMBER: _ClassVar[int]
    README_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_SHA256_FIELD_NUMBER: _ClassVar[int]
    SMOKE_CONFIG_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    config_schema_json: str
    dev_only: bool
    description: str
    changelog: str
    readme: str
    expected_sha256: _containers.ScalarMap[str, str]
    smoke_config: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., capabilities: _Optional[_Iterable[str]] = ..., config_schema_json: _Optional[str] = ..., dev_only: _Optional[bool] = ..., description: _Optional[str] = ..., changelog: _Optional[str] = ..., readme: _Optional[str] = ..., expected_sha256: _Optional[_Mapping[str, str]] = ..., smoke_config: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ClaimNamespaceRequest(_message.Message):
    __slots__ = ("org_id", "actor", "namespace", "display_name")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: PublishActor
    namespace: str
    display_name: str
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[PublishActor, _Mapping]] = ..., namespace: _Optional[str] = ..., display_name: _Optional[str] = ...) -> None: ...

class PublisherResponse(_message.Message):
    __slots__ = ("publisher",)
    PUBLISHER_FIELD_NUMBER: _ClassVar[int]
    publisher: Publisher
    def __init__(self, publisher: _Optional[_Union[Publisher, _Mapping]] = ...) -> None: ...

class PublishersResponse(_message.Message):
    __slots__ = ("publishers",)
    PUBLISHERS_FIELD_NUMBER: _ClassVar[int]
    publishers: _containers.RepeatedCompositeFieldContainer[Publisher]
    def __init__(self, publishers: _Optional[_Iterable[_Union[Publisher, _Mapping]]] = ...) -> None: ...

class ListNamespacesRequest(_message.Message):
    __slots__ = ("org_id",)
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    def __init__(self, org_id: _Optional[str] = ...) -> None: ...

class ReviewNamespaceRequest(_message.Message):
    __slots__ = ("actor", "namespace", "confirm", "reason")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    CONFIRM_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    actor: PublishActor
    namespace: str
    confirm: bool
    reason: str
    def __init__(self, actor: _Optional[_Union[PublishActor, _Mapping]] = ..., namespace: _Optional[str] = ..., confirm: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class ActorRequest(_message.Message):
    __slots__ = ("actor",)
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    actor: PublishActor
    def __init__(self, actor: _Optional[_Union[PublishActor, _Mapping]] = ...) -> None: ...

class SubmitPackRequest(_message.Message):
    __slots__ = ("org_id", "actor", "pack")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    PACK_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: PublishActor
    pack: PackInput
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[PublishActor, _Mapping]] = ..., pack: _Optional[_Union[PackInput, _Mapping]] = ...) -> None: ...

class ProviderSubmission(_message.Message):
    __slots__ = ("org_id", "actor", "provider", "platforms")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PLATFORMS_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: PublishActor
    provider: ProviderInput
    platforms: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[PublishActor, _Mapping]] = ..., provider: _Optional[_Union[ProviderInput, _Mapping]] = ..., platforms: _Optional[_Iterable[str]] = ...) -> None: ...

class BinaryChunk(_message.Message):
    __slots__ = ("platform", "data")
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    platform: str
    data: bytes
    def __init__(self, platform: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class SubmitProviderMessage(_message.Message):
    __slots__ = ("submission", "chunk")
    SUBMISSION_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    submission: ProviderSubmission
    chunk: BinaryChunk
    def __init__(self, submission: _Optional[_Union[ProviderSubmission, _Mapping]] = ..., chunk: _Optional[_Union[BinaryChunk, _Mapping]] = ...) -> None: ...

class SubmissionResponse(_message.Message):
    __slots__ = ("submission",)
    SUBMISSION_FIELD_NUMBER: _ClassVar[int]
    submission: Submission
    def __init__(self, submission: _Optional[_Union[Submission, _Mapping]] = ...) -> None: ...

class SubmissionsResponse(_message.Message):
    __slots__ = ("submissions",)
    SUBMISSIONS_FIELD_NUMBER: _ClassVar[int]
    submissions: _containers.RepeatedCompositeFieldContainer[Submission]
    def __init__(self, submissions: _Optional[_Iterable[_Union[Submission, _Mapping]]] = ...) -> None: ...

class ListSubmissionsRequest(_message.Message):
    __slots__ = ("org_id",)
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    def __init__(self, org_id: _Optional[str] = ...) -> None: ...

class GetSubmissionRequest(_message.Message):
    __slots__ = ("actor", "submission_id", "org_id")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    SUBMISSION_ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    actor: PublishActor
    submission_id: str
    org_id: str
    def __init__(self, actor: _Optional[_Union[PublishActor, _Mapping]] = ..., submission_id: _Optional[str] = ..., org_id: _Optional[str] = ...) -> None: ...

class GetSubmissionFplRequest(_message.Message):
    __slots__ = ("submission",)
    SUBMISSION_FIELD_NUMBER: _ClassVar[int]
    submission: Submission
    def __init__(self, submission: _Optional[_Union[Submission, _Mapping]] = ...) -> None: ...

class GetSubmissionFplResponse(_message.Message):
    __slots__ = ("fpl",)
    FPL_FIELD_NUMBER: _ClassVar[int]
    fpl: str
    def __init__(self, fpl: _Optional[str] = ...) -> None: ...

class IsReviewerResponse(_message.Message):
    __slots__ = ("reviewer",)
    REVIEWER_FIELD_NUMBER: _ClassVar[int]
    reviewer: bool
    def __init__(self, reviewer: _Optional[bool] = ...) -> None: ...

class ReviewSubmissionRequest(_message.Message):
    __slots__ = ("actor", "submission_id", "text")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    SUBMISSION_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    actor: PublishActor
    submission_id: str
    text: str
    def __init__(self, actor: _Optional[_Union[PublishActor, _Mapping]] = ..., submission_id: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class YankRequest(_message.Message):
    __slots__ = ("actor", "org_id", "kind", "name", "version", "reason")
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    actor: PublishActor
    org_id: str
    kind: str
    name: str
    version: str
    reason: str
    def __init__(self, actor: _Optional[_Union[PublishActor, _Mapping]] = ..., org_id: _Optional[str] = ..., kind: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class YankResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MyArtifactsRequest(_message.Message):
    __slots__ = ("org_id",)
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    def __init__(self, org_id: _Optional[str] = ...) -> None: ...

class MyArtifactsResponse(_message.Message):
    __slots__ = ("artifacts",)
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    artifacts: _containers.RepeatedCompositeFieldContainer[MyArtifact]
    def __init__(self, artifacts: _Optional[_Iterable[_Union[MyArtifact, _Mapping]]] = ...) -> None: ...

class FileIssueRequest(_message.Message):
    __slots__ = ("org_id", "actor", "kind", "name", "version", "title", "body")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: PublishActor
    kind: str
    name: str
    version: str
    title: str
    body: str
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[PublishActor, _Mapping]] = ..., kind: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., title: _Optional[str] = ..., body: _Optional[str] = ...) -> None: ...

class IssueResponse(_message.Message):
    __slots__ = ("issue",)
    ISSUE_FIELD_NUMBER: _ClassVar[int]
    issue: IssueReport
    def __init__(self, issue: _Optional[_Union[IssueReport, _Mapping]] = ...) -> None: ...

class ReplyIssueRequest(_message.Message):
    __slots__ = ("org_id", "actor", "issue_id", "body")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ISSUE_ID_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    actor: PublishActor
    issue_id: str
    body: str
    def __init__(self, org_id: _Optional[str] = ..., actor: _Optional[_Union[PublishActor, _Mapping]] = ..., issue_id: _Optional[str] = ..., body: _Optional[str] = ...) -> None: ...

class ListIssuesFiledRequest(_message.Message):
    __slots__ = ("org_id",)
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    def __init__(self, org_id: _Optional[str] = ...) -> None: ...

class IssuesResponse(_message.Message):
    __slots__ = ("issues",)
    ISSUES_FIELD_NUMBER: _ClassVar[int]
    issues: _containers.RepeatedCompositeFieldContainer[IssueReport]
    def __init__(self, issues: _Optional[_Iterable[_Union[IssueReport, _Mapping]]] = ...) -> None: ...
