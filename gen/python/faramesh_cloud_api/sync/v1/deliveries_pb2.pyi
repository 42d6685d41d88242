import datetime

from faramesh_cloud_api.sync.v1 import approvals_pb2 as _approvals_pb2
from faramesh_cloud_api.sync.v1 import registry_pb2 as _registry_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NotificationChannel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NOTIFICATION_CHANNEL_UNSPECIFIED: _ClassVar[NotificationChannel]
    NOTIFICATION_CHANNEL_SLACK: _ClassVar[NotificationChannel]
    NOTIFICATION_CHANNEL_PAGERDUTY: _ClassVar[NotificationChannel]
    NOTIFICATION_CHANNEL_EMAIL: _ClassVar[NotificationChannel]
    NOTIFICATION_CHANNEL_WEBHOOK: _ClassVar[NotificationChannel]

class DeliveryOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELIVERY_OUTCOME_UNSPECIFIED: _ClassVar[DeliveryOutcome]
    DELIVERY_OUTCOME_ACCEPTED: _ClassVar[DeliveryOutcome]
    DELIVERY_OUTCOME_CONFLICT: _ClassVar[DeliveryOutcome]
    DELIVERY_OUTCOME_NOT_FOUND: _ClassVar[DeliveryOutcome]
    DELIVERY_OUTCOME_REFUSED: _ClassVar[DeliveryOutcome]
    DELIVERY_OUTCOME_UNSUPPORTED: _ClassVar[DeliveryOutcome]
NOTIFICATION_CHANNEL_UNSPECIFIED: NotificationChannel
NOTIFICATION_CHANNEL_SLACK: NotificationChannel
NOTIFICATION_CHANNEL_PAGERDUTY: NotificationChannel
NOTIFICATION_CHANNEL_EMAIL: NotificationChannel
NOTIFICATION_CHANNEL_WEBHOOK: NotificationChannel
DELIVERY_OUTCOME_UNSPECIFIED: DeliveryOutcome
DELIVERY_OUTCOME_ACCEPTED: DeliveryOutcome
DELIVERY_OUTCOME_CONFLICT: DeliveryOutcome
DELIVERY_OUTCOME_NOT_FOUND: DeliveryOutcome
DELIVERY_OUTCOME_REFUSED: DeliveryOutcome
DELIVERY_OUTCOME_UNSUPPORTED: DeliveryOutcome

class NotificationRoute(_message.Message):
    __slots__ = ("agent_id", "channel", "destination_label", "escalate_after")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_LABEL_FIELD_NUMBER: _ClassVar[int]
    ESCALATE_AFTER_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    channel: NotificationChannel
    destination_label: str
    escalate_after: _duration_pb2.Duration
    def __init__(self, agent_id: _Optional[str] = ..., channel: _Optional[_Union[NotificationChannel, str]] = ..., destination_label: _Optional[str] = ..., escalate_after: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class NotificationConfigUpdate(_message.Message):
    __slots__ = ("revision", "routes", "cloud_notifies_approvers", "updated_at")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    ROUTES_FIELD_NUMBER: _ClassVar[int]
    CLOUD_NOTIFIES_APPROVERS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    revision: int
    routes: _containers.RepeatedCompositeFieldContainer[NotificationRoute]
    cloud_notifies_approvers: bool
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, revision: _Optional[int] = ..., routes: _Optional[_Iterable[_Union[NotificationRoute, _Mapping]]] = ..., cloud_notifies_approvers: _Optional[bool] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Delivery(_message.Message):
    __slots__ = ("delivery_id", "created_at", "approval_decision", "notification_config_update", "registry_pack_alert")
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_DECISION_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_CONFIG_UPDATE_FIELD_NUMBER: _ClassVar[int]
    REGISTRY_PACK_ALERT_FIELD_NUMBER: _ClassVar[int]
    delivery_id: str
    created_at: _timestamp_pb2.Timestamp
    approval_decision: _approvals_pb2.ApprovalDecision
    notification_config_update: NotificationConfigUpdate
    registry_pack_alert: _registry_pb2.RegistryPackAlert
    def __init__(self, delivery_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., approval_decision: _Optional[_Union[_approvals_pb2.ApprovalDecision, _Mapping]] = ..., notification_config_update: _Optional[_Union[NotificationConfigUpdate, _Mapping]] = ..., registry_pack_alert: _Optional[_Union[_registry_pb2.RegistryPackAlert, _Mapping]] = ...) -> None: ...

class DeliveryAck(_message.Message):
    __slots__ = ("delivery_id", "outcome", "message", "processed_at", "dpr_record_id")
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PROCESSED_AT_FIELD_NUMBER: _ClassVar[int]
    DPR_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    delivery_id: str
    outcome: DeliveryOutcome
    message: str
    processed_at: _timestamp_pb2.Timestamp
    dpr_record_id: str
    def __init__(self, delivery_id: _Optional[str] = ..., outcome: _Optional[_Union[DeliveryOutcome, str]] = ..., message: _Optional[str] = ..., processed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., dpr_record_id: _Optional[str] = ...) -> None: ...
