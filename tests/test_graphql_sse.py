"""GraphQL over SSE on /graphql/stream: the graphql-sse protocol, distinct connections mode.

The subscriptions, and a reconnect that resumes without a gap, are driven by the graphql-sse
client library itself (web/tests/graphql-sse/follow.mjs, run by node); without node or
web/node_modules those tests skip with the reason, and with `CI=true` that is a failure. The
rest of the protocol (refusals, errors in the stream, queries, GET with `access_token`,
Last-Event-ID) is read with httpx.
"""

import asyncio
import json
import os
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.clients import (
    QUIET,
    WAIT,
    Api,
    EventStream,
    Reader,
    append,
    append_many,
    complete_tool,
    create_session,
    load_session,
    new_session_id,
    new_user,
    operation,
    token_for,
    tool,
)
from tests.servers import REQUIRED_IN_CI, RunningServer

PATH = "/graphql/stream"
WEB = Path(__file__).resolve().parent.parent / "web"
FOLLOW = WEB / "tests" / "graphql-sse" / "follow.mjs"
STREAM = {"Accept": "text/event-stream"}
DELETE_SESSION = "mutation($id: ID!) { deleteSession(id: $id) }"


def node_or_skip() -> str:
    """node, with graphql-sse installed in web/; a visible skip without them (a failure under
    CI=true)."""
    node = shutil.which("node")
    missing = [
        what
        for what, present in [
            ("node (Node.js 20+)", node is not None),
            (
                "web/node_modules (cd web && npm ci)",
                (WEB / "node_modules" / "graphql-sse").is_dir(),
            ),
        ]
        if not present
    ]
    if missing or node is None:
        reason = f"the graphql-sse client tests need {', '.join(missing)}"
        if REQUIRED_IN_CI:
            pytest.fail(f"CI=true requires the graphql-sse client tests: {reason}")
        pytest.skip(reason)
    return node


class Follower:
    """follow.mjs running: the graphql-sse client following one subscription."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def line(self, seconds: float = WAIT) -> dict[str, Any]:
        """The next line the client printed."""
        assert self.process.stdout is not None
        text = await asyncio.wait_for(self.process.stdout.readline(), seconds)
        assert text, f"the client ended: {await self._stderr()}"
        line: dict[str, Any] = json.loads(text)
        assert "error" not in line, line
        return line

    async def subscribed(self) -> dict[str, Any]:
        """The variables of the subscription the server has just accepted."""
        line = await self.line()
        assert "subscribed" in line, line
        return line["subscribed"]  # type: ignore[no-any-return]

    async def next_item(self) -> dict[str, Any]:
        """The next result's item; the result must carry data and no errors."""
        line = await self.line()
        assert "next" in line, line
        result = line["next"]
        assert "errors" not in result, result
        (item,) = result["data"].values()
        return item  # type: ignore[no-any-return]

    async def nothing_within(self, seconds: float = QUIET) -> None:
        assert self.process.stdout is not None
        with pytest.raises(TimeoutError):
            line = await asyncio.wait_for(self.process.stdout.readline(), seconds)
            pytest.fail(f"unexpected: {line!r}")

    async def command(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{text}\n".encode())
        await self.process.stdin.drain()

    async def drop(self) -> None:
        """The client ends its subscription and closes the connection."""
        await self.command("drop")
        assert await self.line() == {"dropped": True}

    async def _stderr(self) -> str:
        assert self.process.stderr is not None
        await self.process.wait()
        return (await self.process.stderr.read()).decode()


@asynccontextmanager
async def follower(
    server: RunningServer, token: str, session_id: str, operation: str, after_revision: int
) -> AsyncIterator[Follower]:
    """follow.mjs subscribed to `operation` after `after_revision`."""
    process = await asyncio.create_subprocess_exec(
        node_or_skip(),
        str(FOLLOW),
        cwd=WEB,
        env={
            **os.environ,
            "BASE_URL": server.http_url,
            "TOKEN": token,
            "SESSION_ID": session_id,
            "OPERATION": operation,
            "AFTER_REVISION": str(after_revision),
        },
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield Follower(process)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def subscriptions(http: httpx.AsyncClient) -> int:
    """The live subscriptions of the server, as /readyz counts them."""
    return (await http.get("/readyz")).json()["subscriptions"]  # type: ignore[no-any-return]


async def until_subscriptions(http: httpx.AsyncClient, count: int) -> None:
    """Polls /readyz (bounded) until the server holds `count` subscriptions."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while (found := await subscriptions(http)) != count:
        assert asyncio.get_running_loop().time() < deadline, f"{found} subscriptions, not {count}"
        await asyncio.sleep(0.05)


# --- The graphql-sse client --------------------------------------------------------------------


async def test_the_graphql_sse_client_follows_session_events_and_resumes_without_a_gap(
    server: RunningServer, api: Api
):
    session_id = await new_session_id(api)
    revision = (await load_session(api, session_id))["revision"]
    reader = Reader()
    before = await subscriptions(api.http)
    async with follower(server, api.token or "", session_id, "SessionEvents", revision) as client:
        assert await client.subscribed() == {"sessionId": session_id, "afterRevision": revision}
        first = await append(api, session_id, {"role": "USER", "content": "Hello"})
        await reader.read_through(client.next_item, first["revision"])
        await client.nothing_within()
        assert await subscriptions(api.http) == before + 1

        await client.drop()
        await until_subscriptions(api.http, before)  # the server saw the connection close
        # Written while the client is away: a batch, then a rename.
        missed = await append_many(
            api,
            session_id,
            [{"role": "ASSISTANT", "content": "Hi"}, {"role": "USER", "content": "Again"}],
        )
        renamed = await api.data(
            operation("UpdateSession"), {"id": session_id, "input": {"title": "Resumed"}}
        )
        assert reader.last is not None
        await client.command("resume")
        assert await client.subscribed() == {
            "sessionId": session_id,
            "afterRevision": first["revision"],
        }
        # Every missed change once (Reader fails on an event twice or out of order), then
        # nothing more.
        await reader.read_through(client.next_item, renamed["updateSession"]["revision"])
        await client.nothing_within()
        assert [reader.messages[m["sequence"]]["content"] for m in missed] == ["Hi", "Again"]
        assert reader.last["session"]["title"] == "Resumed"

        live = await append(api, session_id, {"role": "ASSISTANT", "content": "Live"})
        await reader.read_through(client.next_item, live["revision"])
        assert reader.messages[live["sequence"]]["content"] == "Live"
        assert sorted(reader.messages) == [0, 1, 2, 3]

        await api.data(DELETE_SESSION, {"id": session_id})
        assert (await client.next_item())["kind"] == "DELETED"
        assert await client.line() == {"complete": True}


async def test_the_graphql_sse_client_follows_tool_messages_and_resumes_without_a_gap(
    server: RunningServer, api: Api
):
    session_id = await new_session_id(api)
    revision = (await load_session(api, session_id))["revision"]
    await append(api, session_id, tool("call-1"))
    async with follower(
        server, api.token or "", session_id, "ToolMessageUpdated", revision
    ) as client:
        await client.subscribed()
        pending = await client.next_item()
        assert (pending["toolCallId"], pending["content"]) == ("call-1", None)

        await client.drop()
        await complete_tool(api, session_id, "call-1", "done while away")
        await append(api, session_id, tool("call-2"))
        await client.command("resume")
        assert await client.subscribed() == {
            "sessionId": session_id,
            "afterRevision": pending["revision"],
            "afterSequence": pending["sequence"],
        }
        completed, second = await client.next_item(), await client.next_item()
        assert (completed["toolCallId"], completed["content"]) == ("call-1", "done while away")
        assert (second["toolCallId"], second["content"]) == ("call-2", None)
        await client.nothing_within()

        await complete_tool(api, session_id, "call-2", "live")
        live = await client.next_item()
        assert (live["toolCallId"], live["content"]) == ("call-2", "live")
        await client.nothing_within()


# --- The protocol, read with httpx ---------------------------------------------------------


@asynccontextmanager
async def stream(
    http: httpx.AsyncClient, method: str, **request: Any
) -> AsyncIterator[EventStream]:
    """An accepted event stream of /graphql/stream; leaving the block disconnects."""
    headers = {**STREAM, **request.pop("headers", {})}
    async with http.stream(method, PATH, headers=headers, **request) as response:
        if response.status_code != 200:
            await response.aread()
            raise AssertionError(f"{response.status_code}: {response.text}")
        assert response.headers["content-type"].startswith("text/event-stream"), response.headers
        yield EventStream(response)


async def results(events: EventStream) -> list[dict[str, Any]]:
    """The `next` results of a stream that must end with `complete`, then close."""
    found: list[dict[str, Any]] = []
    while True:
        event = await events.next_event()
        assert event is not None, "the stream ended without `complete`"
        if event.event == "complete":
            assert event.data == ""
            assert await events.next_event() is None
            return found
        assert event.event == "next", event
        found.append(json.loads(event.data))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def refused(response: httpx.Response, status: int, code: str) -> str:
    """The message of a JSON refusal with `status` and `code`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json", response.headers
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == code, error
    return error["message"]  # type: ignore[no-any-return]


async def test_a_query_and_a_mutation_are_one_next_then_complete(http: httpx.AsyncClient):
    token = token_for(new_user())
    query = "query { sessionCount }"
    async with stream(http, "POST", json={"query": query}, headers=bearer(token)) as events:
        assert await results(events) == [{"data": {"sessionCount": 0}}]
    created = {"query": operation("CreateSession"), "variables": {"input": {"title": "SSE"}}}
    async with stream(http, "POST", json=created, headers=bearer(token)) as events:
        ((result),) = await results(events)
    assert result["data"]["createSession"]["title"] == "SSE"
    async with stream(
        http, "GET", params={"query": query, "access_token": token}, headers={}
    ) as events:
        assert await results(events) == [{"data": {"sessionCount": 1}}]


async def test_a_subscription_over_get_with_access_token_carries_ids_and_resumes_by_last_event_id(
    http: httpx.AsyncClient, api: Api
):
    session_id = await new_session_id(api)
    written = await append_many(
        api, session_id, [{"role": "USER", "content": "one"}, {"role": "USER", "content": "two"}]
    )
    params = {
        "query": operation("SessionEvents"),
        "variables": json.dumps({"sessionId": session_id, "afterRevision": 0}),
        "access_token": api.token or "",
    }
    async with stream(http, "GET", params=params) as events:
        first = await events.next_event()
    assert first is not None and first.event == "next"
    item = json.loads(first.data)["data"]["sessionEvents"]
    assert (item["kind"], item["sequence"]) == ("MESSAGE", 0)
    assert first.id == f"{item['revision']}-0"

    # An EventSource reconnecting sends that id back: the stream resumes right after it,
    # whatever cursor the request itself names.
    resumed = {"Last-Event-ID": first.id}
    async with stream(http, "GET", params=params, headers=resumed) as events:
        second = await events.next_event()
        third = await events.next_event()
    assert second is not None and third is not None
    message = json.loads(second.data)["data"]["sessionEvents"]
    session = json.loads(third.data)["data"]["sessionEvents"]
    assert (message["kind"], message["sequence"]) == ("MESSAGE", written[1]["sequence"])
    assert (session["kind"], third.id) == ("SESSION", str(session["revision"]))

    # Cursor arguments written in the document are replaced the same way.
    literal = {
        "query": f'subscription {{ sessionEvents(sessionId: "{session_id}", afterRevision: 0) '
        "{ kind revision sequence } }",
        "access_token": api.token or "",
    }
    async with stream(http, "GET", params=literal, headers=resumed) as events:
        event = await events.next_event()
    assert event is not None and event.id == f"{message['revision']}-{message['sequence']}"


async def test_no_token_a_bad_token_and_an_expired_one_are_refused_before_the_stream(
    http: httpx.AsyncClient,
):
    body = {"query": "query { sessionCount }"}
    for headers in [
        STREAM,
        {**STREAM, **bearer("not-a-jwt")},
        {**STREAM, **bearer(token_for("someone", ttl=timedelta(seconds=-60)))},
    ]:
        response = await http.post(PATH, json=body, headers=headers)
        message = await refused(response, 401, "UNAUTHENTICATED")
        assert message
    bad = await http.get(PATH, params={**body, "access_token": "not-a-jwt"}, headers=STREAM)
    await refused(bad, 401, "UNAUTHENTICATED")


async def test_documents_that_do_not_parse_or_validate_are_answered_in_the_stream(
    http: httpx.AsyncClient,
):
    token = bearer(token_for(new_user()))
    for query, code in [
        ("query { nope }", "GRAPHQL_VALIDATION_FAILED"),
        ("query {", "GRAPHQL_PARSE_FAILED"),
        ("subscription { sessionEvents { kind } }", "GRAPHQL_VALIDATION_FAILED"),
    ]:
        async with stream(http, "POST", json={"query": query}, headers=token) as events:
            ((result),) = await results(events)
        assert result["data"] is None, result
        assert [e["extensions"]["code"] for e in result["errors"]] == [code], result


async def test_a_subscription_to_another_users_session_is_not_found_in_the_stream(
    http: httpx.AsyncClient, api: Api
):
    session_id = (await create_session(api))["id"]
    stranger = bearer(token_for(new_user()))
    body = {"query": operation("ToolMessageUpdated"), "variables": {"sessionId": session_id}}
    async with stream(http, "POST", json=body, headers=stranger) as events:
        ((result),) = await results(events)
    assert [e["extensions"]["code"] for e in result["errors"]] == ["NOT_FOUND"], result


async def test_requests_that_are_not_graphql_over_sse_are_refused_with_a_code(
    http: httpx.AsyncClient,
):
    token = bearer(token_for(new_user()))
    headers = {**STREAM, **token}
    as_json = {**headers, "Content-Type": "application/json"}
    for status, code, response in [
        (400, "BAD_REQUEST", await http.post(PATH, content=b"{nope", headers=as_json)),
        (400, "BAD_REQUEST", await http.post(PATH, content=b"[]", headers=as_json)),
        (400, "BAD_REQUEST", await http.post(PATH, json={"variables": {}}, headers=headers)),
        (
            400,
            "BAD_REQUEST",
            await http.post(
                PATH, json={"query": "{ sessionCount }", "variables": []}, headers=as_json
            ),
        ),
        (400, "BAD_REQUEST", await http.get(PATH, params={"variables": "{"}, headers=headers)),
        (
            400,
            "BAD_REQUEST",
            await http.post(PATH, content=b"query { sessionCount }", headers=headers),
        ),
        (
            405,
            "BAD_REQUEST",
            await http.get(PATH, params={"query": operation("CreateSession")}, headers=headers),
        ),
        (405, "BAD_REQUEST", await http.put(PATH, headers=headers)),
        (
            406,
            "BAD_REQUEST",
            await http.post(
                PATH,
                json={"query": "{ sessionCount }"},
                headers={**token, "Accept": "application/json"},
            ),
        ),
        (
            400,
            "BAD_USER_INPUT",
            await http.post(
                PATH,
                json={"query": operation("SessionEvents")},
                headers={**headers, "Last-Event-ID": "yesterday"},
            ),
        ),
        (
            400,
            "BAD_REQUEST",
            await http.post(
                PATH,
                json={"query": "query { sessionCount }"},
                headers={**headers, "Last-Event-ID": "3-1"},
            ),
        ),
    ]:
        await refused(response, status, code)


async def test_a_subscription_ends_with_an_unauthenticated_next_when_the_token_expires(
    http: httpx.AsyncClient, api: Api, user: str
):
    session_id = await new_session_id(api)
    short = token_for(user, ttl=timedelta(seconds=2))
    expires_at = jwt.decode(short, options={"verify_signature": False})["exp"]
    body = {"query": operation("ToolMessageUpdated"), "variables": {"sessionId": session_id}}
    async with stream(http, "POST", json=body, headers=bearer(short)) as events:
        ((result),) = await results(events)
    assert time.time() >= expires_at - 0.1
    assert [e["extensions"]["code"] for e in result["errors"]] == ["UNAUTHENTICATED"], result
