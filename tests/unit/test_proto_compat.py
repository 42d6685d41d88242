"""scripts/proto_compat.py: the v1 wire-compatibility gate must catch every kind of break it
claims to, and must let additions through."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from google.protobuf import descriptor_pb2 as d

from tests.unit.proto_scripts import load_script

Mutation = Callable[[d.FileDescriptorSet], None]


@pytest.fixture(scope="module")
def compat() -> ModuleType:
    return load_script("proto_compat")


@pytest.fixture(scope="module")
def snapshot() -> bytes:
    gen = load_script("gen_protos")
    data: bytes = gen.SNAPSHOT.read_bytes()
    return data


def _file(fds: d.FileDescriptorSet, name: str) -> d.FileDescriptorProto:
    (found,) = [f for f in fds.file if f.name == f"faramesh_cloud_api/sync/v1/{name}.proto"]
    return found


def _message(fds: d.FileDescriptorSet, file: str, name: str) -> d.DescriptorProto:
    (found,) = [m for m in _file(fds, file).message_type if m.name == name]
    return found


def _field(fds: d.FileDescriptorSet, file: str, message: str, name: str) -> d.FieldDescriptorProto:
    (found,) = [f for f in _message(fds, file, message).field if f.name == name]
    return found


def _enum(fds: d.FileDescriptorSet, file: str, name: str) -> d.EnumDescriptorProto:
    (found,) = [e for e in _file(fds, file).enum_type if e.name == name]
    return found


def _method(fds: d.FileDescriptorSet, name: str) -> d.MethodDescriptorProto:
    (found,) = [m for m in _file(fds, "sync").service[0].method if m.name == name]
    return found


def _delete_field(fds: d.FileDescriptorSet) -> None:
    message = _message(fds, "sync", "PushResponse")
    message.field.remove(_field(fds, "sync", "PushResponse", "rejections"))


def _renumber_field(fds: d.FileDescriptorSet) -> None:
    _field(fds, "push", "PushItem", "sequence").number = 100


def _retype_field(fds: d.FileDescriptorSet) -> None:
    _field(fds, "push", "PushItem", "sequence").type = d.FieldDescriptorProto.TYPE_INT64


def _rename_field(fds: d.FileDescriptorSet) -> None:
    field = _field(fds, "approvals", "PendingApproval", "defer_token")
    field.name, field.json_name = "token", "token"


def _make_repeated(fds: d.FileDescriptorSet) -> None:
    _field(
        fds, "emergency", "EmergencyCommand", "agent_id"
    ).label = d.FieldDescriptorProto.LABEL_REPEATED


def _drop_optional_presence(fds: d.FileDescriptorSet) -> None:
    message = _message(fds, "push", "DprRecord")
    field = _field(fds, "push", "DprRecord", "frame_crc32")
    field.proto3_optional = False
    field.ClearField("oneof_index")
    del message.oneof_decl[:]


def _leave_oneof(fds: d.FileDescriptorSet) -> None:
    _field(fds, "push", "PushItem", "dpr_record").ClearField("oneof_index")


def _change_message_type(fds: d.FileDescriptorSet) -> None:
    _field(
        fds, "emergency", "EmergencyCommand", "issued_by"
    ).type_name = ".google.protobuf.Timestamp"


def _add_emergency_command(fds: d.FileDescriptorSet) -> None:
    enum = _enum(fds, "emergency", "EmergencyCommandType")
    del enum.reserved_range[:]
    enum.value.add(name="EMERGENCY_COMMAND_TYPE_AGENT_RESTART", number=3)


def _delete_enum_value(fds: d.FileDescriptorSet) -> None:
    enum = _enum(fds, "push", "RejectionReason")
    enum.value.remove(enum.value[-1])


def _renumber_enum_value(fds: d.FileDescriptorSet) -> None:
    _enum(fds, "approvals", "ApprovalVerdict").value[1].number = 7


def _delete_message(fds: d.FileDescriptorSet) -> None:
    file = _file(fds, "registry")
    file.message_type.remove(_message(fds, "registry", "RegistryPackAlert"))


def _move_message(fds: d.FileDescriptorSet) -> None:
    actor = _message(fds, "actor", "Actor")
    _file(fds, "emergency").message_type.add().CopyFrom(actor)
    _file(fds, "actor").message_type.remove(actor)


def _delete_method(fds: d.FileDescriptorSet) -> None:
    service = _file(fds, "sync").service[0]
    service.method.remove(_method(fds, "AckEmergencyCommand"))


def _stream_method(fds: d.FileDescriptorSet) -> None:
    _method(fds, "PollDecisions").server_streaming = True


def _swap_response(fds: d.FileDescriptorSet) -> None:
    _method(fds, "Push").output_type = ".faramesh_cloud_api.sync.v1.HelloResponse"


def _change_package(fds: d.FileDescriptorSet) -> None:
    _file(fds, "actor").package = "faramesh_cloud_api.sync.v2"


def _add_go_package(fds: d.FileDescriptorSet) -> None:
    _file(fds, "sync").options.go_package = "example.com/sync/v1;syncv1"


def _delete_file(fds: d.FileDescriptorSet) -> None:
    fds.file.remove(_file(fds, "registry"))


BREAKS: list[tuple[Mutation, str]] = [
    (_delete_field, "PushResponse.rejections (#2): deleted"),
    (_renumber_field, "PushItem.sequence (#1): renumbered to #100"),
    (_retype_field, "PushItem.sequence (#1): type changed from TYPE_UINT64 to TYPE_INT64"),
    (_rename_field, "PendingApproval.defer_token (#1): renamed to 'token'"),
    (_make_repeated, "EmergencyCommand.agent_id (#3): label changed"),
    (_drop_optional_presence, "DprRecord.frame_crc32 (#2): label changed from optional"),
    (_leave_oneof, "PushItem.dpr_record (#10): oneof changed from payload to None"),
    (_change_message_type, "EmergencyCommand.issued_by (#5): type changed"),
    (
        _add_emergency_command,
        "EmergencyCommandType: reserved range [3, 2147483648) is no longer reserved",
    ),
    (_delete_enum_value, "RejectionReason.REJECTION_REASON_UNSUPPORTED_PAYLOAD (=5): deleted"),
    (_renumber_enum_value, "ApprovalVerdict.APPROVAL_VERDICT_APPROVE (=1): renumbered to =7"),
    (_delete_message, "faramesh_cloud_api.sync.v1.RegistryPackAlert: message deleted"),
    (_move_message, "faramesh_cloud_api.sync.v1.Actor: message moved"),
    (_delete_method, "SyncService.AckEmergencyCommand: method deleted"),
    (_stream_method, "SyncService.PollDecisions: server_streaming changed from False to True"),
    (_swap_response, "SyncService.Push: output_type changed"),
    (_change_package, "faramesh_cloud_api/sync/v1/actor.proto: package changed"),
    (_add_go_package, "faramesh_cloud_api/sync/v1/sync.proto: file options changed"),
    (_delete_file, "faramesh_cloud_api/sync/v1/registry.proto: file deleted"),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), BREAKS, ids=[m.__name__.lstrip("_") for m, _ in BREAKS]
)
def test_each_kind_of_break_is_reported(
    compat: ModuleType, snapshot: bytes, mutate: Mutation, expected: str
) -> None:
    changed = d.FileDescriptorSet.FromString(snapshot)
    mutate(changed)
    problems = compat.breaking_changes(snapshot, changed.SerializeToString())
    assert any(expected in p for p in problems), problems


def test_an_unchanged_set_has_no_breaks(compat: ModuleType, snapshot: bytes) -> None:
    assert compat.breaking_changes(snapshot, snapshot) == []


def test_additions_are_compatible(compat: ModuleType, snapshot: bytes) -> None:
    grown = d.FileDescriptorSet.FromString(snapshot)
    _message(grown, "push", "PushItem").field.add(
        name="new_kind",
        json_name="newKind",
        number=16,
        label=d.FieldDescriptorProto.LABEL_OPTIONAL,
        type=d.FieldDescriptorProto.TYPE_STRING,
        oneof_index=0,
    )
    _enum(grown, "push", "RejectionReason").value.add(name="REJECTION_REASON_QUOTA", number=6)
    _file(grown, "actor").message_type.add(name="Team")
    _file(grown, "sync").service[0].method.add(
        name="Sync",
        input_type=".faramesh_cloud_api.sync.v1.PushRequest",
        output_type=".faramesh_cloud_api.sync.v1.PushResponse",
        client_streaming=True,
        server_streaming=True,
    )
    grown.file.add(
        name="faramesh_cloud_api/sync/v1/extra.proto", package="faramesh_cloud_api.sync.v1"
    )
    assert compat.breaking_changes(snapshot, grown.SerializeToString()) == []


def test_narrowing_a_reservation_is_caught_even_when_it_keeps_part_of_the_range(
    compat: ModuleType,
) -> None:
    def with_reserved(*ranges: tuple[int, int]) -> bytes:
        fds = d.FileDescriptorSet()
        message = fds.file.add(name="a.proto", package="p", syntax="proto3").message_type.add(
            name="M"
        )
        for start, end in ranges:
            message.reserved_range.add(start=start, end=end)
        return fds.SerializeToString()

    assert compat.breaking_changes(with_reserved((5, 10)), with_reserved((5, 7), (7, 12))) == []
    assert compat.breaking_changes(with_reserved((5, 10)), with_reserved((5, 8))) == [
        "p.M: reserved range [5, 10) is no longer reserved"
    ]


def test_cli_exits_non_zero_on_a_break(
    compat: ModuleType, snapshot: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = d.FileDescriptorSet.FromString(snapshot)
    _renumber_field(broken)
    old, new = tmp_path / "old.binpb", tmp_path / "new.binpb"
    old.write_bytes(snapshot)
    new.write_bytes(broken.SerializeToString())
    assert compat.main([str(old), str(old)]) == 0
    assert compat.main([str(old), str(new)]) == 1
    assert "renumbered" in capsys.readouterr().out
