"""The DPR field tables: every field in Go struct declaration order (FARAMESH_FORMATS.md 1.2),
and the hashed subset in its own order (1.4.2).

``FIELDS``: each field's JSON kind, whether ``record_hash`` covers it and whether the
canonical form omits it when empty; the single source for parsing and building records, and
the order of a record's Go-JSON (a WAL frame, an export line).

``CANONICAL_ORDER``: the keys of the hashed object in the order of upstream's ``canon`` struct
(``Record.CanonicalBytes``), which legacy mode keeps. It is not the struct order: the struct
declares ``degraded_mode`` before the batch and defer/approval fields, the hashed object puts
it after ``cascade_path``, just before ``created_at``. JCS mode sorts the same keys.
"""

from __future__ import annotations

from enum import Enum
from typing import Final


class Kind(Enum):
    STR = "string"
    INT = "integer"
    BOOL = "boolean"
    STR_LIST = "list of strings"
    STR_MAP = "object of strings"
    OBJECT = "object"


# (json key, kind, hashed, omitted from the canonical form when empty)
FIELDS: Final[tuple[tuple[str, Kind, bool, bool], ...]] = (
    ("schema_version", Kind.STR, True, False),
    ("fpl_version", Kind.STR, True, True),
    ("car_version", Kind.STR, True, True),
    ("canonicalization_algorithm", Kind.STR, True, True),
    ("record_id", Kind.STR, True, False),
    ("prev_record_hash", Kind.STR, True, False),
    ("record_hash", Kind.STR, False, False),
    ("hmac_signature", Kind.STR, False, True),
    ("signature", Kind.STR, False, True),
    ("signature_algorithm", Kind.STR, False, True),
    ("signer_public_key", Kind.STR, False, True),
    ("kms_signature", Kind.STR, False, True),
    ("kms_key_ref", Kind.STR, False, True),
    ("agent_id", Kind.STR, True, False),
    ("session_id", Kind.STR, True, False),
    ("tool_id", Kind.STR, True, False),
    ("action_type", Kind.STR, False, True),
    ("lamport_seq", Kind.INT, False, True),
    ("reasoning_summary", Kind.STR, False, True),
    ("intercept_adapter", Kind.STR, True, False),
    ("execution_timeout_ms", Kind.INT, True, True),
    ("principal_id_hash", Kind.STR, True, True),
    ("effect", Kind.STR, True, False),
    ("matched_rule_id", Kind.STR, True, False),
    ("reason_code", Kind.STR, True, False),
    ("reason", Kind.STR, False, False),
    ("denial_token", Kind.STR, True, True),
    ("incident_category", Kind.STR, True, True),
    ("incident_severity", Kind.STR, True, True),
    ("policy_version", Kind.STR, True, False),
    ("policy_source_type", Kind.STR, False, True),
    ("policy_source_id", Kind.STR, False, True),
    ("args_structural_sig", Kind.STR, True, False),
    ("arg_provenance", Kind.STR_MAP, False, True),
    ("selector_snapshot", Kind.OBJECT, False, True),
    ("hardening_mode", Kind.STR, True, True),
    ("network_host_hash", Kind.STR, True, True),
    ("network_port", Kind.INT, True, True),
    ("network_resolved_ip_hash", Kind.STR, True, True),
    ("network_audit_bypass", Kind.BOOL, True, True),
    ("inference_model_rewrite_applied", Kind.BOOL, True, True),
    ("custom_operators_evaluated", Kind.STR_LIST, False, True),
    ("operator_results", Kind.OBJECT, False, True),
    ("operator_registry_hash", Kind.STR, False, True),
    ("workflow_phase", Kind.STR, True, True),
    ("phase_transition_record", Kind.BOOL, False, True),
    ("credential_brokered", Kind.BOOL, True, True),
    ("credential_source", Kind.STR, False, True),
    ("credential_scope", Kind.STR, False, True),
    ("execution_environment", Kind.STR, False, True),
    ("invoked_by_agent_id", Kind.STR, False, True),
    ("invoked_by_dpr_record_id", Kind.STR, False, True),
    ("inner_governance_dpr_record_id", Kind.STR, False, True),
    ("callbacks_fired", Kind.STR_LIST, False, True),
    ("callback_errors", Kind.STR_LIST, False, True),
    ("degraded_mode", Kind.STR, True, True),
    ("batch_approval", Kind.BOOL, False, True),
    ("batch_size", Kind.INT, False, True),
    ("batch_dpr_ids", Kind.STR_LIST, False, True),
    ("resolved_by_batch", Kind.BOOL, False, True),
    ("batch_approval_id", Kind.STR, False, True),
    ("approval_envelope", Kind.STR, True, True),
    ("defer_token", Kind.STR, True, True),
    ("parent_defer_token", Kind.STR, True, True),
    ("cascade_reason", Kind.STR, True, True),
    ("cascade_depth", Kind.INT, True, True),
    ("cascade_path", Kind.STR_LIST, True, True),
    ("created_at", Kind.STR, True, False),
)

KIND_OF: Final[dict[str, Kind]] = {name: kind for name, kind, _, _ in FIELDS}
_OMIT: Final[dict[str, bool]] = {name: omit for name, _, _, omit in FIELDS}

# The hashed object's keys, FARAMESH_FORMATS.md 1.4.2 (upstream ``canon`` in record.go).
CANONICAL_ORDER: Final[tuple[str, ...]] = (
    "schema_version", "fpl_version", "car_version", "canonicalization_algorithm", "record_id",
    "prev_record_hash", "agent_id", "session_id", "tool_id", "intercept_adapter",
    "execution_timeout_ms", "principal_id_hash", "effect", "matched_rule_id", "reason_code",
    "denial_token", "incident_category", "incident_severity", "policy_version",
    "args_structural_sig", "hardening_mode", "network_host_hash", "network_port",
    "network_resolved_ip_hash", "network_audit_bypass", "inference_model_rewrite_applied",
    "workflow_phase", "credential_brokered", "approval_envelope", "defer_token",
    "parent_defer_token", "cascade_reason", "cascade_depth", "cascade_path", "degraded_mode",
    "created_at",
)
if set(CANONICAL_ORDER) != {name for name, _, hashed, _ in FIELDS if hashed} or len(CANONICAL_ORDER) != 36:
    raise AssertionError("CANONICAL_ORDER must list exactly the 36 hashed fields of FIELDS")

# The hashed subset in canonical order (legacy mode) and sorted by key (JCS mode).
# Each entry: (key, kind, omit when empty).
HASHED_LEGACY: Final[tuple[tuple[str, Kind, bool], ...]] = tuple(
    (name, KIND_OF[name], _OMIT[name]) for name in CANONICAL_ORDER
)
HASHED_JCS: Final[tuple[tuple[str, Kind, bool], ...]] = tuple(
    sorted(HASHED_LEGACY, key=lambda f: f[0].encode())
)

# A record without these cannot be placed in a chain at all.
REQUIRED: Final[tuple[str, ...]] = (
    "record_id",
    "prev_record_hash",
    "record_hash",
    "agent_id",
    "created_at",
)

JCS_ALGORITHM: Final = "jcs-rfc8785-v1"
LEGACY_ALGORITHM: Final = "legacy-json-v1"
