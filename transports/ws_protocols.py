"""Where our WebSocket protocols differ from Strawberry's handling of them, and how their
operations are logged and counted (transports/observed.py): one line per operation, when it
ends (completed, stopped by the client, or closed with its connection), with the connection's
request id, its caller, and the code of the first error it sent."""

from collections.abc import Mapping
from typing import Any

from starlette.websockets import WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    Operation as TransportWsOperation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import OperationMessage

from schema.context import Context
from transports.observed import Operation


class ObservedOperations:
    """The operations of one connection, by id, while they run."""

    def __init__(self) -> None:
        self.running: dict[str, Operation] = {}

    def start(self, view: Any, context: Context, id: str, query: object, name: object) -> Operation:
        """Opens operation `id`; `view` is the ChatGraphQL (transports/view.py) that opens
        operations (Strawberry types the handlers' view as its base class)."""
        operation = view.operation("ws")
        operation.document(query, name)
        operation.identify(context.identity)
        self.running[id] = operation
        return operation

    def finish(self, id: str, operation: Operation) -> None:
        if self.running.get(id) is operation:
            del self.running[id]
        operation.finish()

    def sent(self, message: Mapping[str, Any]) -> None:
        """Notes the first error an operation sends (in an `error` message, or in the
        `errors` of a `next`/`data` one)."""
        kind = message.get("type")
        if kind not in ("error", "next", "data"):
            return
        operation = self.running.get(message.get("id"))  # type: ignore[arg-type]
        if operation is None:
            return
        payload = message.get("payload")
        if isinstance(payload, Mapping):
            errors = [payload] if kind == "error" else payload.get("errors")
        else:
            errors = payload
        operation.errors(errors)


class TransportWsHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws types the `connection_init` payload as an object or null, but
    Strawberry closes a null one with 4400: here it is no payload, so no token (4403)."""

    observed: ObservedOperations | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if "payload" in message and message["payload"] is None:
            message = {"type": "connection_init"}
        await super().handle_connection_init(message)

    async def run_operation(self, operation: TransportWsOperation[Context, None]) -> None:
        if self.observed is None:
            self.observed = ObservedOperations()
        observed = self.observed.start(
            self.view, self.context, operation.id, operation.query, operation.operation_name
        )
        try:
            await super().run_operation(operation)
        finally:
            self.observed.finish(operation.id, observed)

    async def send_message(self, message: Message) -> None:
        if self.observed is not None:
            self.observed.sent(message)  # type: ignore[arg-type]
        await super().send_message(message)


class LegacyWsHandler(BaseGraphQLWSHandler[Context, None]):
    """Strawberry's legacy graphql-ws handling, its operations logged and counted."""

    observed: ObservedOperations | None = None

    async def handle_async_results(
        self,
        operation_id: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, object] | None,
    ) -> None:
        if self.observed is None:
            self.observed = ObservedOperations()
        observed = self.observed.start(self.view, self.context, operation_id, query, operation_name)
        try:
            await super().handle_async_results(operation_id, query, operation_name, variables)
        finally:
            self.observed.finish(operation_id, observed)

    async def send_message(self, message: OperationMessage) -> None:
        if self.observed is not None:
            self.observed.sent(message)  # type: ignore[arg-type]
        await super().send_message(message)


class WebSocketClosedOnce(ASGIWebSocketAdapter):
    """A socket closes once, with the first reason given. A refused `connection_init`
    closes with why (transports/view.py: "Forbidden: token expired"); Strawberry's own close
    after it, a bare "Forbidden", then changes nothing."""

    async def close(self, code: int, reason: str) -> None:
        if self.ws.application_state != WebSocketState.DISCONNECTED:
            await super().close(code, reason)
