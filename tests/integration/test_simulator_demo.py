"""``up --demo``'s fleet: three demo stacks registered once and reused, keys kept private,
records flowing into this Cloud over its own sync endpoint; and idempotent registration."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import msgspec
import pytest

from faramesh_cloud.config import Settings
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.runtime.demo_service import DEMO_STACKS, DemoFleetService
from faramesh_cloud.runtime.platform import Platform
from faramesh_cloud.runtime.services import RuntimeContext
from faramesh_cloud.simulator.daemon import DaemonOptions
from faramesh_cloud.simulator.keys import load_or_create_keys
from faramesh_cloud.simulator.registration import ensure_stacks, load_saved
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.keys import parse_key
from faramesh_cloud.stacks.store import StackStore
from faramesh_cloud.tls import ensure_self_signed
from tests.fixtures.ingest import TlsPair
from tests.simulator_support import Cloud, eventually, read_log, stack_keys, verify, wal_records

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]


def _context(cloud: Cloud, database: Database, log: PostgresLog) -> RuntimeContext:
    settings = Settings(data_dir=cloud.data_dir, sync_host="127.0.0.1", sync_port=cloud.port, demo=True)
    platform = Platform(settings, database, log, olap=None)  # type: ignore[arg-type]  # the demo needs no OLAP
    return RuntimeContext(platform, "now", [])


async def test_the_demo_fleet_registers_its_stacks_once_and_feeds_this_cloud(
    database: Database, postgres_log: PostgresLog, stack_store: StackStore, tmp_path: Path
) -> None:
    # Cloud serves its own self-signed certificate from <data_dir>/tls, as under `up`; the
    # demo finds and trusts it there.
    cert, key = ensure_self_signed(tmp_path / "cloud" / "tls")
    cloud = Cloud(database, postgres_log, stack_store, TlsPair(cert, key), tmp_path / "cloud")
    await cloud.start()
    options = DaemonOptions(agents=2, rate_per_s=100.0, tick_s=0.02)
    try:
        runs = []
        for _ in range(2):  # a second `up --demo` reuses the stacks
            service = DemoFleetService(_context(cloud, database, postgres_log), options)
            await service.start()
            assert service.info().state == "running"
            fleet = service._fleet
            assert fleet is not None
            await eventually(lambda f=fleet: len(f.daemons) == 3  # type: ignore[misc]
                             and all(d.buffer.acked_through > 50 for d in f.daemons), "all three demo stacks syncing")
            await service.stop()
            assert service.info().state == "stopped"
            runs.append(load_saved(cloud.data_dir / "demo" / "keys.json"))
    finally:
        await cloud.stop()

    first, second = runs
    assert first is not None and second is not None
    assert second == first  # same organisation, stacks and keys
    assert [s.name for s in first.stacks] == list(DEMO_STACKS)
    keys_file = cloud.data_dir / "demo" / "keys.json"
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    stacks = await stack_store.list_stacks(first.org_id)
    assert sorted(s.name for s in stacks) == sorted(DEMO_STACKS) and all(s.registered for s in stacks)
    view = await read_log(postgres_log)
    for saved in first.stacks:
        stack_dir = cloud.data_dir / "demo" / saved.name
        written = wal_records(stack_dir)
        on_log = view.dprs[saved.stack_id]
        assert set(written) <= set(on_log)  # both runs' records, nothing missing
        assert verify(written, stack_keys(stack_dir))[1] == []  # the second run continued the chains
        # The demo pins each stack's signing key, so its signed records show as trusted.
        pins = await stack_store.signing_keys.list(first.org_id, saved.stack_id)
        own_key = load_or_create_keys(stack_dir).public_key_b64
        assert [(p.public_key, p.active) for p in pins] == [(own_key, True)]  # pinned once over two runs
        signers = {json.loads(r).get("signer_public_key") for r in written} - {None, ""}
        assert signers == {own_key}


async def test_registration_reuses_working_keys_and_repairs_what_broke(stack_store: StackStore, tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    names = ["one", "two", "three"]
    specs = await ensure_stacks(stack_store, path, names, org_slug="sim", org_name="Sim")
    saved = load_saved(path)
    assert saved is not None and [s.label for s in specs] == names
    assert await ensure_stacks(stack_store, path, names, org_slug="sim", org_name="Sim") == specs

    two, three = saved.stacks[1], saved.stacks[2]
    await stack_store.revoke_key(saved.org_id, parse_key(two.api_key).key_id)  # type: ignore[union-attr]
    await stack_store.deregister_stack(saved.org_id, three.stack_id)
    repaired = await ensure_stacks(stack_store, path, names, org_slug="sim", org_name="Sim")

    assert repaired[0] == specs[0]
    for spec in repaired:
        identity = await stack_store.authenticate(spec.api_key)
        assert identity is not None and identity.org_id == saved.org_id
    after = load_saved(path)
    assert after is not None
    assert after.stacks[1].stack_id == two.stack_id and after.stacks[1].api_key != two.api_key  # re-keyed
    assert after.stacks[2].stack_id != three.stack_id  # registered anew
    live = [s.name for s in await stack_store.list_stacks(saved.org_id) if s.registered]
    assert sorted(live) == sorted(names)


async def test_registration_starts_a_new_organisation_when_the_saved_one_is_gone(
    stack_store: StackStore, tmp_path: Path
) -> None:
    path = tmp_path / "keys.json"
    ghost = {"org_id": "00000000-0000-4000-8000-000000000000", "org_slug": "sim",
             "stacks": [{"name": "one", "stack_id": "00000000-0000-4000-8000-000000000001",
                         "api_key": "fmc_sk_0123456789abcdef_" + "A" * 43}]}
    path.write_bytes(msgspec.json.encode(ghost))  # e.g. the Cloud database was reset
    [spec] = await ensure_stacks(stack_store, path, ["one"], org_slug="sim", org_name="Sim")
    identity = await stack_store.authenticate(spec.api_key)
    assert identity is not None and identity.org_id != ghost["org_id"]
