"""A daemon of another region at this region's door: the redirect hint (docs/sync-api.md §7).

Asked only after this region's own key (or webhook stack) lookup failed, so a daemon of this
region never pays for it, and a single-region install (no region) never asks at all.

* gRPC: ``PERMISSION_DENIED`` (the daemon keeps buffering and loses nothing, §7), the message
  naming the region and its sync address, and a ``google.rpc.ErrorInfo`` (reason
  ``STACK_IN_OTHER_REGION``, domain ``sync.faramesh-cloud``, metadata ``region``,
  ``sync_address``, ``url``) for a daemon that follows it without a person.
* HTTP feeds: ``421 Misdirected Request`` with ``{"error", "region", "sync_address", "url"}``.

Only the region's name and its public addresses are said; nothing about the stack.
"""

from __future__ import annotations

from typing import Any, Final

from google.rpc import error_details_pb2

from faramesh_cloud.directory.region import Elsewhere

REASON: Final = "STACK_IN_OTHER_REGION"
DOMAIN: Final = "sync.faramesh-cloud"
HTTP_STATUS: Final = 421


def message(elsewhere: Elsewhere, what: str = "stack API key") -> str:
    where = elsewhere.sync_address or elsewhere.gateway_url or "that region's Cloud address"
    return (f"this {what} belongs to region {elsewhere.region}, not this one; point the daemon at "
            f"region {elsewhere.region} ({where}): set cloud_url to that region's address")


def error_info(elsewhere: Elsewhere) -> error_details_pb2.ErrorInfo:
    return error_details_pb2.ErrorInfo(reason=REASON, domain=DOMAIN, metadata={
        "region": elsewhere.region, "sync_address": elsewhere.sync_address, "url": elsewhere.gateway_url})


def http_body(elsewhere: Elsewhere, what: str) -> dict[str, Any]:
    return {"error": message(elsewhere, what), "region": elsewhere.region,
            "sync_address": elsewhere.sync_address, "url": elsewhere.gateway_url}
