"""What a caller of another service's internal API sees when that service does not answer.

No gRPC import here: the gateway maps :class:`ServiceUnavailable` to a 503 page or JSON
answer without loading gRPC, and a client adapter of any transport can raise it.
"""

from __future__ import annotations


class ServiceUnavailable(ConnectionError):
    """``service`` did not answer a call (down, unreachable, too slow, or refusing this caller).

    ``str()`` is the detail for operators and logs (address, gRPC status); :attr:`public`
    is what a person may be shown: it names the service, not where it runs.
    :attr:`retry_after_s`: when to try again, if the service said (None: the caller's default)."""

    retry_after_s: int | None = None

    def __init__(self, service: str, detail: str) -> None:
        super().__init__(f"the {service} service did not answer: {detail}")
        self.service = service
        self.detail = detail

    @property
    def public(self) -> str:
        return (f"The {self.service} service is not answering right now, so this cannot be shown. Try again in a "
                f"moment; if it lasts, an administrator should check that the {self.service} service is running "
                "(Cloud's status page lists every service).")

    @property
    def headline(self) -> str:
        return f"The {self.service} service is not answering"


class ServiceBusy(ServiceUnavailable):
    """``service`` answered but takes no such request now, for a while (it is rebuilding its
    state from the log, say): ``reason`` is its own words, for people too, and
    ``retry_after_s`` when to try again. Over gRPC: UNAVAILABLE with the trailing metadata
    ``retry-after`` (``rpc/internal_client.py``); the gateway answers 503 with Retry-After."""

    def __init__(self, service: str, reason: str, retry_after_s: int = 30) -> None:
        super().__init__(service, reason)
        self.args = (reason,)
        self.retry_after_s = retry_after_s

    @property
    def public(self) -> str:
        return self.detail

    @property
    def headline(self) -> str:
        return f"The {self.service} service is busy"


class OutcomeUnknown(ServiceUnavailable):
    """A change was sent to ``service`` and no answer came back in time (the call's deadline
    passed): it may have been applied, in part or whole. ``check`` says where a person sees
    whether it was; the message says so rather than "try again" (a repeated kill is a second
    kill)."""

    def __init__(self, service: str, detail: str, check: str) -> None:
        super().__init__(service, detail)
        self.check = check

    @property
    def public(self) -> str:
        return (f"The {self.service} service did not confirm this change in time, so it may have been applied "
                f"(wholly or in part). Check {self.check} before doing it again.")

    @property
    def headline(self) -> str:
        return f"The {self.service} service did not confirm the change"


class InvalidRequest(ValueError):
    """The called service refused the request as malformed (gRPC INVALID_ARGUMENT): a bug in the
    caller, not an outage; the message is the service's."""
