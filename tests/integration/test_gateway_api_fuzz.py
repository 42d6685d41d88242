"""The REST API against its own OpenAPI document, through real HTTP: schemathesis generates
requests for every operation from the document (valid and invalid ones, a bounded number
each) and checks that none gets a 500 and every status that comes back is documented; an
unsupported method gets 405 with the ``Allow`` header the document implies; booleans and
numbers are not accepted in each other's place.

The gateway serves every section (Fleet, Approvals, Notifications, the DPR explorer over chDB)
on uvicorn in the test's loop; the generated requests run in a worker thread, signed with an
Owner's platform API key (``fmc_pk_``) of a seeded organisation, whose slug every request uses
(so requests reach the routes, not only the 404 of an unknown organisation)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from faramesh_cloud.audit_index.retention.api import RetentionApi
from faramesh_cloud.audit_index.retention.sweep import RetentionSweeper
from faramesh_cloud.audit_index.schema import AuditTables
from faramesh_cloud.fleet.query import FleetQuery
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.approvals_ports import mount_approvals
from faramesh_cloud.gateway.web.fleet_ports import FleetPorts, mount_fleet
from faramesh_cloud.gateway.web.git_ports import GitPort, mount_git
from faramesh_cloud.gateway.web.notifications_ports import mount_notifications
from faramesh_cloud.gateway.web.retention_ports import mount_retention
from faramesh_cloud.gateway.web.routes_slack import mount_slack
from faramesh_cloud.gateway.web.slack_app import SlackApp
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.signing.keys import load_or_create_signing_key
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.billing_support import billing
from tests.fixtures.gateway import CLOUD_URL, approvals_api, static_status
from tests.fixtures.identity import People
from tests.integration.audit_explorer_support import explorer_deps
from tests.integration.audit_support import fast_config, run_index

pytestmark = [pytest.mark.postgres, pytest.mark.chdb, pytest.mark.integration]

EXAMPLES = 4  # per operation and generation mode: bounded, the whole run stays well under a minute
# Left out of the fuzzing: a rename would move the organisation from under the other requests,
# and the live stream never ends (both have their own tests).
SKIPPED = {("PATCH", "/api/v1/orgs/{org}"), ("GET", "/api/v1/orgs/{org}/audit/stream")}


@pytest.fixture
def gateway_app(identity: Identity, stacks: StackStore, database: Database, chdb: Olap, olap_database: str,
                tmp_path: Path, git_port: GitPort,
                postgres_log: PostgresLog) -> FastAPI:
    from tests.notifications_support import notifications_api

    app = create_app(static_status, web=explorer_deps(identity, stacks, database, chdb, olap_database, tmp_path))
    mount_fleet(app, FleetPorts(query=FleetQuery(database, stacks), registry=stacks, cloud_url=CLOUD_URL))
    mount_approvals(app, approvals_api(database))
    mount_notifications(app, notifications_api(database))
    mount_slack(app, SlackApp())
    mount_git(app, git_port)  # after the fleet: /api/v1/orgs/{org}/git/...
    sweeper = RetentionSweeper(database, chdb, AuditTables(olap_database), load_or_create_signing_key(tmp_path))
    mount_retention(app, RetentionApi(database, sweeper))
    return app


@pytest.fixture
async def owner_key(people: People, stacks: StackStore, database: Database, postgres_log: PostgresLog, chdb: Olap,
                    olap_database: str) -> str:
    await run_index(database, postgres_log, chdb, fast_config(olap_database), 0)  # the index's tables, empty
    await billing(database, postgres_log, lambda: datetime.now(UTC)).prepare()  # billing's tables
    owner = await people.org("acme")
    await stacks.register_stack(owner.org.org_id, "payments-prod", "production")
    _, key = await people.identity.api_keys.create(owner.org.org_id, "fuzz", Role.OWNER,
                                                   await people.principal(owner))
    return key


def _fuzz(base: str, key: str, document: dict[str, Any]) -> tuple[list[str], Counter[str]]:
    """Every operation, positive and negative examples; the failures, one line each, and how
    many answers each status class got (proof the requests got past authentication)."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis.checks import not_a_server_error
    from schemathesis.generation import GenerationMode
    from schemathesis.specs.openapi.checks import status_code_conformance

    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    seen: Counter[str] = Counter()
    headers = {"Authorization": f"Bearer {key}"}
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        # Invalid examples where there is something to get wrong (a body or a query parameter):
        # a path of plain strings has no invalid value.
        takes_input = bool(operation.body) or bool(list(operation.query))
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if takes_input else (GenerationMode.POSITIVE,):

            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                if "org" in (case.path_parameters or {}):
                    case.path_parameters["org"] = "acme"
                response = case.call_and_validate(base_url=base, headers=headers, timeout=30,
                                                  checks=[not_a_server_error, status_code_conformance])
                seen[f"{response.status_code // 100}xx"] += 1
                if response.status_code < 300:
                    seen[case.operation.label] += 1

            try:
                run()
            except Unsatisfiable:
                continue  # no invalid value of this kind exists for the operation
            except (Exception, BaseExceptionGroup) as exc:  # collected, reported together
                first = str(exc).strip().splitlines()
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): "
                                f"{' | '.join(first[:6])}")
    return failures, seen


async def test_the_rest_api_keeps_to_its_openapi_document(served: str, owner_key: str) -> None:
    async with httpx.AsyncClient(base_url=served) as client:
        document = (await client.get("/api/v1/openapi.json")).json()
    failures, seen = await asyncio.to_thread(_fuzz, served, owner_key, document)
    assert failures == [], "\n".join(failures)
    operations = sum(1 for label in seen if " /" in label)
    assert operations >= 20 and seen["5xx"] == 0, seen  # most operations were reached and answered
