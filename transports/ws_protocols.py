"""Where our WebSocket protocols differ from Strawberry's handling of them."""

from typing import TYPE_CHECKING

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
from strawberry.subscriptions.protocols.graphql_ws.types import ErrorMessage as LegacyWSError
from strawberry.subscriptions.protocols.graphql_ws.types import StartMessage

from schema.context import Context
from transports.trusted_documents import DocumentRefused

if TYPE_CHECKING:
    from transports.view import ChatGraphQL


class TransportWsHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws types the `connection_init` payload as an object or null, but
    Strawberry closes a null one with 4400: here it is no payload, so no token (4403). A
    `subscribe` payload may name a trusted document by its id."""

    view: "ChatGraphQL"

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if "payload" in message and message["payload"] is None:
            message = {"type": "connection_init"}
        await super().handle_connection_init(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.connection_acknowledged:  # else Strawberry closes the socket with 4401
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
    """Legacy graphql-ws: a `start` payload may name a trusted document by its id."""

    view: "ChatGraphQL"

    async def handle_start(self, message: StartMessage) -> None:
        if self.connection_acknowledged:
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
