"""Answers for queries that read one session: cached by revision, else compiled.

Every write to a session adds 1 to its revision, so a document whose only root field is
`session(id: …)` answers the same bytes for the same (document, variables, session,
revision). Such a request costs one indexed read of the session row (which also checks
that the caller may see it) and, when the answer is cached, no GraphQL execution at all:
the bytes produced earlier are sent again. A miss is answered by the document's compiled
plan (schema/compiled.py) when it has one, else by the GraphQL app unchanged, like every
other request.

A response is stored only when it carries no errors. Its content is never older than its
key: the session row is read before the messages.
"""

import json
import logging
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    VariableNode,
)
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from db.sessions import get_session
from db.tables import Row
from schema import ChatSchema
from schema.caches import CACHED_DOCUMENTS, MAX_CACHED_CHARS, cached_parse
from schema.compiled import NotCompiled, SessionPlan, compile_session_query
from schema.context import Context
from schema.view import ChatGraphQL

# A one-session read's body: its document (at most MAX_CACHED_CHARS characters) and a few
# small variables. A larger body, a batch of messages say, goes straight to the app.
MAX_READ_BODY_BYTES = 4 * MAX_CACHED_CHARS + 4096

logger = logging.getLogger("chatstore.reads")

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


@dataclass(frozen=True, slots=True)
class SessionRead:
    """A POSTed query whose only root field reads one session the caller may see."""

    query: str
    operation_name: str | None
    variables: dict[str, Any]
    session: Row
    key: CacheKey


class SessionReadCache:
    """ASGI wrapper around the GraphQL app for POSTed one-session queries."""

    def __init__(self, app: ChatGraphQL, *, max_bytes: int) -> None:
        assert isinstance(app.schema, ChatSchema)
        self.app = app
        self.schema = app.schema
        self.responses = LruBytes(max_bytes)
        self.plan = lru_cache(maxsize=CACHED_DOCUMENTS)(self._compile)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        body = await request.body()
        try:
            read = await self._session_read(request, body)
            answer = None
            if read is not None:
                answer = self.responses.get(read.key) or await self._compiled_answer(read)
        except Exception:
            # The executor answers instead, and reports the failure as it reports any.
            logger.warning("the session read path failed; executing instead", exc_info=True)
            read = answer = None
        if read is not None and answer is not None:
            self.responses.put(read.key, answer)
            await _send_json(send, answer)
            return
        captured = _Captured(send)
        await self.app(scope, _replay(body), captured.send)
        if read is not None and captured.cacheable:
            self.responses.put(read.key, captured.body)

    async def _compiled_answer(self, read: SessionRead) -> bytes | None:
        plan = self.plan(read.query, read.operation_name)
        if plan is None:
            return None
        try:
            return await plan.answer(self.app.database, read.session, read.variables)
        except NotCompiled:
            return None

    def _compile(self, query: str, operation_name: str | None) -> SessionPlan | None:
        """The plan of a valid one-session query (remembered per document and operation)."""
        document = cached_parse(query, max_tokens=self.app.settings.max_tokens)
        if self.schema.validation_errors(document):
            return None
        operation = _operation(document, operation_name)
        assert operation is not None  # a SessionRead has exactly one
        return compile_session_query(self.schema._schema, document, operation)

    async def _session_read(self, request: Request, body: bytes) -> SessionRead | None:
        """What to answer from, when this request reads exactly one session the caller
        may see."""
        if "application/json" not in request.headers.get("content-type", ""):
            return None
        if len(body) > MAX_READ_BODY_BYTES:  # not a one-session read: parsed once, by the app
            return None
        try:
            payload = json.loads(body)
            query, variables = payload["query"], payload.get("variables") or {}
            operation_name = payload.get("operationName")
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return None
        if not isinstance(query, str) or len(query) > MAX_CACHED_CHARS:
            return None
        if not isinstance(variables, dict) or not isinstance(operation_name, str | None):
            return None
        session_id = _session_argument(
            query, operation_name, variables, max_tokens=self.app.settings.max_tokens
        )
        if session_id is None:
            return None
        try:
            variables_key = json.dumps(variables, sort_keys=True)
        except (TypeError, ValueError, RecursionError):
            return None
        context = Context(
            database=self.app.database, events=self.app.events, settings=self.app.settings
        )
        self.app.identify(context, request.headers.get("authorization"))
        if context.identity is None:
            return None
        session = await self.app.database.read(
            get_session, session_id=session_id, caller=context.identity
        )
        if session is None:
            return None
        key = (query, operation_name, variables_key, session_id, session["revision"])
        return SessionRead(query, operation_name, variables, session, key)


def _operation(document: DocumentNode, operation_name: Any) -> OperationDefinitionNode | None:
    """The query `operation_name` selects, when there is exactly one."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        return None
    return operations[0]


def _session_argument(
    query: str, operation_name: Any, variables: dict[str, Any], *, max_tokens: int
) -> uuid.UUID | None:
    """The id of `session(id: …)` when it is the only root field of a query, else None."""
    try:
        document = cached_parse(query, max_tokens=max_tokens)
    except GraphQLError:
        return None
    operation = _operation(document, operation_name)
    if operation is None:
        return None
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
