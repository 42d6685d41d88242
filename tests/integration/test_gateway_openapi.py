"""The OpenAPI document says what the routes do (real HTTP): the error answers every route
can give, a 405 whose ``Allow`` lists every method of the path, and request bodies that take
JSON booleans and numbers as they are (``0`` is not ``false``, ``false`` is not a number)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from faramesh_cloud.gateway.api.stacks import StackIn
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.stacks.domain import STACK_NAME_PATTERN
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.identity import People

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

METHODS = ("get", "put", "post", "delete", "patch")


async def test_the_document_lists_the_error_answers(served: str) -> None:
    async with httpx.AsyncClient(base_url=served) as client:
        document = (await client.get("/api/v1/openapi.json")).json()
    paths = document["paths"]
    members = paths["/api/v1/orgs/{org}/members/{user_id}"]
    for method in ("get", "patch", "delete"):
        assert {"400", "401", "403", "404", "413", "422", "503"} <= set(members[method]["responses"]), method
    assert "503" in paths["/api/v1/orgs/{org}/fleet/stacks"]["get"]["responses"]  # the fleet service may be down
    assert "409" in paths["/api/v1/orgs/{org}/api-keys/{key_id}"]["delete"]["responses"]
    assert "409" in paths["/api/v1/orgs/{org}/approvals/{approval_id}/decision"]["post"]["responses"]
    assert "409" not in members["get"]["responses"]
    assert set(paths["/api/v1/platform/signing-key"]["get"]["responses"]) == {"200", "400", "413", "422"}
    problem = members["get"]["responses"]["404"]["content"]["application/json"]["schema"]
    assert problem == {"$ref": "#/components/schemas/Problem"} and "Problem" in document["components"]["schemas"]


def _documented_methods(paths: dict[str, Any], url: str) -> list[str]:
    """Every method the document gives for any path template that ``url`` fits (a template
    such as ``/approvals/{approval_id}`` also fits ``/approvals/bulk-decision``)."""
    found: set[str] = set()
    for template, item in paths.items():
        if re.fullmatch(re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)), url):
            found |= {m.upper() for m in METHODS if m in item}
    return sorted(found)


async def test_a_405_allows_every_method_of_the_path(served: str) -> None:
    async with httpx.AsyncClient(base_url=served) as client:
        paths = (await client.get("/api/v1/openapi.json")).json()["paths"]
        checked = 0
        for path in paths:
            url = path.replace("{org}", "acme").replace("{kind}", "kill").replace("{kinds}", "providers")
            url = url.replace("{", "x").replace("}", "")  # any other id: the 405 comes before the route
            documented = _documented_methods(paths, url)
            unsupported = next(m for m in ("PATCH", "PUT", "DELETE", "POST") if m not in documented)
            answer = await client.request(unsupported, url)
            assert answer.status_code == 405, (unsupported, url, answer.status_code)
            assert answer.headers["allow"] == ", ".join(documented), (unsupported, path)
            checked += 1
    assert checked > 40


async def test_booleans_and_numbers_are_not_taken_for_each_other(
        served: str, people: People, stacks: StackStore) -> None:
    owner = await people.org("acme")
    stack, _ = await stacks.register_stack(owner.org.org_id, "payments-prod")
    _, key = await people.identity.api_keys.create(owner.org.org_id, "ops", Role.OWNER, await people.principal(owner))
    sso = {"issuer": "https://idp.example.test", "client_id": "cloud"}
    email = {"name": "ops mail", "kind": "email", "smtp_host": "smtp.example.test", "sender": "cloud@example.test",
             "to": ["ops@example.test"]}
    async with httpx.AsyncClient(base_url=served, headers={"Authorization": f"Bearer {key}"}) as client:
        answers = {
            "enabled 0": await client.put("/api/v1/orgs/acme/sso", json={**sso, "enabled": 0}),
            "enabled 'false'": await client.put("/api/v1/orgs/acme/sso", json={**sso, "enabled": "false"}),
            "overlap_s false": await client.post(f"/api/v1/orgs/acme/stacks/{stack.stack_id}/rotate-key",
                                                 json={"overlap_s": False}),
            "overlap_s '60'": await client.post(f"/api/v1/orgs/acme/stacks/{stack.stack_id}/rotate-key",
                                                json={"overlap_s": "60"}),
            "starttls 1": await client.post("/api/v1/orgs/acme/notifications/destinations",
                                            json={**email, "starttls": 1}),
            "smtp_port true": await client.post("/api/v1/orgs/acme/notifications/destinations",
                                                json={**email, "smtp_port": True}),
        }
        assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(answers, 422)
        assert answers["enabled 0"].json()["detail"][0]["loc"] == ["body", "enabled"]
        assert (await client.put("/api/v1/orgs/acme/sso", json={**sso, "enabled": False})).status_code == 200
        rotated = await client.post(f"/api/v1/orgs/acme/stacks/{stack.stack_id}/rotate-key", json={"overlap_s": 60})
        assert rotated.status_code == 200 and rotated.json()["previous_keys_valid_for_s"] == 60


def test_the_stack_name_rule_is_in_the_document() -> None:
    name = StackIn.model_json_schema()["properties"]["name"]
    assert name["pattern"] == f"^{STACK_NAME_PATTERN}$" and name["maxLength"] == 64
    assert "starting with a letter or a digit" in name["description"]
