"""One contract for the gateway's ``GitPort``, held by both adapters: the fleet's
``GitIntegrations`` in process (``up``), and ``GitClient`` talking to the fleet's real internal
server (``GitService`` beside ``FleetQueryService``) over real mutual TLS on 127.0.0.1 (``serve
gateway``). On the same data (real PostgreSQL) and a local fake of GitLab's API, every method
gives the same values and the same refusals with the same words and kinds (a token that cannot
read the path, a name in use, an unknown id, a malformed organisation id); the token never comes
back; another organisation's connection is not found; callers other than the gateway (even
the registry, which may read the fleet's applied texts) are refused."""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from faramesh_cloud.egress.http import PinnedHttp
from faramesh_cloud.egress.sealing import SecretBox
from faramesh_cloud.fleet.git_api import GitConflict, GitIntegrations, InvalidGit
from faramesh_cloud.fleet.git_client import GitClient
from faramesh_cloud.fleet.query import FleetQuery
from faramesh_cloud.fleet.servicer import internal_server
from faramesh_cloud.gateway.web.git_ports import GitPort
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.rpc.errors import ServiceUnavailable
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fakes.git import FakeGit
from tests.fixtures.identity import People
from tests.fixtures.internal_tls import ServiceTls

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]
OWNER = Actor(ActorType.USER, str(uuid.uuid4()), "owner@acme.test", "203.0.113.7")
TOKEN = "glpat-contract-0042"
V1 = "agent a {\n  default deny\n}\n"


@pytest.fixture
async def api(database: Database, stacks: StackStore) -> AsyncIterator[GitIntegrations]:
    http = PinnedHttp(allow_private=True)
    yield GitIntegrations(database, SecretBox(secrets.token_bytes(32), "the git key"), PlatformAuditLog(database),
                          stacks, http, allow_private=True, clock=lambda: datetime.now(UTC))
    await http.close()


@pytest.fixture
def gitlab() -> Iterator[FakeGit]:
    fake = FakeGit("gitlab")
    fake.start()
    fake.commit("acme/gov", "main", {"governance.fms": V1})
    fake.grant(TOKEN)
    yield fake
    fake.stop()


@contextlib.asynccontextmanager
async def adapter(kind: str, api: GitIntegrations, database: Database, stacks: StackStore, tls: ServiceTls,
                  caller: str = "gateway") -> AsyncIterator[GitPort]:
    if kind == "in-process":
        yield api
        return
    server = internal_server(FleetQuery(database, stacks), "127.0.0.1:0", tls("fleet"), api)
    await server.start()
    client = GitClient(server.address, tls(caller))
    try:
        yield client
    finally:
        await client.close()
        await server.stop()


@pytest.mark.parametrize("kind", ["in-process", "grpc"])
async def test_both_adapters_answer_alike(kind: str, api: GitIntegrations, database: Database, stacks: StackStore,
                                          internal_tls: ServiceTls, people: People, gitlab: FakeGit) -> None:
    acme = (await people.org("acme")).org.org_id
    beta = (await people.org("beta")).org.org_id
    pay, _ = await stacks.register_stack(acme, "payments-prod", "production")
    theirs, _ = await stacks.register_stack(beta, "beta-stack", "production")
    async with adapter(kind, api, database, stacks, internal_tls) as port:
        made = await port.connect(acme, "gl", "gitlab", gitlab.base_url, TOKEN, OWNER)
        assert (made.name, made.provider.value, made.token_hint, made.created_by) == ("gl", "gitlab", "0042",
                                                                                      "owner@acme.test")
        assert [c.connection_id for c in await port.connections(acme)] == [made.connection_id]
        assert await port.connections(beta) == []
        with pytest.raises(GitConflict, match="exists already"):
            await port.connect(acme, "gl", "gitlab", gitlab.base_url, TOKEN, OWNER)
        with pytest.raises(InvalidGit, match="unknown git provider 'svn'"):
            await port.connect(acme, "x", "svn", "", TOKEN, OWNER)
        with pytest.raises(InvalidGit, match="not an organisation id"):
            await port.connections("acme")
        with pytest.raises(InvalidGit, match=r"cannot read nope\.fms on main of acme/gov.*HTTP 404"):
            await port.map_stack(acme, pay.stack_id, made.connection_id, "acme/gov", "nope.fms", "main", OWNER)
        with pytest.raises(LookupError, match="no stack"):  # acme's stack, named by beta
            await port.map_stack(beta, pay.stack_id, made.connection_id, "acme/gov", "governance.fms", "main", OWNER)
        with pytest.raises(LookupError, match="no git connection"):  # acme's connection, used by beta
            await port.map_stack(beta, theirs.stack_id, made.connection_id, "acme/gov", "governance.fms", "main", OWNER)
        with pytest.raises(LookupError, match="no stack"):
            await port.map_stack(acme, "no-such-stack", made.connection_id, "acme/gov", "governance.fms", "main",
                                 OWNER)

        mapped = await port.map_stack(acme, pay.stack_id, made.connection_id, "acme/gov", "governance.fms", "main",
                                      OWNER)
        assert (mapped.stack_id, mapped.connection, mapped.repository, mapped.branch) == (
            pay.stack_id, "gl", "acme/gov", "main")
        assert [m.stack_id for m in await port.mappings(acme)] == [pay.stack_id]
        head = gitlab.repos["acme/gov"].branches["main"]
        state = await port.check(acme, pay.stack_id, OWNER)
        assert (state.head_commit, state.error, state.comparison.status) == (head, "", "no_applied_text")
        assert state.head_url == f"{gitlab.base_url}/acme/gov/-/commit/{head}"
        assert [d.stack_id for d in await port.drifts(acme)] == [pay.stack_id] and await port.drifts(beta) == []
        assert (await port.drift(acme, pay.stack_id)) == state

        gone = await port.unmap(acme, pay.stack_id, OWNER)
        assert gone.repository == "acme/gov" and await port.mappings(acme) == []
        with pytest.raises(LookupError, match="not mapped"):
            await port.check(acme, pay.stack_id, OWNER)
        assert (await port.disconnect(acme, made.connection_id, OWNER)).name == "gl"
        with pytest.raises(LookupError):
            await port.disconnect(acme, made.connection_id, OWNER)
    async with database.connection() as conn:
        cur = await conn.execute("SELECT action, actor_label FROM platform_audit_log WHERE org_id = %s AND action "
                                 "LIKE 'org:git:%%' ORDER BY seq", (acme,))
        rows = await cur.fetchall()
    assert [r[0] for r in rows] == ["org:git:connect", "org:git:map", "org:git:check", "org:git:unmap",
                                    "org:git:disconnect"]
    assert {r[1] for r in rows} == {"owner@acme.test"}


@pytest.mark.parametrize("caller", ["registry", "compliance", "ingest"])
async def test_only_the_gateway_may_call(caller: str, api: GitIntegrations, database: Database, stacks: StackStore,
                                         internal_tls: ServiceTls) -> None:
    async with adapter("grpc", api, database, stacks, internal_tls, caller=caller) as port:
        with pytest.raises(ServiceUnavailable):
            await port.connections(str(uuid.uuid4()))
