"""Compiled reads (speed/completion.py) answer the general executor's bytes.

A one-session query that misses the response cache is completed from plans: one read of the
session row, then one per distinct `messages` window. The same document on a server of the
same database with every speed layer off runs the general executor alone, so the two bodies
must be byte for byte the same. Documents a plan does not cover, and requests that end in
errors, are completed by graphql-core itself, with the same answer.
"""

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.clients import (
    Api,
    append_many,
    complete_tool,
    counted_statements,
    create_session,
    operation,
    tool,
)
from tests.servers import SPEED_LAYERS_OFF, RunningServer, running_server

CRAFTED = """
query Crafted($id: ID!, $newest: Int = 1) {
  s: session(id: $id) {
    __typename
    ...Head
    ... on ChatSession { revision t: title messageCount }
    newest: messages(last: $newest) { __typename id ...Body }
    all: messages { sequence role sequence name toolCallId refusal functionCall }
    newest: messages(last: $newest) { role revision updatedAt }
    ... { userId successfulAgentRuns successfulAgentSchedules totalPromptTokens }
  }
}
fragment Head on ChatSession { id title credentials createdAt updatedAt }
fragment Body on ChatMessage { sessionId content toolCalls createdAt }
"""

HEADER_ONLY = "query { session(id: $ID) { id revision totalCompletionTokens } }"

WITH_DIRECTIVE = """
query Directed($id: ID!, $yes: Boolean!) {
  session(id: $id) { id messages @include(if: $yes) { id content } }
}
"""


async def varied_session(api: Api) -> str:
    """A session whose fields take every shape: nulls, JSON, non-ASCII text, escapes."""
    session_id = (await create_session(api, title='Büro ☕ "quoted" \\ back\u2028slash'))["id"]
    metadata = {"credentials": {"nested": {"list": [1, 2.5, None, True]}, "ünïcode": "😀"}}
    await api.data(operation("UpdateSession"), {"id": session_id, "input": metadata})
    await append_many(
        api,
        session_id,
        [
            {"role": "SYSTEM", "content": "You are terse."},
            {"role": "USER", "content": "line\nbreak\ttab \u001f unit separator 😀", "name": "ana"},
            {
                "role": "ASSISTANT",
                "content": None,
                "refusal": "no",
                "toolCalls": [{"id": "c1", "function": {"name": "f", "arguments": "{}"}}],
                "functionCall": {"name": "legacy", "arguments": "[]"},
            },
            tool("c1", "pending"),
            tool("c2"),
        ],
    )
    await complete_tool(api, session_id, "c1", "done: ✓")
    return session_id


@pytest.fixture
async def plain(server: RunningServer) -> AsyncIterator[RunningServer]:
    """A server of the same database with every speed layer off but the one that writes
    the JSON (FAST_JSON): both write the same values the same way."""
    layers = {**SPEED_LAYERS_OFF, "fast_json": server.settings.fast_json}
    async with running_server(database_url=server.settings.database_url, **layers) as plain:
        yield plain


async def executor_bytes(
    plain: RunningServer, api: Api, query: str, variables: dict[str, Any]
) -> bytes:
    """The general executor's answer: the same document on the server without speed layers."""
    response = await api.http.post(
        f"{plain.http_url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert response.status_code == 200, response.text
    return response.content


async def posted(server: RunningServer, api: Api, query: str, variables: dict[str, Any]):
    """A POST's body and the statements it ran."""
    with counted_statements(server) as statements:
        response = await api.http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {api.token}"},
        )
    assert response.status_code == 200, response.text
    return response.content, statements


@pytest.mark.parametrize(
    ("document", "variables", "windows"),
    [
        (operation("GetSession"), {}, 1),
        (operation("SessionMessages"), {"last": 2}, 1),
        (operation("SessionMessages"), {"first": 2, "afterSequence": 0}, 1),
        (operation("SessionMessages"), {"beforeSequence": 3, "last": 0}, 1),
        (operation("ChatPage"), {}, 2),
        (operation("ChatPage"), {"last": 2, "beforeSequence": 4}, 2),
        (CRAFTED, {}, 2),
        (CRAFTED, {"newest": 3}, 2),
        (HEADER_ONLY, None, 0),
    ],
)
async def test_a_compiled_answer_is_the_executors_bytes_from_fewer_reads(
    api: Api,
    server: RunningServer,
    plain: RunningServer,
    document: str,
    variables: Any,
    windows: int,
):
    session_id = await varied_session(api)
    if variables is None:  # the id inline, as a literal
        document, variables = document.replace("$ID", json.dumps(session_id)), {}
    else:
        variables = {"id": session_id, **variables}
    expected = await executor_bytes(plain, api, document, variables)
    assert b'"errors"' not in expected
    body, statements = await posted(server, api, document, variables)
    assert body == expected
    assert len(statements) == 1 + windows, statements


@pytest.mark.parametrize(
    ("document", "variables", "session_reads"),
    [
        (WITH_DIRECTIVE, {"yes": True}, 1),
        (WITH_DIRECTIVE, {"yes": False}, 1),
        (operation("SessionMessages"), {"first": 1, "last": 1}, 1),
        (operation("SessionMessages"), {"last": -1}, 1),
        # Variables that fail coercion stop the executor before any resolver runs.
        (operation("SessionMessages"), {"last": "many"}, 0),
        (operation("ChatPage"), {"last": None}, 0),
    ],
)
async def test_what_the_plan_does_not_cover_is_executed_with_the_same_answer(
    api: Api,
    server: RunningServer,
    plain: RunningServer,
    document: str,
    variables: dict[str, Any],
    session_reads: int,
):
    session_id = await varied_session(api)
    variables = {"id": session_id, **variables}
    expected = await executor_bytes(plain, api, document, variables)
    body, statements = await posted(server, api, document, variables)
    assert body == expected
    # Only the root resolver reads the row, once, and only when execution starts.
    assert sum("FROM chat_session" in s for s in statements) == session_reads, statements


async def test_a_compiled_answer_follows_every_write(api: Api):
    session_id = await varied_session(api)
    query = operation("ChatPage")
    before = (await api.data(query, {"id": session_id, "last": 1}))["session"]
    await complete_tool(api, session_id, "c2", "late result")
    after = (await api.data(query, {"id": session_id, "last": 1}))["session"]
    assert after["revision"] == before["revision"] + 1
    assert [m["content"] for m in after["messages"]] == ["late result"]
