"""Who is calling: the stack API key in the ``authorization`` metadata, and nothing else.

Organisation and stack ids inside messages are never trusted; the key alone identifies the
stack. Every failure is ``UNAUTHENTICATED`` with a message saying what to fix, and never
echoes the key.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Protocol

import grpc
import grpc.aio

from faramesh_cloud.directory.region import Region
from faramesh_cloud.ingest import regions
from faramesh_cloud.rpc.status import abort
from faramesh_cloud.stacks.domain import StackIdentity
from faramesh_cloud.stacks.keys import looks_like_stack_key, parse_key

AUTHORIZATION: Final = "authorization"
_BEARER: Final = "bearer "


class KeyAuthenticator(Protocol):
    async def authenticate(self, plaintext: str) -> StackIdentity | None: ...


class NotAuthenticated(Exception):
    """Why a call carries no usable stack key (the message is safe to send back)."""


def bearer_key(metadata: Iterable[tuple[str, str | bytes]] | None) -> str:
    """The stack key from ``authorization: Bearer fmc_sk_...``; NotAuthenticated otherwise."""
    values = [v for k, v in metadata or () if k.lower() == AUTHORIZATION]
    if not values:
        raise NotAuthenticated(
            "no stack API key: send 'authorization: Bearer fmc_sk_...' metadata with every call "
            "(the key shown once when the stack was registered in Settings > Stacks)"
        )
    if len(values) > 1:
        raise NotAuthenticated("more than one authorization metadata entry; send exactly one")
    value = values[0]
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    if not text.lower().startswith(_BEARER):
        raise NotAuthenticated("the authorization metadata must read 'Bearer <stack API key>'")
    key = text[len(_BEARER) :].strip()
    if not looks_like_stack_key(key):
        raise NotAuthenticated(
            "this is not a stack API key (those start with 'fmc_sk_'); use the key shown when "
            "the stack was registered in Settings > Stacks"
        )
    return key


async def identify(
    context: grpc.aio.ServicerContext[object, object], stacks: KeyAuthenticator, region: Region | None = None
) -> StackIdentity:
    """The calling stack, or the call ends UNAUTHENTICATED; PERMISSION_DENIED with the redirect
    hint (:mod:`.regions`) when the key is unknown here and the directory places it in another
    region (asked only then, and only when this install has a ``region``)."""
    try:
        key = bearer_key(context.invocation_metadata())
    except NotAuthenticated as exc:
        await abort(context, grpc.StatusCode.UNAUTHENTICATED, str(exc))
    identity = await stacks.authenticate(key)
    if identity is None:
        parsed = parse_key(key)
        elsewhere = None if region is None or parsed is None else await region.key_elsewhere(parsed.key_id)
        if elsewhere is not None:
            await abort(context, grpc.StatusCode.PERMISSION_DENIED, regions.message(elsewhere),
                        error_info=regions.error_info(elsewhere))
        await abort(
            context,
            grpc.StatusCode.UNAUTHENTICATED,
            "stack API key rejected: it is unknown, revoked or expired, or its stack was "
            "deregistered; have an org admin issue a new key (Settings > Stacks > rotate) and "
            "set it as cloud_api_key",
        )
    return identity
