"""Where our WebSocket protocols differ from Strawberry's handling of them."""

from starlette.websockets import WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage

from schema.context import Context


class TransportWsHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws types the `connection_init` payload as an object or null, but
    Strawberry closes a null one with 4400: here it is no payload, so no token (4403)."""

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if "payload" in message and message["payload"] is None:
            message = {"type": "connection_init"}
        await super().handle_connection_init(message)


class WebSocketClosedOnce(ASGIWebSocketAdapter):
    """A socket closes once, with the first reason given. A refused `connection_init`
    closes with why (transports/view.py: "Forbidden: token expired"); Strawberry's own close
    after it, a bare "Forbidden", then changes nothing."""

    async def close(self, code: int, reason: str) -> None:
        if self.ws.application_state != WebSocketState.DISCONNECTED:
            await super().close(code, reason)
