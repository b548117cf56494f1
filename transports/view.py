"""The Strawberry ASGI app: who is calling, and bodies it cannot parse."""

from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET

from core.errors import Unauthenticated
from core.identity import identity_from_authorization
from core.settings import Settings
from db.engine import Database
from live.events import Events
from schema.context import Context
from transports.browser import playground_page
from transports.connection import ConnectionDuties

# Answers a request's parsed JSON body without Strawberry, or None (speed/fast_queries.py);
# its second argument builds the request's context.
AnswerQuery = Callable[[Mapping[str, Any], Callable[[], Context]], Awaitable[dict[str, Any] | None]]

# The body a request's fast path parsed, and what it parsed to: the full path reuses it.
_parsed_body: ContextVar[tuple[bytes, Any] | None] = ContextVar("parsed_body", default=None)


@dataclass
class ConnectionContext(Context):
    """A WebSocket connection's context: it outlives its operations, and has duties of its
    own (pings, closing when the token expires) that stop when it ends."""

    duties: ConnectionDuties = field(default_factory=ConnectionDuties)


class ChatGraphQL(GraphQL[Context, None]):
    """HTTP identity comes from the Authorization header, WebSocket identity from the
    `connection_init` payload, checked before any operation can start."""

    def __init__(
        self,
        *,
        database: Database,
        events: Events,
        settings: Settings,
        jwt_secret: str,
        encode: Callable[[object], str | None] | None = None,
        answer_query: AnswerQuery | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.database = database
        self.events = events
        self.settings = settings
        self.jwt_secret = jwt_secret
        self._encode = encode
        self._answer_query = answer_query

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
            if self._answer_query is not None and _plain_json_post(request):
                answered = await self._answer_fast(request)
                if answered is not None:
                    return answered
            return await super().run(request, context, root_value)
        context = await self.get_context(request, request)
        try:
            return await super().run(request, context, root_value)
        finally:
            context.duties.stop()

    async def _answer_fast(self, request: Request) -> Response | None:
        """The fast path's answer to a query it knows (speed/fast_queries.py), or None. The
        JSON it parsed is kept for the full path, which then parses nothing twice."""
        assert self._answer_query is not None
        body = await request.body()
        try:
            parsed = self.parse_json(body)
        except HTTPException:
            return None  # the full path answers it, with its error
        _parsed_body.set((body, parsed))
        if not isinstance(parsed, dict):
            return None
        authorization = request.headers.get("authorization")
        answer = await self._answer_query(parsed, lambda: self.context_for(authorization))
        if answer is None:
            return None
        return Response(self.encode_json(answer), media_type="application/json")

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
        known = _parsed_body.get()
        if known is not None and known[0] is data:
            return known[1]
        # json.loads raises RecursionError on deep nesting and UnicodeDecodeError on bad
        # bytes; both are the client's malformed body, not a server failure.
        try:
            parsed = super().parse_json(data)
        except (RecursionError, UnicodeDecodeError, ValueError) as exc:
            raise HTTPException(400, "Unable to parse request body as JSON") from exc
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "The request body must be a JSON object.")
        return parsed


def _plain_json_post(request: Request) -> bool:
    """A POST of JSON that asks for a JSON answer: what the fast path may answer."""
    headers = request.headers
    return (
        request.method == "POST"
        and headers.get("content-type", "").partition(";")[0].strip() == "application/json"
        and headers.get("accept", "application/json") in ("application/json", "*/*")
    )
