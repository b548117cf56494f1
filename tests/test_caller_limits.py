"""Limits per caller (transports/caller_limits.py), each against a running server with small
settings: requests per second over HTTP, SSE and WebSocket operations; WebSocket connections
per user; subscriptions per connection; the wait for `connection_init`. Each refusal has a
code, and the caller's other work goes on."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.clients import (
    LEGACY_WS,
    TRANSPORT_WS,
    WAIT,
    Api,
    Subscriber,
    append,
    create_session,
    new_user,
    operation,
    token_for,
    tool,
    websocket,
)
from tests.servers import RunningServer, database_url, running_server
from transports.caller_limits import RequestRate

PROTOCOLS = pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
COUNT = "query { sessionCount }"


@pytest.fixture(scope="module")
async def limited(workdir: Path) -> AsyncIterator[RunningServer]:
    """A server with small limits: 3 requests at once, then 1 per second; 2 connections
    per user; 2 subscriptions per connection; half a second for `connection_init`."""
    async with database_url("sqlite", workdir) as url:
        async with running_server(
            database_url=url,
            rate_limit_per_second=1,
            rate_limit_burst=3,
            max_sockets_per_user=2,
            max_subscriptions_per_socket=2,
            connection_init_wait_seconds=0.5,
        ) as server:
            yield server


@pytest.fixture(scope="module")
async def client(limited: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=limited.http_url, timeout=WAIT) as http:
        yield http


async def post(client: httpx.AsyncClient, token: str | None, query: str = COUNT) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.post("/graphql", json={"query": query}, headers=headers)


def assert_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["retry-after"] == "1"
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "RATE_LIMITED"}, error
    assert "at most 1 per second, in bursts of 3" in error["message"], error


# --- Requests per second --------------------------------------------------------------------


def test_a_token_bucket_gives_a_burst_then_refills_at_the_rate():
    now = [0.0]
    rate = RequestRate(per_second=2, burst=3, clock=lambda: now[0])
    assert [rate.wait("a") for _ in range(3)] == [0, 0, 0]
    assert rate.wait("a") == pytest.approx(0.5)
    assert rate.wait("b") == 0, "each caller has a bucket of their own"
    now[0] = 0.25
    assert rate.wait("a") == pytest.approx(0.25), "a refusal takes nothing"
    now[0] = 0.5
    assert rate.wait("a") == 0
    assert rate.wait(None) == 0, "a service is not limited"
    assert RequestRate(per_second=0, burst=1).wait("a") == 0, "0 turns the limit off"


async def test_http_requests_over_the_rate_are_refused_with_429_and_retry_after(
    client: httpx.AsyncClient,
):
    alice, bob = token_for(new_user()), token_for(new_user())
    for _ in range(3):
        answered = await post(client, alice)
        assert answered.status_code == 200 and answered.json() == {"data": {"sessionCount": 0}}
    assert_rate_limited(await post(client, alice))
    # A mutation is refused before it runs: it creates nothing.
    assert_rate_limited(await post(client, alice, "mutation { createSession { id } }"))
    assert (await post(client, bob)).status_code == 200, "another user has a bucket of their own"
    worker = token_for("worker", role="service")
    for _ in range(5):
        assert (await post(client, worker)).status_code == 200, "services are not limited"
    await asyncio.sleep(1.05)
    answered = await post(client, alice)
    assert answered.json() == {"data": {"sessionCount": 0}}, "refilled after a second"


async def test_requests_without_a_token_count_against_the_client_address(
    client: httpx.AsyncClient,
):
    statuses = [(await post(client, None, "{ __typename }")).status_code for _ in range(4)]
    assert statuses[:3] == [200, 200, 200] and statuses[3] == 429, statuses
    assert_rate_limited(await post(client, "not-a-jwt", "{ __typename }"))
    await asyncio.sleep(1.05)  # leave the address's bucket to the next test


async def test_graphql_over_sse_over_the_rate_is_refused_before_the_stream(
    client: httpx.AsyncClient,
):
    token = token_for(new_user())
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    for _ in range(3):
        answered = await client.post("/graphql/stream", json={"query": COUNT}, headers=headers)
        assert answered.status_code == 200, answered.text
    assert_rate_limited(
        await client.post("/graphql/stream", json={"query": COUNT}, headers=headers)
    )


@PROTOCOLS
async def test_a_websocket_operation_over_the_rate_gets_a_coded_error_and_the_others_run(
    limited: RunningServer, client: httpx.AsyncClient, protocol: str
):
    owner = new_user()
    api = Api(client, token_for(owner))
    session = await create_session(api)
    assert (await post(client, api.token)).status_code == 200  # two of the user's three
    async with websocket(limited.ws_url, protocol) as sub:
        assert (await sub.init(token_for(owner)))["type"] == "connection_ack"
        variables = {"sessionId": session["id"], "afterRevision": 0}
        for operation_id in ("1", "2"):
            await sub.subscribe(operation("ToolMessageUpdated"), variables, operation_id)
        refused = await sub.receive()
        assert refused["type"] == "error" and refused["id"] == "2", refused
        [error] = refused["payload"] if protocol == TRANSPORT_WS else [refused["payload"]]
        assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": 1}, error
        worker = Api(client, token_for("worker", role="service"))
        written = await append(worker, session["id"], tool("call_1", "still followed"))
        assert (await sub.next_tool_message())["id"] == written["id"]


# --- WebSocket connections per user ---------------------------------------------------------


async def acknowledged(sub: Subscriber, token: str) -> None:
    ack = await sub.init(token)
    assert ack["type"] == "connection_ack", ack


@PROTOCOLS
async def test_a_connection_over_the_users_limit_is_refused_with_a_code(
    limited: RunningServer, protocol: str
):
    user = new_user()
    token = token_for(user)
    async with websocket(limited.ws_url) as first, websocket(limited.ws_url) as second:
        await acknowledged(first, token)
        await acknowledged(second, token)
        async with websocket(limited.ws_url, protocol) as third:
            if protocol == TRANSPORT_WS:
                with pytest.raises(ConnectionClosed):
                    await third.init(token)
                assert third.ws.close_code == 4429
                assert third.ws.close_reason == "Too many connections: at most 2 per user"
            else:
                refusal = await third.init(token)
                assert refusal["type"] == "connection_error", refusal
                assert refusal["payload"]["extensions"] == {"code": "TOO_MANY_CONNECTIONS"}
        async with websocket(limited.ws_url, protocol) as other_user:
            await acknowledged(other_user, token_for(new_user()))
        async with websocket(limited.ws_url, protocol) as service:
            await acknowledged(service, token_for(user, role="service"))
        await first.ws.close()
        # The server counts a close once it has handled it: the user soon may connect again.
        assert await accepted_within(limited.ws_url, protocol, token)


async def accepted_within(ws_url: str, protocol: str, token: str) -> bool:
    for _ in range(40):
        async with websocket(ws_url, protocol) as sub:
            try:
                if (await sub.init(token))["type"] == "connection_ack":
                    return True
            except ConnectionClosed:
                pass
        await asyncio.sleep(0.05)
    return False


# --- Subscriptions per connection -----------------------------------------------------------


@PROTOCOLS
async def test_a_subscription_over_the_connections_limit_gets_a_coded_error_and_the_others_run(
    limited: RunningServer, client: httpx.AsyncClient, protocol: str
):
    worker = Api(client, token_for("worker", role="service"))
    session = await create_session(worker)
    await append(worker, session["id"], tool("call_1"))
    async with websocket(limited.ws_url, protocol) as sub:
        await acknowledged(sub, token_for("worker", role="service"))
        query = operation("ToolMessageUpdated")
        for operation_id in ("1", "2", "3"):
            variables = {"sessionId": session["id"], "afterRevision": 0}
            await sub.subscribe(query, variables, operation_id)
        messages = [await sub.receive() for _ in range(3)]
        [refused] = [message for message in messages if message["type"] == "error"]
        assert refused["id"] == "3", messages
        [error] = refused["payload"] if protocol == TRANSPORT_WS else [refused["payload"]]
        assert error["extensions"] == {"code": "TOO_MANY_SUBSCRIPTIONS"}, error
        assert "at most 2 on one connection" in error["message"], error
        assert {message["id"] for message in messages if message is not refused} == {"1", "2"}
        await append(worker, session["id"], tool("call_2", "live"))
        delivered = [await sub.receive() for _ in range(2)]
        assert {message["id"] for message in delivered} == {"1", "2"}, delivered
        assert all(message["type"] in ("next", "data") for message in delivered), delivered


# --- The wait for connection_init -----------------------------------------------------------


@PROTOCOLS
async def test_a_connection_without_connection_init_is_closed_with_4408(
    limited: RunningServer, protocol: str
):
    async with websocket(limited.ws_url, protocol) as sub:
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(sub.ws.recv(), WAIT)
        assert sub.ws.close_code == 4408
        assert sub.ws.close_reason == "Connection initialisation timeout"


async def test_connection_init_in_time_is_not_closed(limited: RunningServer):
    async with websocket(limited.ws_url, LEGACY_WS) as sub:
        await acknowledged(sub, token_for(new_user()))
        await asyncio.sleep(0.7)
        await sub.subscribe(operation("ToolMessageUpdated"), {"sessionId": str(uuid.uuid4())})
        answer = await sub.receive()
        assert answer["type"] in ("data", "error"), answer
        assert "NOT_FOUND" in json.dumps(answer["payload"]), answer
