"""The daemon's HTTP ways in, as an ASGI app the runtime mounts at ``/v1``.

* ``GET /v1/auth/me`` and ``POST /v1/ingest/dpr``: the legacy Horizon feed of today's
  daemon (``faramesh auth login --token fmc_sk_... --horizon-url <Cloud URL>``, then
  ``faramesh serve --sync-horizon``), FARAMESH_FORMATS 2.1. The bearer token is a stack API
  key, so the stack (and with it the organisation) comes from the key alone.
* ``POST /v1/webhooks/faramesh/{stack_id}``: the daemon's signed webhooks (2.4), verified
  with the stack's webhook secret.

Decisions go to ``decisions.legacy.v1`` (:mod:`faramesh_cloud.events.legacy`: unverified
summaries), defer webhooks also to ``sync.items.v1`` as a pending approval. A request is
answered 2xx only after the log has everything it carried; any error (always a JSON
``{"error": ...}``, with ``"field"`` for a bad field) means nothing of it was appended.

``/v1/auth/me`` answers a pseudo-identity for the stack, since there is no user behind a
stack key: ``email`` is ``stack-<stack_id>@<org slug>.stacks.faramesh-cloud.invalid`` (the
reserved ``.invalid`` domain: never deliverable), plus ``stack_id``/``stack_name``, which the
daemon ignores and a person running curl finds useful.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, Final, Protocol

import psycopg
from faramesh_cloud_api.sync.v1 import approvals_pb2
from psycopg_pool import PoolTimeout
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from faramesh_cloud.directory.region import Elsewhere, Region
from faramesh_cloud.events.legacy import SOURCE_HORIZON, SOURCE_WEBHOOK, VERIFICATION
from faramesh_cloud.events.topics import H_KIND, LEGACY_DECISIONS, SYNC_ITEMS, Origin, stack_key
from faramesh_cloud.ingest import regions
from faramesh_cloud.ingest.feeds.webhook_secrets import WebhookKeys
from faramesh_cloud.ingest.legacy_feed import FeedError, parse_batch
from faramesh_cloud.ingest.webhook_events import SIGNATURE_HEADER, parse_event, signature_valid
from faramesh_cloud.log.port import Log, LogRecord, LogUnavailable
from faramesh_cloud.sql.database import DatabaseUnavailable
from faramesh_cloud.stacks.domain import Org, Stack, StackIdentity
from faramesh_cloud.stacks.keys import looks_like_stack_key, parse_key

MAX_BODY_BYTES: Final = 2 * 1024 * 1024
APPROVAL_KIND: Final = "approval_event"  # the same kind and message the sync channel uses
_DB_ERRORS: Final = (DatabaseUnavailable, PoolTimeout, psycopg.OperationalError)
_REALM: Final = {"WWW-Authenticate": 'Bearer realm="faramesh-cloud"'}
_BAD_KEY: Final = (
    "stack API key rejected: it is unknown, revoked or expired, or its stack was deregistered; "
    "have an org admin issue a new key (faramesh-cloud stacks rotate-key) and log in again "
    "with 'faramesh auth login --token <key>'"
)
_BAD_SIGNATURE: Final = (
    f"webhook refused: {SIGNATURE_HEADER} is missing or does not match; configure the daemon's "
    "webhook with this stack's URL and the secret from 'faramesh-cloud stacks webhook-secret'"
)

_log = logging.getLogger(__name__)


class StackDirectory(Protocol):
    async def authenticate(self, plaintext: str) -> StackIdentity | None: ...

    async def get_stack(self, org_id: str, stack_id: str) -> Stack | None: ...

    async def touch(self, org_id: str, stack_id: str) -> None: ...


class OrgDirectory(Protocol):
    async def get_org(self, org_id: str) -> Org | None: ...


class WebhookSecretSource(Protocol):
    async def verification_secrets(self, stack_id: str) -> WebhookKeys | None: ...


class _Refused(Exception):
    def __init__(self, status: int, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field, self.headers = status, message, field, headers


class _Misdirected(Exception):
    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body["error"])
        self.body = body


def _answer(refused: _Refused) -> JSONResponse:
    body: dict[str, Any] = {"error": refused.message}
    if refused.field:
        body["field"] = refused.field
    return JSONResponse(body, status_code=refused.status, headers=refused.headers)


def pseudo_email(org: Org, stack_id: str) -> str:
    return f"stack-{stack_id}@{org.slug}.stacks.faramesh-cloud.invalid"


class LegacyHttp:
    """The request handlers; :func:`create_legacy_app` wires them into routes."""

    def __init__(self, *, log: Log, stacks: StackDirectory, orgs: OrgDirectory,
                 webhooks: WebhookSecretSource, wall_ns: Callable[[], int] = time.time_ns,
                 max_body_bytes: int = MAX_BODY_BYTES, region: Region | None = None) -> None:
        self._region = region
        self._log = log
        self._stacks = stacks
        self._orgs = orgs
        self._webhooks = webhooks
        self._wall_ns = wall_ns
        self._max_body = max_body_bytes

    async def _body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_body:
            raise _Refused(413, f"the body of {declared} bytes exceeds {self._max_body} bytes; send smaller batches")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self._max_body:
                raise _Refused(413, f"the body exceeds {self._max_body} bytes; send smaller batches")
        return bytes(body)

    async def _identify(self, request: Request) -> StackIdentity:
        header = request.headers.get("authorization")
        if header is None:
            raise _Refused(401, "no token: send 'Authorization: Bearer <stack API key>' (fmc_sk_...)",
                           headers=_REALM)
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _Refused(401, "the Authorization header must read 'Bearer <stack API key>'", headers=_REALM)
        if not looks_like_stack_key(token):
            raise _Refused(401, "this token is not a stack API key (those start with 'fmc_sk_'); register "
                           "the stack with 'faramesh-cloud stacks register' and use the key it shows",
                           headers=_REALM)
        identity = await self._stacks.authenticate(token)
        if identity is None:
            parsed = parse_key(token)
            if self._region is not None and parsed is not None:
                await self._misdirected(await self._region.key_elsewhere(parsed.key_id), "stack API key")
            raise _Refused(401, _BAD_KEY, headers=_REALM)
        return identity

    @staticmethod
    async def _misdirected(elsewhere: Elsewhere | None, what: str) -> None:
        """421 with the redirect hint when another region holds this key or stack."""
        if elsewhere is not None:
            raise _Misdirected(regions.http_body(elsewhere, what))

    async def _touch(self, org_id: str, stack_id: str) -> None:
        """Best effort: 'last seen' must not turn a stored batch into an error."""
        try:
            await self._stacks.touch(org_id, stack_id)
        except _DB_ERRORS as exc:
            _log.warning("could not record contact from stack %s: %s", stack_id, exc)

    async def _append(self, topic: str, records: list[LogRecord]) -> None:
        try:
            await self._log.append(topic, records)
        except LogUnavailable as exc:
            raise _Refused(503, f"not stored, the log is unavailable ({exc}); send it again later",
                           headers={"Retry-After": "5"}) from exc

    async def handle(self, request: Request, work: Callable[[Request], Any]) -> JSONResponse:
        try:
            result: JSONResponse = await work(request)
            return result
        except _Refused as refused:
            return _answer(refused)
        except _Misdirected as misdirected:
            return JSONResponse(misdirected.body, status_code=regions.HTTP_STATUS)
        except FeedError as exc:
            return _answer(_Refused(exc.status, str(exc), exc.field or None))
        except _DB_ERRORS as exc:
            return _answer(_Refused(503, f"Cloud's database is unavailable ({type(exc).__name__}); "
                                    "nothing was stored, send it again later", headers={"Retry-After": "5"}))

    async def auth_me(self, request: Request) -> JSONResponse:
        identity = await self._identify(request)
        org = await self._orgs.get_org(identity.org_id)
        stack = await self._stacks.get_stack(identity.org_id, identity.stack_id)
        if org is None or stack is None:  # deleted between the two reads
            raise _Refused(401, _BAD_KEY, headers=_REALM)
        return JSONResponse({
            "email": pseudo_email(org, stack.stack_id), "org_id": org.org_id, "org_name": org.name,
            "stack_id": stack.stack_id, "stack_name": stack.name,
        })

    async def ingest_dpr(self, request: Request) -> JSONResponse:
        identity = await self._identify(request)
        batch = parse_batch(await self._body(request))
        if batch.org_id and batch.org_id != identity.org_id:
            raise _Refused(403, f"the body's org_id {batch.org_id[:64]!r} is not the organisation of this "
                           f"stack key ({identity.org_id}); the key decides the organisation: run "
                           "'faramesh auth login --token <key>' again so auth.json holds the right org_id",
                           "org_id")
        key = stack_key(identity.org_id, identity.stack_id)
        received_ns, request_id = self._wall_ns(), str(uuid.uuid4())
        records = [
            LogRecord(key, event.to_json(), Origin(identity.org_id, identity.stack_id, SOURCE_HORIZON,
                                                   index, request_id, received_ns).headers())
            for index, event in enumerate(batch.events)
        ]
        await self._append(LEGACY_DECISIONS, records)
        await self._touch(identity.org_id, identity.stack_id)
        return JSONResponse({"accepted": len(records), "stack_id": identity.stack_id,
                             "verification": VERIFICATION})

    async def webhook(self, request: Request) -> JSONResponse:
        stack_id = request.path_params["stack_id"]
        body = await self._body(request)
        keys = await self._webhooks.verification_secrets(stack_id)
        secrets = keys.secrets if keys is not None else ()
        if keys is None and self._region is not None:
            await self._misdirected(await self._region.stack_elsewhere(stack_id), "stack")
        if keys is None or not signature_valid(request.headers.get(SIGNATURE_HEADER), body, secrets):
            raise _Refused(401, _BAD_SIGNATURE)
        event = parse_event(body)
        origin = Origin(keys.org_id, keys.stack_id, SOURCE_WEBHOOK, 0, str(uuid.uuid4()), self._wall_ns())
        key = stack_key(keys.org_id, keys.stack_id)
        await self._append(LEGACY_DECISIONS, [LogRecord(key, event.decision.to_json(), origin.headers())])
        if event.pending is not None:
            change = approvals_pb2.ApprovalEvent(state=approvals_pb2.APPROVAL_STATE_PENDING,
                                                 approval=event.pending)
            headers = origin.headers()
            headers[H_KIND] = APPROVAL_KIND.encode()
            await self._append(SYNC_ITEMS, [LogRecord(key, change.SerializeToString(), headers)])
        await self._touch(keys.org_id, keys.stack_id)
        return JSONResponse({"accepted": 1, "pending_approval": event.pending is not None})


def _route(path: str, http: LegacyHttp, work: Callable[[Request], Any], method: str) -> Route:
    async def endpoint(request: Request) -> JSONResponse:
        return await http.handle(request, work)

    return Route(path, endpoint, methods=[method])


def create_legacy_app(http: LegacyHttp) -> Starlette:
    """The ASGI app; mount it at ``/v1``."""
    return Starlette(routes=[
        _route("/auth/me", http, http.auth_me, "GET"),
        _route("/ingest/dpr", http, http.ingest_dpr, "POST"),
        _route("/webhooks/faramesh/{stack_id}", http, http.webhook, "POST"),
    ])
