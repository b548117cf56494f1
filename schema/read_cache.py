"""An exact response cache for queries that read one session, keyed by its revision.

Every write to a session adds 1 to its revision, so a document whose only root field is
`session(id: …)` answers the same bytes for the same (document, variables, session,
revision). Such a request costs one indexed lookup of the revision (which also checks that
the caller may see the session) and, when the answer is cached, no GraphQL execution at
all: the bytes the general executor produced earlier are sent again. Everything else, and
every miss, goes to the GraphQL app unchanged.

A response is stored only when it carries no errors. Its content is never older than its
key: the revision is read before the executor reads the messages.
"""

import json
import uuid
from collections import OrderedDict
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    VariableNode,
)
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from db.sessions import get_revision
from schema.caches import MAX_CACHED_CHARS, cached_parse
from schema.context import Context
from schema.view import ChatGraphQL

CacheKey = tuple[str, str | None, str, uuid.UUID, int]


class LruBytes:
    """Least-recently-used responses, bounded by their total size."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[CacheKey, bytes] = OrderedDict()
        self._size = 0

    def get(self, key: CacheKey) -> bytes | None:
        body = self._entries.get(key)
        if body is not None:
            self._entries.move_to_end(key)
        return body

    def put(self, key: CacheKey, body: bytes) -> None:
        if len(body) > self.max_bytes // 8 or key in self._entries:
            return
        self._entries[key] = body
        self._size += len(body)
        while self._size > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._size -= len(evicted)


class SessionReadCache:
    """ASGI wrapper around the GraphQL app for POSTed one-session queries."""

    def __init__(self, app: ChatGraphQL, *, max_bytes: int) -> None:
        self.app = app
        self.responses = LruBytes(max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not self.responses.max_bytes:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        body = await request.body()
        key = await self._key(request, body)
        cached = self.responses.get(key) if key is not None else None
        if cached is not None:
            await _send_json(send, cached)
            return
        captured = _Captured(send)
        await self.app(scope, _replay(body), captured.send)
        if key is not None and captured.cacheable:
            self.responses.put(key, captured.body)

    async def _key(self, request: Request, body: bytes) -> CacheKey | None:
        """The cache key when this request reads exactly one session the caller may see."""
        if "application/json" not in request.headers.get("content-type", ""):
            return None
        try:
            payload = json.loads(body)
            query, variables = payload["query"], payload.get("variables") or {}
            operation_name = payload.get("operationName")
            variables_key = json.dumps(variables, sort_keys=True)
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return None
        if not isinstance(query, str) or len(query) > MAX_CACHED_CHARS:
            return None
        session_id = _session_argument(
            query, operation_name, variables, max_tokens=self.app.settings.max_tokens
        )
        if session_id is None:
            return None
        context = Context(
            database=self.app.database, events=self.app.events, settings=self.app.settings
        )
        self.app.identify(context, request.headers.get("authorization"))
        if context.identity is None:
            return None
        revision = await self.app.database.read(
            get_revision, session_id=session_id, caller=context.identity
        )
        if revision is None:
            return None
        return (query, operation_name, variables_key, session_id, revision)


def _session_argument(
    query: str, operation_name: Any, variables: dict[str, Any], *, max_tokens: int
) -> uuid.UUID | None:
    """The id of `session(id: …)` when it is the only root field of a query, else None."""
    try:
        document = cached_parse(query, max_tokens=max_tokens)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        return None
    [operation] = operations
    selections = operation.selection_set.selections
    if len(selections) != 1 or not isinstance(selections[0], FieldNode):
        return None
    field = selections[0]
    arguments = field.arguments or ()
    if field.name.value != "session" or field.directives or len(arguments) != 1:
        return None
    value = arguments[0].value
    if isinstance(value, VariableNode):
        raw = variables.get(value.name.value)
    elif isinstance(value, StringValueNode):
        raw = value.value
    else:
        return None
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        return None


def _replay(body: bytes) -> Receive:
    """A `receive` that hands the already-read body to the app again."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


class _Captured:
    """Passes a response through while keeping a copy of a plain 200 JSON body."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._status = 0
        self._parts: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._status = message["status"]
        elif message["type"] == "http.response.body":
            self._parts.append(message.get("body", b""))
        await self._send(message)

    @property
    def body(self) -> bytes:
        return b"".join(self._parts)

    @property
    def cacheable(self) -> bool:
        return self._status == 200 and b'"errors"' not in self.body


async def _send_json(send: Send, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
