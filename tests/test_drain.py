"""A redeploy loses nothing: SIGTERM makes a process drain (transports/drain.py).

Two `chatstore serve` processes share a PostgreSQL database and a Redis. A batch of messages
is in flight on A (held by a row lock the test takes, so that it is surely in flight) when A
gets SIGTERM: A's /readyz turns 503 and new requests get 503 at once, its WebSocket closes
with 1012 and its SSE streams (/sse/… and /graphql/stream) end, without `complete`; the
batch then finishes and is
acknowledged, and A exits. Subscribers resume on B by cursor and see the batch once, whole.
With the lock held past DRAIN_SECONDS the batch is cut, never acknowledged, and absent.
"""

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.clients import (
    SESSION_EVENTS,
    WAIT,
    Api,
    EventStream,
    Reader,
    SseEvent,
    Subscriber,
    append_many,
    create_session,
    cursor,
    load_session,
    new_user,
    operation,
    sse,
    subscribed,
    token_for,
    tool,
)
from tests.processes import (
    STOP_TIMEOUT,
    RedisServer,
    ServerProcess,
    readiness,
    server_env,
    uvicorn_processes,
)
from tests.servers import database_url

BATCH = 50
EVENTS_PATH = "/sse/session-events"


@asynccontextmanager
async def cli_pair(
    workdir: Path, redis: RedisServer, **settings: float | str
) -> AsyncIterator[tuple[ServerProcess, ServerProcess, str]]:
    """Two `chatstore serve` processes on a fresh PostgreSQL database and `redis`."""
    async with database_url("postgres", workdir) as url:
        env = server_env(url, redis.url, **settings)
        async with uvicorn_processes(workdir, [env, env], cli=True) as (a, b):
            yield a, b, url


@asynccontextmanager
async def session_locked(database: str, session_id: str) -> AsyncIterator[asyncpg.Connection]:
    """The session's row locked (FOR UPDATE) by a transaction of the test's own, so that a
    write to it waits; rolled back when the block ends. Yields a second connection, to watch
    for the waiting write."""
    dsn = database.replace("postgresql+asyncpg://", "postgresql://", 1)
    holder, watcher = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    locking = holder.transaction()
    try:
        await locking.start()
        await holder.execute("SELECT 1 FROM chat_session WHERE id = $1 FOR UPDATE", session_id)
        yield watcher
    finally:
        await locking.rollback()
        await holder.close()
        await watcher.close()


async def wait_for_waiting_write(watcher: asyncpg.Connection) -> None:
    """Until a statement of the server waits for the test's lock."""
    deadline = time.monotonic() + WAIT
    query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
    while await watcher.fetchval(query) == 0:
        assert time.monotonic() < deadline, "no write waited for the lock"
        await asyncio.sleep(0.02)


async def batch(api: Api, session_id: str, tag: str) -> httpx.Response:
    """appendMessages of BATCH TOOL messages, as a raw response."""
    messages = [tool(f"{tag}-{index}", f"{tag} {index}") for index in range(BATCH)]
    variables = {"sessionId": session_id, "messages": messages}
    body = {"query": operation("AppendMessages"), "variables": variables}
    return await api.http.post(
        "/graphql", json=body, headers={"Authorization": f"Bearer {api.token}"}
    )


async def live_events(api: Api, sid: str, sub: Subscriber, stream: EventStream) -> Reader:
    """One write seen by both subscribers: both are live; the reader of the WebSocket's."""
    written = await append_many(api, sid, [tool("probe", "probe")])
    reader, sse_reader = Reader(), Reader()
    await reader.read_through(sub.next_session_event, written[0]["revision"])
    await sse_reader.read_through(stream.next_message, written[0]["revision"])
    assert sse_reader.last == reader.last
    return reader


@asynccontextmanager
async def graphql_over_sse(api: Api, variables: dict[str, Any]) -> AsyncIterator[EventStream]:
    """sessionEvents over /graphql/stream (the graphql-sse protocol)."""
    body = {"query": SESSION_EVENTS, "variables": variables}
    headers = {"Accept": "text/event-stream", "Authorization": f"Bearer {api.token}"}
    async with api.http.stream("POST", "/graphql/stream", json=body, headers=headers) as answer:
        assert answer.status_code == 200
        yield EventStream(answer)


async def until_the_end(stream: EventStream) -> AsyncIterator[SseEvent]:
    """The events of `stream` until the server ends it (within WAIT)."""
    while (event := await stream.next_event()) is not None:
        yield event


async def closed_with(sub: Subscriber) -> int:
    """The close code of a WebSocket the server closes (within WAIT)."""
    try:
        async with asyncio.timeout(WAIT):
            while True:
                await sub.receive()
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, closed
        return closed.rcvd.code


async def test_sigterm_finishes_the_write_in_flight_and_moves_subscribers(
    workdir: Path, redis: RedisServer
) -> None:
    async with cli_pair(workdir, redis) as (a, b, url), httpx.AsyncClient(timeout=60) as http:
        user = new_user()
        on_a = Api(httpx.AsyncClient(base_url=a.http_url, timeout=60), token_for(user))
        on_b = Api(httpx.AsyncClient(base_url=b.http_url, timeout=60), token_for(user))
        session = await create_session(on_a)
        sid, token = session["id"], on_a.token or ""
        variables = {"sessionId": sid, "afterRevision": session["revision"]}
        async with (
            subscribed(a.ws_url, token, variables, query=SESSION_EVENTS) as sub,
            sse(on_a.http, sid, token=token, path=EVENTS_PATH, **variables) as stream,
            graphql_over_sse(on_a, variables) as graphql_stream,
        ):
            reader = await live_events(on_a, sid, sub, stream)
            async with session_locked(url, sid) as watcher:
                in_flight = asyncio.create_task(batch(on_a, sid, "batch"))
                await wait_for_waiting_write(watcher)
                assert a.process is not None
                a.process.send_signal(signal.SIGTERM)

                assert await closed_with(sub) == 1012
                assert await stream.next_event() is None  # the end, and no `complete`
                kinds = [event.event async for event in until_the_end(graphql_stream)]
                assert "complete" not in kinds, kinds
                status, body = await readiness(a)
                assert (status, body["status"]) == (503, "draining"), body
                refused = await http.post(f"{a.http_url}/graphql", json={"query": "{ __typename }"})
                assert refused.status_code == 503, refused.text
                assert refused.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
                assert not in_flight.done()
            acknowledged = await in_flight
        assert acknowledged.status_code == 200, acknowledged.text
        written = acknowledged.json()["data"]["appendMessages"]
        assert len(written) == BATCH
        assert a.process.wait(STOP_TIMEOUT) is not None

        # Both subscribers resume on B from their cursors and get the batch once, whole.
        last_before = reader.last
        assert last_before is not None
        resumed = {"sessionId": sid, **cursor(last_before)}
        async with subscribed(b.ws_url, token, resumed, query=SESSION_EVENTS) as sub:
            await reader.read_through(sub.next_session_event, written[-1]["revision"])
            await sub.nothing_within(0.3)
        sse_reader = Reader()
        sse_reader.last = last_before
        async with sse(
            on_b.http, sid, token=token, path=EVENTS_PATH, last_event_id=_id(resumed)
        ) as stream:
            await sse_reader.read_through(stream.next_message, written[-1]["revision"])
        stored = (await load_session(on_b, sid))["messages"]
        for seen in (reader, sse_reader):
            batch_seen = [m for m in seen.messages.values() if m["toolCallId"].startswith("batch")]
            assert [m["id"] for m in batch_seen] == [m["id"] for m in written]
        assert [m["id"] for m in stored[-BATCH:]] == [m["id"] for m in written]
        await on_a.http.aclose()
        await on_b.http.aclose()


async def test_a_write_past_the_drain_bound_is_cut_whole(workdir: Path, redis: RedisServer) -> None:
    """DRAIN_SECONDS bounds the wait: a batch still waiting then is never acknowledged and
    leaves nothing behind."""
    async with cli_pair(workdir, redis, drain_seconds=0.5) as (a, b, url):
        on_a = Api(httpx.AsyncClient(base_url=a.http_url, timeout=60), token_for(new_user()))
        sid = (await create_session(on_a))["id"]
        async with session_locked(url, sid) as watcher:
            in_flight = asyncio.create_task(batch(on_a, sid, "cut"))
            await wait_for_waiting_write(watcher)
            assert a.process is not None
            started = time.monotonic()
            a.process.send_signal(signal.SIGTERM)
            await asyncio.to_thread(a.process.wait, STOP_TIMEOUT)
            assert time.monotonic() - started < 5
        with pytest.raises(httpx.TransportError):
            await in_flight
        on_b = Api(httpx.AsyncClient(base_url=b.http_url, timeout=60), on_a.token)
        assert (await load_session(on_b, sid))["messages"] == []
        await on_a.http.aclose()
        await on_b.http.aclose()


def _id(resumed: dict[str, Any]) -> str:
    parts = (resumed["afterRevision"], resumed.get("afterSequence"))
    return "-".join(str(part) for part in parts if part is not None)
