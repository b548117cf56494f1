"""Live updates that survive their clients, on SQLite and PostgreSQL.

Covers: the Server-Sent Events transport (`/sse/tool-messages`: `id: <revision>-<sequence>`
lines, resuming by `Last-Event-ID` after a disconnect and in the middle of a revision, the
token in the header or in `access_token`, 401/404/400 before streaming, `event: complete` on
deletion, `event: error` when the token expires); a subscriber that stops reading while 10,000
updates are published (bounded server memory, then the latest state of every message, in
order); WebSockets closed with 4403 when their token expires and resumed with a fresh one
without gap or duplicate; server keep-alives (graphql-transport-ws `ping`, graphql-ws `ka`);
the active-subscriptions gauge of /readyz through 200 subscribe/disconnect cycles; and a
server whose broadcast backend is down from the start (healthy, not ready, still serving and
delivering to its own subscribers).
"""

import asyncio
import json
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.clients import (
    BATCH,
    LEGACY_WS,
    QUIET,
    SSE_PATH,
    TRANSPORT_WS,
    WAIT,
    Api,
    Changes,
    Subscriber,
    append,
    append_many,
    assert_newer_each_time,
    complete_tool,
    create_session,
    new_user,
    operation,
    probe,
    sse,
    subscribed,
    token_for,
    tool,
    tool_result_field,
    version_of,
    websocket,
)
from tests.processes import free_port, slow_subscription, within_memory_bound
from tests.servers import RunningServer, database_url, running_server

FRESH_TOKEN_TTL = timedelta(minutes=10)


async def subscription_gauge(http: httpx.AsyncClient) -> int:
    """The active-subscriptions count of /readyz (whatever its status)."""
    response = await http.get("/readyz")
    count = response.json()["subscriptions"]
    assert isinstance(count, int), response.text
    return count


async def gauge_becomes(http: httpx.AsyncClient, expected: int) -> None:
    """Poll /readyz until the gauge shows `expected` (a hang guard bounds the wait)."""
    seen = None
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        seen = await subscription_gauge(http)
        if seen == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the subscriptions gauge stayed at {seen}, expected {expected}")


async def settled_gauge(http: httpx.AsyncClient) -> int:
    """The gauge once it has stopped moving (earlier tests' sockets may still be closing)."""
    previous = await subscription_gauge(http)
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        current = await subscription_gauge(http)
        if current == previous:
            return current
        previous = current
    raise AssertionError("the subscriptions gauge never settled")


def assert_error_body(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    assert errors[0]["extensions"]["code"] == code, errors
    assert isinstance(errors[0]["message"], str) and len(errors[0]["message"]) > 10, errors


def assert_resumed_exactly(
    before: list[dict[str, Any]],
    after: list[dict[str, Any]],
    writes: list[dict[str, Any]],
    cursor: int,
) -> None:
    """`after` (a resume after revision `cursor`) brings every TOOL write that `before` did
    not, as each message's latest state, once, in ascending (revision, sequence) order."""
    order = [(event["revision"], event["sequence"]) for event in after]
    assert order == sorted(order) and len(set(order)) == len(order), order
    assert all(event["revision"] > cursor for event in after), after
    seen = [(event["id"], event["revision"]) for event in before + after]
    assert len(seen) == len(set(seen)), f"duplicates: {seen}"
    latest: dict[str, dict[str, Any]] = {}
    for write in sorted(writes, key=lambda write: write["revision"]):
        latest[write["id"]] = write
    expected = sorted(
        (write for write in latest.values() if write["revision"] > cursor),
        key=lambda write: (write["revision"], write["sequence"]),
    )
    assert after == expected


# --- SSE ----------------------------------------------------------------------------------


async def test_sse_resumes_by_last_event_id_with_exactly_what_was_missed_then_goes_live(
    api: Api, http: httpx.AsyncClient
):
    session = await create_session(api)
    sid = session["id"]
    writes: list[dict[str, Any]] = []
    async with sse(http, sid, token=api.token, afterRevision=session["revision"]) as stream:
        writes.append(await append(api, sid, tool("call_a")))
        writes.append(await append(api, sid, tool("call_b", "b0")))
        before = await stream.messages(2)
        assert before == writes  # the full message, as GraphQL returns it
    last_id = f"{before[-1]['revision']}-{before[-1]['sequence']}"

    # While disconnected: two TOOL messages in one revision, a message changed twice, a
    # message that is not a TOOL one, and another change.
    batch = await append_many(
        api,
        sid,
        [{"role": "USER", "content": "go"}, tool("call_c"), tool("call_d", "d0")],
    )
    assert batch[1]["revision"] == batch[2]["revision"]
    writes.extend(batch[1:])
    writes.append(await complete_tool(api, sid, "call_a", "a1"))
    writes.append(await complete_tool(api, sid, "call_a", "a2"))
    await append(api, sid, {"role": "ASSISTANT", "content": "thinking"})
    writes.append(await complete_tool(api, sid, "call_b", "b1"))

    cursor = before[-1]["revision"]
    async with sse(http, sid, token=api.token, last_event_id=last_id) as stream:
        # c and d (one revision, by sequence), then a's latest state, then b's.
        after = await stream.messages(4)
        assert [event["toolCallId"] for event in after] == ["call_c", "call_d", "call_a", "call_b"]
        assert after[2]["content"] == "a2"
        assert_resumed_exactly(before, after, writes, cursor)
        # Then live, and nothing else came first.
        live = await probe(api, sid)
        assert await stream.next_message() == live


async def test_sse_resuming_in_the_middle_of_a_revision_sends_only_the_rest_of_it(
    api: Api, http: httpx.AsyncClient
):
    session = await create_session(api)
    sid = session["id"]
    first, second = await append_many(api, sid, [tool("call_1", "one"), tool("call_2", "two")])
    assert first["revision"] == second["revision"] and second["sequence"] == first["sequence"] + 1
    middle = f"{first['revision']}-{first['sequence']}"
    async with sse(http, sid, token=api.token, last_event_id=middle) as stream:
        assert await stream.next_message() == second
        live = await probe(api, sid)
        assert await stream.next_message() == live
    # The same cursor as query parameters, as a first connection would send it.
    cursor = {"afterRevision": first["revision"], "afterSequence": first["sequence"]}
    async with sse(http, sid, token=api.token, **cursor) as stream:
        assert await stream.next_message() == second
        assert await stream.next_message() == live


async def test_sse_takes_the_token_from_the_access_token_query_parameter(
    api: Api, http: httpx.AsyncClient
):
    session = await create_session(api)
    sid = session["id"]
    written = await append(api, sid, tool("call_q", "from the query"))
    async with sse(http, sid, access_token=api.token, afterRevision=0) as stream:
        assert await stream.next_message() == written
        live = await probe(api, sid)
        assert await stream.next_message() == live


async def test_sse_refuses_bad_callers_and_bad_input_before_streaming(
    api: Api, http: httpx.AsyncClient, user: str
):
    session = await create_session(api)
    sid = session["id"]
    expired = token_for(user, ttl=timedelta(seconds=-30))
    forged = jwt.encode({"sub": user}, "another-secret-that-is-also-long-enough-0123", "HS256")

    async def get(params: dict[str, str], headers: dict[str, str] | None = None) -> httpx.Response:
        return await http.get(SSE_PATH, params=params, headers=headers or {})

    bearer = {"Authorization": f"Bearer {api.token}"}
    assert_error_body(await get({"sessionId": sid}), 401, "UNAUTHENTICATED")
    for bad in (expired, forged, "not-a-jwt"):
        headers = {"Authorization": f"Bearer {bad}"}
        assert_error_body(await get({"sessionId": sid}, headers), 401, "UNAUTHENTICATED")
        query = {"sessionId": sid, "access_token": bad}
        assert_error_body(await get(query), 401, "UNAUTHENTICATED")

    stranger = token_for(new_user())
    headers = {"Authorization": f"Bearer {stranger}"}
    assert_error_body(await get({"sessionId": sid}, headers), 404, "NOT_FOUND")
    assert_error_body(await get({"sessionId": str(uuid.uuid4())}, bearer), 404, "NOT_FOUND")

    assert_error_body(await get({"sessionId": "not-a-uuid"}, bearer), 400, "BAD_USER_INPUT")
    for bad_id in ("abc", "3", "3-x", "-"):
        headers = {**bearer, "Last-Event-ID": bad_id}
        assert_error_body(await get({"sessionId": sid}, headers), 400, "BAD_USER_INPUT")
    query = {"sessionId": sid, "afterRevision": "soon"}
    assert_error_body(await get(query, bearer), 400, "BAD_USER_INPUT")


async def test_sse_sends_complete_and_ends_when_the_session_is_deleted(
    api: Api, http: httpx.AsyncClient
):
    session = await create_session(api)
    sid = session["id"]
    async with sse(http, sid, token=api.token, afterRevision=0) as stream:
        live = await probe(api, sid)
        assert await stream.next_message() == live  # the stream is running
        deleted = await api.data(operation("DeleteSession"), {"id": sid})
        assert deleted == {"deleteSession": True}
        event = await stream.next_event()
        assert event is not None and event.event == "complete", event
        await stream.ends()


async def test_sse_sends_an_unauthenticated_error_and_ends_when_the_token_expires(
    api: Api, http: httpx.AsyncClient, user: str
):
    session = await create_session(api)
    sid = session["id"]
    short = token_for(user, ttl=timedelta(seconds=2))
    expires_at = jwt.decode(short, options={"verify_signature": False})["exp"]
    async with sse(http, sid, token=short, afterRevision=0) as stream:
        live = await probe(api, sid)
        assert await stream.next_message() == live
        await stream.ends_as_expired(expires_at)


# --- A subscriber that stops reading ------------------------------------------------------


UPDATES = 10_000


async def test_a_subscriber_that_stops_reading_costs_bounded_memory_and_then_gets_the_latest_states(
    tmp_path: Path,
):
    async with slow_subscription(tmp_path) as slow:
        api, sid, calls, sub = slow.api, slow.sid, slow.calls, slow.sub
        for message in slow.created:  # the subscription runs
            assert await sub.next_tool_message() == message

        # From here on the client does not read; its socket stays open.
        changes = Changes(api, lambda n: tool_result_field(sid, calls[n % len(calls)], n))
        await changes.publish(BATCH)  # warm-up: the socket's buffers fill up here
        final_revision = await within_memory_bound(slow.pid, changes.publish(UPDATES))

        version = changes.count
        latest = {calls[n % len(calls)]: n for n in range(version - len(calls), version)}
        # Reading again: old states still in flight first, then the catch-up.
        events: list[dict[str, Any]] = []
        done: set[str] = set()
        while done != set(calls):
            event = await sub.next_tool_message()
            events.append(event)
            if version_of(event) == latest[event["toolCallId"]]:
                done.add(event["toolCallId"])
        await sub.nothing_within(QUIET)

        order = [(event["revision"], event["sequence"]) for event in events]
        assert order == sorted(order) and len(set(order)) == len(order), "out of order"
        assert_newer_each_time(events)
        assert events[-1]["revision"] == final_revision
        # The stored latest states, exactly as the last events carried them.
        stored = await api.data(
            "query($id: ID!) { session(id: $id) { messages { id toolCallId content "
            "revision sequence updatedAt } } }",
            {"id": sid},
        )
        final = {event["toolCallId"]: event for event in events}
        for message in stored["session"]["messages"]:
            event = final[message["toolCallId"]]
            assert {key: event[key] for key in message} == message
        # The server kept the latest news, not a queue. What arrives after the pause is what
        # was already in the sockets' buffers (a few MiB at most, so far fewer events than
        # updates), then one catch-up read: the latest state of each message. Of the second
        # half of the updates, written long after the buffers were full, only that handful of
        # states arrives.
        assert len(events) < UPDATES // 4, f"{len(events)} events for {UPDATES} updates"
        late = [event for event in events if event["revision"] > final_revision - UPDATES // 2]
        assert len(late) <= 2 * len(calls), f"{len(late)} states of the last updates"
        assert {event["toolCallId"] for event in late} == set(calls)


# --- Token expiry on WebSockets -----------------------------------------------------------


async def expire_then_resume(server: RunningServer, api: Api, user: str, protocol: str) -> None:
    session = await create_session(api)
    sid = session["id"]
    short = token_for(user, ttl=timedelta(seconds=2))
    expires_at = jwt.decode(short, options={"verify_signature": False})["exp"]
    writes: list[dict[str, Any]] = []
    before: list[dict[str, Any]] = []
    variables = {"sessionId": sid, "afterRevision": session["revision"]}
    async with subscribed(server.ws_url, short, variables, protocol) as sub:
        writes.append(await append(api, sid, tool("call_a")))
        before.append(await sub.next_tool_message())
        writes.append(await complete_tool(api, sid, "call_a", "a done"))
        before.extend(await sub.items_until_closed("toolMessageUpdated"))
        assert time.time() >= expires_at - 0.1, "closed before the token expired"
        assert sub.ws.close_code == 4403, sub.ws.close_code
        assert sub.ws.close_reason == "Forbidden: token expired", sub.ws.close_reason
    # Written while the client had no connection.
    writes.append(await append(api, sid, tool("call_b")))
    writes.extend(await append_many(api, sid, [tool("call_c", "c"), tool("call_d", "d")]))
    writes.append(await complete_tool(api, sid, "call_b", "b done"))

    cursor = max(event["revision"] for event in before)
    fresh = token_for(user, ttl=FRESH_TOKEN_TTL)
    variables = {"sessionId": sid, "afterRevision": cursor}
    async with subscribed(server.ws_url, fresh, variables, protocol) as sub:
        after: list[dict[str, Any]] = []
        while not after or after[-1]["revision"] < writes[-1]["revision"]:
            after.append(await sub.next_tool_message())
        live = await probe(api, sid)
        assert await sub.next_tool_message() == live
    assert_resumed_exactly(before, after, writes, cursor)


async def test_an_expired_token_closes_the_websocket_with_4403_and_a_fresh_one_resumes_gap_free(
    server: RunningServer, api: Api, user: str
):
    # Both protocols at once, so the file waits for one expiry only.
    async with asyncio.TaskGroup() as tasks:
        for protocol in (TRANSPORT_WS, LEGACY_WS):
            tasks.create_task(expire_then_resume(server, api, user, protocol))


# --- Keep-alive ---------------------------------------------------------------------------


async def raw_messages(sub: Subscriber, count: int, kind: str) -> None:
    """Read the socket directly (Subscriber.receive hides keep-alives): with no operation
    running, `count` messages arrive, all of type `kind` (so no `ping` on graphql-ws)."""
    async with asyncio.timeout(WAIT):
        for _ in range(count):
            message = json.loads(await sub.ws.recv())
            assert message == {"type": kind}, message
            if kind == "ping":
                await sub.ws.send(json.dumps({"type": "pong"}))


async def test_the_server_sends_pings_and_keep_alives_on_both_protocols(tmp_path: Path):
    async with running_server(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'ping.db'}", ws_ping_seconds=0.3
    ) as running:
        token = token_for(new_user())
        async with websocket(running.ws_url, TRANSPORT_WS) as modern:
            assert (await modern.init(token))["type"] == "connection_ack"
            await raw_messages(modern, 3, "ping")
        async with websocket(running.ws_url, LEGACY_WS) as legacy:
            assert (await legacy.init(token))["type"] == "connection_ack"
            await raw_messages(legacy, 3, "ka")


# --- Clean unsubscribe --------------------------------------------------------------------


async def subscribe_and_leave(ws_url: str, token: str, sid: str, cursor: int, way: str) -> None:
    """One subscription that surely runs (it received a replayed event), then one way out."""
    protocol = LEGACY_WS if way == "stop" else TRANSPORT_WS
    variables = {"sessionId": sid, "afterRevision": cursor}
    async with subscribed(ws_url, token, variables, protocol) as sub:
        await sub.next_tool_message()
        if way in ("abrupt", "during-replay"):
            sub.ws.transport.abort()  # no close frame: the TCP connection just drops
        elif way == "complete":
            await sub.ws.send(json.dumps({"id": "1", "type": "complete"}))
        elif way == "stop":
            await sub.ws.send(json.dumps({"id": "1", "type": "stop"}))


async def cycle_subscriptions(ws_url: str, api: Api, cycles: int) -> None:
    """`cycles` subscribe/disconnect cycles, a few at a time, every way of leaving."""
    session = await create_session(api)
    sid = session["id"]
    await append(api, sid, tool("call_short", "x"))
    # A long replay: the client leaves while it is still being sent.
    replay = await create_session(api)
    big = "r" * 1024
    await append_many(api, replay["id"], [tool(f"call_{n}", big) for n in range(200)])
    ways = ["abrupt", "complete", "stop", "during-replay"]

    async def one(index: int) -> None:
        way = ways[index % len(ways)]
        if way == "during-replay":
            await subscribe_and_leave(ws_url, api.token or "", replay["id"], -1, way)
        else:
            await subscribe_and_leave(ws_url, api.token or "", sid, 0, way)

    for start in range(0, cycles, 20):
        await asyncio.gather(*(one(index) for index in range(start, min(start + 20, cycles))))


async def test_the_subscriptions_gauge_counts_open_subscriptions_and_returns_after_200_cycles(
    server: RunningServer, api: Api, http: httpx.AsyncClient
):
    start = await settled_gauge(http)
    session = await create_session(api)
    sid = session["id"]
    variables = {"sessionId": sid}
    async with (
        subscribed(server.ws_url, api.token, variables, TRANSPORT_WS),
        subscribed(server.ws_url, api.token, variables, LEGACY_WS),
        sse(http, sid, token=api.token, afterRevision=0),
    ):
        await gauge_becomes(http, start + 3)
    await gauge_becomes(http, start)

    await cycle_subscriptions(server.ws_url, api, 200)
    await gauge_becomes(http, start)


async def test_a_dedicated_server_shows_no_subscription_after_200_cycles(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'cycles.db'}"
    async with running_server(database_url=url) as running:
        async with httpx.AsyncClient(base_url=running.http_url, timeout=60) as http:
            api = Api(http, token_for(new_user()))
            await cycle_subscriptions(running.ws_url, api, 200)
            await gauge_becomes(http, 0)


# --- Broker down from the start -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_a_server_whose_broker_is_down_from_the_start_serves_and_delivers_locally(
    tmp_path: Path, kind: str
):
    broker = f"redis://127.0.0.1:{free_port()}"  # nothing listens there
    async with database_url(kind, tmp_path) as url:
        # A long recheck: only the local delivery can bring the events in time.
        settings: dict[str, Any] = {
            "database_url": url,
            "broadcast_url": broker,
            "recheck_seconds": 300,
        }
        async with running_server(**settings) as running:
            async with httpx.AsyncClient(base_url=running.http_url, timeout=60) as http:
                assert (await http.get("/healthz")).status_code == 200
                ready = await http.get("/readyz")
                assert ready.status_code == 503, ready.text
                assert ready.json()["broadcast"] is False, ready.text
                assert ready.json()["database"] is True, ready.text

                api = Api(http, token_for(new_user()))
                session = await create_session(api)
                sid = session["id"]
                variables = {"sessionId": sid, "afterRevision": session["revision"]}
                async with subscribed(running.ws_url, api.token, variables) as sub:
                    pending = await append(api, sid, tool("call_local"))
                    assert await sub.next_tool_message() == pending
                    # The subscription is live now: only a local hint can bring this one.
                    done = await complete_tool(api, sid, "call_local", "done")
                    assert await sub.next_tool_message() == done
                    await sub.nothing_within(QUIET)
                loaded = await api.data(operation("GetSession"), {"id": sid})
                assert loaded["session"]["revision"] == done["revision"]
                assert (await http.get("/readyz")).status_code == 503
