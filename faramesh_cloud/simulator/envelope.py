"""The approval envelope a daemon signs when a defer is resolved (FARAMESH_FORMATS 3.3).

``signature`` = hex HMAC-SHA256(daemon HMAC key, ``token|approver_id|approved|reason|status|
resolved_at|modified_args``), with ``approved`` as ``true``/``false``, ``resolved_at`` in
RFC 3339 with trimmed nanoseconds (UTC) and ``modified_args`` the Go-JSON of the modified
arguments or empty. The envelope travels inside the resume DPR's ``approval_envelope`` as
the Go-JSON of ``{token, approver_id?, approved, reason?, status, resolved_at,
modified_args?, signature}`` (``?`` = omitted when empty). Pure.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from faramesh_cloud.dpr.gojson import dumps
from faramesh_cloud.simulator.records import rfc3339_nano


def envelope_message(token: str, approver_id: str, approved: bool, reason: str, status: str,
                     resolved_at: str, modified_args: str = "") -> bytes:
    fields = (token, approver_id, "true" if approved else "false", reason, status, resolved_at, modified_args)
    return "|".join(fields).encode("utf-8")


def approval_envelope(
    key: bytes,
    *,
    token: str,
    approver_id: str,
    approved: bool,
    reason: str,
    status: str,
    resolved_ns: int,
    modified_args: Mapping[str, Any] | None = None,
) -> str:
    """The signed envelope as the JSON string the resume DPR carries."""
    resolved_at = rfc3339_nano(resolved_ns)
    modified = dumps(dict(modified_args)).decode() if modified_args else ""
    signature = hmac.new(
        key, envelope_message(token, approver_id, approved, reason, status, resolved_at, modified),
        hashlib.sha256,
    ).hexdigest()
    document: dict[str, Any] = {"token": token}
    if approver_id:
        document["approver_id"] = approver_id
    document["approved"] = approved
    if reason:
        document["reason"] = reason
    document["status"] = status
    document["resolved_at"] = resolved_at
    if modified_args:
        document["modified_args"] = dict(modified_args)
    document["signature"] = signature
    return dumps(document).decode("utf-8")
