"""Where our WebSocket protocols differ from Strawberry's handling of them: a null
`connection_init` payload, trusted documents named by id, a coded refusal of an operation
over the caller's limits (transports/caller_limits.py), and the wait for `connection_init`
on legacy graphql-ws too.

And how their operations are logged and counted (transports/observed.py): one line per
operation, when it ends (completed, stopped by the client, or closed with its connection) or
when it is refused, with the connection's request id, its caller, and the code of the first
error it sent."""

import asyncio
from collections.abc import Mapping
from contextlib import suppress
from typing import TYPE_CHECKING, Any

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
from strawberry.subscriptions.protocols.graphql_ws.types import OperationMessage, StartMessage

from schema.context import Context
from transports.observed import Operation
from transports.trusted_documents import DocumentRefused

if TYPE_CHECKING:
    from transports.view import ChatGraphQL

# graphql-transport-ws's close code for a socket that sent no `connection_init` in time.
INIT_TIMEOUT = 4408


class ObservedOperations:
    """The operations of one connection, by id, while they run."""

    def __init__(self) -> None:
        self.running: dict[str, Operation] = {}

    def start(
        self, view: "ChatGraphQL", context: Context, id: str, query: object, name: object
    ) -> Operation:
        """Opens operation `id`."""
        operation = view.operation("ws")
        operation.document(query, name)
        operation.identify(context.identity)
        self.running[id] = operation
        return operation

    def finish(self, id: str, operation: Operation) -> None:
        if self.running.get(id) is operation:
            del self.running[id]
        operation.finish()

    def refused(
        self, view: "ChatGraphQL", context: Context, payload: object, error: Mapping[str, Any]
    ) -> None:
        """Logs and counts an operation refused before it ran (over the caller's limits, or
        naming a document that is not trusted), with `error`'s code."""
        params = payload if isinstance(payload, Mapping) else {}
        operation = view.operation("ws")
        operation.document(params.get("query"), params.get("operationName"))
        operation.identify(context.identity)
        operation.errors([error])
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
        if type(payload) is dict or isinstance(payload, Mapping):
            errors = [payload] if kind == "error" else payload.get("errors")
        else:
            errors = payload
        if errors:  # every event of a subscription passes here, nearly all without
            operation.errors(errors)


class TransportWsHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws types the `connection_init` payload as an object or null, but
    Strawberry closes a null one with 4400: here it is no payload, so no token (4403). A
    `subscribe` payload may name a trusted document by its id. An operation over the
    caller's limits gets an `error` message with a code; the connection and its other
    operations go on."""

    view: "ChatGraphQL"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.observed = ObservedOperations()

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if "payload" in message and message["payload"] is None:
            message = {"type": "connection_init"}
        await super().handle_connection_init(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.connection_acknowledged:  # else Strawberry closes the socket with 4401
            if message["id"] not in self.operations:  # else Strawberry closes it with 4409
                refusal = self.view.operation_refusal(self.context, len(self.operations))
                if refusal is not None:
                    self.refused(message["payload"], refusal)
                    await self.send_message(
                        TransportWSError(id=message["id"], type="error", payload=[refusal])
                    )
                    return
            try:
                payload = self.view.trusted.resolve(dict(message["payload"]))
            except DocumentRefused as refused:
                self.refused(message["payload"], refused.error)
                await self.send_message(
                    TransportWSError(id=message["id"], type="error", payload=[refused.error])
                )
                return
            message = {**message, "payload": payload}  # type: ignore[typeddict-item]
        await super().handle_subscribe(message)

    def refused(self, payload: object, error: Mapping[str, Any]) -> None:
        self.observed.refused(self.view, self.context, payload, error)

    async def run_operation(self, operation: TransportWsOperation[Context, None]) -> None:
        observed = self.observed.start(
            self.view, self.context, operation.id, operation.query, operation.operation_name
        )
        try:
            await super().run_operation(operation)
        finally:
            self.observed.finish(operation.id, observed)

    async def send_message(self, message: Message) -> None:
        self.observed.sent(message)  # type: ignore[arg-type]
        await super().send_message(message)


class LegacyWsHandler(BaseGraphQLWSHandler[Context, None]):
    """Legacy graphql-ws: a `start` payload may name a trusted document by its id; an
    operation over the caller's limits gets a coded `error`; and the socket is closed (4408,
    as graphql-transport-ws does) when no `connection_init` came within the view's
    `connection_init_wait_timeout`. Its operations are logged and counted."""

    view: "ChatGraphQL"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connection_init_received = False
        self.observed = ObservedOperations()

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
                self.refused(message["payload"], refusal)
                await self.send_message(
                    LegacyWSError(id=message["id"], type="error", payload=refusal)
                )
                return
            try:
                payload = self.view.trusted.resolve(dict(message["payload"]))
            except DocumentRefused as refused:
                self.refused(message["payload"], refused.error)
                await self.send_message(
                    LegacyWSError(id=message["id"], type="error", payload=refused.error)
                )
                return
            message = {**message, "payload": payload}  # type: ignore[typeddict-item]
        await super().handle_start(message)

    def refused(self, payload: object, error: Mapping[str, Any]) -> None:
        self.observed.refused(self.view, self.context, payload, error)

    async def handle_async_results(
        self,
        operation_id: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, object] | None,
    ) -> None:
        observed = self.observed.start(self.view, self.context, operation_id, query, operation_name)
        try:
            await super().handle_async_results(operation_id, query, operation_name, variables)
        finally:
            self.observed.finish(operation_id, observed)

    async def send_message(self, message: OperationMessage) -> None:
        self.observed.sent(message)  # type: ignore[arg-type]
        await super().send_message(message)


class WebSocketClosedOnce(ASGIWebSocketAdapter):
    """A socket closes once, with the first reason given. A refused `connection_init`
    closes with why (transports/view.py: "Forbidden: token expired"); Strawberry's own close
    after it, a bare "Forbidden", then changes nothing."""

    async def close(self, code: int, reason: str) -> None:
        if self.ws.application_state != WebSocketState.DISCONNECTED:
            await super().close(code, reason)
