"""Clients as users have them: GraphQL over real HTTP, subscriptions over real WebSockets.

Also the helpers the test modules share: the operations of graphql/operations as one call each
(create_session, load_session, append, append_many, complete_tool, streaming_reply, chunk), what
a live subscription must have delivered (collect_until, assert_gap_free; for sessionEvents
position, cursor, events_until, assert_in_commit_order, and Reader, which applies them as a
client must), and the SQL statements the app ran.
"""

import asyncio
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from core.identity import issue_token
from db.prepared import observed_statements
from db.streaming import EXPIRY_STATEMENT
from tests.servers import JWT_SECRET, RunningServer

OPERATIONS = Path(__file__).resolve().parent.parent / "graphql" / "operations"

SSE_PATH = "/sse/tool-messages"
TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"

# Long enough for a slow CI machine; a hang guard, never a speed check.
WAIT = 10.0
# Long enough for an event already on its way to arrive; used to prove that none is coming.
QUIET = 0.5


def token_for(user_id: str, *, role: str | None = None, ttl: timedelta | None = None) -> str:
    return issue_token(JWT_SECRET, user_id, role=role, ttl=ttl)


def operation(name: str) -> str:
    """The text of graphql/operations/<name>.graphql, the documents clients use."""
    return (OPERATIONS / f"{name}.graphql").read_text()


def complete(message: dict[str, Any]) -> dict[str, Any]:
    """`message`, as the operations that write it select it, with the status fields that
    sessionEvents also selects: a COMPLETE message with no deadline and no failure."""
    return {**message, "status": "COMPLETE", "deadline": None, "failureReason": None}


def as_written(message: dict[str, Any]) -> dict[str, Any]:
    """A message as sessionEvents sends it, in the form the writing operations return it: it
    must be COMPLETE, with no deadline and no failure (the inverse of `complete`)."""
    assert [message.get(name) for name in STATUS_FIELDS] == ["COMPLETE", None, None], message
    return {name: value for name, value in message.items() if name not in STATUS_FIELDS}


STATUS_FIELDS = ("status", "deadline", "failureReason")


def new_user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


class Api:
    """POSTs GraphQL documents over real HTTP as one caller."""

    def __init__(self, http: httpx.AsyncClient, token: str | None) -> None:
        self.http = http
        self.token = token

    def as_user(self, user_id: str, *, role: str | None = None) -> "Api":
        return Api(self.http, token_for(user_id, role=role))

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The JSON response body; the HTTP status must be 200. The request escapes every
        non-ASCII character, so a lone surrogate (half an emoji) travels as `\\ud83d`, as
        JavaScript's JSON.stringify sends it."""
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        response = await self.http.post(
            "/graphql",
            content=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers=headers,
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The `data` of a response that must have no errors."""
        body = await self.post(query, variables)
        assert "errors" not in body, body
        return body["data"]

    async def error(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The single error of a response that must fail."""
        body = await self.post(query, variables)
        assert body.get("errors"), body
        assert len(body["errors"]) == 1, body
        return body["errors"][0]


class Subscriber:
    """A graphql-transport-ws or legacy graphql-ws connection with one subscription."""

    def __init__(self, ws: ClientConnection, protocol: str) -> None:
        self.ws = ws
        self.protocol = protocol

    async def receive(self, seconds: float = WAIT) -> dict[str, Any]:
        """The next protocol message, answering pings on the way."""
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), seconds))
            if message["type"] == "ping":
                await self.ws.send(json.dumps({"type": "pong"}))
                continue
            if message["type"] == "ka":
                continue
            return message

    async def init(self, token: str | None) -> dict[str, Any]:
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await self.ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        return await self.receive()

    async def subscribe(
        self, query: str, variables: dict[str, Any], operation_id: str = "1"
    ) -> None:
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        await self.ws.send(
            json.dumps(
                {
                    "id": operation_id,
                    "type": kind,
                    "payload": {"query": query, "variables": variables},
                }
            )
        )

    async def next_payload(self, seconds: float = WAIT) -> dict[str, Any]:
        """The payload of the next `next`/`data` message (fails on anything else)."""
        message = await self.receive(seconds)
        assert message["type"] in ("next", "data"), message
        return message["payload"]

    async def next_tool_message(self, seconds: float = WAIT) -> dict[str, Any]:
        payload = await self.next_payload(seconds)
        assert "errors" not in payload, payload
        return payload["data"]["toolMessageUpdated"]

    async def next_session_event(self, seconds: float = WAIT) -> dict[str, Any]:
        payload = await self.next_payload(seconds)
        assert "errors" not in payload, payload
        return payload["data"]["sessionEvents"]

    async def items_until_closed(self, field: str) -> list[dict[str, Any]]:
        """The `field` of each event until the server closes the socket, which it must do
        within WAIT."""
        items: list[dict[str, Any]] = []
        try:
            async with asyncio.timeout(WAIT):
                while True:
                    payload = await self.next_payload()
                    assert "errors" not in payload, payload
                    items.append(payload["data"][field])
        except ConnectionClosed:
            return items

    async def nothing_within(self, seconds: float) -> None:
        """Assert that no message but keep-alives arrives for `seconds` (no duplicate)."""
        try:
            message = await self.receive(seconds)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected message: {message!r}")


@asynccontextmanager
async def websocket(ws_url: str, protocol: str = TRANSPORT_WS) -> AsyncIterator[Subscriber]:
    async with connect(ws_url, subprotocols=[protocol]) as ws:  # type: ignore[list-item]
        yield Subscriber(ws, protocol)


@asynccontextmanager
async def subscribed(
    ws_url: str,
    token: str | None,
    variables: dict[str, Any],
    protocol: str = TRANSPORT_WS,
    query: str | None = None,
) -> AsyncIterator[Subscriber]:
    """A connection, acknowledged, with `toolMessageUpdated` subscribed."""
    async with websocket(ws_url, protocol) as subscriber:
        ack = await subscriber.init(token)
        assert ack["type"] == "connection_ack", ack
        await subscriber.subscribe(query or operation("ToolMessageUpdated"), variables)
        yield subscriber


@asynccontextmanager
async def stalling_subscriber(
    ws_url: str, token: str, variables: dict[str, Any], query: str | None = None
) -> AsyncIterator[Subscriber]:
    """A graphql-transport-ws subscription (`toolMessageUpdated` unless `query` says
    otherwise) over a socket with small receive buffers (the kernel's and the client
    library's, without compression), so that little of what the server sent can sit on the
    client's side once it stops reading."""
    port = httpx.URL(ws_url).port
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    async with connect(
        ws_url,
        sock=sock,
        subprotocols=[Subprotocol(TRANSPORT_WS)],
        max_queue=1,
        compression=None,
        ping_interval=None,  # a client that does not read does not ping either
    ) as ws:
        sub = Subscriber(ws, TRANSPORT_WS)
        ack = await sub.init(token)
        assert ack["type"] == "connection_ack", ack
        await sub.subscribe(query or operation("ToolMessageUpdated"), variables)
        yield sub


# --- A small Server-Sent Events client over httpx -----------------------------------------


@dataclass(frozen=True)
class SseEvent:
    event: str
    data: str
    id: str | None


class EventStream:
    """Parses a text/event-stream response into events, as an EventSource does."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next_event(self, seconds: float = WAIT) -> SseEvent | None:
        """The next event, or None when the server ended the stream."""
        async with asyncio.timeout(seconds):
            fields: dict[str, str] = {}
            data: list[str] = []
            async for line in self._lines:
                if not line:
                    if fields or data:
                        return SseEvent(
                            fields.get("event", "message"), "\n".join(data), fields.get("id")
                        )
                    continue
                if line.startswith(":"):  # a comment: the server's keep-alive
                    continue
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "data":
                    data.append(value)
                else:
                    fields[name] = value
            return None

    async def next_message(self, seconds: float = WAIT) -> dict[str, Any]:
        """The next item; its event id must be `<revision>-<sequence>`, or `<revision>`
        when its sequence is null."""
        event = await self.next_event(seconds)
        assert event is not None, "the stream ended"
        assert event.event == "message", event
        message: dict[str, Any] = json.loads(event.data)
        position = [message["revision"], message["sequence"]]
        assert event.id == "-".join(str(part) for part in position if part is not None), event
        return message

    async def messages(self, count: int) -> list[dict[str, Any]]:
        return [await self.next_message() for _ in range(count)]

    async def ends(self) -> None:
        """The server ends the stream (no further event)."""
        assert await self.next_event() is None

    async def ends_as_expired(self, expires_at: float) -> None:
        """The next event is an UNAUTHENTICATED `error`, sent once the token (its `exp` is
        `expires_at`) has expired; then the server ends the stream."""
        event = await self.next_event()
        assert time.time() >= expires_at - 0.1
        assert event is not None and event.event == "error", event
        errors = json.loads(event.data)["errors"]
        assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED", errors
        assert len(errors[0]["message"]) > 10, errors
        await self.ends()


@asynccontextmanager
async def sse(
    http: httpx.AsyncClient,
    session_id: str,
    *,
    token: str | None = None,
    access_token: str | None = None,
    last_event_id: str | None = None,
    path: str = SSE_PATH,
    **params: int,
) -> AsyncIterator[EventStream]:
    """An open SSE stream (/sse/tool-messages unless `path` says otherwise); leaving the
    block disconnects."""
    headers = {"Accept": "text/event-stream"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    query: dict[str, str] = {"sessionId": session_id, **{k: str(v) for k, v in params.items()}}
    if access_token is not None:
        query["access_token"] = access_token
    async with http.stream("GET", path, params=query, headers=headers) as response:
        if response.status_code != 200:
            await response.aread()
            raise AssertionError(f"{response.status_code}: {response.text}")
        assert response.headers["content-type"].startswith("text/event-stream"), response.headers
        yield EventStream(response)


# --- The operations clients use, one call each ----------------------------------------------


async def create_session(api: Api, **input: Any) -> dict[str, Any]:
    """A new session of the caller's, with the `input` fields given (none: all defaults)."""
    return (await api.data(operation("CreateSession"), {"input": input}))["createSession"]


async def new_session_id(api: Api) -> str:
    """The id of a new, empty session of the caller's."""
    return (await create_session(api))["id"]


async def load_session(api: Api, session_id: str) -> dict[str, Any]:
    """The whole session, with all its messages, as GetSession returns it (it must exist)."""
    session = (await api.data(operation("GetSession"), {"id": session_id}))["session"]
    assert session is not None
    return session


def tool(call_id: str, content: str | None = None) -> dict[str, Any]:
    """A TOOL message input answering `call_id`."""
    return {"role": "TOOL", "toolCallId": call_id, "content": content}


async def append(api: Api, session_id: str, message: dict[str, Any]) -> dict[str, Any]:
    variables = {"sessionId": session_id, "message": message}
    return (await api.data(operation("AppendMessage"), variables))["appendMessage"]


async def append_many(
    api: Api, session_id: str, messages: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    variables = {"sessionId": session_id, "messages": messages}
    return (await api.data(operation("AppendMessages"), variables))["appendMessages"]


async def complete_tool(api: Api, session_id: str, call_id: str, content: str) -> dict[str, Any]:
    variables = {"sessionId": session_id, "toolCallId": call_id, "content": content}
    return (await api.data(operation("UpdateToolResult"), variables))["updateToolResult"]


async def session_with_pending_tools(api: Api, count: int) -> tuple[str, int]:
    """A session with TOOL messages call_0..call_<count-1> awaiting results; its revision."""
    session = await create_session(api)
    await append_many(api, session["id"], [tool(f"call_{index}") for index in range(count)])
    return session["id"], (await load_session(api, session["id"]))["revision"]


async def probe(api: Api, session_id: str) -> dict[str, Any]:
    """A fresh TOOL message: the next live event of a subscription that is caught up."""
    return await append(api, session_id, tool(f"probe-{uuid.uuid4().hex}", "probe"))


# How long one probe waits for its event before another probe is written.
PROBE_WAIT = 0.3
# How a subscriber waits (at most so many seconds) for its next event.
Receive = Callable[[Subscriber, float], Awaitable[dict[str, Any]]]


def received_tool_probe(event: dict[str, Any], written: dict[str, Any]) -> bool:
    return bool(event["id"] == written["id"])


async def go_live(
    api: Api,
    session_id: str,
    sub: Subscriber,
    *,
    receive: Callable[
        [Subscriber, float], Awaitable[dict[str, Any]]
    ] = Subscriber.next_tool_message,
    received_probe: Callable[[dict[str, Any], dict[str, Any]], bool] = received_tool_probe,
) -> list[dict[str, Any]]:
    """Append probe TOOL messages until the subscription delivers one, so it is surely live.

    Returns every event received meanwhile, ending with the one that `received_probe` says
    delivered the last probe (by default: that probe's `toolMessageUpdated`). Once any event
    has arrived, the subscription started before the newest probe was written, so that probe
    must arrive too.
    """
    events: list[dict[str, Any]] = []
    for _ in range(int(WAIT / PROBE_WAIT)):
        written = await probe(api, session_id)
        try:
            while True:
                event = await receive(sub, WAIT if events else PROBE_WAIT)
                events.append(event)
                if received_probe(event, written):
                    return events
        except TimeoutError:
            if events:
                raise
    raise AssertionError("the subscription never delivered a probe")


async def write_mix(
    api: Api, sid: str, pending_calls: list[str], count: int, halfway: asyncio.Event, at: int
) -> list[dict[str, Any]]:
    """`count` writes in turn: tool results, new TOOL messages and USER messages, the last a
    tool result. Sets `halfway` before write number `at`."""
    writes = []
    for index in range(count):
        if index == at:
            halfway.set()
            await asyncio.sleep(0)
        kind = index % 3 if index < count - 1 else 0
        if kind == 0:
            call = pending_calls[index % len(pending_calls)]
            writes.append(await complete_tool(api, sid, call, f"result of write {index}"))
        elif kind == 1:
            writes.append(await append(api, sid, tool(f"call_new_{index}", f"new {index}")))
        else:
            writes.append(await append(api, sid, {"role": "USER", "content": f"user {index}"}))
    halfway.set()
    return writes


# --- Many changes at once -------------------------------------------------------------------

BATCH = 100  # root fields per mutation: the default MAX_MUTATION_FIELDS
PADDING = "p" * 2000


def tool_result_field(session_id: str, call: str, version: int) -> str:
    """An `updateToolResult` root field that sets `call`'s result to `<version>:<padding>`."""
    return (
        f'updateToolResult(sessionId: "{session_id}", toolCallId: "{call}", '
        f'content: "{version}:{PADDING}") {{ revision }}'
    )


def version_of(message: dict[str, Any]) -> int:
    """The version a `tool_result_field` wrote into a message."""
    return int(message["content"].split(":")[0])


def assert_newer_each_time(messages: list[dict[str, Any]]) -> None:
    """Each message's states (as `tool_result_field` wrote them) come oldest first, each
    once."""
    versions: dict[str, int] = {}
    for message in messages:
        call, current = message["toolCallId"], version_of(message)
        assert current > versions.get(call, -2), f"{call}: {current} after a newer state"
        versions[call] = current


class Changes:
    """Change number n is the mutation root field `field(n)` (one write, selecting its
    `revision`); they are sent BATCH to a request, as aliased fields, which run one after
    another."""

    def __init__(self, api: Api, field: Callable[[int], str]) -> None:
        self.api = api
        self.field = field
        self.count = 0

    async def publish(self, count: int) -> int:
        """The next `count` changes; the revision of the last one."""
        revision = 0
        end = self.count + count
        for start in range(self.count, end, BATCH):
            numbers = range(start, min(start + BATCH, end))
            fields = "\n".join(f"u{n}: {self.field(n)}" for n in numbers)
            data = await self.api.data(f"mutation {{\n{fields}\n}}")
            revisions = [data[f"u{n}"]["revision"] for n in numbers]
            assert revisions == sorted(revisions)
            revision = revisions[-1]
        self.count = end
        return revision


async def subscribe_amid_writes(
    sub: Subscriber,
    api: Api,
    sid: str,
    calls: list[str],
    at: int,
    query: str,
    variables: dict[str, Any],
) -> list[dict[str, Any]]:
    """`write_mix` of 30 writes by `api` to session `sid` (whose `calls` are pending), and
    `query` subscribed on `sub` (acknowledged already) as write number `at` begins; the
    writes."""
    halfway = asyncio.Event()
    writer = asyncio.create_task(write_mix(api, sid, calls, 30, halfway, at))
    await halfway.wait()
    await sub.subscribe(query, variables)
    return await writer


# --- What a subscription delivered ----------------------------------------------------------


async def collect_until(sub: Subscriber, revision: int) -> list[dict[str, Any]]:
    """Events until one has `revision` or higher; then prove nothing follows."""
    events: list[dict[str, Any]] = []
    while not events or events[-1]["revision"] < revision:
        events.append(await sub.next_tool_message())
    await sub.nothing_within(QUIET)
    return events


def assert_gap_free(
    events: list[dict[str, Any]], tool_writes: list[dict[str, Any]], after: int
) -> None:
    """`events` answer the TOOL writes with revision > `after`: each write's state is received,
    or (a subscriber may skip intermediate states) a later state of that message is; each event
    is exactly one write's result; no duplicate; ascending (revision, sequence)."""
    keys = [(event["id"], event["revision"]) for event in events]
    assert len(keys) == len(set(keys)), f"duplicates: {keys}"
    order = [(event["revision"], event["sequence"]) for event in events]
    assert order == sorted(order), f"not ascending: {order}"
    written = {(write["id"], write["revision"]): write for write in tool_writes}
    for event in events:
        assert event["revision"] > after, f"older than the subscription: {event}"
        assert written.get((event["id"], event["revision"])) == event, event
    latest: dict[str, int] = {}
    for event in events:
        latest[event["id"]] = max(latest.get(event["id"], -1), event["revision"])
    missed = [
        write
        for write in tool_writes
        if write["revision"] > after and latest.get(write["id"], -1) < write["revision"]
    ]
    assert missed == [], f"missed: {missed}"


# --- What a sessionEvents subscription delivered --------------------------------------------


def position(event: dict[str, Any]) -> tuple[int, float]:
    """Where an event stands in commit order: a null sequence is after the revision's
    messages."""
    sequence = event["sequence"]
    return event["revision"], float("inf") if sequence is None else sequence


def cursor(event: dict[str, Any]) -> dict[str, int]:
    """The arguments that resume right after `event`."""
    if event["sequence"] is None:
        return {"afterRevision": event["revision"]}
    return {"afterRevision": event["revision"], "afterSequence": event["sequence"]}


async def events_until(sub: Subscriber, revision: int) -> list[dict[str, Any]]:
    """Events until the SESSION event of `revision` (the last event of a write); then proves
    that nothing follows."""
    events: list[dict[str, Any]] = []
    while not (events and events[-1]["kind"] == "SESSION" and events[-1]["revision"] >= revision):
        events.append(await sub.next_session_event())
    await sub.nothing_within(QUIET)
    return events


def assert_in_commit_order(events: list[dict[str, Any]]) -> None:
    positions = [position(event) for event in events]
    assert positions == sorted(positions), positions
    assert len(positions) == len(set(positions)), f"duplicates: {positions}"


# --- Streamed replies ------------------------------------------------------------------------

SESSION_EVENTS = operation("SessionEvents")
APPEND_MESSAGE_CONTENT = operation("AppendMessageContent")


def units(text: str) -> int:
    """The length of `text` as a JavaScript client counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def in_future(seconds: float) -> str:
    """A DateTime argument `seconds` from now."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def streaming_reply(
    api: Api, session_id: str, content: str = "", **more: Any
) -> dict[str, Any]:
    """A new ASSISTANT message with status STREAMING (and the MessageInput fields `more`)."""
    return await append(
        api, session_id, {"role": "ASSISTANT", "content": content, "status": "STREAMING", **more}
    )


async def chunk(
    api: Api, session_id: str, message_id: str, text: str, **more: Any
) -> dict[str, Any]:
    """appendMessageContent of `text` (with `done`, `deadline` in `more`): its answer."""
    variables = {"sessionId": session_id, "messageId": message_id, "text": text, **more}
    return (await api.data(APPEND_MESSAGE_CONTENT, variables))["appendMessageContent"]


NextEvent = Callable[[], Awaitable[dict[str, Any]]]


class Reader:
    """Applies sessionEvents to messages by sequence, as the README's rule says a client
    must: a MESSAGE replaces, an APPENDED adds its text where the content is `offset` long.
    Every event must come after the one before it (`position`): an event sent twice fails
    here, as does a chunk applied at the wrong length. `last` is the last event applied."""

    def __init__(self) -> None:
        self.messages: dict[int, dict[str, Any]] = {}
        self.deltas = 0
        self.wholes = 0
        self.last: dict[str, Any] | None = None

    @property
    def last_event_id(self) -> str:
        """The SSE id of the last event applied: where an EventSource resumes."""
        assert self.last is not None, "no event applied yet"
        parts = (self.last["revision"], self.last["sequence"])
        return "-".join(str(part) for part in parts if part is not None)

    def apply(self, event: dict[str, Any]) -> None:
        if event["kind"] == "DELETED":
            return
        assert self.last is None or position(event) > position(self.last), (self.last, event)
        self.last = event
        sequence = event["sequence"]
        if event["kind"] == "MESSAGE":
            self.messages[sequence] = dict(event["message"])
            self.wholes += 1
        elif event["kind"] == "APPENDED":
            delta = event["appended"]
            message = self.messages[sequence]
            assert units(message["content"]) == delta["offset"], (message, delta)
            message["content"] += delta["text"]
            message["status"] = delta["status"]
            message["revision"] = event["revision"]
            self.deltas += 1

    async def read_until(self, next_event: NextEvent, sequence: int, status: str) -> None:
        """Apply events from `next_event` (a Subscriber's next_session_event, an SSE
        EventStream's next_message) until the message at `sequence` has `status`."""
        while self.messages.get(sequence, {}).get("status") != status:
            self.apply(await next_event())

    async def read_through(self, next_event: NextEvent, revision: int) -> None:
        """Apply events from `next_event` until all of `revision` is applied: its SESSION
        event, which ends every write's events, or an event of a later revision."""
        while self.last is None or position(self.last) < (revision, float("inf")):
            self.apply(await next_event())


# --- What the app ran -----------------------------------------------------------------------


async def until_waiting(server: RunningServer, session_id: str, count: int) -> None:
    """Polls (bounded) until `count` subscriptions of the session wait for news."""
    hub = server.app.state.events.hub
    deadline = asyncio.get_running_loop().time() + WAIT
    while (found := hub.waiting(uuid.UUID(session_id))) != count:
        assert asyncio.get_running_loop().time() < deadline, f"{found} waiting, not {count}"
        await asyncio.sleep(0.01)


@contextmanager
def counted_statements(server: RunningServer) -> Iterator[list[str]]:
    """The SQL statements the app's engine runs inside the block, but for the periodic look
    for overdue operations, which runs whatever the requests do."""
    statements: list[str] = []

    def record(statement: str) -> None:
        if EXPIRY_STATEMENT not in statement:
            statements.append(statement)

    with observed_statements(server.app.state.database.engine, record):
        yield statements
