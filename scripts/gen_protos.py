"""Regenerate the Python bindings of the public protos, and the v1 descriptor snapshot.

Usage (from anywhere; paths are resolved from this file):

    python scripts/gen_protos.py                  # rewrite gen/python/{faramesh_cloud_api,faramesh_interop}
    python scripts/gen_protos.py --check          # exit 1 if the committed code is stale
    python scripts/gen_protos.py --update-snapshot
        # rewrite proto/faramesh_cloud_api/sync/v1/descriptor.binpb, refused when the
        # current protos are not wire-compatible with the snapshot already there

Two packages are generated the same way: ``faramesh_cloud_api`` (Cloud's public API, frozen
by the v1 descriptor snapshot) and ``faramesh_interop`` (other programs' wire contracts that
Cloud speaks, restated: the daemon's provider plugin service). The interop protos keep their
owners' proto package names and are not in the snapshot: their owners freeze them, not us.

The generated code pins the protobuf runtime (it refuses an older one) and the
`_pb2_grpc` modules pin grpcio, so generate with the grpcio-tools version pinned in
pyproject.toml (`test` extra) and keep the `protobuf` / `grpcio` lower bounds equal to
the versions named in the generated headers.
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.util
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[1]
PROTO_ROOT = REPO_ROOT / "proto"
API_PACKAGE = "faramesh_cloud_api"
INTEROP_PACKAGE = "faramesh_interop"
PACKAGES = (API_PACKAGE, INTEROP_PACKAGE)
GEN_ROOT = REPO_ROOT / "gen" / "python"
SNAPSHOT = PROTO_ROOT / API_PACKAGE / "sync" / "v1" / "descriptor.binpb"

_INIT_DOCSTRING = '"""Generated from proto/{path} by scripts/gen_protos.py. Do not edit."""\n'


def proto_files(proto_root: Path = PROTO_ROOT, package: str = API_PACKAGE) -> list[str]:
    """The .proto files of ``package``, as import paths relative to ``proto_root``, sorted."""
    return sorted(
        p.relative_to(proto_root).as_posix() for p in (proto_root / package).rglob("*.proto")
    )


def _well_known_include() -> Path:
    import grpc_tools

    return Path(grpc_tools.__file__).resolve().parent / "_proto"


def _protoc(args: Sequence[str], proto_root: Path) -> None:
    from grpc_tools import protoc

    argv = ["grpc_tools.protoc", f"-I{proto_root}", f"-I{_well_known_include()}", *args]
    if protoc.main(argv) != 0:
        raise RuntimeError(f"protoc failed: {' '.join(argv)}")


def build_descriptor_set(
    proto_root: Path = PROTO_ROOT, *, include_source_info: bool = False, package: str = API_PACKAGE
) -> bytes:
    """Compile the public protos to a serialized FileDescriptorSet, with their imports.

    The imports (well-known types) make the set a complete image that `buf breaking
    --against` accepts too. Source info (comments, positions) is left out unless asked for,
    so the snapshot only changes when the contract does.
    """
    files = proto_files(proto_root, package)
    extra = ["--include_imports"] + (["--include_source_info"] if include_source_info else [])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "set.binpb"
        _protoc([f"--descriptor_set_out={out}", *extra, *files], proto_root)
        return out.read_bytes()


def _files_with_services(descriptor_set: bytes, package: str = API_PACKAGE) -> list[str]:
    from google.protobuf import descriptor_pb2

    fds = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set)
    return [f.name for f in fds.file if f.service and f.name.startswith(f"{package}/")]


def generate(out_root: Path, proto_root: Path = PROTO_ROOT, package: str = API_PACKAGE) -> Path:
    """Generate ``<out_root>/<package>`` (replacing it) and return that directory."""
    files = proto_files(proto_root, package)
    if not files:
        raise RuntimeError(f"no .proto files under {proto_root / package}")
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp)
        _protoc([f"--python_out={staging}", f"--pyi_out={staging}", *files], proto_root)
        with_services = _files_with_services(
            build_descriptor_set(proto_root, package=package), package
        )
        if with_services:
            _protoc([f"--grpc_python_out={staging}", *with_services], proto_root)
        generated = staging / package
        for directory in [generated, *(d for d in generated.rglob("*") if d.is_dir())]:
            rel = directory.relative_to(staging).as_posix()
            (directory / "__init__.py").write_text(_INIT_DOCSTRING.format(path=rel))
        (generated / "py.typed").write_text("")
        target = out_root / package
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(generated, target)
    return target


def _tree(root: Path) -> dict[str, Path]:
    return {
        p.relative_to(root).as_posix(): p
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def stale_files(committed: Path, fresh: Path) -> list[str]:
    """Paths that differ between two generated trees (missing, extra, or changed bytes)."""
    a, b = _tree(committed), _tree(fresh)
    differing = set(a) ^ set(b)
    differing |= {
        name for name in set(a) & set(b) if not filecmp.cmp(a[name], b[name], shallow=False)
    }
    return sorted(differing)


def _load_compat() -> ModuleType:
    path = Path(__file__).with_name("proto_compat.py")
    spec = importlib.util.spec_from_file_location("_faramesh_proto_compat", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def update_snapshot(snapshot: Path = SNAPSHOT, proto_root: Path = PROTO_ROOT) -> list[str]:
    """Write the current descriptor set to ``snapshot`` unless it breaks the existing one.

    Returns the breaking changes found (the snapshot is left untouched when there are any).
    """
    current = build_descriptor_set(proto_root)
    if snapshot.exists():
        problems: list[str] = _load_compat().breaking_changes(snapshot.read_bytes(), current)
        if problems:
            return problems
    snapshot.write_bytes(current)
    return []


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--check", action="store_true", help="only report whether the committed code is stale"
    )
    mode.add_argument(
        "--update-snapshot", action="store_true", help="refresh the v1 descriptor snapshot"
    )
    args = parser.parse_args(argv)

    if args.update_snapshot:
        problems = update_snapshot()
        for problem in problems:
            print(f"breaking: {problem}", file=sys.stderr)
        if problems:
            print(
                "snapshot NOT updated: v1 is frozen; put breaking changes in a v2 package",
                file=sys.stderr,
            )
            return 1
        print(f"wrote {SNAPSHOT.relative_to(REPO_ROOT)}")
        return 0

    if args.check:
        stale = []
        for package in PACKAGES:
            with tempfile.TemporaryDirectory() as tmp:
                fresh = generate(Path(tmp), package=package)
                stale += [f"{package}/{n}" for n in stale_files(GEN_ROOT / package, fresh)]
        for name in stale:
            print(f"stale: gen/python/{name}", file=sys.stderr)
        if stale:
            print("run: python scripts/gen_protos.py", file=sys.stderr)
        return 1 if stale else 0

    for package in PACKAGES:
        target = generate(GEN_ROOT, package=package)
        print(f"generated {target.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
