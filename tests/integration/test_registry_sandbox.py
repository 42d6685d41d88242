"""The provider Init smoke test: real provider programs (tests/data/providers) started in the
real bubblewrap sandbox, spoken to over the daemon's gRPC handshake on their Unix socket.

Each provider is packed the way a Python provider would be shipped: one executable file (a
zipapp with a shebang) holding the program and the generated faramesh.provider.v1 stubs. The
interpreter lives outside /usr here, so it is the one extra read-only path in the view.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
from pathlib import Path

import pytest

from faramesh_cloud.registry import sandbox
from faramesh_cloud.registry.sandbox import (
    SandboxLimits,
    SandboxUnavailable,
    SmokeResult,
    pids_in_group,
    sandbox_processes,
    smoke_test,
)
from tests.registry_publish_support import pack_provider

pytestmark = [pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
PROVIDERS = REPO / "tests" / "data" / "providers"
STUBS = REPO / "gen" / "python" / "faramesh_interop"
PYTHON = Path(sys.base_prefix)  # the interpreter (with grpcio) the zipapps run on
FAST = SandboxLimits(wall_clock_seconds=5, cpu_seconds=2, max_processes=32)

if shutil.which("bwrap") is None or os.geteuid() != 0:  # scripts/test.sh installs it
    pytest.skip("needs bubblewrap and root (see docs/registry-sandbox.md)", allow_module_level=True)


def pack(case: str, out: Path, **params: object) -> Path:
    """tests/data/providers/<case>.py as one executable file, as a provider is uploaded."""
    return pack_provider(case, out, **params)


async def run(
    tmp_path: Path,
    case: str,
    *,
    declared: tuple[str, ...] = ("SECRETS",),
    limits: SandboxLimits = FAST,
    **params: object,
) -> SmokeResult:
    binary = pack(case, tmp_path / f"{case}.pyz", **params)
    result = await smoke_test(
        binary,
        name="acme/vault",
        version="1.0.0",
        declared_capabilities=declared,
        config={"vault_addr": "https://vault.internal:8200"},
        limits=limits,
        runtime_paths=[PYTHON],
    )
    # Whatever happened, nothing of the run is left: not its process group, not one process
    # under its throwaway uid (a process that left the group included).
    assert pids_in_group(result.process_group) == []
    assert sandbox_processes(result.sandbox_uid) == []
    return result


async def test_a_provider_that_answers_init_as_the_daemon_expects_passes(tmp_path: Path) -> None:
    result = await run(tmp_path, "good")
    assert result.ok, result.reason
    assert result.reason == "Init answered as the daemon expects: capabilities [SECRETS]"
    assert result.info is not None
    assert result.info.capabilities == ("SECRETS",)
    assert result.info.healthy is True
    assert result.info.version == "1.0.0"
    assert result.info.schema == (("vault_addr", "string", True, ""),)
    assert result.observed == ()


async def test_capabilities_other_than_the_manifests_fail(tmp_path: Path) -> None:
    result = await run(tmp_path, "wrong_capabilities")
    assert not result.ok
    assert result.reason == "Init answered capabilities [KMS] but the manifest declares [SECRETS]"
    assert result.info is not None and result.info.capabilities == ("KMS",)


async def test_a_binary_that_never_listens_fails_at_the_wall_clock(tmp_path: Path) -> None:
    result = await run(tmp_path, "hangs", limits=SandboxLimits(wall_clock_seconds=2))
    assert not result.ok
    assert result.reason == (
        "Init did not answer within 2 s (the binary never listened on its socket)"
    )
    assert result.info is None


async def test_a_binary_that_exits_before_listening_shows_its_stderr(tmp_path: Path) -> None:
    result = await run(tmp_path, "exits")
    assert not result.ok
    assert result.reason == "exited with status 2 before Init answered: vault_addr is required\n"
    assert "vault_addr is required" in result.stderr_tail


async def test_a_binary_that_burns_cpu_is_stopped_by_the_cpu_limit(tmp_path: Path) -> None:
    result = await run(
        tmp_path, "burns_cpu", limits=SandboxLimits(wall_clock_seconds=8, cpu_seconds=1)
    )
    assert not result.ok
    assert result.reason == "exceeded the CPU-time limit (1 s)"


async def test_a_fork_bomb_hits_the_process_limit(tmp_path: Path) -> None:
    limits = SandboxLimits(wall_clock_seconds=2, max_processes=16)
    result = await run(tmp_path, "fork_bomb", limits=limits)
    assert not result.ok
    assert result.reason == "process limit reached (fork bomb?): 16 processes"
    assert any(o.startswith("forks refused by the process limit") for o in result.observed)


async def test_reads_outside_the_view_fail_and_see_nothing(tmp_path: Path) -> None:
    # A host file the binary must not see. Not a repo file: a checkout under /tmp (as CI's may be)
    # is shadowed by the sandbox's private /tmp, where a missing file is inside its view.
    secret = Path("/etc/passwd")
    result = await run(tmp_path, "reads_host", READ_PATHS=[str(secret)])
    assert not result.ok
    assert result.reason == f"read outside its view: /etc/shadow, {secret}"
    # Neither file was there to read: the view does not hold them at all.
    assert "could not read /etc/shadow" in result.stderr_tail
    assert f"could not read {secret}: [Errno 2] No such file or directory" in result.stderr_tail
    assert "bytes of" not in result.stderr_tail
    # Init itself answered correctly: it is the read that fails it.
    assert result.info is not None and result.info.capabilities == ("SECRETS",)


async def test_a_network_connection_never_reaches_the_host_and_fails(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        result = await run(tmp_path, "connects", PORT=port)
        with pytest.raises(BlockingIOError):  # nobody knocked
            listener.accept()
    finally:
        listener.close()
    assert not result.ok
    assert result.reason.startswith(
        f"the binary opened a network socket: connect to 127.0.0.1:{port}"
    )
    assert "Connection refused" in result.stderr_tail  # its own loopback, not the host's


async def test_without_bubblewrap_nothing_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "ran"
    binary = tmp_path / "provider"
    binary.write_text(f"#!/bin/sh\ntouch {marker}\n")
    binary.chmod(0o755)
    monkeypatch.setattr(sandbox.shutil, "which", lambda _name: None)
    with pytest.raises(
        SandboxUnavailable, match=r"needs bubblewrap \(apt-get install bubblewrap\)"
    ):
        await smoke_test(
            binary, name="acme/x", version="1.0.0", declared_capabilities=["SECRETS"], config={}
        )
    await asyncio.sleep(0.2)
    assert not marker.exists()
