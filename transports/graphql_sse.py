"""GraphQL over Server-Sent Events: the graphql-sse protocol, distinct connections mode.

POST /graphql/stream with a JSON body `{query, variables, operationName, extensions}`, or GET
with those as query parameters (`variables` and `extensions` JSON-encoded), and
`Accept: text/event-stream`. The answer is an event stream: one `next` event per result
(`{"data": …}`, with `errors` when there are some), then `complete`. A query or a mutation
has one result; a subscription one per event, until it ends or the client disconnects.
(https://github.com/enisdenjo/graphql-sse/blob/master/PROTOCOL.md)

Refused before the stream starts, as JSON GraphQL errors with a code: no valid token (401
UNAUTHENTICATED; from `Authorization: Bearer …`, or `access_token=` in the query, as for
/sse/…), a request that is not a GraphQL request (400 BAD_REQUEST), a mutation over GET
(405), an Accept without `text/event-stream` (406). A document that does not parse or
validate is answered in the stream, as the protocol requires, like every execution error.

Resuming: the `next` events of a subscription whose one root field selects `revision` and
`sequence` carry `id: <revision>-<sequence>` (`<revision>` alone when the sequence is null);
a request sending that id back as `Last-Event-ID` (an EventSource reconnecting by itself)
runs with the field's `afterRevision` and `afterSequence` set from it.
"""

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    GraphQLError,
    IntValueNode,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    get_operation_ast,
    parse,
    print_ast,
)
from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from strawberry.types import ExecutionResult

from core.errors import Unauthenticated
from transports.caller_limits import RATE_LIMITED, retry_after
from transports.drain import Draining
from transports.observed import Operation
from transports.sse import EVENT_ID, request_context
from transports.trusted_documents import DocumentRefused, TrustedDocuments
from transports.view import ChatGraphQL

STREAM = "text/event-stream"
CURSOR_ARGUMENTS = ("afterRevision", "afterSequence")


class Refusal(Exception):
    """A request refused before its stream starts: an HTTP status and a coded error."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers

    def response(self) -> JSONResponse:
        headers = {"Allow": "GET, POST"} if self.status == 405 else self.headers
        body = {"errors": [{"message": self.message, "extensions": {"code": self.code}}]}
        return JSONResponse(body, self.status, headers=headers)


@dataclass
class GraphQLRequest:
    query: str
    variables: dict[str, Any]
    operation_name: str | None
    extensions: dict[str, Any] | None


def graphql_sse_endpoint(view: ChatGraphQL) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint of the graphql-sse protocol, running operations on `view`'s schema with
    the context every other transport builds."""

    async def graphql_over_sse(request: Request) -> Response:
        return await view.answer_stream("graphql-sse", lambda observed: start(request, observed))

    async def start(request: Request, observed: Operation) -> Response:
        try:
            if request.method not in ("GET", "POST"):
                raise Refusal(
                    405, "BAD_REQUEST", "Use GET or POST: single connection mode is not served."
                )
            if STREAM not in request.headers.get("accept", ""):
                raise Refusal(406, "BAD_REQUEST", f"This path answers only Accept: {STREAM}.")
            context = await request_context(view, request)
            if context.identity is None:
                problem = context.auth_problem or Unauthenticated("Missing credentials.")
                raise Refusal(401, problem.code, problem.message)
            wait = view.rate_wait(context.identity, request)
            if wait:
                headers = {"Retry-After": retry_after(wait)}
                raise Refusal(429, RATE_LIMITED, view.rate_message(wait), headers)
            operation = await _graphql_request(request, view.trusted)
            observed.document(operation.query, operation.operation_name)
            document, definition = _operation(operation)
            if request.method == "GET" and _kind(definition) is OperationType.MUTATION:
                raise Refusal(405, "BAD_REQUEST", "A mutation needs POST.")
            last_event_id = request.headers.get("last-event-id")
            if last_event_id:
                _resume(operation, document, definition, last_event_id.strip())
        except Refusal as refusal:
            observed.failed(refusal.code)
            return refusal.response()
        results = await view.schema.stream(
            operation.query,
            variable_values=operation.variables,
            context_value=context,
            operation_name=operation.operation_name,
            operation_extensions=operation.extensions,
        )
        expires_at = context.identity.expires_at
        with_ids = _kind(definition) is OperationType.SUBSCRIPTION
        return EventSourceResponse(
            _events(view, results, expires_at, with_ids, observed),
            ping=view.settings.ws_ping_seconds,
        )

    return graphql_over_sse


async def _graphql_request(request: Request, trusted: TrustedDocuments) -> GraphQLRequest:
    """The request's parameters, from the JSON body of a POST or the query of a GET; a
    trusted document named by its id is read from `trusted`."""
    if request.method == "GET":
        params = request.query_params
        fields: dict[str, Any] = {
            "query": params.get("query"),
            "operationName": params.get("operationName"),
            "variables": _json(params["variables"]) if "variables" in params else None,
            "extensions": _json(params["extensions"]) if "extensions" in params else None,
        }
    else:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            raise Refusal(400, "BAD_REQUEST", "The body must be application/json.")
        body = _json(await request.body())
        if not isinstance(body, dict):
            raise Refusal(400, "BAD_REQUEST", "The body must be a JSON object.")
        fields = body
    try:
        fields = trusted.resolve(dict(fields))
    except DocumentRefused as refused:
        raise Refusal(400, refused.code, refused.message) from None
    query, variables = fields.get("query"), fields.get("variables")
    name, extensions = fields.get("operationName"), fields.get("extensions")
    if not isinstance(query, str) or not query.strip():
        raise Refusal(400, "BAD_REQUEST", "`query` must be a GraphQL document (a string).")
    if variables is not None and not isinstance(variables, dict):
        raise Refusal(400, "BAD_REQUEST", "`variables` must be an object.")
    if name is not None and not isinstance(name, str):
        raise Refusal(400, "BAD_REQUEST", "`operationName` must be a string.")
    if extensions is not None and not isinstance(extensions, dict):
        raise Refusal(400, "BAD_REQUEST", "`extensions` must be an object.")
    return GraphQLRequest(query, variables or {}, name, extensions)


def _json(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except (RecursionError, UnicodeDecodeError, ValueError):
        raise Refusal(400, "BAD_REQUEST", "Unable to parse the JSON.") from None


def _operation(
    request: GraphQLRequest,
) -> tuple[DocumentNode | None, OperationDefinitionNode | None]:
    """The document and the operation it runs; None for either when it has none (the
    stream then reports why, as execution would)."""
    try:
        document = parse(request.query)
    except GraphQLError:
        return None, None
    return document, get_operation_ast(document, request.operation_name)


def _kind(definition: OperationDefinitionNode | None) -> OperationType | None:
    return None if definition is None else definition.operation


def _resume(
    request: GraphQLRequest,
    document: DocumentNode | None,
    definition: OperationDefinitionNode | None,
    last_event_id: str,
) -> None:
    """Points the subscription's cursor arguments at the event `last_event_id` names: in
    the variables where they are variables, in the document where they are not."""
    match = EVENT_ID.match(last_event_id)
    if match is None:
        raise Refusal(400, "BAD_USER_INPUT", "Last-Event-ID must be <revision>-<sequence>.")
    selections = () if definition is None else definition.selection_set.selections
    field = selections[0] if len(selections) == 1 else None
    if (
        document is None
        or definition is None
        or definition.operation is not OperationType.SUBSCRIPTION
        or not isinstance(field, FieldNode)
    ):
        raise Refusal(400, "BAD_REQUEST", "Last-Event-ID resumes a subscription of one root field.")
    revision, sequence = match.groups()
    cursor = {
        "afterRevision": int(revision),
        "afterSequence": None if sequence is None else int(sequence),
    }
    arguments = {argument.name.value: argument for argument in field.arguments or ()}
    kept = [arguments[name] for name in arguments if name not in CURSOR_ARGUMENTS]
    for name, value in cursor.items():
        argument = arguments.get(name)
        if argument is not None and isinstance(argument.value, VariableNode):
            request.variables[argument.value.name.value] = value
            kept.append(argument)
        elif value is not None:
            kept.append(
                ArgumentNode(name=NameNode(value=name), value=IntValueNode(value=str(value)))
            )
    resumed = replace(field, arguments=tuple(kept))
    body = replace(definition.selection_set, selections=(resumed,))
    definitions = tuple(
        replace(definition, selection_set=body) if node is definition else node
        for node in document.definitions
    )
    request.query = print_ast(replace(document, definitions=definitions))


async def _events(
    view: ChatGraphQL,
    results: AsyncIterator[Any],
    expires_at: datetime | None,
    with_ids: bool,
    observed: Operation,
) -> AsyncIterator[dict[str, str]]:
    """A `next` event per result, then `complete`; when the token expires first, a last
    `next` saying so. When the process drains, the stream ends without `complete`: an
    EventSource reconnects (with Last-Event-ID), the graphql-sse client reports a lost
    connection and is to resubscribe from its cursor. `observed` finishes with the stream."""
    try:
        while True:
            seconds_left = (
                None if expires_at is None else (expires_at - datetime.now(UTC)).total_seconds()
            )
            try:
                result = await view.drain.next_item(results, seconds_left)
            except StopAsyncIteration:
                break
            except Draining:
                return
            except TimeoutError:
                observed.failed("UNAUTHENTICATED")
                error = {
                    "message": "The token has expired.",
                    "extensions": {"code": "UNAUTHENTICATED"},
                }
                yield {"event": "next", "data": json.dumps({"errors": [error]})}
                break
            payload = _payload(result)
            observed.errors(payload.get("errors"))
            event = {"event": "next", "data": _text(view.encode_json(payload))}
            position = _position(payload) if with_ids else None
            if position is not None:
                event["id"] = position
            yield event
    finally:
        await results.aclose()  # type: ignore[attr-defined]
        observed.finish()
    yield {"event": "complete", "data": ""}


def _payload(result: Any) -> dict[str, Any]:
    """A result as the protocol's ExecutionResult: `data`, and `errors` and `extensions`
    when there are some."""
    if not isinstance(result, ExecutionResult):  # an incremental delivery frame
        return result.formatted  # type: ignore[no-any-return]
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return payload


def _position(payload: dict[str, Any]) -> str | None:
    """`<revision>-<sequence>` of the one root field's item, when it selects both."""
    data = payload.get("data")
    if not isinstance(data, dict) or len(data) != 1 or "errors" in payload:
        return None
    (item,) = data.values()
    if not isinstance(item, dict) or "revision" not in item or "sequence" not in item:
        return None
    parts = (item["revision"], item["sequence"])
    return "-".join(str(part) for part in parts if part is not None)


def _text(encoded: str | bytes) -> str:
    return encoded.decode() if isinstance(encoded, bytes) else encoded
