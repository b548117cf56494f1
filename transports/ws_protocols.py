"""Where our WebSocket protocols differ from Strawberry's handling of them: a null
`connection_init` payload, trusted documents named by id, a coded refusal of an operation
over the caller's limits (transports/caller_limits.py), and the wait for `connection_init`
on legacy graphql-ws too."""

import asyncio
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ErrorMessage as TransportWSError,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionInitMessage as LegacyConnectionInitMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.types import ErrorMessage as LegacyWSError
from strawberry.subscriptions.protocols.graphql_ws.types import StartMessage

from schema.context import Context
from transports.trusted_documents import DocumentRefused

if TYPE_CHECKING:
    from transports.view import ChatGraphQL

# graphql-transport-ws's close code for a socket that sent no `connection_init` in time.
INIT_TIMEOUT = 4408


class TransportWsHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws types the `connection_init` payload as an object or null, but
    Strawberry closes a null one with 4400: here it is no payload, so no token (4403). A
    `subscribe` payload may name a trusted document by its id. An operation over the
    caller's limits gets an `error` message with a code; the connection and its other
    operations go on."""

    view: "ChatGraphQL"

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if "payload" in message and message["payload"] is None:
            message = {"type": "connection_init"}
        await super().handle_connection_init(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.connection_acknowledged:  # else Strawberry closes the socket with 4401
            if message["id"] not in self.operations:  # else Strawberry closes it with 4409
                refusal = self.view.operation_refusal(self.context, len(self.operations))
                if refusal is not None:
                    await self.send_message(
                        TransportWSError(id=message["id"], type="error", payload=[refusal])
                    )
                    return
            try:
                payload = self.view.trusted.resolve(dict(message["payload"]))
            except DocumentRefused as refused:
                await self.send_message(
                    TransportWSError(id=message["id"], type="error", payload=[refused.error])
                )
                return
            message = {**message, "payload": payload}  # type: ignore[typeddict-item]
        await super().handle_subscribe(message)


class LegacyWsHandler(BaseGraphQLWSHandler[Context, None]):
    """Legacy graphql-ws: a `start` payload may name a trusted document by its id; an
    operation over the caller's limits gets a coded `error`; and the socket is closed (4408,
    as graphql-transport-ws does) when no `connection_init` came within the view's
    `connection_init_wait_timeout`."""

    view: "ChatGraphQL"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connection_init_received = False

    async def handle(self) -> None:
        waiting = asyncio.create_task(self._close_without_init())
        try:
            await super().handle()
        finally:
            waiting.cancel()
            with suppress(asyncio.CancelledError):
                await waiting

    async def _close_without_init(self) -> None:
        await asyncio.sleep(self.view.connection_init_wait_timeout.total_seconds())
        if not self.connection_init_received:
            await self.websocket.close(
                code=INIT_TIMEOUT, reason="Connection initialisation timeout"
            )

    async def handle_connection_init(self, message: LegacyConnectionInitMessage) -> None:
        self.connection_init_received = True
        await super().handle_connection_init(message)

    async def handle_start(self, message: StartMessage) -> None:
        if self.connection_acknowledged:
            running = len(self.tasks) - (message["id"] in self.tasks)
            refusal = self.view.operation_refusal(self.context, running)
            if refusal is not None:
                await self.send_message(
                    LegacyWSError(id=message["id"], type="error", payload=refusal)
                )
                return
            try:
                payload = self.view.trusted.resolve(dict(message["payload"]))
            except DocumentRefused as refused:
                await self.send_message(
                    LegacyWSError(id=message["id"], type="error", payload=refused.error)
                )
                return
            message = {**message, "payload": payload}  # type: ignore[typeddict-item]
        await super().handle_start(message)


class WebSocketClosedOnce(ASGIWebSocketAdapter):
    """A socket closes once, with the first reason given. A refused `connection_init`
    closes with why (transports/view.py: "Forbidden: token expired"); Strawberry's own close
    after it, a bare "Forbidden", then changes nothing."""

    async def close(self, code: int, reason: str) -> None:
        if self.ws.application_state != WebSocketState.DISCONNECTED:
            await super().close(code, reason)
