"""The Strawberry ASGI app: who is calling, bodies it cannot parse, and documents named by id."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ErrorMessage as TransportWSError,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ErrorMessage as LegacyWSError
from strawberry.subscriptions.protocols.graphql_ws.types import StartMessage
from strawberry.types.unset import UNSET

from core.errors import Unauthenticated
from core.identity import identity_from_authorization
from core.settings import Settings
from db.engine import Database
from live.events import Events
from schema.context import Context
from transports.browser import playground_page
from transports.connection import ConnectionDuties
from transports.trusted_documents import NOT_FOUND, DocumentRefused, TrustedDocuments


@dataclass
class ConnectionContext(Context):
    """A WebSocket connection's context: it outlives its operations, and has duties of its
    own (pings, closing when the token expires) that stop when it ends."""

    duties: ConnectionDuties = field(default_factory=ConnectionDuties)


class TrustedTransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws: a `subscribe` payload may name a trusted document by its id."""

    view: "ChatGraphQL"

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


class TrustedLegacyWS(BaseGraphQLWSHandler[Context, None]):
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


class ChatGraphQL(GraphQL[Context, None]):
    """HTTP identity comes from the Authorization header, WebSocket identity from the
    `connection_init` payload, checked before any operation can start. A request may name a
    trusted document instead of sending its text (transports/trusted_documents.py)."""

    graphql_transport_ws_handler_class = TrustedTransportWS
    graphql_ws_handler_class = TrustedLegacyWS

    def __init__(
        self,
        *,
        database: Database,
        events: Events,
        settings: Settings,
        jwt_secret: str,
        trusted: TrustedDocuments,
        encode: Callable[[object], str | None] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.database = database
        self.events = events
        self.settings = settings
        self.jwt_secret = jwt_secret
        self.trusted = trusted
        self._encode = encode

    def context_for(self, authorization: object) -> Context:
        """The context of an HTTP request carrying `authorization` (an Authorization value),
        with the caller's identity or why there is none."""
        context = Context(database=self.database, events=self.events, settings=self.settings)
        self.identify(context, authorization)
        return context

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        if isinstance(request, WebSocket):
            return ConnectionContext(
                database=self.database,
                events=self.events,
                settings=self.settings,
                websocket=request,
            )
        return self.context_for(request.headers.get("authorization"))

    async def run(  # type: ignore[override]
        self,
        request: Request | WebSocket,
        context: Any = UNSET,
        root_value: Any = UNSET,
    ) -> Response | WebSocket:
        """Runs the request; a WebSocket's background duties stop when it ends."""
        if not isinstance(request, WebSocket):
            try:
                return await super().run(request, context, root_value)
            except DocumentRefused as refused:
                # A miss answers 200, as APQ clients expect before they resend the text.
                status = 200 if refused.code == NOT_FOUND else 400
                return JSONResponse({"errors": [refused.error]}, status_code=status)
        context = await self.get_context(request, request)
        try:
            return await super().run(request, context, root_value)
        finally:
            context.duties.stop()

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET that names a trusted document is a request, not a browser opening the page.
        named = any(name in request.query_params for name in ("documentId", "extensions"))
        return not named and super().should_render_graphql_ide(request)

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL built from the graphiql package in `web/`, instead of Strawberry's CDN page."""
        return playground_page()

    async def on_ws_connect(self, context: Context) -> None:
        assert isinstance(context, ConnectionContext) and context.websocket is not None
        params = context.connection_params or {}
        self.identify(context, params.get("Authorization") or params.get("authorization"))
        if context.identity is None:
            problem = context.auth_problem or Unauthenticated("Missing credentials.")
            raise ConnectionRejectionError(
                {"message": problem.message, "extensions": {"code": problem.code}}
            )
        protocol = await self.pick_websocket_subprotocol(context.websocket)
        context.duties.start(
            context.websocket,
            # Legacy graphql-ws clients get Strawberry's own "ka" messages instead.
            ping_seconds=(
                self.settings.ws_ping_seconds if protocol == GRAPHQL_TRANSPORT_WS_PROTOCOL else None
            ),
            expires_at=context.identity.expires_at,
        )

    def identify(self, context: Context, authorization: object) -> None:
        """Set the context's identity from an Authorization value, or why there is none."""
        try:
            header = authorization if isinstance(authorization, str) else None
            context.identity = identity_from_authorization(header, self.jwt_secret)
        except Unauthenticated as problem:
            context.auth_problem = problem

    def encode_json(self, data: object) -> str | bytes:
        # Data shared by many responses is encoded once for all (speed/shared_data.py).
        encoded = self._encode(data) if self._encode is not None else None
        return encoded if encoded is not None else super().encode_json(data)

    def parse_json(self, data: str | bytes) -> Any:
        """A POST body (Strawberry parses GET parameters with `parse_query_params`)."""
        parsed = self._parse_json_value(data)
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "The request body must be a JSON object.")
        if isinstance(parsed, list):  # a batch (refused unless batching is on)
            return [
                self.trusted.resolve(item) if isinstance(item, dict) else item for item in parsed
            ]
        return self.trusted.resolve(parsed)

    def parse_query_params(self, params: Mapping[str, str | None]) -> dict[str, Any]:
        """A GET request's parameters, `variables` and `extensions` JSON-decoded."""
        data: dict[str, Any] = dict(params)
        for name in ("variables", "extensions"):
            if data.get(name):
                data[name] = self._parse_json_value(data[name])
        return self.trusted.resolve(data)

    def _parse_json_value(self, data: str | bytes) -> Any:
        # json.loads raises RecursionError on deep nesting and UnicodeDecodeError on bad
        # bytes; both are the client's malformed body, not a server failure.
        try:
            return super().parse_json(data)
        except (RecursionError, UnicodeDecodeError, ValueError) as exc:
            raise HTTPException(400, "Unable to parse request body as JSON") from exc
