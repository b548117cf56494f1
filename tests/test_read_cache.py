"""The revision-keyed response cache: same bytes as execution, never stale, never leaked."""

from typing import Any

import httpx
import pytest

from tests.clients import (
    Api,
    append_many,
    complete_tool,
    counted_statements,
    new_session_id,
    operation,
    token_for,
    tool,
)
from tests.servers import RunningServer


async def raw_post(api: Api, query: str, variables: dict[str, Any]) -> httpx.Response:
    response = await api.http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert response.status_code == 200, response.text
    return response


async def session_with_messages(api: Api) -> str:
    session_id = await new_session_id(api)
    await append_many(
        api, session_id, [{"role": "USER", "content": "question"}, tool("c1", "pending")]
    )
    return session_id


@pytest.mark.speed_layer
async def test_a_repeated_read_is_answered_with_one_lookup_and_the_executors_bytes(
    api: Api, server: RunningServer
):
    session_id = await session_with_messages(api)
    query = operation("GetSession")
    first = await raw_post(api, query, {"id": session_id})
    with counted_statements(server) as statements:
        second = await raw_post(api, query, {"id": session_id})
    assert len(statements) == 1, statements  # the revision lookup, no execution
    # The same document spelled differently misses the cache and is executed afresh.
    fresh = await raw_post(api, query + "\n", {"id": session_id})
    assert second.content == first.content == fresh.content


async def test_every_write_makes_the_next_read_current(api: Api):
    session_id = await session_with_messages(api)
    query = operation("GetSession")
    before = (await api.data(query, {"id": session_id}))["session"]
    await complete_tool(api, session_id, "c1", "done")
    after = (await api.data(query, {"id": session_id}))["session"]
    assert after["revision"] == before["revision"] + 1
    assert [m["content"] for m in after["messages"]] == ["question", "done"]
    await api.data(operation("UpdateSession"), {"id": session_id, "input": {"title": "renamed"}})
    assert (await api.data(query, {"id": session_id}))["session"]["title"] == "renamed"


async def test_a_cached_answer_never_reaches_another_user(api: Api, http: httpx.AsyncClient):
    session_id = await session_with_messages(api)
    query = operation("GetSession")
    await api.data(query, {"id": session_id})
    await api.data(query, {"id": session_id})  # now cached
    stranger = Api(http, token_for("someone-else"))
    assert (await stranger.data(query, {"id": session_id})) == {"session": None}
    anonymous = await Api(http, None).post(query, {"id": session_id})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    service = Api(http, token_for("worker", role="service"))
    assert (await service.data(query, {"id": session_id}))["session"]["id"] == session_id


async def test_other_documents_and_variables_are_not_confused(api: Api):
    first = await session_with_messages(api)
    second = await session_with_messages(api)
    query = operation("SessionMessages")
    latest = await api.data(query, {"id": first, "last": 1})
    oldest = await api.data(query, {"id": first, "first": 1})
    other = await api.data(query, {"id": second, "last": 1})
    assert [m["content"] for m in latest["session"]["messages"]] == ["pending"]
    assert [m["content"] for m in oldest["session"]["messages"]] == ["question"]
    assert other["session"]["id"] == second


async def test_a_cached_read_beside_another_field_answers_that_field_as_it_is_now(api: Api):
    # The cached session's bytes are sent inside the rest of the response: the count around
    # them changes while the session's revision does not.
    session_id = await session_with_messages(api)
    query = "query ($id: ID!) { sessionCount session(id: $id) { id title } }"
    counts = []
    for _ in range(3):
        data = await api.data(query, {"id": session_id})
        assert data["session"] == {"id": session_id, "title": None}
        counts.append(data["sessionCount"])
        await new_session_id(api)
    assert counts[1:] == [counts[0] + 1, counts[0] + 2]
