"""The Strawberry ASGI app: who is calling, GraphQL over HTTP to the letter, and documents
named by id.

HTTP: the response is `application/graphql-response+json` or `application/json`, as the
client's Accept prefers, and every request refused before execution is answered as a
GraphQL error with a code (transports/refusals.py), from one place: `answer_http`. A request
may name a trusted document instead of sending its text (transports/trusted_documents.py).
"""

import re
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLFormattedError
from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.subscriptions import (
    GRAPHQL_SSE_PROTOCOL,
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)
from strawberry.types.execution import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET

from compat.strawberry import CannotGetOperationTypeError, InvalidOperationTypeError
from core.errors import MissingToken, Unauthenticated
from core.identity import Identity, TokenVerifier, identity_from_authorization
from core.metrics import WEBSOCKETS_OPEN
from core.settings import Settings
from db.engine import Database
from live.events import Events
from schema.context import Context
from schema.operations import OPERATION_RESOLUTION_FAILURE
from transports.body_limit import BodyTooLarge
from transports.browser import playground_page
from transports.caller_limits import (
    RATE_LIMITED,
    TOO_MANY,
    TOO_MANY_CONNECTIONS,
    TOO_MANY_SUBSCRIPTIONS,
    RequestRate,
    SocketCounts,
    caller_key,
    retry_after,
)
from transports.connection import ConnectionDuties, refusal_reason
from transports.drain import Drain
from transports.media_types import accepted_ranges, require_json_body, response_media_type
from transports.observed import Operation
from transports.refusals import (
    APPLICATION_JSON,
    BAD_REQUEST,
    GRAPHQL_RESPONSE_JSON,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    PAYLOAD_TOO_LARGE,
    SUBSCRIPTION_NOT_SUPPORTED,
    Refusal,
    refusal_response,
)
from transports.trusted_documents import NOT_FOUND as UNKNOWN_DOCUMENT
from transports.trusted_documents import DocumentRefused, TrustedDocuments
from transports.ws_protocols import LegacyWsHandler, TransportWsHandler, WebSocketClosedOnce

# The streamed responses Strawberry speaks when the view has the protocol; a request that
# accepts one of them is Strawberry's to answer.
STREAMED_MEDIA_TYPES = {
    "text/event-stream": GRAPHQL_SSE_PROTOCOL,
    "multipart/mixed": MULTIPART_SUBSCRIPTION_PROTOCOL,
}

# Finds a streamed media type's name in an Accept value.
_NAMES_STREAMED = re.compile("|".join(re.escape(media_type) for media_type in STREAMED_MEDIA_TYPES))

# Answers a request's parsed JSON body, with the request's context, without Strawberry; or
# None (speed/fast_queries.py).
AnswerQuery = Callable[[Mapping[str, Any], Context], Awaitable[dict[str, Any] | None]]

# The operation an HTTP request or an SSE stream is answering, for the log line and metrics.
current_operation: ContextVar[Operation | None] = ContextVar("current_operation", default=None)

# The body a request's fast path parsed, and what it parsed to: the full path reuses it.
_parsed_body: ContextVar[tuple[bytes, Any] | None] = ContextVar("parsed_body", default=None)


@dataclass
class ConnectionContext(Context):
    """A WebSocket connection's context: it outlives its operations, and has duties of its
    own (pings, closing when the token expires) that stop when it ends."""

    duties: ConnectionDuties = field(default_factory=ConnectionDuties)
    # Whom the connection counts against (transports/caller_limits.py), once acknowledged.
    limited_as: str | None = None
    counted: bool = False


class ChatGraphQL(GraphQL[Context, None]):
    """HTTP identity comes from the Authorization header, WebSocket identity from the
    `connection_init` payload, checked before any operation can start. A request may name a
    trusted document instead of sending its text (transports/trusted_documents.py)."""

    websocket_adapter_class = WebSocketClosedOnce  # type: ignore[assignment]
    graphql_transport_ws_handler_class = TransportWsHandler
    graphql_ws_handler_class = LegacyWsHandler

    def __init__(
        self,
        *,
        database: Database,
        events: Events,
        settings: Settings,
        verifier: TokenVerifier,
        trusted: TrustedDocuments,
        drain: Drain,
        encode: Callable[[object], str | None] | None = None,
        encode_body: Callable[[object], bytes | None] | None = None,
        dumps: Callable[[object], str] | None = None,
        loads: Callable[[str | bytes], Any] | None = None,
        answer_query: AnswerQuery | None = None,
        known_operations: frozenset[str] = frozenset(),
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.database = database
        self.events = events
        self.settings = settings
        self.verifier = verifier
        self.trusted = trusted
        self.drain = drain
        self._encode = encode
        self._encode_body = encode_body
        self._dumps = dumps
        self._loads = loads
        self._answer_query = answer_query
        self.request_rate = RequestRate(settings.rate_limit_per_second, settings.rate_limit_burst)
        self.sockets = SocketCounts(settings.max_sockets_per_user)
        self.known_operations = known_operations

    def operation(self, transport: str) -> Operation:
        """A new operation over `transport`, to be finished when it ends (its log line and
        counts: transports/observed.py)."""
        return Operation(transport, self.known_operations)

    async def answer_stream(
        self, transport: str, start: Callable[[Operation], Awaitable[Response]]
    ) -> Response:
        """`start(operation)`, the response of an SSE endpoint over `transport`, with the
        operation current while it starts. A refusal finishes the operation at once; an event
        stream finishes it when the stream ends."""
        operation = self.operation(transport)
        token = current_operation.set(operation)
        try:
            response = await start(operation)
        except BaseException:
            operation.failed("INTERNAL_SERVER_ERROR")
            operation.finish()
            raise
        finally:
            current_operation.reset(token)
        if not isinstance(response, EventSourceResponse):
            operation.finish()
        return response

    async def context_for(self, authorization: object) -> Context:
        """The context of an HTTP request carrying `authorization` (an Authorization value),
        with the caller's identity or why there is none."""
        context = Context(database=self.database, events=self.events, settings=self.settings)
        await self.identify(context, authorization)
        return context

    async def request_context(self, request: Request, context: Any) -> Context:
        """`context`, or the HTTP request's own when none was given: one per request, which
        the rate check, the fast path and Strawberry share."""
        if context is UNSET:
            return await self.context_for(request.headers.get("authorization"))
        assert isinstance(context, Context)
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
        return await self.context_for(request.headers.get("authorization"))

    async def run(  # type: ignore[override]
        self,
        request: Request | WebSocket,
        context: Any = UNSET,
        root_value: Any = UNSET,
    ) -> Response | WebSocket:
        """Runs the request; a WebSocket's background duties stop when it ends, and it
        closes with 1012 when the process drains (transports/drain.py)."""
        if not isinstance(request, WebSocket):
            return await self.answer_http(request, context, root_value)
        context = await self.get_context(request, request)
        WEBSOCKETS_OPEN.inc()
        try:
            with self.drain.socket(request):
                return await super().run(request, context, root_value)
        finally:
            WEBSOCKETS_OPEN.dec()
            context.duties.stop()
            if context.counted:
                self.sockets.close(context.limited_as)

    async def answer_http(self, request: Request, context: Any, root_value: Any) -> Response:
        """The response to an HTTP request, in the media type the client accepts; a
        refusal before execution is a GraphQL error with a code, whoever refused it. Each
        request but GraphiQL's page and Strawberry's streams is an operation: logged and
        counted."""
        if self.is_page_or_stream(request):
            try:
                context = await self.request_context(request, context)
                self.check_rate(request, context)
                return await super().run(request, context, root_value)
            except HTTPException as refused:
                return refusal_response(refused)
        operation = self.operation("http")
        token = current_operation.set(operation)
        try:
            return await self.answer_operation(request, context, root_value, operation)
        except BodyTooLarge:
            operation.failed(PAYLOAD_TOO_LARGE)
            raise
        except Exception:
            operation.failed("INTERNAL_SERVER_ERROR")
            raise
        finally:
            current_operation.reset(token)
            operation.finish()

    async def answer_operation(
        self, request: Request, context: Any, root_value: Any, operation: Operation
    ) -> Response:
        """`answer_http`'s response to a GraphQL request, which `operation` follows (its
        caller is known once the request's context has identified it)."""
        media_type = APPLICATION_JSON
        try:
            context = await self.request_context(request, context)
            self.check_rate(request, context)
            media_type = response_media_type(request.headers.get("accept"))
            if request.method == "POST":
                require_json_body(request.headers.get("content-type"))
                if self._answer_query is not None:
                    answered = await self._answer_fast(request, context, media_type, operation)
                    if answered is not None:
                        return answered
            response = await super().run(request, context, root_value)
        except HTTPException as refused:
            refusal = Refusal.of(refused)
            operation.failed(refusal.code)
            return refusal_response(refusal, media_type)
        if response.media_type == APPLICATION_JSON:
            response.headers["content-type"] = media_type
            # process_result marks a request error: the spec's 400 for this media type.
            request_error = getattr(request.state, "request_error", False)
            if request_error and media_type == GRAPHQL_RESPONSE_JSON:
                response.status_code = 400
        return response

    def check_rate(self, request: Request, context: Context) -> None:
        """Refuse the request (429, with Retry-After) when its caller is over
        RATE_LIMIT_PER_SECOND."""
        wait = self.rate_wait(context.identity, request)
        if wait:
            raise Refusal(
                429, RATE_LIMITED, self.rate_message(wait), {"Retry-After": retry_after(wait)}
            )

    def rate_wait(self, identity: Identity | None, request: Request) -> float:
        """Count one request of `identity` (None: of the request's client address): 0 when
        it may run, else the seconds until it could."""
        host = request.client.host if request.client else None
        return self.request_rate.wait(caller_key(identity, host))

    def rate_message(self, wait: float) -> str:
        return (
            f"Too many requests: at most {self.request_rate.per_second:g} per second, in bursts "
            f"of {self.request_rate.burst}. Retry in {retry_after(wait)} s."
        )

    def operation_refusal(self, context: Context, running: int) -> GraphQLFormattedError | None:
        """The coded error refusing a connection's next operation: over
        MAX_SUBSCRIPTIONS_PER_SOCKET (it has `running` ones), or over the caller's request
        rate (every operation counts as a request); None to run it."""
        if running >= self.settings.max_subscriptions_per_socket:
            return {
                "message": (
                    f"Too many subscriptions: at most {self.settings.max_subscriptions_per_socket} "
                    "on one connection. Complete one first, or open another connection."
                ),
                "extensions": {"code": TOO_MANY_SUBSCRIPTIONS},
            }
        assert isinstance(context, ConnectionContext)
        wait = self.request_rate.wait(context.limited_as)
        if wait:
            return {
                "message": self.rate_message(wait),
                "extensions": {"code": RATE_LIMITED, "retryAfter": int(retry_after(wait))},
            }
        return None

    def is_page_or_stream(self, request: Request) -> bool:
        """True for GraphiQL's page and for a streamed response the view speaks: Strawberry
        answers those as they are."""
        # Strawberry renders the page for a GET alone: a POST needs no adapter to say no.
        if request.method == "GET" and self.should_render_graphql_ide(
            self.request_adapter_class(request)
        ):
            return True
        accept = (request.headers.get("accept") or "").lower()
        # Read as media ranges only when it names a streamed media type at all.
        return _NAMES_STREAMED.search(accept) is not None and any(
            STREAMED_MEDIA_TYPES.get(media_range) in self.protocols
            for media_range in accepted_ranges(accept)
        )

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Strawberry's, with its refusals coded, and without subscriptions: over a plain
        HTTP request it would run one as a query, and fail."""
        if not isinstance(request_data.operation_name, str | None):
            raise Refusal(
                400, BAD_REQUEST, "The `operationName` must be a string or null, if provided."
            )
        operation = current_operation.get()
        if operation is not None:
            operation.document(request_data.query, request_data.operation_name)
        allowed = {OperationType.QUERY}
        if request_adapter.method == "POST":
            allowed.add(OperationType.MUTATION)
        try:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except MissingQueryError as missing:
            raise Refusal(
                400, BAD_REQUEST, "The request has no GraphQL document: send it as `query`."
            ) from missing
        except CannotGetOperationTypeError as unresolved:
            raise Refusal(
                None, OPERATION_RESOLUTION_FAILURE, unresolved_operation(request_data)
            ) from unresolved
        except InvalidOperationTypeError as refused:
            if refused.operation_type is OperationType.SUBSCRIPTION:
                raise Refusal(
                    None,
                    SUBSCRIPTION_NOT_SUPPORTED,
                    "A subscription needs a stream: a WebSocket on /graphql "
                    "(graphql-transport-ws or graphql-ws) or Server-Sent Events. "
                    "A plain HTTP request runs queries and mutations.",
                ) from refused
            raise Refusal(
                405,
                METHOD_NOT_ALLOWED,
                "A mutation runs over POST, never over GET.",
                {"Allow": "POST"},
            ) from refused

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """A request error (the document did not parse or validate, its variables did not
        coerce: nothing ran) has no `data`, and answers 400 as
        application/graphql-response+json."""
        processed = await super().process_result(request, result)
        operation = current_operation.get()
        if operation is not None:
            operation.errors(result.errors)
        if is_request_error(result):
            processed.pop("data", None)
            request.state.request_error = True
        return processed

    async def _answer_fast(
        self, request: Request, context: Context, media_type: str, operation: Operation
    ) -> Response | None:
        """The fast path's answer to a query it knows (speed/fast_queries.py), or None. The
        JSON it parsed is kept for the full path, which then parses nothing twice."""
        assert self._answer_query is not None
        body = await request.body()
        parsed = self.parse_json(body)
        _parsed_body.set((body, parsed))
        operation.document(parsed.get("query"), parsed.get("operationName"))
        answer = await self._answer_query(parsed, context)
        if answer is None:
            return None
        operation.errors(answer.get("errors"))
        return Response(self.encode_body(answer), media_type=media_type)

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET that names a trusted document is a request, not a browser opening the page.
        # Strawberry's check comes first: it is false for every POST, at once.
        return super().should_render_graphql_ide(request) and not any(
            name in request.query_params for name in ("documentId", "extensions")
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL built from the graphiql package in `web/`, instead of Strawberry's CDN
        page; not in production, unless GRAPHIQL turns it on."""
        if not self.settings.serves_graphiql:
            raise Refusal(
                404,
                NOT_FOUND,
                "GraphiQL is not served here (production mode; GRAPHIQL=true serves it).",
            )
        return playground_page()

    async def on_ws_connect(self, context: Context) -> None:
        """Identify the connection from its `connection_init` payload, or refuse it saying
        whether the token is missing, invalid or expired: in the close reason on
        graphql-transport-ws (code 4403), in `connection_error` on graphql-ws."""
        assert isinstance(context, ConnectionContext) and context.websocket is not None
        params = context.connection_params or {}
        await self.identify(context, params.get("Authorization") or params.get("authorization"))
        protocol = await self.pick_websocket_subprotocol(context.websocket)
        if context.identity is None:
            problem = context.auth_problem or MissingToken("Missing credentials.")
            if protocol == GRAPHQL_TRANSPORT_WS_PROTOCOL:
                # Strawberry's own close says only "Forbidden".
                await context.websocket.close(code=4403, reason=refusal_reason(problem))
            raise ConnectionRejectionError(
                {
                    "message": problem.message,
                    "extensions": {"code": problem.code, "reason": problem.reason},
                }
            )
        client = context.websocket.client
        context.limited_as = caller_key(context.identity, client.host if client else None)
        if not context.counted and not self.sockets.open(context.limited_as):
            most = self.settings.max_sockets_per_user
            if protocol == GRAPHQL_TRANSPORT_WS_PROTOCOL:
                await context.websocket.close(
                    code=TOO_MANY, reason=f"Too many connections: at most {most} per user"
                )
            raise ConnectionRejectionError(
                {
                    "message": (
                        f"Too many connections: at most {most} per user. "
                        "Close one first, or subscribe on one you have."
                    ),
                    "extensions": {"code": TOO_MANY_CONNECTIONS},
                }
            )
        context.counted = True
        context.duties.start(
            context.websocket,
            # Legacy graphql-ws clients get Strawberry's own "ka" messages instead.
            ping_seconds=(
                self.settings.ws_ping_seconds if protocol == GRAPHQL_TRANSPORT_WS_PROTOCOL else None
            ),
            expires_at=context.identity.expires_at,
        )

    async def identify(self, context: Context, authorization: object) -> None:
        """Set the context's identity from an Authorization value, or why there is none:
        every transport (HTTP, WebSocket, both SSE paths) identifies its callers here."""
        try:
            header = authorization if isinstance(authorization, str) else None
            context.identity = await identity_from_authorization(header, self.verifier)
        except Unauthenticated as problem:
            context.auth_problem = problem
        operation = current_operation.get()
        if operation is not None:
            operation.identify(context.identity)

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        """Strawberry's, with the body from `encode_body`."""
        response = Response(self.encode_body(response_data), media_type=APPLICATION_JSON)
        response.headers.raw.extend(sub_response.headers.raw)
        if sub_response.background:
            response.background = sub_response.background
        if sub_response.status_code:
            response.status_code = sub_response.status_code
        return response

    def encode_body(self, data: object) -> str | bytes:
        """An HTTP response's body: UTF-8 bytes where the speed layers write it (shared data
        joined once, speed/shared_data.py; orjson's bytes, speed/json_text.py); else as
        `encode_json` writes it."""
        encoded = self._encode_body(data) if self._encode_body is not None else None
        return self._dumped(data) if encoded is None else encoded

    def encode_json(self, data: object) -> str | bytes:
        # Data shared by many responses is encoded once for all (speed/shared_data.py).
        encoded = self._encode(data) if self._encode is not None else None
        return self._dumped(data) if encoded is None else encoded

    def _dumped(self, data: object) -> str | bytes:
        """`data` by the speed layers' encoder (speed/json_text.py), else Strawberry's."""
        return self._dumps(data) if self._dumps is not None else super().encode_json(data)

    def decode_json(self, data: str | bytes) -> object:
        """A request body or WebSocket message by the speed layers' reader
        (speed/json_text.py), which raises what the standard library raises; else as
        Strawberry reads it."""
        return self._loads(data) if self._loads is not None else super().decode_json(data)

    def parse_json(self, data: str | bytes) -> Any:
        """A request body: one operation, a JSON object. json.loads raises RecursionError
        on deep nesting and UnicodeDecodeError on bad bytes; both are the client's malformed
        body, not a server failure."""
        known = _parsed_body.get()
        if known is not None and known[0] is data:
            return known[1]
        parsed = self.decode_parameter("The request body", data)
        if isinstance(parsed, list):
            raise Refusal(
                400,
                BAD_REQUEST,
                "Batched requests (a JSON array) are not supported: send one operation, "
                "as a JSON object, per request.",
            )
        if not isinstance(parsed, dict):
            raise Refusal(400, BAD_REQUEST, "The request body must be a JSON object.")
        return self.named_document(parsed)

    def parse_query_params(self, params: Any) -> dict[str, Any]:
        """A GET's parameters: `variables` and `extensions` are JSON (Strawberry then
        checks that each is an object)."""
        parsed = dict(params)
        for name in ("variables", "extensions"):
            if parsed.get(name):
                parsed[name] = self.decode_parameter(f"`{name}`", parsed[name])
        return self.named_document(parsed)

    def named_document(self, params: dict[str, Any]) -> dict[str, Any]:
        """`params` with the text of the trusted document they name, if they name one."""
        try:
            return self.trusted.resolve(params)
        except DocumentRefused as refused:
            # An unknown id is a request error (200 as application/json), as automatic
            # persisted queries clients expect before they resend the text.
            status = None if refused.code == UNKNOWN_DOCUMENT else 400
            raise Refusal(status, refused.code, refused.message) from refused

    def decode_parameter(self, what: str, data: str | bytes) -> object:
        try:
            return self.decode_json(data)
        except (RecursionError, UnicodeDecodeError, ValueError) as exc:
            raise Refusal(400, BAD_REQUEST, f"{what} is not valid JSON.") from exc


def is_request_error(result: ExecutionResult) -> bool:
    """True when nothing ran: no data, and errors that belong to no field."""
    return (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors or ())
    )


def unresolved_operation(request_data: GraphQLRequestData) -> str:
    if request_data.operation_name is not None:
        return f'The document has no operation named "{request_data.operation_name}".'
    return "The document has no operation to run."
