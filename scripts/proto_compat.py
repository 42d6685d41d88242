"""A minimal ``buf breaking`` for frozen proto packages, over FileDescriptorSets.

``breaking_changes(old, new)`` lists every change from ``old`` (the checked-in snapshot)
to ``new`` (the protos as they are now) that would break a peer built against ``old``:
its wire format, its JSON mapping or its generated code. Additions are allowed; so is
anything only comments touch. Rules (buf's FILE category, trimmed to what v1 uses):

* files: none deleted; package, syntax and file options unchanged;
* messages and enums: none deleted or moved to another file;
* fields: none deleted, renumbered or renamed (json_name included); type, message/enum
  type, label (repeated/optional) and oneof membership unchanged;
* enum values: none deleted, renumbered or renamed;
* reserved numbers/names: never un-reserved (a closed enum reserves every unused number,
  so adding a value to it is caught here);
* services and methods: none deleted; request/response types and streaming unchanged.

CLI: ``python scripts/proto_compat.py OLD.binpb NEW.binpb`` exits 1 and prints the
problems when NEW breaks OLD.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from google.protobuf import descriptor_pb2 as d


def _messages(
    file: d.FileDescriptorProto,
) -> Iterator[tuple[str, d.DescriptorProto]]:
    def walk(
        prefix: str, messages: Sequence[d.DescriptorProto]
    ) -> Iterator[tuple[str, d.DescriptorProto]]:
        for message in messages:
            name = f"{prefix}.{message.name}"
            yield name, message
            yield from walk(name, message.nested_type)

    yield from walk(file.package, file.message_type)


def _enums(file: d.FileDescriptorProto) -> Iterator[tuple[str, d.EnumDescriptorProto]]:
    for enum in file.enum_type:
        yield f"{file.package}.{enum.name}", enum
    for name, message in _messages(file):
        for enum in message.enum_type:
            yield f"{name}.{enum.name}", enum


def _covered(ranges: Sequence[tuple[int, int]], start: int, end: int) -> bool:
    """True when every number in [start, end) lies in one of ``ranges`` (half-open)."""
    position = start
    for lo, hi in sorted(ranges):
        if lo <= position < hi:
            position = hi
        if position >= end:
            return True
    return position >= end


def _reserved_problems(
    where: str,
    old_ranges: Sequence[tuple[int, int]],
    new_ranges: Sequence[tuple[int, int]],
    old_names: Sequence[str],
    new_names: Sequence[str],
) -> list[str]:
    problems = [
        f"{where}: reserved range [{lo}, {hi}) is no longer reserved"
        for lo, hi in old_ranges
        if not _covered(new_ranges, lo, hi)
    ]
    problems += [
        f"{where}: reserved name {n!r} is no longer reserved"
        for n in old_names
        if n not in set(new_names)
    ]
    return problems


def _oneof_of(message: d.DescriptorProto, field: d.FieldDescriptorProto) -> str | None:
    if not field.HasField("oneof_index") or field.proto3_optional:
        return None
    return str(message.oneof_decl[field.oneof_index].name)


def _label(field: d.FieldDescriptorProto) -> str:
    if field.label == d.FieldDescriptorProto.LABEL_REPEATED:
        return "repeated"
    if field.proto3_optional:
        return "optional"
    return str(d.FieldDescriptorProto.Label.Name(field.label))


def _type(field: d.FieldDescriptorProto) -> str:
    base = d.FieldDescriptorProto.Type.Name(field.type)
    return f"{base} {field.type_name}" if field.type_name else base


def _field_problems(where: str, old: d.DescriptorProto, new: d.DescriptorProto) -> list[str]:
    problems: list[str] = []
    new_by_number = {f.number: f for f in new.field}
    new_by_name = {f.name: f for f in new.field}
    for field in old.field:
        label = f"{where}.{field.name} (#{field.number})"
        current = new_by_number.get(field.number)
        if current is None:
            moved = new_by_name.get(field.name)
            if moved is not None:
                problems.append(f"{label}: renumbered to #{moved.number}")
            else:
                problems.append(f"{label}: deleted")
            continue
        if current.name != field.name:
            problems.append(f"{label}: renamed to {current.name!r}")
        if current.json_name != field.json_name:
            problems.append(f"{label}: json_name changed to {current.json_name!r}")
        if _type(current) != _type(field):
            problems.append(f"{label}: type changed from {_type(field)} to {_type(current)}")
        if _label(current) != _label(field):
            problems.append(f"{label}: label changed from {_label(field)} to {_label(current)}")
        if _oneof_of(new, current) != _oneof_of(old, field):
            problems.append(
                f"{label}: oneof changed from {_oneof_of(old, field)} to {_oneof_of(new, current)}"
            )
        if current.options.SerializeToString(deterministic=True) != field.options.SerializeToString(
            deterministic=True
        ):
            problems.append(f"{label}: field options changed")
    return problems


def _message_problems(where: str, old: d.DescriptorProto, new: d.DescriptorProto) -> list[str]:
    problems = _field_problems(where, old, new)
    problems += _reserved_problems(
        where,
        [(r.start, r.end) for r in old.reserved_range],
        [(r.start, r.end) for r in new.reserved_range],
        list(old.reserved_name),
        list(new.reserved_name),
    )
    return problems


def _enum_problems(where: str, old: d.EnumDescriptorProto, new: d.EnumDescriptorProto) -> list[str]:
    problems: list[str] = []
    new_by_number = {v.number: v for v in new.value}
    new_by_name = {v.name: v for v in new.value}
    for value in old.value:
        label = f"{where}.{value.name} (={value.number})"
        current = new_by_number.get(value.number)
        if current is None:
            moved = new_by_name.get(value.name)
            problems.append(
                f"{label}: renumbered to ={moved.number}" if moved else f"{label}: deleted"
            )
        elif current.name != value.name:
            problems.append(f"{label}: renamed to {current.name!r}")
    # Enum reserved ranges are inclusive in descriptors; make them half-open.
    problems += _reserved_problems(
        where,
        [(r.start, r.end + 1) for r in old.reserved_range],
        [(r.start, r.end + 1) for r in new.reserved_range],
        list(old.reserved_name),
        list(new.reserved_name),
    )
    return problems


def _service_problems(old: d.FileDescriptorProto, new: d.FileDescriptorProto) -> list[str]:
    problems: list[str] = []
    new_services = {s.name: s for s in new.service}
    for service in old.service:
        where = f"{old.package}.{service.name}"
        current = new_services.get(service.name)
        if current is None:
            problems.append(f"{where}: service deleted")
            continue
        methods = {m.name: m for m in current.method}
        for method in service.method:
            now = methods.get(method.name)
            if now is None:
                problems.append(f"{where}.{method.name}: method deleted")
                continue
            for attr in ("input_type", "output_type", "client_streaming", "server_streaming"):
                if getattr(now, attr) != getattr(method, attr):
                    problems.append(
                        f"{where}.{method.name}: {attr} changed from {getattr(method, attr)} to {getattr(now, attr)}"
                    )
    return problems


def _file_problems(old: d.FileDescriptorProto, new: d.FileDescriptorProto) -> list[str]:
    problems: list[str] = []
    if new.package != old.package:
        problems.append(f"{old.name}: package changed from {old.package!r} to {new.package!r}")
    if new.syntax != old.syntax:
        problems.append(f"{old.name}: syntax changed from {old.syntax!r} to {new.syntax!r}")
    if new.options.SerializeToString(deterministic=True) != old.options.SerializeToString(
        deterministic=True
    ):
        problems.append(f"{old.name}: file options changed")
    return problems


def breaking_changes(old_set: bytes, new_set: bytes) -> list[str]:
    """Every breaking change from serialized FileDescriptorSet ``old_set`` to ``new_set``."""
    old_files = {f.name: f for f in d.FileDescriptorSet.FromString(old_set).file}
    new_files = {f.name: f for f in d.FileDescriptorSet.FromString(new_set).file}
    new_messages = {name: (f.name, m) for f in new_files.values() for name, m in _messages(f)}
    new_enums = {name: (f.name, e) for f in new_files.values() for name, e in _enums(f)}

    problems: list[str] = []
    for file_name, old in sorted(old_files.items()):
        new = new_files.get(file_name)
        if new is None:
            problems.append(f"{file_name}: file deleted")
            continue
        problems += _file_problems(old, new)
        problems += _service_problems(old, new)
        for name, message in _messages(old):
            found = new_messages.get(name)
            if found is None:
                problems.append(f"{name}: message deleted")
            elif found[0] != file_name:
                problems.append(f"{name}: message moved from {file_name} to {found[0]}")
            else:
                problems += _message_problems(name, message, found[1])
        for name, enum in _enums(old):
            found_enum = new_enums.get(name)
            if found_enum is None:
                problems.append(f"{name}: enum deleted")
            elif found_enum[0] != file_name:
                problems.append(f"{name}: enum moved from {file_name} to {found_enum[0]}")
            else:
                problems += _enum_problems(name, enum, found_enum[1])
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: proto_compat.py OLD.binpb NEW.binpb", file=sys.stderr)
        return 2
    problems = breaking_changes(Path(args[0]).read_bytes(), Path(args[1]).read_bytes())
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
