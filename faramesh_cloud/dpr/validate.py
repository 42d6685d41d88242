"""Is this a DPR? Fast structural validation of a raw record for ingest.

One C-level msgspec decode into a Struct of every known field, typed as the daemon's Go
struct types them, answers the common case; anything it declines (nulls, which Go reads as
zero values; a wrong type; bad UTF-8) is re-checked by ``check_record(parse_record(raw))``,
which has Go's semantics and names the offending field. Unknown keys are allowed (the daemon
ignores them too); the raw bytes are what Cloud stores, so nothing is lost.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from faramesh_cloud.dpr.canonical import check_record, parse_record
from faramesh_cloud.dpr.fields import FIELDS, Kind

_TYPES: Final[dict[Kind, Any]] = {
    Kind.STR: str,
    Kind.INT: int,
    Kind.BOOL: bool,
    Kind.STR_LIST: list[str],
    Kind.STR_MAP: dict[str, str],
    Kind.OBJECT: dict[str, Any],
}


def _full_struct() -> type[msgspec.Struct]:
    fields: list[Any] = []
    for name, kind, _, _ in FIELDS:
        fields.append((name, _TYPES[kind] | None, None))
    return msgspec.defstruct("FullRecord", fields, kw_only=True)


_DECODER: Final = msgspec.json.Decoder(_full_struct())


def validate_record(raw: bytes) -> None:
    """Raise ``DprFormatError`` (with ``.field``) unless ``raw`` is a usable DPR."""
    try:
        record: Any = _DECODER.decode(raw)
    except (msgspec.DecodeError, ValueError):
        check_record(parse_record(raw))  # raises with the field named, or accepts Go-valid input
        return
    if not (record.record_id and record.prev_record_hash and record.record_hash and record.agent_id
            and record.created_at):
        check_record(parse_record(raw))  # names the missing field
