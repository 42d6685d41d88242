"""What ingest tells daemons in ``HelloResponse`` and enforces on every call."""

from __future__ import annotations

from dataclasses import dataclass, field

from faramesh_cloud.ingest.limits import IngestLimits


class IngestConfigError(ValueError):
    """An ingest setting that cannot work; the message says which and what to do."""


@dataclass(frozen=True, slots=True)
class IngestConfig:
    limits: IngestLimits = field(default_factory=IngestLimits)
    push_interval_s: float = 5.0
    decision_poll_interval_s: float = 5.0
    emergency_poll_interval_s: float = 30.0  # the spec's default
    status_interval_s: float = 60.0
    max_poll_wait_s: float = 25.0
    shutdown_grace_s: float = 5.0  # in-flight calls may finish this long on stop()

    def __post_init__(self) -> None:
        for name in ("push_interval_s", "decision_poll_interval_s", "emergency_poll_interval_s",
                     "status_interval_s", "max_poll_wait_s"):
            if getattr(self, name) <= 0:
                raise IngestConfigError(f"{name} must be positive, got {getattr(self, name)}")
        if self.shutdown_grace_s < 0:
            raise IngestConfigError(f"shutdown_grace_s must be 0 or more, got {self.shutdown_grace_s}")
