"""Go-JSON string escaping and created_at normalisation, beyond what the vectors cover."""

from __future__ import annotations

import msgspec
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from faramesh_cloud.dpr.canonical import (
    DprFormatError,
    canonical_bytes,
    compute_record_hash,
    parse_record,
)
from faramesh_cloud.dpr.gojson import dumps, dumps_reference, encode_string
from faramesh_cloud.dpr.timefmt import TimestampError, canonical_created_at, created_at_nanos


@pytest.mark.parametrize(
    ("text", "go"),
    [
        ("a<b>&c", r'"a\u003cb\u003e\u0026c"'),
        ("line\u2028para\u2029", r'"line\u2028para\u2029"'),
        ("\x01\x1f\x7f", '"\\u0001\\u001f\x7f"'),
        ("\b\f\n\r\t", r'"\b\f\n\r\t"'),
        ('q"b\\', r'"q\"b\\"'),
        ("é😀", '"é😀"'),
        ("lone\ud800", '"lone\ufffd"'),
    ],
)
def test_strings_escape_like_go(text: str, go: str) -> None:
    assert encode_string(text) == go
    assert dumps({"k": text}) == ('{"k":' + go + "}").encode()


@given(st.dictionaries(st.text(max_size=8), st.one_of(st.text(), st.integers(-(2**62), 2**62), st.booleans(), st.lists(st.text(), max_size=3))))
def test_fast_path_equals_reference(obj: dict[str, object]) -> None:
    assert dumps(obj) == dumps_reference(obj)


@pytest.mark.parametrize(
    ("given_", "canonical"),
    [
        ("2026-05-17T13:42:18.123456789Z", "2026-05-17T13:42:18.123456789Z"),
        ("2026-05-17T13:42:18.500000000Z", "2026-05-17T13:42:18.5Z"),
        ("2026-05-17T13:42:18.000Z", "2026-05-17T13:42:18Z"),
        ("2026-05-17T15:42:18.0000001+02:00", "2026-05-17T13:42:18.0000001Z"),
        ("2026-05-17T00:30:00-01:00", "2026-05-17T01:30:00Z"),
        ("2026-01-01T00:00:00+00:30", "2025-12-31T23:30:00Z"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
    ],
)
def test_created_at_is_utc_rfc3339_nano(given_: str, canonical: str) -> None:
    assert canonical_created_at(given_) == canonical


@pytest.mark.parametrize("bad", ["2026-05-17 13:42:18Z", "yesterday", "2026-13-01T00:00:00Z", "2026-05-17T13:42:18.1234567891Z"])
def test_created_at_rejects_non_rfc3339(bad: str) -> None:
    with pytest.raises(TimestampError):
        canonical_created_at(bad)


def test_created_at_nanos_keeps_nanoseconds() -> None:
    assert created_at_nanos("1970-01-01T00:00:01.000000001Z") == 1_000_000_001
    assert created_at_nanos("2026-05-17T15:42:18.5+02:00") - created_at_nanos("2026-05-17T13:42:18Z") == 500_000_000


def test_offset_timestamps_hash_like_their_utc_form() -> None:
    base = {"record_id": "r", "prev_record_hash": "p", "record_hash": "h", "agent_id": "a"}
    utc = compute_record_hash({**base, "created_at": "2026-05-17T13:42:18.25Z"})
    assert compute_record_hash({**base, "created_at": "2026-05-17T14:42:18.250+01:00"}) == utc


def test_wrong_field_types_are_named() -> None:
    with pytest.raises(DprFormatError, match="cascade_depth"):
        canonical_bytes({"agent_id": "a", "cascade_depth": "2", "created_at": "2026-05-17T13:42:18Z"})
    with pytest.raises(DprFormatError, match="credential_brokered"):
        canonical_bytes({"agent_id": "a", "credential_brokered": 1, "created_at": "2026-05-17T13:42:18Z"})


def test_parse_rejects_non_objects_and_garbage() -> None:
    with pytest.raises(DprFormatError, match="JSON object"):
        parse_record(b"[1,2]")
    with pytest.raises(DprFormatError, match="not valid JSON"):
        parse_record(b"{nope")


def test_parse_maps_lone_surrogates_like_go() -> None:
    assert parse_record(rb'{"reason":"x\ud800y"}') == {"reason": "x\ufffdy"}
    assert parse_record(b'{"reason":"x\xffy"}') == {"reason": "x\ufffdy"}


RAW_CASES = [
    # missing always-present fields, nulls, offsets, unicode, duplicates, wrong-typed falsy values
    b'{"record_id":"r","prev_record_hash":"p","record_hash":"h","agent_id":"a","created_at":"2026-05-17T13:42:18Z"}',
    b'{"schema_version":"dpr/2.0","canonicalization_algorithm":"jcs-rfc8785-v1","record_id":"r","prev_record_hash":"p","agent_id":"a<&>","session_id":"s\\u2028","tool_id":"t","intercept_adapter":"sdk","effect":"PERMIT","matched_rule_id":"","reason_code":"","policy_version":"v","args_structural_sig":"{}","cascade_path":["x","y"],"cascade_depth":2,"network_port":-1,"credential_brokered":true,"created_at":"2026-05-17T15:42:18.100+02:00"}',
    b'{"schema_version":"dpr/2.0","canonicalization_algorithm":" jcs-rfc8785-v1 ","record_id":"r","prev_record_hash":"p","agent_id":"a","session_id":null,"tool_id":"t","intercept_adapter":"sdk","effect":"PERMIT","effect":"DENY","matched_rule_id":"m","reason_code":"c","policy_version":"v","args_structural_sig":"{}","fpl_version":null,"created_at":"2026-05-17T13:42:18.000000001Z"}',
    b'{"schema_version":"dpr/1.0","record_id":"r","prev_record_hash":"p","agent_id":"\\ud800x","session_id":"s","tool_id":"t","intercept_adapter":"sdk","effect":"PERMIT","matched_rule_id":"m","reason_code":"c","policy_version":"v","args_structural_sig":"{}","created_at":"2026-02-28T23:59:59.9Z"}',
]


@pytest.mark.parametrize("raw", RAW_CASES)
def test_raw_fast_path_equals_mapping_path(raw: bytes) -> None:
    record = parse_record(raw)
    assert canonical_bytes(record, raw) == canonical_bytes(record)


def test_raw_fast_path_on_every_vector_line(vectors_dir) -> None:  # type: ignore[no-untyped-def]
    for path in sorted(vectors_dir.glob("dpr_chain_*.jsonl")):
        for line in path.read_bytes().splitlines():
            if line.strip():
                record = parse_record(line)
                assert canonical_bytes(record, line) == canonical_bytes(record), path.name


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"record_id":"r","prev_record_hash":"p","record_hash":"h","created_at":"2026-05-17T13:42:18Z"}', "agent_id"),
        (b'{"record_id":"r","prev_record_hash":"p","record_hash":"h","agent_id":"a","created_at":"2026-05-17T13:42:18Z","cascade_depth":"2"}', "cascade_depth"),
        (b'{"record_id":"r","prev_record_hash":"p","record_hash":"h","agent_id":"a","created_at":"2026-05-17T13:42:18Z","selector_snapshot":[1]}', "selector_snapshot"),
        (b'{"record_id":"r","prev_record_hash":"p","record_hash":"h","agent_id":"a","created_at":"2026-05-17T13:42:18Z","arg_provenance":{"a":1}}', None),
    ],
)
def test_validate_record_names_the_bad_field(raw: bytes, field: str | None) -> None:
    from faramesh_cloud.dpr.validate import validate_record

    if field is None:  # check_record does not look inside maps; the fast path must not be stricter
        validate_record(raw)
        return
    with pytest.raises(DprFormatError) as info:
        validate_record(raw)
    assert info.value.field == field


def test_validate_record_accepts_every_vector_line_and_go_nulls(vectors_dir) -> None:  # type: ignore[no-untyped-def]
    from faramesh_cloud.dpr.validate import validate_record

    for path in sorted(vectors_dir.glob("dpr_chain_*.jsonl")):
        for line in path.read_bytes().splitlines():
            if line.strip():
                validate_record(line)
    validate_record(b'{"record_id":"r","prev_record_hash":"p","record_hash":"h","agent_id":"a",'
                    b'"created_at":"2026-05-17T13:42:18Z","session_id":null,"lamport_seq":null}')


@pytest.mark.parametrize("raw", RAW_CASES)
def test_one_decode_view_equals_mapping_path_or_declines(raw: bytes) -> None:
    from faramesh_cloud.dpr.view import decode_record

    fast = decode_record(raw)
    if fast is not None:  # nulls, missing fields, lone surrogates: the mapping path decides
        assert fast[1] == canonical_bytes(parse_record(raw))


def test_one_decode_view_on_every_vector_line(vectors_dir) -> None:  # type: ignore[no-untyped-def]
    from faramesh_cloud.dpr.view import decode_record

    decoded = 0
    for path in sorted(vectors_dir.glob("dpr_chain_*.jsonl")):
        for line in path.read_bytes().splitlines():
            if line.strip():
                record = parse_record(line)
                fast = decode_record(line)
                if fast is None:
                    continue
                decoded += 1
                view, canonical = fast
                assert canonical == canonical_bytes(record), path.name
                for key, value in record.items():  # every field the record has, as written
                    if value is not None and hasattr(view, key):
                        got = getattr(view, key)
                        if isinstance(got, msgspec.Raw):  # unhashed objects stay raw JSON
                            got = orjson.loads(bytes(got))
                        assert got == value, (path.name, key)
    assert decoded > 20  # the vectors are what daemons write: the one decode takes them


def test_one_decode_view_declines_what_validation_rejects() -> None:
    from faramesh_cloud.dpr.view import decode_record

    base = (b'"schema_version":"dpr/1.0","record_id":"r","prev_record_hash":"p","record_hash":"h","agent_id":"a",'
            b'"session_id":"s","tool_id":"t","intercept_adapter":"sdk","effect":"PERMIT","matched_rule_id":"m",'
            b'"reason_code":"c","policy_version":"v","args_structural_sig":"{}","created_at":"2026-05-17T13:42:18Z"')
    assert decode_record(b'{' + base + b'}') is not None
    assert decode_record(b'{' + base + b',"cascade_depth":"2"}') is None  # wrong type
    assert decode_record(b'{' + base + b',"selector_snapshot":[1]}') is None  # unhashed, wrong type
    assert decode_record(b'{' + base + b',"selector_snapshot":"x"}') is None
    assert decode_record(b'{' + base + b',"selector_snapshot":null,"batch_dpr_ids":null}') is not None  # Go zero
    assert decode_record(b'{' + base + b',"record_hash":""}') is None  # empty required field (last wins)


def test_the_view_only_decode_declines_exactly_what_the_one_decode_declines(vectors_dir) -> None:  # type: ignore[no-untyped-def]
    # The search index decodes with decode_record_view (no canonical bytes): its rejections
    # must be the verifier's, so it declines exactly the records decode_record declines.
    from faramesh_cloud.dpr.view import decode_record, decode_record_view

    base = (b'"schema_version":"dpr/1.0","record_id":"r","prev_record_hash":"p","record_hash":"h","agent_id":"a",'
            b'"session_id":"s","tool_id":"t","intercept_adapter":"sdk","effect":"PERMIT","matched_rule_id":"m",'
            b'"reason_code":"c","policy_version":"v","args_structural_sig":"{}"')
    cases = [*RAW_CASES, b"{not json", b"\xff\xfe", b"[]", b"null", b"{}"]
    for extra in (b',"created_at":"2026-05-17T13:42:18Z"', b',"created_at":"2026-05-17T15:42:18.1+02:00"',
                  b',"created_at":"yesterday"', b',"created_at":"2026-13-01T00:00:00Z"', b',"created_at":""',
                  b',"created_at":null', b',"created_at":7', b',"created_at":"2026-05-17T13:42:18Z","cascade_depth":"2"',
                  b',"created_at":"2026-05-17T13:42:18Z","selector_snapshot":"x"',
                  b',"created_at":"2026-05-17T13:42:18Z","selector_snapshot":null',
                  b',"created_at":"2026-05-17T13:42:18Z","record_hash":""',
                  b',"created_at":"2026-05-17T13:42:18Z","agent_id":"\\ud800"',
                  b',"created_at":"2026-05-17T13:42:18Z","lamport_seq":-1',
                  b',"created_at":"2026-05-17T13:42:18Z","session_id":"\xff"'):
        cases.append(b"{" + base + extra + b"}")
    for path in sorted(vectors_dir.glob("dpr_*.jsonl")):
        cases += [line for line in path.read_bytes().splitlines() if line.strip()]
    declined = 0
    for raw in cases:
        full, view = decode_record(raw), decode_record_view(raw)
        assert (full is None) == (view is None), raw
        if full is None:
            declined += 1
        else:
            assert view == full[0], raw
    assert declined >= 10


def test_days_29_to_31_are_canonical_exactly_where_the_date_exists() -> None:
    # Days 29-31 are judged by the calendar, not by a datetime round trip per record: the
    # result (the value itself, or TimestampError) is what the round trip gave.
    from datetime import datetime

    from faramesh_cloud.dpr.timefmt import (
        TimestampError,
        canonical_created_at,
        is_canonical_created_at,
    )

    for year in (0, 1, 999, 1900, 2000, 2023, 2024, 2100, 9999):
        for month in range(1, 13):
            for day in (28, 29, 30, 31):
                for tail in ("Z", ".5Z", ".123456789Z"):
                    value = f"{year:04d}-{month:02d}-{day:02d}T23:59:59{tail}"
                    try:
                        datetime(year, month, day)
                        exists = True
                    except ValueError:
                        exists = False
                    if day == 28 and year == 0:
                        continue  # the regex alone has always passed days <= 28, year 0 included
                    assert is_canonical_created_at(value) == exists, value
                    if exists:
                        assert canonical_created_at(value) == value
                    else:
                        with pytest.raises(TimestampError):
                            canonical_created_at(value)
