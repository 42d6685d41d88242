"""Issue 16, item 1: the paths a user takes, through the wire they use, on both kinds of
install (``install`` is parametrised: ``embedded`` = one ``faramesh-cloud up``;
``distributed`` = every service its own ``faramesh-cloud serve NAME`` on Kafka (Tansu),
ClickHouse through clickhouse-connect (chDB) and PostgreSQL; tests/fixtures/install.py).

A daemon speaks the sync API over TLS with its stack key (faramesh_cloud/rpc/sync_client.py);
a person speaks the gateway's REST API, signed in through its login form. Each test registers
its own stack, so the counts it checks are its own on an install the whole session shares."""

from __future__ import annotations

import pytest

from tests.e2e.support import Daemon, eventually, new_stack, record_id, records, search, signed_in
from tests.fixtures.install import Install

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.kafka, pytest.mark.chdb,
              pytest.mark.grpc]


async def test_a_daemons_pushed_dprs_are_what_a_person_finds(install: Install) -> None:
    async with signed_in(install) as (person, api):
        stack_id, key = await new_stack(person, api, "push-search")
        raws = records(30)
        async with Daemon(install, key) as daemon:
            assert await daemon.push_dprs(raws[:10]) == 10
            assert await daemon.push_dprs(raws[10:]) == 30

        async def all_found() -> bool:
            return len(await search(person, api, stack_id)) >= len(raws)
        await eventually(all_found, "the pushed records in the audit search", within_s=90)
        found = await search(person, api, stack_id)
        assert sorted(r["record_id"] for r in found) == sorted(record_id(r) for r in raws)
        assert {r["verification"] for r in found} == {"verified"}
        install.check_running()
