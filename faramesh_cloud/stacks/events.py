"""The stacks component's events (``faramesh_cloud_api.stacks.v1``) on ``stacks.signing_keys.v1``:
a DPR signing key pinned for a stack, or revoked, and from when that counts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from faramesh_cloud_api.stacks.v1 import events_pb2 as pb

from faramesh_cloud.events.records import event_record
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.rpc.wire import instant


def _new_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class SigningKeyPinned:
    org_id: str
    stack_id: str
    key_id: str
    public_key: str
    label: str
    actor: str
    effective_at: datetime  # records received from then on are checked against it
    event_id: str = field(default_factory=_new_id)

    def record(self) -> LogRecord:
        value = pb.SigningKeyPinned(
            event_id=self.event_id, occurred_at=instant(self.effective_at), org_id=self.org_id, stack_id=self.stack_id,
            key_id=self.key_id, public_key=self.public_key, label=self.label, actor=self.actor,
            effective_at=instant(self.effective_at)).SerializeToString()
        return event_record(self.org_id, self.stack_id, "SigningKeyPinned", self.event_id, value)


@dataclass(frozen=True, slots=True)
class SigningKeyUnpinned:
    org_id: str
    stack_id: str
    key_id: str
    actor: str
    effective_at: datetime  # records received from then on no longer count it
    event_id: str = field(default_factory=_new_id)

    def record(self) -> LogRecord:
        value = pb.SigningKeyUnpinned(
            event_id=self.event_id, occurred_at=instant(self.effective_at), org_id=self.org_id, stack_id=self.stack_id,
            key_id=self.key_id, actor=self.actor, effective_at=instant(self.effective_at)).SerializeToString()
        return event_record(self.org_id, self.stack_id, "SigningKeyUnpinned", self.event_id, value)


SigningKeyEvent = SigningKeyPinned | SigningKeyUnpinned
