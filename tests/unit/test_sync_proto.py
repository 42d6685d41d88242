"""The public sync API v1 (proto/faramesh_cloud_api/sync/v1): generated code, frozen
wire contract, and the behaviour daemons and Cloud rely on when messages cross the wire."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from faramesh_cloud_api.sync.v1 import (
    actor_pb2,
    agent_state_pb2,
    approvals_pb2,
    deliveries_pb2,
    emergency_pb2,
    fleet_pb2,
    push_pb2,
    registry_pb2,
    sync_pb2,
    sync_pb2_grpc,
)
from google.protobuf import descriptor_pb2, json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from faramesh_cloud.dpr.chain import verify_records
from faramesh_cloud.dpr.wal import VERSION_DPR, WalReader
from tests.unit.proto_scripts import load_script

MODULES = [
    actor_pb2,
    agent_state_pb2,
    approvals_pb2,
    deliveries_pb2,
    emergency_pb2,
    fleet_pb2,
    push_pb2,
    registry_pb2,
    sync_pb2,
]
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    return load_script("gen_protos")


@pytest.fixture(scope="module")
def compat() -> ModuleType:
    return load_script("proto_compat")


# --- generated code and frozen contract ------------------------------------------------------


def test_committed_generated_code_matches_a_fresh_generation(
    gen: ModuleType, tmp_path: Path
) -> None:
    fresh = gen.generate(tmp_path)
    stale = gen.stale_files(gen.GEN_ROOT / gen.API_PACKAGE, fresh)
    assert stale == [], f"generated code is stale, run `python scripts/gen_protos.py`: {stale}"


def test_current_protos_do_not_break_the_v1_snapshot(gen: ModuleType, compat: ModuleType) -> None:
    problems = compat.breaking_changes(gen.SNAPSHOT.read_bytes(), gen.build_descriptor_set())
    assert problems == [], "v1 is frozen; put breaking changes in a v2 package:\n" + "\n".join(
        problems
    )


def test_snapshot_freezes_everything_the_protos_define(gen: ModuleType) -> None:
    def ours(data: bytes) -> list[descriptor_pb2.FileDescriptorProto]:
        files = descriptor_pb2.FileDescriptorSet.FromString(data).file
        return [f for f in files if f.name.startswith("faramesh_cloud_api/")]

    snapshot, current = ours(gen.SNAPSHOT.read_bytes()), ours(gen.build_descriptor_set())
    assert sorted(f.name for f in snapshot) == sorted(f.name for f in current) == gen.proto_files()
    assert snapshot == current, (
        "additions are not frozen yet: run `python scripts/gen_protos.py --update-snapshot`"
    )


def _commented_elements(
    file: descriptor_pb2.FileDescriptorProto,
) -> Iterator[tuple[str, tuple[int, ...]]]:
    """Every message, field, oneof, enum, enum value, service and method, with its source path."""

    def enum(
        name: str, e: descriptor_pb2.EnumDescriptorProto, path: tuple[int, ...]
    ) -> Iterator[tuple[str, tuple[int, ...]]]:
        yield name, path
        for i, value in enumerate(e.value):
            yield f"{name}.{value.name}", (*path, 2, i)

    def message(
        name: str, m: descriptor_pb2.DescriptorProto, path: tuple[int, ...]
    ) -> Iterator[tuple[str, tuple[int, ...]]]:
        yield name, path
        for i, f in enumerate(m.field):
            yield f"{name}.{f.name}", (*path, 2, i)
        for i, o in enumerate(m.oneof_decl):
            if not o.name.startswith("_"):  # synthetic oneofs of proto3 `optional`
                yield f"{name}.{o.name}", (*path, 8, i)
        for i, nested in enumerate(m.nested_type):
            if not nested.options.map_entry:  # a map field's synthetic entry (no source to comment)
                yield from message(f"{name}.{nested.name}", nested, (*path, 3, i))
        for i, e in enumerate(m.enum_type):
            yield from enum(f"{name}.{e.name}", e, (*path, 4, i))

    for i, m in enumerate(file.message_type):
        yield from message(m.name, m, (4, i))
    for i, e in enumerate(file.enum_type):
        yield from enum(e.name, e, (5, i))
    for i, s in enumerate(file.service):
        yield s.name, (6, i)
        for j, method in enumerate(s.method):
            yield f"{s.name}.{method.name}", (6, i, 2, j)


def test_every_element_of_the_public_api_is_documented(gen: ModuleType) -> None:
    fds = descriptor_pb2.FileDescriptorSet.FromString(
        gen.build_descriptor_set(include_source_info=True)
    )
    undocumented = []
    for file in (f for f in fds.file if f.name.startswith("faramesh_cloud_api/")):
        comments = {
            tuple(loc.path): loc.leading_comments.strip() for loc in file.source_code_info.location
        }
        undocumented += [
            f"{file.name}: {name}"
            for name, path in _commented_elements(file)
            if not comments.get(path)
        ]
    assert undocumented == []


def test_every_enum_starts_with_its_unspecified_value() -> None:
    enums = [e for module in MODULES for e in module.DESCRIPTOR.enum_types_by_name.values()]
    assert enums
    for enum in enums:
        prefix = "".join(f"_{c}" if c.isupper() else c.upper() for c in enum.name).lstrip("_")
        assert enum.values_by_number[0].name == f"{prefix}_UNSPECIFIED", enum.full_name
        assert all(v.name.startswith(f"{prefix}_") for v in enum.values), enum.full_name


# --- the closed emergency surface -------------------------------------------------------------


def test_emergency_command_type_has_exactly_kill_and_isolate() -> None:
    values = {v.name: v.number for v in emergency_pb2.EmergencyCommandType.DESCRIPTOR.values}
    assert values == {
        "EMERGENCY_COMMAND_TYPE_UNSPECIFIED": 0,
        "EMERGENCY_COMMAND_TYPE_AGENT_KILL": 1,
        "EMERGENCY_COMMAND_TYPE_AGENT_ISOLATE": 2,
    }


def test_emergency_command_type_reserves_every_other_number() -> None:
    proto = descriptor_pb2.FileDescriptorProto()
    emergency_pb2.DESCRIPTOR.CopyToProto(proto)
    (enum,) = [e for e in proto.enum_type if e.name == "EmergencyCommandType"]
    reserved = sorted((r.start, r.end) for r in enum.reserved_range)  # inclusive ranges
    assert reserved == [(INT32_MIN, -1), (3, INT32_MAX)]


def test_emergency_command_carries_no_parameters_beyond_its_fixed_fields() -> None:
    descriptor = emergency_pb2.EmergencyCommand.DESCRIPTOR
    assert [(f.name, f.number) for f in descriptor.fields] == [
        ("command_id", 1),
        ("type", 2),
        ("agent_id", 3),
        ("reason", 4),
        ("issued_by", 5),
        ("issued_at", 6),
    ]
    assert descriptor.oneofs == []


def test_emergency_commands_only_travel_on_their_own_poll() -> None:
    """No Cloud-to-daemon message other than the emergency poll's can hold a command."""
    holders = set()
    for module in MODULES:
        for message in _all_messages(module.DESCRIPTOR.message_types_by_name.values()):
            for field in message.fields:
                if field.message_type is emergency_pb2.EmergencyCommand.DESCRIPTOR:
                    holders.add(message.full_name)
    assert holders == {"faramesh_cloud_api.sync.v1.PollEmergencyCommandsResponse"}


def test_service_methods_are_unary_with_their_own_request_and_response() -> None:
    service = sync_pb2.DESCRIPTOR.services_by_name["SyncService"]
    methods = {m.name: (m.input_type.name, m.output_type.name) for m in service.methods}
    assert methods == {
        name: (f"{name}Request", f"{name}Response")
        for name in [
            "Hello",
            "Push",
            "PollDecisions",
            "AckDecisions",
            "PollEmergencyCommands",
            "AckEmergencyCommand",
        ]
    }
    assert not any(m.client_streaming or m.server_streaming for m in service.methods)


class _RecordingChannel:
    """Stands in for grpc.Channel: records the method paths a stub binds."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def unary_unary(self, path: str, **_: object) -> str:
        self.paths.append(path)
        return path


def test_stub_calls_the_stable_wire_paths_daemons_are_built_against() -> None:
    channel = _RecordingChannel()
    sync_pb2_grpc.SyncServiceStub(channel)
    assert channel.paths == [
        f"/faramesh_cloud_api.sync.v1.SyncService/{name}"
        for name in [
            "Hello",
            "Push",
            "PollDecisions",
            "AckDecisions",
            "PollEmergencyCommands",
            "AckEmergencyCommand",
        ]
    ]


# --- what crosses the wire --------------------------------------------------------------------


def _all_messages(roots: object) -> Iterator[Descriptor]:
    for message in roots:  # type: ignore[attr-defined]
        yield message
        yield from _all_messages(message.nested_types)


def _unchosen(field: FieldDescriptor, choice: str | None) -> bool:
    """True for a member of a real oneof other than the one to set (``choice``, else the first)."""
    oneof = field.containing_oneof
    if oneof is None or oneof.name == f"_{field.name}":  # not in a oneof, or proto3 `optional`
        return False
    names = [f.name for f in oneof.fields]
    wanted = choice if choice in names else names[0]
    return field.name != wanted


def _fill(message: Message, choice: str | None = None) -> Message:
    """Set every field of ``message`` to a non-default, edge-of-range value (one member per oneof)."""
    for field in message.DESCRIPTOR.fields:
        if _unchosen(field, choice):
            continue
        for _ in range(2 if field.is_repeated else 1):
            if field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
                target = (
                    getattr(message, field.name).add()
                    if field.is_repeated
                    else getattr(message, field.name)
                )
                _fill_message_value(target)
            elif field.is_repeated:
                getattr(message, field.name).append(_scalar(field))
            else:
                setattr(message, field.name, _scalar(field))
    return message


def _fill_message_value(target: Message) -> None:
    name = target.DESCRIPTOR.full_name
    if name == "google.protobuf.Timestamp":
        target.seconds, target.nanos = 1_764_081_234, 123_456_789  # type: ignore[attr-defined]
    elif name == "google.protobuf.Duration":
        target.seconds, target.nanos = 30, 5  # type: ignore[attr-defined]
    else:
        _fill(target)


def _scalar(field: FieldDescriptor) -> object:
    c = FieldDescriptor
    return {
        c.CPPTYPE_STRING: b'\x00\xff{"k":1}'
        if field.type == c.TYPE_BYTES
        else f"{field.name} \u00fc\u2603",
        c.CPPTYPE_BOOL: True,
        c.CPPTYPE_INT32: INT32_MIN,
        c.CPPTYPE_INT64: -(2**63),
        c.CPPTYPE_UINT32: 2**32 - 1,
        c.CPPTYPE_UINT64: 2**64 - 1,
        c.CPPTYPE_DOUBLE: 1234.5678,
        c.CPPTYPE_FLOAT: 1.5,
        c.CPPTYPE_ENUM: max(v.number for v in field.enum_type.values) if field.enum_type else 1,
    }[field.cpp_type]


def _cases() -> list[tuple[type[Message], str | None]]:
    cases: list[tuple[type[Message], str | None]] = []
    for module in MODULES:
        for name in module.DESCRIPTOR.message_types_by_name:
            cls = getattr(module, name)
            real_oneofs = [o for o in cls.DESCRIPTOR.oneofs if o.name != f"_{o.fields[0].name}"]
            choices = [f.name for o in real_oneofs for f in o.fields] or [None]
            cases += [(cls, choice) for choice in choices]
    return cases


@pytest.mark.parametrize(
    ("cls", "choice"), _cases(), ids=lambda v: getattr(v, "__name__", None) or str(v)
)
def test_every_message_kind_round_trips_over_the_wire_and_json(
    cls: type[Message], choice: str | None
) -> None:
    original = _fill(cls(), choice)
    set_names = {f.name for f, _ in original.ListFields()}
    expected = {f.name for f in cls.DESCRIPTOR.fields if not _unchosen(f, choice)}
    assert set_names == expected
    assert cls.FromString(original.SerializeToString()) == original
    assert json_format.Parse(json_format.MessageToJson(original), cls()) == original


def test_dpr_records_cross_the_wire_byte_for_byte_and_still_verify(vectors_dir: Path) -> None:
    wal = (vectors_dir / "dpr_chain_valid_jcs.wal").read_bytes()
    items = [
        push_pb2.PushItem(
            sequence=i + 1,
            dpr_record=push_pb2.DprRecord(
                record_json=frame.payload,
                frame_crc32=zlib.crc32(frame.payload),
                wal_file="faramesh.wal",
                wal_offset=frame.offset,
                wal_frame_index=index,
            ),
        )
        for i, (index, frame) in enumerate(
            (n, f) for n, f in enumerate(WalReader(wal)) if f.version == VERSION_DPR
        )
    ]
    request = sync_pb2.PushRequest(buffer_id="5f0e2a4c-8d1b-4c3e-9f7a-6b2d1e0c9a8f", items=items)

    received = sync_pb2.PushRequest.FromString(request.SerializeToString())

    frames = [f.payload for f in WalReader(wal) if f.version == VERSION_DPR]
    got = [item.dpr_record.record_json for item in received.items]
    assert got == frames and len(got) == 6
    assert all(
        zlib.crc32(i.dpr_record.record_json) == i.dpr_record.frame_crc32 for i in received.items
    )
    verifier = verify_records([json.loads(raw) for raw in got])
    assert verifier.records == 6 and verifier.findings == []


def test_dpr_record_bytes_keep_unknown_fields_and_exact_spelling() -> None:
    raw = '{"schema_version":"dpr/2.0","record_id":"r1","x_future":"caf\u00e9 \\u003c","n":1.50}'.encode()
    item = push_pb2.PushItem(sequence=7, dpr_record=push_pb2.DprRecord(record_json=raw))
    assert push_pb2.PushItem.FromString(item.SerializeToString()).dpr_record.record_json == raw


def test_frame_crc_presence_is_explicit_so_a_zero_crc_is_not_lost() -> None:
    with_zero = push_pb2.DprRecord.FromString(
        push_pb2.DprRecord(record_json=b"{}", frame_crc32=0).SerializeToString()
    )
    without = push_pb2.DprRecord.FromString(
        push_pb2.DprRecord(record_json=b"{}").SerializeToString()
    )
    assert with_zero.HasField("frame_crc32") and not without.HasField("frame_crc32")


@pytest.mark.parametrize(
    "payload", [f.name for f in push_pb2.PushItem.DESCRIPTOR.oneofs_by_name["payload"].fields]
)
def test_a_batch_carries_each_payload_kind_and_keeps_its_sequence(payload: str) -> None:
    item = _fill(push_pb2.PushItem(), payload)
    request = sync_pb2.PushRequest(buffer_id="b", items=[item])
    (got,) = sync_pb2.PushRequest.FromString(request.SerializeToString()).items
    assert got.WhichOneof("payload") == payload and got.sequence == 2**64 - 1


def test_a_payload_kind_from_a_newer_daemon_is_detectable_and_preserved() -> None:
    """Cloud must be able to reject an unknown kind per item (UNSUPPORTED_PAYLOAD), not fail."""
    known = push_pb2.PushItem(sequence=3).SerializeToString()
    future_kind = bytes(
        [0x9A, 0x06, 0x02, 0x08, 0x01]
    )  # field 99 (LEN, 2 bytes) holding field 1 = 1
    item = push_pb2.PushItem.FromString(known + future_kind)
    assert item.sequence == 3
    assert item.WhichOneof("payload") is None
    assert item.SerializeToString().endswith(future_kind)


def test_push_response_reports_ack_and_per_item_rejections() -> None:
    response = sync_pb2.PushResponse(
        acked_through_sequence=120,
        rejections=[
            push_pb2.ItemRejection(
                sequence=101,
                reason=push_pb2.REJECTION_REASON_INVALID_FIELD,
                field="dpr_record.record_json.agent_id",
                message="agent_id is required",
            ),
        ],
    )
    got = sync_pb2.PushResponse.FromString(response.SerializeToString())
    assert got.acked_through_sequence == 120
    assert [(r.sequence, r.reason, r.field) for r in got.rejections] == [
        (101, push_pb2.REJECTION_REASON_INVALID_FIELD, "dpr_record.record_json.agent_id")
    ]
