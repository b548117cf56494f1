"""Every HTTP request and WebSocket connection gets an id: the client's `X-Request-ID`
when it is a sane one, else a new one. It is echoed in the response's `X-Request-ID`
header (on a WebSocket, the handshake's), and every log line of the request carries it
(core/logs.py)."""

import os
import re
from collections.abc import Awaitable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.logs import request_id

HEADER = b"x-request-id"
# Short, printable, no spaces or quotes: safe in a log line and in a header.
SANE_ID = re.compile(rb"^[A-Za-z0-9._:/+=-]{1,128}$")


def id_of(scope: Scope) -> str:
    """The client's request id when it is sane, else a new one."""
    for name, value in scope.get("headers", ()):
        if name == HEADER and SANE_ID.match(value):
            return value.decode()
    return os.urandom(16).hex()  # as random as uuid4's, without building a UUID


class RequestIds:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        value = id_of(scope)
        token = request_id.set(value)
        header = (HEADER, value.encode())

        # Not a coroutine of its own: it hands on `send`'s, once per message sent.
        def send_with_id(message: Message) -> Awaitable[None]:
            if message["type"] in ("http.response.start", "websocket.accept"):
                message["headers"] = [*message.get("headers", ()), header]
            return send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
