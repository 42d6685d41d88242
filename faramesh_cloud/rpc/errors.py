"""What a caller of another service's internal API sees when that service does not answer.

No gRPC import here: the gateway maps :class:`ServiceUnavailable` to a 503 page or JSON
answer without loading gRPC, and a client adapter of any transport can raise it.
"""

from __future__ import annotations


class ServiceUnavailable(ConnectionError):
    """``service`` did not answer a call (down, unreachable, too slow, or refusing this caller).

    ``str()`` is the detail for operators and logs (address, gRPC status); :attr:`public`
    is what a person may be shown: it names the service, not where it runs."""

    def __init__(self, service: str, detail: str) -> None:
        super().__init__(f"the {service} service did not answer: {detail}")
        self.service = service
        self.detail = detail

    @property
    def public(self) -> str:
        return (f"The {self.service} service is not answering right now, so this cannot be shown. Try again in a "
                f"moment; if it lasts, an administrator should check that the {self.service} service is running "
                "(Cloud's status page lists every service).")


class InvalidRequest(ValueError):
    """The called service refused the request as malformed (gRPC INVALID_ARGUMENT): a bug in the
    caller, not an outage; the message is the service's."""
