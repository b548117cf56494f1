"""The speed layers (speed/) change how fast an answer comes, never what it is.

A rule added to `Query.session` (a permission, a filter) holds with every speed layer on, as
with all of them off: the fast paths resolve the root field through the same permission and
resolver. Compiled reads really do skip graphql-core's work per field of a message, and
fast queries Strawberry's steps around a query it has validated before, and fast mutations
around a mutation: with the same answers, errors included, one write and one published event
per request, and never a second run of a mutation answered with errors.
"""

import asyncio
import gc
import json
import uuid
import weakref
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.permission import BasePermission
from strawberry.schema import schema_converter
from strawberry.schema.name_converter import NameConverter
from strawberry.types.field import StrawberryField

import resolvers.sessions
from core.errors import NotFound
from core.identity import Identity
from core.settings import Settings
from db.engine import Database, create_engine
from db.migrate import migrate
from db.sessions import SESSION_NOT_FOUND
from live.events import Events
from schema.build import ChatSchema, build_schema
from schema.context import Context, Info
from schema.fields import value_fields
from schema.inputs import MessageInput
from schema.permissions import Authenticated
from schema.root import Query
from schema.types import ChatSession
from speed import speed_layers
from speed.documents import MAX_CACHED_CHARS
from speed.json_text import fast_loads
from tests.clients import (
    SESSION_EVENTS,
    Api,
    append,
    append_many,
    counted_statements,
    create_session,
    events_until,
    load_session,
    operation,
    subscribed,
    token_for,
    tool,
)
from tests.servers import (
    SPEED_LAYERS_OFF,
    SPEED_LAYERS_ON,
    RunningServer,
    database_url,
    running_server,
)
from transports.view import ChatGraphQL

HIDDEN = "hidden"


class NoService(BasePermission):
    """A rule that depends on the caller: to a service, every session is missing."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if info.context.caller.is_service:
            raise NotFound(SESSION_NOT_FOUND)
        return True


async def visible_session(info: Info, id: strawberry.ID) -> ChatSession | None:
    """A filter on the resolver: sessions titled "hidden" read as missing."""
    session = await resolvers.sessions.session(info, id)
    return None if session is None or session.title == HIDDEN else session


@strawberry.type
class RuledQuery(Query):
    session: ChatSession | None = strawberry.field(
        resolver=visible_session,
        permission_classes=[Authenticated, NoService],
        description="The caller's session, unless it is hidden; never to a service.",
    )


@pytest.fixture(params=["on", "off"])
async def ruled(request: pytest.FixtureRequest, server: RunningServer) -> AsyncIterator[str]:
    """A server with RuledQuery on the same database, with every speed layer on or off."""
    layers = SPEED_LAYERS_ON if request.param == "on" else SPEED_LAYERS_OFF
    url = server.settings.database_url
    async with running_server(database_url=url, query=RuledQuery, **layers) as running:
        yield running.http_url


# The paths a query can take: plain HTTP, and GraphQL over SSE.
ACCEPT = {"/graphql": "application/json", "/graphql/stream": "text/event-stream"}


async def read(
    http: httpx.AsyncClient, token: str, session_id: str, path: str = "/graphql"
) -> dict[str, Any]:
    """GetSession's result over plain HTTP, or over GraphQL over SSE (/graphql/stream: its
    one `next` event)."""
    response = await http.post(
        path,
        json={"query": operation("GetSession"), "variables": {"id": session_id}},
        headers={"Authorization": f"Bearer {token}", "Accept": ACCEPT[path]},
    )
    assert response.status_code == 200, response.text
    if path == "/graphql":
        return response.json()
    (data,) = [line for line in response.text.splitlines() if line.startswith("data: {")]
    return json.loads(data.removeprefix("data: "))  # type: ignore[no-any-return]


@pytest.mark.parametrize("path", ACCEPT)
async def test_a_permission_added_to_query_session_holds_on_every_path(
    api: Api, ruled: str, path: str
):
    session_id = (await create_session(api))["id"]
    await append_many(api, session_id, [{"role": "USER", "content": "question"}])
    async with httpx.AsyncClient(base_url=ruled, timeout=60) as http:
        for _ in range(2):  # the second read of the owner may be answered from a cache
            owned = await read(http, api.token or "", session_id, path)
            assert owned["data"]["session"]["messages"][0]["content"] == "question"
        refused = await read(http, token_for("worker", role="service"), session_id, path)
    assert refused["data"]["session"] is None
    assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("path", ACCEPT)
async def test_a_filter_added_to_query_session_holds_on_every_path(api: Api, ruled: str, path: str):
    shown = (await create_session(api, title="shown"))["id"]
    hidden = (await create_session(api, title=HIDDEN))["id"]
    async with httpx.AsyncClient(base_url=ruled, timeout=60) as http:
        for _ in range(2):
            assert (await read(http, api.token or "", shown, path))["data"]["session"][
                "id"
            ] == shown
            assert (await read(http, api.token or "", hidden, path)) == {"data": {"session": None}}


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    async with database_url("sqlite", tmp_path) as url:
        database = Database(create_engine(url))
        await migrate(database.engine)
        yield database
        await database.dispose()


async def gated(conn: Any, *, gate: asyncio.Event, runs: list[int], fail: bool = False) -> str:
    """A read that waits for `gate`, counting its runs."""
    runs.append(1)
    await gate.wait()
    if fail:
        raise NotFound("gone")
    return "answer"


@pytest.mark.speed_layer
async def test_callers_of_a_shared_read_share_one_run_and_one_leaving_cancels_nothing(
    database: Database,
):
    gate, runs = asyncio.Event(), list[int]()
    callers = [
        asyncio.ensure_future(database.read_shared("key", gated, gate=gate, runs=runs))
        for _ in range(3)
    ]
    await asyncio.sleep(0.05)
    callers[0].cancel()
    gate.set()
    outcomes = await asyncio.gather(*callers, return_exceptions=True)
    assert isinstance(outcomes[0], asyncio.CancelledError)
    assert outcomes[1:] == ["answer", "answer"]
    assert runs == [1]
    # Done, the read is forgotten: the next caller runs its own.
    assert await database.read_shared("key", gated, gate=gate, runs=runs) == "answer"
    assert runs == [1, 1]


@pytest.mark.speed_layer
async def test_a_shared_read_that_fails_fails_for_each_of_its_callers(database: Database):
    gate, runs = asyncio.Event(), list[int]()
    callers = [
        asyncio.ensure_future(database.read_shared("key", gated, gate=gate, runs=runs, fail=True))
        for _ in range(2)
    ]
    await asyncio.sleep(0.05)
    gate.set()
    outcomes = await asyncio.gather(*callers, return_exceptions=True)
    assert [type(outcome) for outcome in outcomes] == [NotFound, NotFound]
    assert runs == [1]


class Held:
    """A context the test can watch for being freed."""


@strawberry.type
class Greeting:
    @strawberry.field
    async def greeting(self, info: strawberry.Info) -> str:
        return "hi"


@pytest.mark.speed_layer
@pytest.mark.parametrize("gc_freeze", [True, False])
async def test_a_query_leaves_no_cycle_for_the_collector_with_gc_freeze(gc_freeze: bool):
    """With GC_FREEZE, a query's executor, its context and all they refer to are freed as
    the result is returned, by reference counting; without, they wait for the collector."""
    settings = Settings(**{**SPEED_LAYERS_ON, "gc_freeze": gc_freeze})
    schema = ChatSchema(
        query=Greeting, execution_context_class=speed_layers(settings).execution_context_class
    )
    gc.collect()
    gc.disable()
    try:
        context = Held()
        freed = weakref.ref(context)
        result = await schema.execute("{ greeting }", context_value=context)
        assert result.data == {"greeting": "hi"}, result.errors
        del context, result
        assert (freed() is None) is gc_freeze
    finally:
        gc.enable()


async def fields_executed(database: Database, settings: Settings, messages: int) -> int:
    """How many fields graphql-core executes one by one for a session of `messages`."""
    layers = speed_layers(settings)
    assert layers.execution_context_class is not None or not settings.compiled_reads
    base = (
        layers.execution_context_class
        or strawberry.schema.schema.StrawberryGraphQLCoreExecutionContext
    )
    executed = 0

    class Counting(base):  # type: ignore[misc, valid-type]
        def execute_field(self, *args: Any, **kwargs: Any) -> Any:
            nonlocal executed
            executed += 1
            return super().execute_field(*args, **kwargs)

    schema = build_schema(settings, execution_context_class=Counting)
    owner = Identity(user_id=f"user-{messages}")
    context = Context(
        database=database, events=Events("memory://", heartbeat_seconds=1), settings=settings
    )
    context.identity = owner
    created = await schema.execute("mutation { createSession { id } }", context_value=context)
    assert created.data is not None, created.errors
    session_id = created.data["createSession"]["id"]
    appended = await schema.execute(
        "mutation($id: ID!, $m: [MessageInput!]!) "
        "{ appendMessages(sessionId: $id, messages: $m) { id } }",
        variable_values={
            "id": session_id,
            "m": [{"role": "USER", "content": f"m{i}"} for i in range(messages)],
        },
        context_value=context,
    )
    assert appended.errors is None, appended.errors
    executed = 0
    result = await schema.execute(
        operation("GetSession"), variable_values={"id": session_id}, context_value=context
    )
    assert result.errors is None, result.errors
    assert len(result.data["session"]["messages"]) == messages  # type: ignore[index]
    return executed


async def test_compiled_reads_complete_messages_without_executing_their_fields(
    database: Database,
):
    on = Settings(response_cache_bytes=0, compiled_reads=True)
    off = Settings(response_cache_bytes=0, compiled_reads=False)
    assert await fields_executed(database, on, 3) == await fields_executed(database, on, 30)
    assert await fields_executed(database, off, 30) > await fields_executed(database, off, 3)


@pytest.fixture
async def fast(server: RunningServer) -> AsyncIterator[RunningServer]:
    """A server with every speed layer on, on the same database."""
    url = server.settings.database_url
    async with running_server(database_url=url, **SPEED_LAYERS_ON) as running:
        yield running


@pytest.fixture
def full_path_runs(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The queries that went through Strawberry's `Schema.execute` (the full path)."""
    runs: list[str | None] = []
    execute = ChatSchema.execute

    async def counted(self: ChatSchema, query: str | None, *args: Any, **kwargs: Any) -> Any:
        runs.append(query)
        return await execute(self, query, *args, **kwargs)

    monkeypatch.setattr(ChatSchema, "execute", counted)
    return runs


async def posted(http: httpx.AsyncClient, token: str, query: str, **variables: Any) -> bytes:
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    return response.content


@pytest.mark.speed_layer
async def test_a_repeated_query_is_answered_without_strawberrys_steps(
    api: Api, fast: RunningServer, full_path_runs: list[str | None]
):
    session_id = (await create_session(api))["id"]
    await append_many(api, session_id, [{"role": "USER", "content": "question"}])
    query = operation("GetSession")
    async with httpx.AsyncClient(base_url=fast.http_url, timeout=60) as http:
        answers = [await posted(http, api.token or "", query, id=session_id) for _ in range(3)]
    assert answers[0] == answers[1] == answers[2]
    assert json.loads(answers[0])["data"]["session"]["messages"][0]["content"] == "question"
    # The first answer validates the text on the full path; the others skip it.
    assert [run for run in full_path_runs if run == query] == [query]


async def test_a_query_answered_with_errors_is_executed_once(
    api: Api, fast: RunningServer, full_path_runs: list[str | None]
):
    """An answer with errors leaves the fast path for the full one, which gives its errors
    their codes from the same execution: the session is read once per request."""
    session_id = (await create_session(api))["id"]
    query = operation("SessionMessages")
    async with httpx.AsyncClient(base_url=fast.http_url, timeout=60) as http:
        for _ in range(3):
            with counted_statements(fast) as statements:
                answer = json.loads(
                    await posted(http, api.token or "", query, id=session_id, first=1, last=1)
                )
            assert answer["data"] == {"session": None}
            assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
            assert sum("FROM chat_session" in statement for statement in statements) == 1
    assert [run for run in full_path_runs if run == query] == [query] * 3


@pytest.mark.speed_layer
async def test_a_mutation_body_is_parsed_once(
    api: Api, fast: RunningServer, monkeypatch: pytest.MonkeyPatch
):
    decoded: list[str | bytes] = []
    decode = ChatGraphQL.decode_json

    def counted(self: ChatGraphQL, data: str | bytes) -> Any:
        decoded.append(data)
        return decode(self, data)

    monkeypatch.setattr(ChatGraphQL, "decode_json", counted)
    async with httpx.AsyncClient(base_url=fast.http_url, timeout=60) as http:
        created = await posted(http, api.token or "", "mutation { createSession { id } }")
    assert json.loads(created)["data"]["createSession"]["id"]
    assert len(decoded) == 1


class OperationLog(SchemaExtension):
    """An extension of a deployment's own: it must see every operation."""

    def on_operation(self) -> Iterator[None]:
        yield


def test_a_schema_with_an_extension_of_its_own_gets_no_fast_path():
    settings = Settings(**SPEED_LAYERS_ON)
    layers = speed_layers(settings)
    own = build_schema(settings, extensions=layers.extensions)
    assert layers.fast_queries(own) is not None
    logged = build_schema(settings, extensions=[*layers.extensions, OperationLog])
    assert layers.fast_queries(logged) is None
    assert speed_layers(Settings(**SPEED_LAYERS_OFF)).fast_queries(own) is None


@pytest.mark.speed_layer
async def test_fast_json_answers_the_same_json_with_characters_as_utf8(
    api: Api, server: RunningServer
):
    title = 'Büro ☕ "quoted" \\ back\u2028slash'
    text = (await create_session(api, title=title))["id"]
    await append_many(api, text, [{"role": "USER", "content": "héllo 👋\nline two"}])
    # 2**70 is past what orjson writes: the standard library writes that answer.
    credentials = {"big": 2**70, "float": 2.5, "nested": [None, True, {}]}
    numbers = (await create_session(api))["id"]
    await api.data(
        operation("UpdateSession"), {"id": numbers, "input": {"credentials": credentials}}
    )
    bodies: dict[tuple[str, bool], bytes] = {}
    for fast_json in (True, False):
        layers = {**SPEED_LAYERS_ON, "fast_json": fast_json}
        url = server.settings.database_url
        async with running_server(database_url=url, **layers) as running:
            async with httpx.AsyncClient(base_url=running.http_url, timeout=60) as http:
                for session_id in (text, numbers):
                    # The second read is answered from the response cache.
                    answers = [
                        await posted(http, api.token or "", operation("GetSession"), id=session_id)
                        for _ in range(2)
                    ]
                    assert answers[0] == answers[1]
                    bodies[session_id, fast_json] = answers[0]
    for session_id in (text, numbers):
        assert json.loads(bodies[session_id, True]) == json.loads(bodies[session_id, False])
    read = json.loads(bodies[text, True])["data"]["session"]
    assert read["title"] == title
    assert read["messages"][0]["content"] == "héllo 👋\nline two"
    assert "Büro ☕".encode() in bodies[text, True]
    assert b"B\\u00fcro \\u2615" in bodies[text, False]
    assert json.loads(bodies[numbers, True])["data"]["session"]["credentials"] == credentials


APPEND = operation("AppendMessage")


@pytest.fixture
async def plain_mutations(server: RunningServer) -> AsyncIterator[RunningServer]:
    """A server with every speed layer on but those for mutations (FAST_MUTATIONS,
    COMPILED_ARGUMENTS), on the same database."""
    layers = {**SPEED_LAYERS_ON, "fast_mutations": False, "compiled_arguments": False}
    async with running_server(database_url=server.settings.database_url, **layers) as running:
        yield running


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[tuple[uuid.UUID, int]]:
    """The revisions that the servers of this process publish after their writes."""
    revisions: list[tuple[uuid.UUID, int]] = []
    publish = Events.publish_revision

    async def counted(self: Events, session_id: uuid.UUID, revision: int) -> None:
        revisions.append((session_id, revision))
        await publish(self, session_id, revision)

    monkeypatch.setattr(Events, "publish_revision", counted)
    return revisions


async def answered(
    url: str,
    token: str | None,
    query: str,
    variables: dict[str, Any],
    accept: str = "application/json",
) -> tuple[int, Any]:
    """The status and JSON body of a POST of `query` to `url`."""
    headers = {"Accept": accept}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        response = await http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
    return response.status_code, response.json()


@pytest.mark.speed_layer
async def test_a_repeated_append_skips_strawberrys_steps_and_writes_once(
    api: Api,
    fast: RunningServer,
    plain_mutations: RunningServer,
    full_path_runs: list[str | None],
    published: list[tuple[uuid.UUID, int]],
):
    session = await create_session(api)
    session_id, revision = session["id"], session["revision"]
    for url in (fast.http_url, plain_mutations.http_url):
        ws_url = url.replace("http://", "ws://") + "/graphql"
        # From the revision before the appends: a subscribe the server takes after the first
        # append replays it rather than starting past it.
        variables = {"sessionId": session_id, "afterRevision": revision}
        async with subscribed(ws_url, api.token, variables, query=SESSION_EVENTS) as subscriber:
            published.clear()
            written = []
            for n in range(3):
                message = {"role": "USER", "content": f"m{n}"}
                status, body = await answered(
                    url, api.token, APPEND, {"sessionId": session_id, "message": message}
                )
                assert status == 200 and "errors" not in body, body
                written.append(body["data"]["appendMessage"])
            revision = written[-1]["revision"]
            events = await events_until(subscriber, revision)
        # One write and one published event per request, each message delivered once.
        # (Other servers of this process may publish meanwhile: an expiry sweep, say.)
        key = uuid.UUID(session_id)
        ours = [publish for publish in published if publish[0] == key]
        assert ours == [(key, message["revision"]) for message in written]
        delivered = [event["message"] for event in events if event["kind"] == "MESSAGE"]
        assert [message["id"] for message in delivered] == [message["id"] for message in written]
        assert [message["content"] for message in delivered] == ["m0", "m1", "m2"]
    stored = (await load_session(api, session_id))["messages"]
    assert [message["content"] for message in stored] == ["m0", "m1", "m2"] * 2
    # The fast server runs the text on the full path once, to validate it, then skips
    # Strawberry's steps; the server without FAST_MUTATIONS runs all three there.
    assert full_path_runs.count(APPEND) == 1 + 3


@pytest.mark.speed_layer
async def test_a_large_document_is_not_remembered_for_the_fast_path(
    api: Api, fast: RunningServer, full_path_runs: list[str | None]
):
    """Only documents the document cache would keep (MAX_CACHED_CHARS) are remembered: a
    large one's parse, many times its text, is not held after its request."""
    session_id = (await create_session(api))["id"]
    small = 'mutation($id: ID!) { updateSession(id: $id, input: {title: "t"}) { revision } }'
    padding = "#" + "p" * MAX_CACHED_CHARS + "\n"
    for query in (small, padding + small):
        for _ in range(3):
            status, body = await answered(fast.http_url, api.token, query, {"id": session_id})
            assert status == 200 and "errors" not in body, body
    assert (full_path_runs.count(small), full_path_runs.count(padding + small)) == (1, 3)


@pytest.mark.speed_layer
async def test_a_mutation_answered_with_errors_runs_once(
    api: Api, fast: RunningServer, full_path_runs: list[str | None]
):
    """The first root field writes, the second is refused: the fast path's result goes to
    the full path, which gives its errors their codes without running the mutation again."""
    session_id = (await create_session(api))["id"]
    query = (
        "mutation($id: ID!, $ok: MessageInput!, $bad: MessageInput!) {"
        " ok: appendMessage(sessionId: $id, message: $ok) { content }"
        " bad: appendMessage(sessionId: $id, message: $bad) { content } }"
    )
    variables = {
        "id": session_id,
        "ok": {"role": "USER", "content": "kept"},
        "bad": {"role": "USER", "content": "refused", "status": "FAILED"},
    }
    for count in range(1, 4):
        status, body = await answered(fast.http_url, api.token, query, variables)
        assert status == 200
        assert body["data"] is None
        [error] = body["errors"]
        assert (error["path"], error["extensions"]["code"]) == (["bad"], "BAD_USER_INPUT")
        stored = (await load_session(api, session_id))["messages"]
        assert [message["content"] for message in stored] == ["kept"] * count
    assert full_path_runs.count(query) == 3


# Requests that fail, each as (query, variables, token: None for the owner's), with the
# owner's session id and a streaming message's id filled in.
BAD_MUTATIONS: dict[str, tuple[str, dict[str, Any], str | None]] = {
    "a session id that is no UUID": (
        APPEND,
        {"sessionId": "nope", "message": {"role": "USER", "content": "x"}},
        None,
    ),
    "a FAILED status": (
        APPEND,
        {"sessionId": "{session}", "message": {"role": "USER", "status": "FAILED"}},
        None,
    ),
    "a PENDING USER message": (
        APPEND,
        {"sessionId": "{session}", "message": {"role": "USER", "status": "PENDING"}},
        None,
    ),
    "a NUL in the content": (
        APPEND,
        {"sessionId": "{session}", "message": {"role": "USER", "content": "a\x00b"}},
        None,
    ),
    "a deadline in the past": (
        APPEND,
        {
            "sessionId": "{session}",
            "message": {
                "role": "ASSISTANT",
                "status": "STREAMING",
                "deadline": "2001-01-01T00:00:00Z",
            },
        },
        None,
    ),
    "a role that is no MessageRole": (
        APPEND,
        {"sessionId": "{session}", "message": {"role": "NOPE", "content": "x"}},
        None,
    ),
    "a message without a role": (
        APPEND,
        {"sessionId": "{session}", "message": {"content": "x"}},
        None,
    ),
    "a malformed id": (
        APPEND,
        {"sessionId": "{session}", "message": {"id": "x", "role": "USER"}},
        None,
    ),
    "another user's session": (
        APPEND,
        {"sessionId": "{session}", "message": {"role": "USER", "content": "x"}},
        "stranger",
    ),
    "no token": (
        APPEND,
        {"sessionId": "{session}", "message": {"role": "USER", "content": "x"}},
        "",
    ),
    "a chunk for a message that is not STREAMING": (
        operation("AppendMessageContent"),
        {"sessionId": "{session}", "messageId": "{complete}", "text": "x"},
        None,
    ),
    "a chunk for a missing message": (
        operation("AppendMessageContent"),
        {"sessionId": "{session}", "messageId": str(uuid.UUID(int=1)), "text": "x"},
        None,
    ),
    "a tool result for an unknown call": (
        operation("UpdateToolResult"),
        {"sessionId": "{session}", "toolCallId": "unknown", "content": "x"},
        None,
    ),
}


async def test_bad_mutations_answer_the_same_errors_with_the_mutation_layers_or_without(
    api: Api, fast: RunningServer, plain_mutations: RunningServer
):
    session_id = (await create_session(api))["id"]
    await append(api, session_id, tool("call-1"))
    complete = await append(api, session_id, {"role": "USER", "content": "done"})
    for case, (query, variables, caller) in BAD_MUTATIONS.items():
        filled = json.loads(
            json.dumps(variables)
            .replace("{session}", session_id)
            .replace("{complete}", complete["id"])
        )
        token = api.token if caller is None else (token_for(caller) if caller else None)
        for accept in ("application/json", "application/graphql-response+json"):
            answers = {}
            for url in (fast.http_url, plain_mutations.http_url):
                # The first request validates the text on the full path; the next take the
                # fast path where it is on.
                answers[url] = [await answered(url, token, query, filled, accept) for _ in range(3)]
            assert answers[fast.http_url] == answers[plain_mutations.http_url], (case, accept)
            status, body = answers[fast.http_url][-1]
            assert status in (200, 400), (case, body)
            assert body["errors"][0]["extensions"]["code"] in (
                "BAD_USER_INPUT",
                "NOT_FOUND",
                "CONFLICT",
                "UNAUTHENTICATED",
            ), (case, body)
    stored = (await load_session(api, session_id))["messages"]
    assert [message["content"] for message in stored] == [None, "done"]


@pytest.mark.speed_layer
async def test_compiled_arguments_convert_without_walking_the_types(
    api: Api,
    fast: RunningServer,
    plain_mutations: RunningServer,
    monkeypatch: pytest.MonkeyPatch,
):
    """Strawberry names each field of an input type anew on every conversion; the plan of
    COMPILED_ARGUMENTS did so once, when the app was built."""
    session_id = (await create_session(api))["id"]
    named: list[str] = []
    from_field = NameConverter.from_field

    def counted(self: NameConverter, field: StrawberryField) -> str:
        named.append(field.python_name)
        return from_field(self, field)

    monkeypatch.setattr(NameConverter, "from_field", counted)
    fields = len(value_fields(MessageInput))
    for url, names in ((fast.http_url, 0), (plain_mutations.http_url, 3 * fields)):
        named.clear()
        for n in range(3):
            message = {"role": "USER", "content": f"m{n}"}
            status, body = await answered(
                url, api.token, APPEND, {"sessionId": session_id, "message": message}
            )
            assert status == 200 and "errors" not in body, body
        # Strawberry names each field of MessageInput: graphql-core gives them all, with
        # their defaults filled in.
        assert len(named) == names, named


@pytest.mark.speed_layer
async def test_compiled_arguments_convert_a_root_querys_arguments_too(
    api: Api,
    fast: RunningServer,
    plain_mutations: RunningServer,
    monkeypatch: pytest.MonkeyPatch,
):
    """A read of one session converts its `id` by the plan, without Strawberry's
    get_arguments, when COMPILED_ARGUMENTS is on; with the same answer."""
    session_id = (await create_session(api))["id"]
    converted: list[str] = []
    get_arguments = schema_converter.get_arguments

    def counted(*, field: StrawberryField, **kwargs: Any) -> Any:
        converted.append(field.python_name)
        return get_arguments(field=field, **kwargs)

    monkeypatch.setattr(schema_converter, "get_arguments", counted)
    answers = []
    for url, conversions in ((fast.http_url, 0), (plain_mutations.http_url, 2)):
        converted.clear()
        for _ in range(2):
            status, body = await answered(
                url, api.token, operation("GetSession"), {"id": session_id}
            )
            assert status == 200 and "errors" not in body, body
            answers.append(body)
        assert converted.count("session") == conversions, converted
    assert all(body == answers[0] for body in answers)


@pytest.mark.parametrize(
    "text",
    [
        '{"credentials": {"key": "ü 🚀", "n": [1, 2.5, null, true, {}]}}',
        '{"beyond": 18446744073709551616, "below": -9223372036854775809}',
        "[1e400, -1e400, 5e-324, 0.1, 1234567890.0987654321]",
        "12345678901234567.5",
        '"\\ud83d\\ude80 \\u00fc"',
    ],
)
def test_fast_loads_reads_what_the_standard_library_reads(text: str) -> None:
    """FAST_JSON reads a JSON column by orjson only where that reads the same values, of
    the same types: an integer beyond 64 bits, which orjson would read as a float, and a
    number orjson refuses are read by the standard library."""
    assert repr(fast_loads(text)) == repr(json.loads(text))
    assert repr(fast_loads(text.encode())) == repr(json.loads(text.encode()))


@pytest.mark.parametrize(
    "body",
    [
        b'{"query": "{ me }", "variables": {"n": NaN, "s": "\\ud800"}}',
        b'\xef\xbb\xbf{"query": "{ me }"}',
        '{"query": "{ me }"}'.encode("utf-16"),
        b'{"variables": {"big": 123456789012345678901234567890}}',
    ],
)
def test_fast_loads_reads_a_body_as_the_standard_library_does(body: bytes) -> None:
    """A request body orjson refuses (NaN, a lone surrogate, a byte order mark, UTF-16) or
    would read otherwise (an integer beyond 64 bits) is the standard library's to read."""
    assert repr(fast_loads(body)) == repr(json.loads(body))


@pytest.mark.parametrize("body", [b'{"query": ', b'{"query": "\xff"}', b"[" * 100_000])
def test_fast_loads_refuses_a_body_as_the_standard_library_does(body: bytes) -> None:
    """What the standard library refuses raises its own error (the view's coded 400)."""
    with pytest.raises((ValueError, RecursionError)) as standard:
        json.loads(body)
    with pytest.raises(standard.type):
        fast_loads(body)
