"""Schema-driven fuzzing of the HTTP API: documents and variables from hypothesis-graphql
and Hypothesis, valid and invalid, against a running server.

Every answer must be a client's answer: no 5xx, no masked INTERNAL_SERVER_ERROR, nothing
of the server's insides (a traceback, SQL, a library's or a file's name) that the request
did not carry itself; and afterwards the database is consistent, read with SQL through the
test's own connection: each session's messages are numbered 0..n-1 with n its
`message_count`, and their revisions are at most the session's, one per write.

The normal run sends FUZZ_EXAMPLES (150 by default) of each kind (POST, GET); a longer run by hand:
`FUZZ_EXAMPLES=5000 .venv/bin/pytest tests/test_fuzz.py -n 0 -s` (it prints its counts).
"""

import json
import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite
import graphql
import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, queries

from core.settings import Settings
from schema.build import build_schema
from tests.clients import OPERATIONS, WAIT, Api, token_for
from tests.servers import JWT_SECRET, RunningServer, database_url, running_server

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # no example database left in the checkout
    # No shrinking: the server's state moves on between examples, so a shrunk example
    # would not fail the same way; a failure shows the example that failed.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# The longer runs by hand take longer than the suite's timeout for one test.
LONG_ENOUGH = pytest.mark.timeout(max(120, EXAMPLES // 5))

# What a response must not hold unless the request held it: the server's insides.
INSIDES = (
    "Traceback",
    'File "',
    '.py"',
    "/work",
    "site-packages",
    "SELECT ",
    "INSERT ",
    "UPDATE chat",
    "sqlalchemy",
    "asyncpg",
    "aiosqlite",
    "sqlite3",
    "psycopg",
    "INTERNAL_SERVER_ERROR",
)

SDL = build_schema(Settings(jwt_secret=JWT_SECRET)).as_str()
OPERATION_DOCUMENTS = {path.stem: path.read_text() for path in sorted(OPERATIONS.glob("*.graphql"))}
SESSIONS = [str(uuid.UUID(int=n + 1)) for n in range(3)]  # the fuzzing user's own, made first


def string(value: str) -> graphql.ValueNode:
    return graphql.StringValueNode(value=value)


# Argument values for the schema's scalars: the user's sessions and their tool calls as
# well as anything at all, so that generated mutations also reach the database.
ids = st.one_of(
    st.sampled_from(SESSIONS), st.sampled_from(SESSIONS), st.uuids().map(str), st.text(max_size=40)
)
datetimes = st.one_of(
    st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat),
    st.timedeltas(min_value=timedelta(seconds=-60), max_value=timedelta(days=2)).map(
        lambda ahead: (datetime.now(UTC) + ahead).isoformat()
    ),
    st.text(max_size=30),
)
json_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def value_node(value: Any) -> graphql.ValueNode:
    """A GraphQL literal of a JSON value."""
    if value is None:
        return graphql.NullValueNode()
    if isinstance(value, bool):
        return graphql.BooleanValueNode(value=value)
    if isinstance(value, int):
        return graphql.IntValueNode(value=str(value))
    if isinstance(value, float):
        return graphql.FloatValueNode(value=repr(value))
    if isinstance(value, str):
        return graphql.StringValueNode(value=value)
    if isinstance(value, list):
        return graphql.ListValueNode(values=tuple(value_node(item) for item in value))
    return graphql.ObjectValueNode(
        fields=tuple(
            graphql.ObjectFieldNode(name=graphql.NameNode(value=key), value=value_node(item))
            for key, item in value.items()
        )
    )


names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
json_literals = st.recursive(
    json_leaves,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(names, children, max_size=4),
    max_leaves=12,
)
CUSTOM_SCALARS = {
    "ID": ids.map(string),
    "DateTime": datetimes.map(string),
    "JSON": json_literals.map(value_node),
}

documents = st.one_of(
    from_schema(SDL, custom_scalars=CUSTOM_SCALARS, mode=Mode.POSITIVE),
    from_schema(SDL, custom_scalars=CUSTOM_SCALARS, mode=Mode.NEGATIVE),
)
query_documents = st.one_of(
    queries(SDL, custom_scalars=CUSTOM_SCALARS, mode=Mode.POSITIVE),
    queries(SDL, custom_scalars=CUSTOM_SCALARS, mode=Mode.NEGATIVE),
)


@st.composite
def operations_with_variables(draw: st.DrawFn) -> dict[str, Any]:
    """A client's operation (graphql/operations/) with variables that may or may not fit."""
    name = draw(st.sampled_from(sorted(OPERATION_DOCUMENTS)))
    document = graphql.parse(OPERATION_DOCUMENTS[name])
    variables: dict[str, Any] = {}
    for definition in document.definitions:
        for variable in getattr(definition, "variable_definitions", None) or ():
            key = variable.variable.name.value
            if draw(st.integers(0, 9)) == 0:
                continue  # left out
            typed = graphql.print_ast(variable.type).strip("!")
            if typed == "ID":
                variables[key] = draw(ids)
            elif typed == "DateTime":
                variables[key] = draw(datetimes)
            elif typed == "Int":
                variables[key] = draw(st.integers(-(2**40), 2**40) | json_values)
            else:
                variables[key] = draw(json_values)
    variables.update(draw(st.dictionaries(st.text(max_size=8), json_values, max_size=2)))
    return {"query": OPERATION_DOCUMENTS[name], "variables": variables}


bodies = st.one_of(
    documents.map(lambda document: {"query": document}),
    operations_with_variables(),
    st.fixed_dictionaries(
        {},
        optional={
            "query": st.one_of(st.text(max_size=60), json_values),
            "variables": json_values,
            "operationName": st.one_of(st.text(max_size=10), json_values),
            "extensions": json_values,
        },
    ),
    json_values,
)


# --- The run ---------------------------------------------------------------------------------


class Tally:
    """What the run sent and got back, printed at the end."""

    def __init__(self) -> None:
        self.sent = 0
        self.statuses: Counter[int] = Counter()
        self.codes: Counter[str] = Counter()
        # Generated deleteSession mutations that answered true (one of SESSIONS, say).
        self.deletions = 0

    def record(self, response: httpx.Response) -> None:
        self.sent += 1
        self.statuses[response.status_code] += 1
        try:
            body = response.json()
        except ValueError:
            return
        data = body.get("data") if isinstance(body, dict) else None
        if isinstance(data, dict) and data.get("deleteSession") is True:
            self.deletions += 1
        for error in body.get("errors") or [] if isinstance(body, dict) else []:
            self.codes[str((error.get("extensions") or {}).get("code"))] += 1


@pytest.fixture(scope="module")
async def fuzzed(workdir: Path) -> AsyncIterator[tuple[RunningServer, Path]]:
    """A server of its own on SQLite (the path of its database file too), with no request
    rate limit: one client sends as fast as it can."""
    async with database_url("sqlite", workdir) as url:
        async with running_server(database_url=url, rate_limit_per_second=0) as server:
            yield server, Path(url.removeprefix("sqlite+aiosqlite:///"))


@pytest.fixture(scope="module")
async def fuzz_client(
    fuzzed: tuple[RunningServer, Path],
) -> AsyncIterator[httpx.AsyncClient]:
    server, _ = fuzzed
    token = token_for("fuzzer")
    async with httpx.AsyncClient(
        base_url=server.http_url, timeout=WAIT, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        api = Api(http, token)
        for number, session_id in enumerate(SESSIONS):
            await api.data(
                "mutation($id: ID!, $m: [MessageInput!]!) {"
                " createSession(input: {id: $id}) { id }"
                " appendMessages(sessionId: $id, messages: $m) { id } }",
                {
                    "id": session_id,
                    "m": [
                        {"role": "USER", "content": f"hello {number}"},
                        {"role": "TOOL", "toolCallId": "call-1", "status": "PENDING"},
                        {"role": "ASSISTANT", "content": "", "status": "STREAMING"},
                    ],
                },
            )
        yield http


@pytest.fixture(scope="module")
def tally() -> Tally:
    return Tally()


def assert_nothing_inside(request: str, response: httpx.Response) -> None:
    assert response.status_code < 500, (request, response.status_code, response.text)
    for inside in INSIDES:
        if inside in response.text:
            assert inside in request, (inside, request, response.text)


@LONG_ENOUGH
@FUZZ_SETTINGS
@given(body=bodies)
async def test_no_request_gets_a_server_error_or_shows_the_servers_insides(
    fuzz_client: httpx.AsyncClient, tally: Tally, body: Any
):
    request = json.dumps(body)
    response = await fuzz_client.post(
        "/graphql", content=request, headers={"Content-Type": "application/json"}
    )
    tally.record(response)
    assert_nothing_inside(request, response)


@LONG_ENOUGH
@FUZZ_SETTINGS
@given(document=query_documents)
async def test_no_query_over_get_gets_a_server_error_or_shows_the_servers_insides(
    fuzz_client: httpx.AsyncClient, tally: Tally, document: str
):
    response = await fuzz_client.get("/graphql", params={"query": document})
    tally.record(response)
    assert_nothing_inside(document, response)


async def test_the_database_is_consistent_after_the_fuzzing(
    fuzzed: tuple[RunningServer, Path], fuzz_client: httpx.AsyncClient, tally: Tally
):
    _, path = fuzzed
    async with aiosqlite.connect(path) as db:
        sessions = list(
            await (
                await db.execute("SELECT id, message_count, revision FROM chat_session")
            ).fetchall()
        )
        # The fuzzing may delete the sessions made first, as any client may.
        assert len(sessions) >= len(SESSIONS) - tally.deletions
        for session_id, message_count, revision in sessions:
            rows = await (
                await db.execute(
                    "SELECT sequence, revision FROM chat_message WHERE session_id = ?"
                    " ORDER BY sequence",
                    (session_id,),
                )
            ).fetchall()
            assert [sequence for sequence, _ in rows] == list(range(message_count)), session_id
            # Every write adds 1 to the session's revision and gives it to what it wrote.
            written = {written for _, written in rows}
            assert all(0 < each <= revision for each in written), (session_id, rows)
            assert len(written) <= revision, (session_id, revision, rows)
    print(
        f"\nfuzzing: {tally.sent} requests, statuses {dict(tally.statuses)}, "
        f"error codes {dict(tally.codes.most_common())}, {tally.deletions} deletions, "
        f"{len(sessions)} sessions checked"
    )
    assert tally.sent >= 2 * min(EXAMPLES, 10), "the fuzzing tests did not run first"
