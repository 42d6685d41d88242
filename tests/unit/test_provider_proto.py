"""The daemon's provider plugin contract, restated in proto/faramesh_interop: generated code
kept fresh, and the names and numbers a provider binary is built against unchanged."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from faramesh_interop.provider.v1 import provider_pb2, provider_pb2_grpc

from tests.unit.proto_scripts import load_script


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    return load_script("gen_protos")


def test_committed_interop_code_matches_a_fresh_generation(gen: ModuleType, tmp_path: Path) -> None:
    fresh = gen.generate(tmp_path, package=gen.INTEROP_PACKAGE)
    stale = gen.stale_files(gen.GEN_ROOT / gen.INTEROP_PACKAGE, fresh)
    assert stale == [], f"generated code is stale, run `python scripts/gen_protos.py`: {stale}"


def test_the_interop_protos_stay_out_of_clouds_frozen_v1_snapshot(gen: ModuleType) -> None:
    assert not any(f.startswith(gen.INTEROP_PACKAGE) for f in gen.proto_files())


class _RecordingChannel:
    def __init__(self) -> None:
        self.paths: list[str] = []

    def unary_unary(self, path: str, **_: object) -> str:
        self.paths.append(path)
        return path


def test_init_goes_to_the_daemons_wire_path() -> None:
    channel = _RecordingChannel()
    provider_pb2_grpc.ProviderServiceStub(channel)
    assert channel.paths == [
        "/faramesh.provider.v1.ProviderService/Init",
        "/faramesh.provider.v1.ProviderService/HealthCheck",
    ]


def _fields(message: object) -> list[tuple[str, int]]:
    return [(f.name, f.number) for f in message.DESCRIPTOR.fields]  # type: ignore[attr-defined]


def test_messages_have_the_daemons_names_and_numbers() -> None:
    assert _fields(provider_pb2.InitRequest) == [("config", 1), ("dry_run", 2)]
    assert _fields(provider_pb2.ProviderInfo) == [
        ("capabilities", 1), ("health", 2), ("schema", 3), ("version", 4),
    ]  # fmt: skip
    assert _fields(provider_pb2.HealthStatus) == [("healthy", 1), ("detail", 2)]
    assert _fields(provider_pb2.ConfigSchemaField) == [
        ("name", 1), ("type", 2), ("required", 3), ("description", 4),
    ]  # fmt: skip
    assert {v.name: v.number for v in provider_pb2.Capability.DESCRIPTOR.values} == {
        "CAPABILITY_UNSPECIFIED": 0,
        "CAPABILITY_SECRETS": 1,
        "CAPABILITY_IDENTITY": 2,
        "CAPABILITY_KMS": 3,
        "CAPABILITY_AUDIT_SINK": 4,
        "CAPABILITY_COST": 5,
    }


def test_an_answer_encoded_by_a_daemon_shaped_peer_decodes() -> None:
    # ProviderInfo{capabilities:[SECRETS, KMS] (packed), health{healthy:true}, version:"1.2.0"}
    wire = bytes.fromhex("0a020103120208012205312e322e30")
    info = provider_pb2.ProviderInfo.FromString(wire)
    assert list(info.capabilities) == [1, 3]
    assert info.health.healthy is True
    assert info.version == "1.2.0"
