"""The provider Init smoke test: run an uploaded provider binary in a sandbox and call Init.

Before a provider binary is signed, the registry starts it the way the daemon does
(faramesh-core ``internal/provider/launcher``: argv[1] is a Unix socket path, the environment
names the socket and the provider, gRPC over that socket, ``ProviderService/Init``) and
accepts it only if Init answers as the daemon expects: no error and not unhealthy (the
daemon's own checks, ``internal/provider/registry.go``), plus ours: the capabilities it
answers are exactly the manifest's, and its version, when it gives one, is the manifest's.

The sandbox (docs/registry-sandbox.md): bubblewrap with no network (an empty network
namespace, only ``lo``), its own pid, IPC and UTS namespaces, a read-only view of ``/usr``
and the few ``/etc`` files a program needs, a private ``/tmp``, the socket directory as the
only writable bind; rlimits set (``prlimit``) before the binary is exec'd; the binary runs
under a throwaway uid (``setpriv``) so the process limit holds (it is not enforced for
root); a wall-clock deadline; and the whole process group, the pid namespace and every
process of the throwaway uid killed at the end, whatever happened. When ``strace`` is
present it watches from outside the sandbox, so the reason can name a network socket, a
read outside the view or a refused fork; the sandbox, not the trace, is what stops them.
Without bubblewrap nothing runs: there is no unsandboxed fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import shutil
import signal
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from faramesh_interop.provider.v1 import provider_pb2, provider_pb2_grpc

SOCKET_DIR_IN_VIEW = "/run/provider"
SOCKET_IN_VIEW = f"{SOCKET_DIR_IN_VIEW}/provider.sock"
BINARY_IN_VIEW = "/opt/provider/provider"
# What a program needs from /etc: CA certificates, the dynamic loader's cache, the zone.
ETC_IN_VIEW = ("/etc/ssl", "/etc/ca-certificates", "/etc/ld.so.cache", "/etc/localtime")
# Top-level directories that are symlinks into /usr on merged-/usr systems (else bound).
USR_ALIASES = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
STDERR_TAIL_BYTES = 4096
TRACE_LIMIT_BYTES = 8 * 1024 * 1024
# Throwaway uids: far above any real account, one per run so the process limit counts only
# that run's processes and the final sweep kills exactly them.
SANDBOX_UID_BASE = 2_100_000_000
SANDBOX_UID_SPAN = 50_000_000

NO_BUBBLEWRAP = "the provider sandbox needs bubblewrap (apt-get install bubblewrap)"


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot be set up here; the binary was not run."""


@dataclass(frozen=True)
class SandboxLimits:
    """What the sandboxed binary may use. Defaults suit a Go or Python provider's Init."""

    wall_clock_seconds: float = 10.0  # from start to Init's answer
    cpu_seconds: int = 5  # RLIMIT_CPU per process (SIGXCPU at the limit)
    memory_bytes: int = 2 * 1024**3  # RLIMIT_AS (address space, not resident memory)
    max_processes: int = 64  # RLIMIT_NPROC for the throwaway uid (threads count)
    file_size_bytes: int = 16 * 1024**2  # RLIMIT_FSIZE (largest file it may write)
    open_files: int = 256  # RLIMIT_NOFILE


@dataclass(frozen=True)
class InitAnswer:
    """Init's ProviderInfo, as the registry shows it."""

    capabilities: tuple[str, ...]
    healthy: bool | None  # None: no health in the answer (the daemon accepts that)
    health_detail: str
    version: str
    schema: tuple[tuple[str, str, bool, str], ...]  # (name, type, required, description)


@dataclass(frozen=True)
class SmokeResult:
    ok: bool
    reason: str  # for a person: why it failed, or what passed
    info: InitAnswer | None
    duration_seconds: float
    stderr_tail: str
    sandbox_uid: int = -1
    process_group: int = -1
    observed: tuple[str, ...] = field(default=())  # what the trace saw (network, reads, forks)


def capability_name(value: str | int) -> str:
    """``SECRETS`` for 1, ``"CAPABILITY_SECRETS"`` or ``"secrets"`` (manifests use bare names)."""
    if isinstance(value, int):
        name = provider_pb2.Capability.Name(value)
    else:
        name = value.strip().upper()
    return name.removeprefix("CAPABILITY_")


def _answer(info: provider_pb2.ProviderInfo) -> InitAnswer:
    caps = []
    for c in info.capabilities:
        try:
            caps.append(capability_name(c))
        except ValueError:
            caps.append(f"UNKNOWN({c})")
    return InitAnswer(
        capabilities=tuple(caps),
        healthy=info.health.healthy if info.HasField("health") else None,
        health_detail=info.health.detail,
        version=info.version,
        schema=tuple((f.name, f.type, f.required, f.description) for f in info.schema),
    )


def judge(answer: InitAnswer, *, version: str, declared_capabilities: Iterable[str]) -> str | None:
    """Why Init's answer is refused, or None. The daemon refuses an unhealthy answer; the
    registry also wants the manifest's capabilities, exactly, and its version."""
    if answer.healthy is False:
        return f"Init answered unhealthy: {answer.health_detail or '(no detail)'}"
    declared = sorted({capability_name(c) for c in declared_capabilities})
    answered = sorted(set(answer.capabilities))
    if answered != declared:
        return (
            f"Init answered capabilities [{', '.join(answered)}] "
            f"but the manifest declares [{', '.join(declared)}]"
        )
    if answer.version and answer.version.removeprefix("v") != version.removeprefix("v"):
        return f"Init answered version {answer.version} but the manifest declares {version}"
    return None


# --- the command -------------------------------------------------------------------------------


def _parents(target: str) -> list[str]:
    """Mount points above ``target``, which bwrap would create 0700 (so unreachable for the
    throwaway uid), created 0755 first."""
    args = []
    for parent in reversed(Path(target).parents[:-1]):
        args += ["--perms", "0755", "--dir", str(parent)]
    return args


def _view_args(binary_copy: Path, socket_dir: Path, runtime_paths: Sequence[Path]) -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for alias in USR_ALIASES:
        if os.path.islink(alias):
            args += ["--symlink", os.readlink(alias), alias]
        elif os.path.isdir(alias):
            args += ["--ro-bind", alias, alias]
    for path in ETC_IN_VIEW:
        if os.path.exists(path):
            args += [*_parents(path), "--ro-bind", path, path]
    for path in runtime_paths:
        resolved = str(Path(path).resolve())
        args += [*_parents(resolved), "--ro-bind", resolved, resolved]
    args += ["--dev", "/dev", "--proc", "/proc", "--perms", "1777", "--tmpfs", "/tmp"]
    args += [*_parents(SOCKET_DIR_IN_VIEW), *_parents(BINARY_IN_VIEW)]
    args += ["--bind", str(socket_dir), SOCKET_DIR_IN_VIEW]
    args += ["--ro-bind", str(binary_copy), BINARY_IN_VIEW]
    return args


def _in_view(path: str, runtime_paths: Sequence[Path]) -> bool:
    roots = [
        "/usr", *USR_ALIASES, *ETC_IN_VIEW, "/dev", "/proc", "/tmp", SOCKET_DIR_IN_VIEW,
        BINARY_IN_VIEW, *(str(Path(p).resolve()) for p in runtime_paths),
    ]  # fmt: skip
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _command(
    bwrap: str,
    strace: str | None,
    trace_file: Path,
    *,
    binary_copy: Path,
    socket_dir: Path,
    runtime_paths: Sequence[Path],
    limits: SandboxLimits,
    uid: int,
) -> list[str]:
    sandbox = [
        bwrap,
        "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
        "--unshare-cgroup-try", "--die-with-parent", "--hostname", "provider-sandbox",
        *_view_args(binary_copy, socket_dir, runtime_paths),
        "--chdir", "/tmp",
        "--",
        "/usr/bin/prlimit",
        f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 1}",
        f"--as={limits.memory_bytes}",
        f"--nproc={limits.max_processes}",
        f"--fsize={limits.file_size_bytes}",
        f"--nofile={limits.open_files}",
        "--",
        "/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
        "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all",
        "--",
        BINARY_IN_VIEW, SOCKET_IN_VIEW,
    ]  # fmt: skip
    if strace is None:
        return sandbox
    trace = [
        strace, "-f", "-q", "-s", "200", "-o", str(trace_file),
        "-e", "trace=execve,connect,bind,sendto,sendmsg,open,openat,clone,clone3,fork,vfork",
        "-e", "signal=none",
    ]  # fmt: skip
    return [*trace, *sandbox]


# --- what the trace saw ------------------------------------------------------------------------

_LINE = re.compile(r"^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+|\?)(?:\s+(\w+))?")
_KILLED = re.compile(r"^(\d+)\s+\+\+\+ killed by (SIG\w+)")
# Runtimes read these by themselves (CPU count, cgroup CPU quota); not the provider's doing.
RUNTIME_PROBES = ("/sys/devices/system/cpu/", "/sys/fs/cgroup/")
_CONNECT_V4 = re.compile(r'sin_port=htons\((\d+)\), sin_addr=inet_addr\("([^"]+)"\)')
_CONNECT_V6 = re.compile(r'sin6_port=htons\((\d+)\).*?inet_pton\(AF_INET6, "([^"]+)"')
_PATH = re.compile(r'"((?:[^"\\]|\\.)*)"')


@dataclass
class _Trace:
    network: list[str] = field(default_factory=list)
    outside_reads: list[str] = field(default_factory=list)
    refused_forks: int = 0
    killed_by: set[str] = field(default_factory=set)


def _read_trace(trace_file: Path, runtime_paths: Sequence[Path]) -> _Trace:
    """Events after the provider binary was exec'd (the sandbox's own setup is not its doing)."""
    seen = _Trace()
    try:
        with trace_file.open("rb") as f:
            text = f.read(TRACE_LIMIT_BYTES).decode("utf-8", "replace")
    except OSError:
        return seen
    started = False
    for line in text.splitlines():
        if killed := _KILLED.match(line):
            if started:
                seen.killed_by.add(killed.group(2))
            continue
        m = _LINE.match(line)
        if not m:
            continue
        _pid, call, args, ret, err = m.groups()
        if call == "execve":
            started = started or (args.startswith(f'"{BINARY_IN_VIEW}"') and ret == "0")
            continue
        if not started:
            continue
        # A socket merely created is not counted: gRPC itself opens AF_INET sockets to probe
        # the kernel's options and closes them. Reaching out (or offering a port) is.
        if call in ("connect", "sendto", "sendmsg", "bind") and "sa_family=AF_INET" in args:
            addr = _CONNECT_V4.search(args) or _CONNECT_V6.search(args)
            if call == "bind" and (addr is None or addr.group(1) == "0"):
                continue  # a port-0 bind: gRPC's IPv6 loopback probe
            where = f"{addr.group(2)}:{addr.group(1)}" if addr else "a network address"
            verb = {"connect": "connect to", "bind": "listen on"}.get(call, "send to")
            event = f"{verb} {where}" + (f" ({err})" if err else "")
            if event not in seen.network:
                seen.network.append(event)
        elif call in ("open", "openat") and err in ("ENOENT", "EACCES", "EPERM"):
            path_match = _PATH.search(args)
            if path_match:
                path = path_match.group(1)
                if (
                    path.startswith("/")
                    and not _in_view(path, runtime_paths)
                    and not path.startswith(RUNTIME_PROBES)
                    and os.path.lexists(path)
                    and path not in seen.outside_reads
                ):
                    seen.outside_reads.append(path)
        elif call in ("clone", "clone3", "fork", "vfork") and err == "EAGAIN":
            seen.refused_forks += 1
    return seen


# --- processes -----------------------------------------------------------------------------------


def _pids_of_uid(uid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("Uid:"):
                if int(line.split()[1]) == uid:  # real uid
                    pids.append(int(entry))
                break
    return pids


def pids_in_group(pgid: int) -> list[int]:
    """Live (not zombie) processes whose process group is ``pgid``."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            pids.append(int(entry))
    return pids


def sandbox_processes(uid: int) -> list[int]:
    """Live processes still running under a run's throwaway uid (none after smoke_test)."""
    alive = []
    for pid in _pids_of_uid(uid):
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                alive.append(pid)
    return alive


def _pick_uid() -> int:
    for _ in range(20):
        uid = SANDBOX_UID_BASE + secrets.randbelow(SANDBOX_UID_SPAN)
        if not _pids_of_uid(uid):
            return uid
    raise SandboxUnavailable("could not find an unused uid for the provider sandbox")


async def _kill_everything(proc: asyncio.subprocess.Process, uid: int) -> None:
    """Kill the process group, then every process of the throwaway uid (one that left the
    group with setsid included), until none is left; then reap the leader."""
    for _ in range(50):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        stragglers = _pids_of_uid(uid)
        for pid in stragglers:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if proc.returncode is not None and not stragglers and not pids_in_group(proc.pid):
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 0.1)


# --- the run -------------------------------------------------------------------------------------


def _call_init(
    socket_path: Path, config: dict[str, str], timeout: float
) -> provider_pb2.ProviderInfo:
    with grpc.insecure_channel(f"unix://{socket_path}") as channel:
        stub = provider_pb2_grpc.ProviderServiceStub(channel)
        request = provider_pb2.InitRequest(config=config, dry_run=True)
        info: provider_pb2.ProviderInfo = stub.Init(request, timeout=timeout, wait_for_ready=True)
        return info


async def _read_tail(stream: asyncio.StreamReader, tail: bytearray) -> None:
    while chunk := await stream.read(65536):
        tail.extend(chunk)
        del tail[:-STDERR_TAIL_BYTES]


def _exit_reason(status: int, limits: SandboxLimits, stderr: str) -> str:
    signo = -status if status < 0 else status - 128 if status > 128 else 0
    if signo == signal.SIGXCPU:
        return f"exceeded the CPU-time limit ({limits.cpu_seconds} s)"
    if signo:
        return f"was killed by {signal.Signals(signo).name} before Init answered: {stderr[-500:]}"
    return f"exited with status {status} before Init answered: {stderr[-500:]}"


async def smoke_test(
    binary: Path,
    *,
    name: str,
    version: str,
    declared_capabilities: Iterable[str],
    config: dict[str, str],
    limits: SandboxLimits | None = None,
    runtime_paths: Sequence[Path] = (),
) -> SmokeResult:
    """Start ``binary`` in the sandbox as the daemon would, call Init (dry run) and judge it.

    ``runtime_paths`` are extra read-only directories the binary needs beyond ``/usr`` (an
    interpreter installed elsewhere, for a script provider); a static Go binary needs none.
    Raises SandboxUnavailable (and runs nothing) when the sandbox cannot be built here.
    """
    limits = limits or SandboxLimits()
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable(NO_BUBBLEWRAP)
    if os.geteuid() != 0:
        raise SandboxUnavailable(
            "the provider sandbox runs the binary under a throwaway uid so its process limit "
            "holds, which needs root (run the registry's sandbox as root)"
        )
    for tool in ("/usr/bin/prlimit", "/usr/bin/setpriv"):
        if not os.access(tool, os.X_OK):
            raise SandboxUnavailable(f"the provider sandbox needs {tool} (util-linux)")
    strace = shutil.which("strace")
    declared = list(declared_capabilities)
    started = time.monotonic()
    uid = _pick_uid()
    with tempfile.TemporaryDirectory(prefix="faramesh-sandbox-") as tmp:
        work = Path(tmp)
        (work / "bin").mkdir()
        binary_copy = work / "bin" / "provider"  # what runs is a copy only root can change
        shutil.copyfile(binary, binary_copy)
        binary_copy.chmod(0o555)
        socket_dir = work / "sock"
        socket_dir.mkdir(mode=0o700)
        os.chown(socket_dir, uid, uid)
        socket_path = socket_dir / "provider.sock"
        trace_file = work / "trace"
        argv = _command(
            bwrap, strace, trace_file, binary_copy=binary_copy, socket_dir=socket_dir,
            runtime_paths=runtime_paths, limits=limits, uid=uid,
        )  # fmt: skip
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": "/tmp",
            "LANG": "C.UTF-8",
            "FARAMESH_PROVIDER_SOCKET": SOCKET_IN_VIEW,
            "FARAMESH_PROVIDER_NAME": name,
        }
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        tail = bytearray()
        assert proc.stderr is not None
        reader = asyncio.create_task(_read_tail(proc.stderr, tail))
        info: provider_pb2.ProviderInfo | None = None
        failure: str | None = None
        exited: int | None = None
        try:
            deadline = started + limits.wall_clock_seconds
            while not socket_path.exists():
                if proc.returncode is not None:
                    exited = proc.returncode
                    break
                if time.monotonic() >= deadline:
                    failure = (
                        f"Init did not answer within {limits.wall_clock_seconds:g} s "
                        "(the binary never listened on its socket)"
                    )
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.wait(), 0.05)
            if exited is None and failure is None:
                remaining = max(0.1, deadline - time.monotonic())
                call = asyncio.create_task(
                    asyncio.to_thread(_call_init, socket_path, dict(config), remaining)
                )
                waiter = asyncio.create_task(proc.wait())
                done, _ = await asyncio.wait({call, waiter}, return_when=asyncio.FIRST_COMPLETED)
                if call in done:
                    waiter.cancel()
                    try:
                        info = call.result()
                    except grpc.RpcError as e:
                        if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                            failure = f"Init did not answer within {limits.wall_clock_seconds:g} s"
                        elif proc.returncode is not None:
                            exited = proc.returncode
                        else:
                            failure = f"Init failed: {e.code().name}: {e.details()}"
                else:
                    exited = proc.returncode
                    await _kill_everything(proc, uid)  # the call fails fast once it is gone
                    with contextlib.suppress(grpc.RpcError):
                        await call
        finally:
            await _kill_everything(proc, uid)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(reader, 2)
            reader.cancel()
        stderr = tail.decode("utf-8", "replace")
        seen = _read_trace(trace_file, runtime_paths) if strace else _Trace()
    observed = tuple(
        [f"network: {n}" for n in seen.network]
        + [f"read outside the view: {p}" for p in seen.outside_reads]
        + (
            [f"forks refused by the process limit: {seen.refused_forks}"]
            if seen.refused_forks
            else []
        )
    )
    answer = _answer(info) if info is not None else None
    ok = False
    if seen.network:
        reason = f"the binary opened a network socket: {'; '.join(seen.network[:3])}"
    elif seen.outside_reads:
        reason = f"read outside its view: {', '.join(seen.outside_reads[:5])}"
    elif seen.refused_forks:
        reason = f"process limit reached (fork bomb?): {limits.max_processes} processes"
    elif "SIGXCPU" in seen.killed_by:
        reason = f"exceeded the CPU-time limit ({limits.cpu_seconds} s)"
    elif failure is not None:
        reason = failure
    elif exited is not None:
        reason = _exit_reason(exited, limits, stderr)
    elif answer is not None:
        refused = judge(answer, version=version, declared_capabilities=declared)
        ok = refused is None
        reason = refused or (
            f"Init answered as the daemon expects: capabilities [{', '.join(answer.capabilities)}]"
        )
    else:  # pragma: no cover - every path above sets one of them
        reason = "Init did not answer"
    return SmokeResult(
        ok=ok,
        reason=reason,
        info=answer,
        duration_seconds=time.monotonic() - started,
        stderr_tail=stderr,
        sandbox_uid=uid,
        process_group=proc.pid,
        observed=observed,
    )
