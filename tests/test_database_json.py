"""DATABASE_JSON (speed/database_json.py, db/message_json.py): PostgreSQL writes a list of
messages' JSON, and the whole HTTP response is byte for byte the one the executor writes
with the layer off: every text (control characters, quotes, backslashes, U+2028 and U+2029,
characters outside ASCII, emoji), every timestamp (microseconds of zero too, the years
Python holds), every role and status, nulls, aliases, `__typename`, the windows. A value
PostgreSQL would not write as the executor does is read as rows, with the same answer; and
the layer really writes the JSON when it can.

The messages are written with SQL, so that their timestamps and statuses can be any.
"""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from core.settings import Settings
from schema.types import MessageRole, MessageStatus
from speed import speed_layers
from speed.database_json import DatabaseJson
from tests.clients import (
    WAIT,
    counted_statements,
    operation,
    token_for,
    websocket,
)
from tests.servers import SPEED_LAYERS_ON, RunningServer, database_url, running_server

pytestmark = pytest.mark.speed_layer

TOKEN = token_for("database-json")

EVERY_FIELD = (
    "__typename id sessionId sequence role content name toolCallId refusal status deadline "
    "failureReason createdAt updatedAt revision"
)
WINDOW = "first: $first, last: $last, afterSequence: $after, beforeSequence: $before"
DOCUMENTS = {
    "every plain field": (
        "query($id: ID!, $first: Int, $last: Int, $after: Int, $before: Int) { session(id: $id) "
        f"{{ id messages({WINDOW}) {{ {EVERY_FIELD} }} }} }}"
    ),
    "aliases and __typename": (
        "query($id: ID!, $first: Int, $last: Int, $after: Int, $before: Int) { session(id: $id) "
        f"{{ revision page: messages({WINDOW}) {{ t: __typename s: sequence sequence "
        "text: content when: createdAt role r: role kind: __typename } "
        "opening: messages(first: 2) { role content } } }"
    ),
    "the history of bench.peer": (
        "query($id: ID!) { session(id: $id) { messages "
        "{ id sequence role content toolCallId createdAt } } }"
    ),
    "JSON fields": (
        "query($id: ID!) { session(id: $id) { messages "
        "{ sequence toolCalls functionCall updatedAt } } }"
    ),
}

# What PostgreSQL and orjson could write differently, among any text.
TRICKY = ['"', "\\", "/", "\u2028", "\u2029", "\x7f", "\x1f", "\x01", "\b", "\f", "\n", "\r"]
TRICKY += ["\t", "é", "ß", "中", "😀", "👋", "\U0001f3fd", "\ufeff", "\U0010ffff", "'", "<", "&"]
texts = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_characters="\x00"), st.sampled_from(TRICKY)
    ),
    max_size=40,
)
any_times = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999)
)
recent_times = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1))
times = st.one_of(any_times, recent_times, recent_times.map(lambda at: at.replace(microsecond=0)))
utc_times = times.map(lambda at: at.replace(tzinfo=UTC))
# JSON as clients send it; a number with a fraction is completed by the plan.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | texts | st.floats(-1e300, 1e300),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)


@dataclass(frozen=True)
class Message:
    role: str = "USER"
    status: str = "COMPLETE"
    content: str | None = "x"
    name: str | None = None
    tool_call_id: str | None = None
    refusal: str | None = None
    failure_reason: str | None = None
    deadline: datetime | None = None
    created_at: datetime = datetime(2026, 1, 2, tzinfo=UTC)
    updated_at: datetime = datetime(2026, 1, 2, tzinfo=UTC)
    revision: int = 1
    tool_calls: Any = None
    function_call: Any = None


def never_overdue(message: Message) -> Message:
    """`message`, with an open one's deadline far ahead: the server marks an overdue one
    FAILED at any time, between two reads of a test too."""
    if message.status in ("PENDING", "STREAMING") and message.deadline is not None:
        ahead = datetime(9000, 1, 1, tzinfo=UTC) + (message.deadline - FIRST_INSTANT) / 10
        return Message(**{**message.__dict__, "deadline": ahead})
    return message


FIRST_INSTANT = datetime(1, 1, 1, tzinfo=UTC)
messages = st.builds(
    Message,
    role=st.sampled_from([role.value for role in MessageRole]),
    status=st.sampled_from([status.value for status in MessageStatus]),
    content=st.none() | texts,
    name=st.none() | texts,
    tool_call_id=st.none() | texts,
    refusal=st.none() | texts,
    failure_reason=st.none() | texts,
    deadline=st.none() | utc_times,
    created_at=utc_times,
    updated_at=utc_times,
    revision=st.integers(0, 2**31 - 1),
    tool_calls=st.none() | json_values,
    function_call=st.none() | json_values,
).map(never_overdue)
windows = st.fixed_dictionaries(
    {},
    optional={
        "first": st.integers(0, 6),
        "last": st.integers(0, 6),
        "after": st.integers(-1, 6),
        "before": st.integers(0, 7),
    },
)

HYPOTHESIS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    # The servers and the database live on between examples: no shrinking needed to read
    # a failure, which shows its example.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@dataclass(frozen=True)
class Servers:
    on: RunningServer  # the layer on, every other layer on but the response cache
    off: RunningServer  # the same, the layer off
    cached: RunningServer  # every layer on, the response cache too
    database: asyncpg.Connection
    http: httpx.AsyncClient


@pytest.fixture(scope="module")
async def servers(workdir: Path) -> AsyncIterator[Servers]:
    async with database_url("postgres", workdir) as url:
        layers = {**SPEED_LAYERS_ON, "response_cache_bytes": 0}
        async with (
            running_server(database_url=url, **layers) as on,
            running_server(database_url=url, **{**layers, "database_json": False}) as off,
            running_server(database_url=url, **SPEED_LAYERS_ON) as cached,
        ):
            database = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
            try:
                async with httpx.AsyncClient(timeout=60) as http:
                    yield Servers(on, off, cached, database, http)
            finally:
                await database.close()


async def post(
    servers: Servers,
    server: RunningServer,
    query: str,
    variables: dict[str, Any],
    token: str = TOKEN,
) -> bytes:
    response = await servers.http.post(
        f"{server.http_url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    return response.content


async def session_of(
    servers: Servers, history: list[Message], token: str = TOKEN, **columns: Any
) -> str:
    """A new session of the caller's holding `history`, written with SQL."""
    created = await post(servers, servers.off, "mutation { createSession { id } }", {}, token)
    session_id = json.loads(created)["data"]["createSession"]["id"]
    for sequence, message in enumerate(history):
        await servers.database.execute(
            "INSERT INTO chat_message (id, session_id, sequence, role, content, name, "
            "tool_call_id, refusal, tool_calls, function_call, status, deadline, failure_reason, "
            "created_at, updated_at, revision) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
            "$11, $12, $13, $14, $15, $16)",
            uuid.uuid4(),
            uuid.UUID(session_id),
            sequence,
            message.role,
            message.content,
            message.name,
            # At most one TOOL message per toolCallId in a session.
            None if message.tool_call_id is None else f"{message.tool_call_id}{sequence}",
            message.refusal,
            None if message.tool_calls is None else json.dumps(message.tool_calls),
            None if message.function_call is None else json.dumps(message.function_call),
            message.status,
            message.deadline,
            message.failure_reason,
            message.created_at,
            message.updated_at,
            message.revision,
        )
    await servers.database.execute(
        "UPDATE chat_session SET message_count = $2, revision = revision + 1 WHERE id = $1",
        uuid.UUID(session_id),
        len(history),
    )
    for column, value in columns.items():
        await servers.database.execute(
            f"UPDATE chat_session SET {column} = $2 WHERE id = $1", uuid.UUID(session_id), value
        )
    return session_id


async def answers(
    servers: Servers, query: str, variables: dict[str, Any], token: str = TOKEN
) -> dict[str, bytes]:
    """The answer of each server; the cached one twice (its second from the cache)."""
    return {
        "on": await post(servers, servers.on, query, variables, token),
        "off": await post(servers, servers.off, query, variables, token),
        "cached": await post(servers, servers.cached, query, variables, token),
        "from the cache": await post(servers, servers.cached, query, variables, token),
    }


def assert_identical(answered: dict[str, bytes]) -> None:
    """Every answer the same bytes; else where the first one that differs does."""
    off = answered["off"]
    for server, body in answered.items():
        at = next((i for i, (a, b) in enumerate(zip(body, off, strict=False)) if a != b), None)
        at = min(len(body), len(off)) if at is None and body != off else at
        if at is not None:
            pytest.fail(f"{server}: {body[at - 80 : at + 80]!r}\noff: {off[at - 80 : at + 80]!r}")


def rows_read(statements: list[str]) -> bool:
    """True when a statement read message rows (the JSON statement reads them inside)."""
    return any("FROM chat_message" in each and "string_agg" not in each for each in statements)


@pytest.mark.timeout(600)
@HYPOTHESIS
@given(history=st.lists(messages, max_size=6), window=windows)
async def test_the_database_writes_the_bytes_the_executor_writes(
    servers: Servers, history: list[Message], window: dict[str, int]
):
    session_id = await session_of(servers, history)
    for name, query in DOCUMENTS.items():
        variables = {"id": session_id, **(window if "$first" in query else {})}
        answered = await answers(servers, query, variables)
        assert_identical(answered)
        both = "first" in window and "last" in window
        # The envelope's key, not a key of the data (a tool call's, say).
        assert "errors" not in json.loads(answered["on"]) or both, name


async def test_the_layer_writes_the_json_itself(servers: Servers):
    history = [
        Message(
            content='say "hi" \\ \u2028 😀',
            created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            tool_calls=[{"id": "c1", "function": {"name": "f", "arguments": '{"a": 1}'}}],
        )
    ]
    session_id = await session_of(servers, history)
    written = {}
    for name in ("the history of bench.peer", "JSON fields"):
        query = DOCUMENTS[name]
        with counted_statements(servers.on) as statements:
            written[name] = await post(servers, servers.on, query, {"id": session_id})
        assert written[name] == await post(servers, servers.off, query, {"id": session_id})
        # One statement writes the JSON; no message row is read.
        assert [statement for statement in statements if "string_agg" in statement], statements
        assert not rows_read(statements), statements
        with counted_statements(servers.off) as statements:
            await post(servers, servers.off, query, {"id": session_id})
        assert not [statement for statement in statements if "string_agg" in statement]
    assert b'"createdAt":"2026-01-02T03:04:05.000000+00:00"' in written["the history of bench.peer"]
    assert b'"arguments":"{\\"a\\": 1}"}}]' in written["JSON fields"]


@pytest.mark.parametrize(
    ("case", "history", "columns"),
    [
        # A number with a fraction in a JSON value: the plan completes it.
        ("a tool call", [{"tool_calls": [{"id": "c1", "n": 1.50, "a": "\u2028"}]}], {}),
        # Beyond GraphQL's Int: a field error, as without the layer.
        ("a revision past 32 bits", [{"revision": 2**31}], {}),
        # A role that is no member: a field error, as without the layer.
        ("an unknown role", [{"role": "ROBOT"}], {}),
        # orjson refuses a 70-bit integer: the standard library writes the whole answer,
        # the database's JSON too.
        ("a 70-bit credential", [{}], {"credentials": json.dumps({"big": 2**70})}),
    ],
)
async def test_what_the_database_would_not_write_exactly_is_read_as_rows(
    servers: Servers, case: str, history: list[dict[str, Any]], columns: dict[str, Any]
):
    written = [Message(**changes) for changes in history]
    session_id = await session_of(servers, written, **columns)
    query = (
        "query($id: ID!) { session(id: $id) { credentials messages "
        "{ sequence role toolCalls revision createdAt } } }"
    )
    with counted_statements(servers.on) as statements:
        answered = await answers(servers, query, {"id": session_id})
    assert_identical(answered)
    assert any("string_agg" in statement for statement in statements), statements
    assert rows_read(statements) == (case != "a 70-bit credential"), statements


def test_the_layer_is_on_only_where_it_can_be():
    postgres = "postgresql+asyncpg://postgres@127.0.0.1/chatstore"

    def executor(**changes: Any) -> type | None:
        return speed_layers(Settings(**{**SPEED_LAYERS_ON, **changes})).execution_context_class

    assert issubclass(executor(database_url=postgres), DatabaseJson)  # type: ignore[arg-type]
    for off in (
        {"database_json": False},
        {"compiled_reads": False},
        {"fast_json": False},
        {"database_url": "sqlite+aiosqlite:///chatstore.db"},
    ):
        layers = executor(**{"database_url": postgres, **off})
        assert layers is None or not issubclass(layers, DatabaseJson), off


async def test_get_session_reads_the_same_with_the_layer_on_and_off(servers: Servers):
    history = [
        Message(
            role="TOOL",
            status="FAILED",
            content=None,
            name="tool",
            tool_call_id="call",
            failure_reason="it broke",
            created_at=datetime(2026, 1, 2, 3, 4, 5, 999999, tzinfo=UTC),
            revision=2,
        ),
        Message(role="ASSISTANT", tool_calls=[{"id": "call", "type": "function"}]),
    ]
    session_id = await session_of(servers, history)
    assert_identical(await answers(servers, operation("GetSession"), {"id": session_id}))


async def test_the_windows_of_several_sessions_are_written_in_one_statement(servers: Servers):
    token = token_for("database-json-several")
    histories = [
        [Message(content=f"{n}-{sequence}") for sequence in range(n)] for n in (0, 1, 3, 4)
    ]
    histories.append([Message(), Message(tool_calls={"n": 0.5})])  # read as rows
    for history in histories:
        await session_of(servers, history, token)
    query = (
        "{ sessions { id messages(last: 2) { sequence content toolCalls } "
        "all: messages { __typename sequence } } }"
    )
    with counted_statements(servers.on) as statements:
        answered = await answers(servers, query, {}, token)
    assert_identical(answered)
    assert len(json.loads(answered["on"])["data"]["sessions"]) == len(histories)
    written = [statement for statement in statements if "string_agg" in statement]
    assert len(written) == 2 and "row_number()" in written[0], statements
    # The one session whose window holds a fraction is read as rows.
    assert sum("FROM chat_message" in each and "string_agg" not in each for each in statements) == 1


async def test_a_query_over_a_websocket_is_the_same_with_the_layer_on_and_off(
    servers: Servers,
):
    history = [Message(content='é "\u2028"'), Message(role="TOOL", tool_call_id="c", content=None)]
    session_id = await session_of(servers, history)
    frames = []
    for server in (servers.on, servers.off):
        async with websocket(server.ws_url) as client:
            await client.init(TOKEN)
            await client.subscribe(DOCUMENTS["every plain field"], {"id": session_id})
            while True:
                frame = await asyncio.wait_for(client.ws.recv(), WAIT)
                if json.loads(frame)["type"] == "next":
                    break
            frames.append(frame)
    assert frames[0] == frames[1]
    assert json.loads(frames[0])["payload"]["data"]["session"]["messages"][0]["content"] == (
        'é "\u2028"'
    )


async def test_a_query_over_graphql_sse_is_the_same_with_the_layer_on_and_off(servers: Servers):
    session_id = await session_of(servers, [Message(content="a\\b"), Message(content="😀")])
    bodies = []
    for server in (servers.on, servers.off):
        response = await servers.http.post(
            f"{server.http_url}/graphql/stream",
            json={"query": DOCUMENTS["every plain field"], "variables": {"id": session_id}},
            headers={"Authorization": f"Bearer {TOKEN}", "Accept": "text/event-stream"},
        )
        assert response.status_code == 200, response.text
        bodies.append(response.content)
    assert bodies[0] == bodies[1]
    assert b'"content":"a\\\\b"' in bodies[0] and "😀".encode() in bodies[0], bodies[0]


async def test_without_prepared_statements_sqlalchemy_runs_the_json_statement(
    servers: Servers,
):
    session_id = await session_of(servers, [Message(content="ü"), Message(revision=7)])
    query = DOCUMENTS["every plain field"]
    layers = {**SPEED_LAYERS_ON, "response_cache_bytes": 0, "prepared_statements": False}
    async with running_server(database_url=servers.on.settings.database_url, **layers) as server:
        with counted_statements(server) as statements:
            written = await post(servers, server, query, {"id": session_id})
    assert written == await post(servers, servers.off, query, {"id": session_id})
    assert [statement for statement in statements if "string_agg" in statement], statements
    assert not rows_read(statements), statements
