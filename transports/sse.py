"""Subscriptions over Server-Sent Events, for a plain browser `EventSource`.

GET /sse/tool-messages?sessionId=<id>[&afterRevision=<r>[&afterSequence=<s>]]
GET /sse/session-events?sessionId=<id>[&afterRevision=<r>[&afterSequence=<s>]]

Every event carries `id: <revision>-<sequence>` (`<revision>` alone when its sequence is
null), so an EventSource that reconnects sends it back as `Last-Event-ID` and resumes
exactly after that event. The
token comes from `Authorization: Bearer …`, or from `access_token=` in the query, since an
EventSource cannot send headers (such URLs end up in access logs: prefer short-lived tokens).
The stream runs the same GraphQL subscription as the WebSocket, so it answers the same
messages, in the same shape, under the same rules.
"""

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.errors import BadUserInput, ClientError, NotFound
from db.sessions import SESSION_NOT_FOUND, get_revision
from resolvers.arguments import parse_id
from schema.context import Context
from transports.caller_limits import RATE_LIMITED, retry_after
from transports.checkout import from_checkout
from transports.drain import Drain, Draining
from transports.observed import Operation
from transports.refusals import error_body
from transports.view import ChatGraphQL

# The documents WebSocket clients use, so that both transports answer in one shape.
OPERATIONS = Path(__file__).resolve().parent.parent / "graphql" / "operations"

# What an event id is: `<revision>-<sequence>`, or `<revision>` alone for streams whose items
# may have no sequence (sessionEvents' SESSION events). Each stream accepts only its own form.
MESSAGE_ID = re.compile(r"^(-?\d{1,10})-(-?\d{1,10})$")
EVENT_ID = re.compile(r"^(-?\d{1,10})(?:-(-?\d{1,10}))?$")


def subscription_endpoint(
    view: ChatGraphQL, operation: str, field: str, event_ids: re.Pattern[str]
) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint streaming graphql/operations/<operation>.graphql, one event per item of
    its subscription `field`, resumed by a Last-Event-ID that `event_ids` matches."""
    subscription = from_checkout(OPERATIONS / f"{operation}.graphql").read_text()

    async def stream_subscription(request: Request) -> Response:
        return await view.answer_stream("sse", lambda observed: start(request, observed))

    async def start(request: Request, observed: Operation) -> Response:
        observed.document(subscription, None)
        context = await request_context(view, request)
        try:
            variables = await _variables(request, context, event_ids)
        except ClientError as error:
            observed.failed(error.code)
            status = {"UNAUTHENTICATED": 401, "NOT_FOUND": 404}.get(error.code, 400)
            return _error(status, error)
        wait = view.rate_wait(context.identity, request)
        if wait:
            observed.failed(RATE_LIMITED)
            return JSONResponse(
                error_body(view.rate_message(wait), RATE_LIMITED),
                429,
                headers={"Retry-After": retry_after(wait)},
            )
        stream = await view.schema.subscribe(
            subscription, variable_values=variables, context_value=context
        )
        if isinstance(stream, GraphQLExecutionResult):  # refused before it started
            observed.errors(stream.errors)
            return JSONResponse({"errors": [e.formatted for e in stream.errors or []]}, 400)
        return EventSourceResponse(
            _events(stream, context, field, view.drain, observed),
            ping=view.settings.ws_ping_seconds,
        )

    return stream_subscription


async def request_context(view: ChatGraphQL, request: Request) -> Context:
    """The context of an SSE request: its identity from the Authorization header, or from
    `access_token` in the query, since an EventSource cannot send headers."""
    context = await view.context_for(request.headers.get("authorization"))
    token = request.query_params.get("access_token")
    if context.identity is None and token:
        await view.identify(context, f"Bearer {token}")
    return context


async def _variables(
    request: Request, context: Context, event_ids: re.Pattern[str]
) -> dict[str, Any]:
    """The subscription's variables; checks identity and access before any byte is sent."""
    caller = context.caller
    params = request.query_params
    session_id = parse_id(params.get("sessionId", ""), "sessionId")
    variables: dict[str, Any] = {"sessionId": str(session_id)}
    last_event_id = request.headers.get("last-event-id")
    if last_event_id:
        match = event_ids.match(last_event_id.strip())
        if match is None:
            expected = "<revision>-<sequence>" + (
                "" if event_ids is MESSAGE_ID else " or <revision>"
            )
            raise BadUserInput(f"Last-Event-ID must be {expected}.")
        revision, sequence = match.groups()
        variables["afterRevision"] = int(revision)
        if sequence is not None:
            variables["afterSequence"] = int(sequence)
    else:
        for name in ("afterRevision", "afterSequence"):
            if params.get(name) is not None:
                try:
                    variables[name] = int(params[name])
                except ValueError:
                    raise BadUserInput(f"{name} must be an integer.") from None
    if await context.database.read(get_revision, session_id=session_id, caller=caller) is None:
        raise NotFound(SESSION_NOT_FOUND)
    return variables


async def _events(
    stream: AsyncIterator[Any],
    context: Context,
    field: str,
    drain: Drain,
    observed: Operation,
) -> AsyncIterator[dict[str, str]]:
    """One SSE event per item; an `error` event and the end when the stream fails or the
    token expires; a `complete` event when the session is deleted; the end alone when the
    process drains, so that the EventSource reconnects (with Last-Event-ID). `observed`
    finishes with the stream."""
    expires_at = context.caller.expires_at
    try:
        while True:
            seconds_left = (
                None if expires_at is None else (expires_at - datetime.now(UTC)).total_seconds()
            )
            try:
                result = await drain.next_item(stream, seconds_left)
            except StopAsyncIteration:
                break
            except TimeoutError:
                observed.failed("UNAUTHENTICATED")
                yield _error_event("UNAUTHENTICATED", "The token has expired.")
                return
            except Draining:
                return
            if result.errors:
                observed.errors(result.errors)
                yield {
                    "event": "error",
                    "data": json.dumps({"errors": [e.formatted for e in result.errors]}),
                }
                return
            item = result.data[field]
            position = [item["revision"], item["sequence"]]
            yield {
                "id": "-".join(str(part) for part in position if part is not None),
                "data": json.dumps(item),
            }
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
        observed.finish()
    yield {"event": "complete", "data": ""}


def _error_event(code: str, message: str) -> dict[str, str]:
    return {
        "event": "error",
        "data": json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}),
    }


def _error(status: int, error: ClientError) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": error.message, "extensions": {"code": error.code}}]}, status
    )
