"""A SASL/PLAIN front for Tansu: the broker's own SASL needs users provisioned in its storage
(Tansu 0.6 implements SCRAM, not PLAIN), so, like the TLS front of test_kafka_tls.py, a small
asyncio proxy sits in front of a plain Tansu listener. It answers SaslHandshake and
SaslAuthenticate itself (Kafka protocol, the request and response schemas aiokafka ships),
checks the PLAIN credentials, forwards ApiVersions before authentication, refuses any other
request before it, and after a good authentication pipes bytes both ways."""

from __future__ import annotations

import asyncio
import struct
from contextlib import suppress
from dataclasses import dataclass, field

from aiokafka.protocol.admin import (
    SaslAuthenticateResponse_v0,
    SaslAuthenticateResponse_v1,
    SaslHandShakeResponse_v0,
    SaslHandShakeResponse_v1,
)

API_VERSIONS, SASL_HANDSHAKE, SASL_AUTHENTICATE = 18, 17, 36
SASL_AUTHENTICATION_FAILED, UNSUPPORTED_SASL_MECHANISM = 58, 33


@dataclass
class Seen:
    mechanisms: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    refused: int = 0


async def _frame(reader: asyncio.StreamReader) -> bytes:
    size = struct.unpack(">i", await reader.readexactly(4))[0]
    return await reader.readexactly(size)


def _answer(correlation: int, body: bytes) -> bytes:
    payload = struct.pack(">i", correlation) + body
    return struct.pack(">i", len(payload)) + payload


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


class SaslFront:
    """Listens on ``port``; authenticated connections go on to the broker at ``backend_port``."""

    def __init__(self, port: int, backend_port: int, username: str, password: str) -> None:
        self.port, self._backend = port, backend_port
        self._credentials = (username, password)
        self.seen = Seen()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[object]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._backend)
        try:
            if await self._authenticate(reader, writer, up_reader, up_writer):
                await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._tasks.discard(task)
            for w in (writer, up_writer):
                w.close()
                with suppress(ConnectionError):
                    await w.wait_closed()

    async def _authenticate(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                            up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter) -> bool:
        mechanism = ""
        while True:
            request = await _frame(reader)
            api_key, version, correlation, client_len = struct.unpack(">hhih", request[:10])
            body = request[10 + max(client_len, 0):]
            if api_key == API_VERSIONS:  # the broker answers what it speaks (it lists SASL too)
                up_writer.write(struct.pack(">i", len(request)) + request)
                await up_writer.drain()
                response = await _frame(up_reader)
                writer.write(struct.pack(">i", len(response)) + response)
            elif api_key == SASL_HANDSHAKE:
                (length,) = struct.unpack(">h", body[:2])
                mechanism = body[2:2 + length].decode()
                self.seen.mechanisms.append(mechanism)
                kind = SaslHandShakeResponse_v1 if version >= 1 else SaslHandShakeResponse_v0
                code = 0 if mechanism == "PLAIN" else UNSUPPORTED_SASL_MECHANISM
                writer.write(_answer(correlation, kind(code, ["PLAIN"]).encode()))
            elif api_key == SASL_AUTHENTICATE and mechanism == "PLAIN":
                (length,) = struct.unpack(">i", body[:4])
                _, user, password = body[4:4 + length].decode().split("\0")
                self.seen.users.append(user)
                ok = (user, password) == self._credentials
                self.seen.refused += not ok
                code, message = (0, "") if ok else (SASL_AUTHENTICATION_FAILED, "bad user name or password")
                answer = (SaslAuthenticateResponse_v1(code, message, b"", 0) if version >= 1
                          else SaslAuthenticateResponse_v0(code, message, b""))
                writer.write(_answer(correlation, answer.encode()))
                await writer.drain()
                return ok
            else:  # anything else before authenticating: the connection is closed
                self.seen.refused += 1
                return False
            await writer.drain()
