"""Live updates across server processes, and through the loss of the broker between them.

Every test here runs real `uvicorn app:app` processes (tests/processes.py) that share one
PostgreSQL database (two processes cannot share the SQLite default), with change hints carried
by `BROADCAST_URL`: a redis-server of our own, or PostgreSQL LISTEN/NOTIFY. Covers: a subscriber
on one process receives what mutations on another changed (and a delete completes it); writes on
one process racing a resubscribe with `afterRevision` on another lose and repeat nothing; hints
of writes to many sessions at once all go out; a Redis restart and the termination of LISTEN
connections under open subscriptions lose nothing (every update made during and after the
outage arrives once, in order), while mutations keep working and `/readyz` reports the outage;
a hint that never reaches a process is caught up by the periodic recheck. Where the broker must
be what delivered an event, RECHECK_SECONDS is 300, so the safety net cannot have done it.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.clients import (
    LEGACY_WS,
    QUIET,
    TRANSPORT_WS,
    WAIT,
    Api,
    Subscriber,
    append,
    append_many,
    assert_gap_free,
    collect_until,
    complete_tool,
    create_session,
    load_session,
    session_with_pending_tools,
    subscribe_amid_writes,
    subscribed,
    tool,
)
from tests.clients import operation as document
from tests.clients import websocket as open_websocket
from tests.processes import (
    NO_RECHECK,
    STATE_WAIT,
    Pair,
    RedisServer,
    ServerProcess,
    apis,
    assert_ready_with_broker,
    pair_on_own_redis,
    postgres_broadcast_url,
    readiness,
    redis_outage,
    server_env,
    unheard_pair,
    uvicorn_processes,
    wait_readiness,
)
from tests.servers import database_url, postgres_or_skip

# For the LISTEN tests: a process notices a terminated connection at its next heartbeat, so a
# longer one leaves the writes made at once after the termination inside the outage.
LISTEN_HEARTBEAT = 1.0


# --- Processes ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("broker")


# --- Receiving ----------------------------------------------------------------------------


async def receive_exactly(sub: Subscriber, expected: list[dict[str, Any]]) -> None:
    """`sub` receives exactly `expected`, in that order, and then nothing more."""
    received: list[dict[str, Any]] = []
    try:
        while len(received) < len(expected):
            received.append(await sub.next_tool_message())
    except TimeoutError:
        missing = [(m["toolCallId"], m["revision"]) for m in expected[len(received) :]]
        raise AssertionError(
            f"no event within {WAIT} s; received {len(received)} of {len(expected)}, "
            f"missing (toolCallId, revision): {missing}"
        ) from None
    assert received == expected
    await sub.nothing_within(QUIET)


# --- Two processes, one broker ------------------------------------------------------------


async def test_subscribers_on_each_process_receive_what_mutations_on_the_other_changed(
    pair: Pair, user: str
):
    async with apis(user, pair.a, pair.b) as (on_a, on_b):
        await assert_ready_with_broker(pair.a, pair.b)
        session = await create_session(on_b)
        sid = session["id"]
        variables = {"sessionId": sid, "afterRevision": session["revision"]}
        async with (
            subscribed(pair.a.ws_url, on_a.token, variables) as sub_a,
            subscribed(pair.b.ws_url, on_b.token, variables, LEGACY_WS) as sub_b,
        ):
            # This one may come from either subscription's first read; once it has arrived,
            # both subscriptions are live, and each later write reaches the other process's
            # subscriber only through the broker (the recheck is minutes away).
            first = await append(on_b, sid, tool("call_first", "answered at once"))
            for sub in (sub_a, sub_b):
                assert await sub.next_tool_message() == first

            pending = await append(on_b, sid, tool("call_weather"))
            for sub in (sub_a, sub_b):
                assert await sub.next_tool_message() == pending
            completed = await complete_tool(on_b, sid, "call_weather", '{"temp": 21}')
            for sub in (sub_a, sub_b):
                assert await sub.next_tool_message() == completed

            # And the other way round: written on A, received on B.
            other = await append(on_a, sid, tool("call_news"))
            done = await complete_tool(on_a, sid, "call_news", "headlines")
            for sub in (sub_a, sub_b):
                assert [await sub.next_tool_message() for _ in range(2)] == [other, done]
                await sub.nothing_within(QUIET)

            # Deleting the session on B completes the subscription on A.
            assert await on_b.data(document("DeleteSession"), {"id": sid}) == {
                "deleteSession": True
            }
            assert await sub_a.receive() == {"type": "complete", "id": "1"}
            assert await sub_b.receive() == {"type": "complete", "id": "1"}


async def test_mutations_at_once_on_many_sessions_all_reach_their_subscribers_on_another_process(
    pair: Pair, user: str
):
    # Hints of writes to different sessions are published at the same moment (broadcaster's
    # PostgreSQL backend publishes on its LISTEN connection, which runs one command at a time):
    # every one must still go out.
    async with apis(user, pair.a, pair.b) as (on_a, on_b):
        sessions = [(await create_session(on_b))["id"] for _ in range(12)]
        async with open_websocket(pair.a.ws_url) as sub:
            assert (await sub.init(on_a.token))["type"] == "connection_ack"
            for index, sid in enumerate(sessions):
                variables = {"sessionId": sid, "afterRevision": 0}
                await sub.subscribe(document("ToolMessageUpdated"), variables, str(index))
            # Once its first message has arrived, each subscription is live.
            firsts = [await append(on_b, sid, tool("call_slow")) for sid in sessions]
            assert await receive_by_operation(sub, len(sessions)) == {
                str(index): [first] for index, first in enumerate(firsts)
            }
            for phase in ("appended", "completed"):
                writes = await asyncio.gather(
                    *[
                        append(on_b, sid, tool("call_fast", "quick"))
                        if phase == "appended"
                        else complete_tool(on_b, sid, "call_slow", "slow")
                        for sid in sessions
                    ]
                )
                assert await receive_by_operation(sub, len(sessions)) == {
                    str(index): [write] for index, write in enumerate(writes)
                }
            await sub.nothing_within(QUIET)


async def receive_by_operation(sub: Subscriber, count: int) -> dict[str, list[dict[str, Any]]]:
    """The next `count` events on the socket, by operation id."""
    events: dict[str, list[dict[str, Any]]] = {}
    for _ in range(count):
        try:
            message = await sub.receive()
        except TimeoutError:
            raise AssertionError(f"no event within {WAIT} s; received only {events}") from None
        assert message["type"] == "next" and "errors" not in message["payload"], message
        events.setdefault(message["id"], []).append(
            message["payload"]["data"]["toolMessageUpdated"]
        )
    return events


@pytest.mark.parametrize("subscribe_at", [0, 15])
async def test_writes_on_one_process_racing_a_resubscribe_on_another_lose_and_repeat_nothing(
    pair: Pair, user: str, subscribe_at: int
):
    async with apis(user, pair.a, pair.b) as (on_a, on_b):
        session = await create_session(on_b)
        sid = session["id"]
        calls = [f"call_pending_{index}" for index in range(4)]
        await append_many(on_b, sid, [tool(call) for call in calls])
        await append(on_b, sid, tool("call_static", "answered before the race, never changed"))
        before = (await load_session(on_b, sid))["revision"]

        async with open_websocket(pair.a.ws_url) as sub:
            assert (await sub.init(on_a.token))["type"] == "connection_ack"
            variables = {"sessionId": sid, "afterRevision": before}
            writes = await subscribe_amid_writes(
                sub, on_b, sid, calls, subscribe_at, document("ToolMessageUpdated"), variables
            )

            tool_writes = [write for write in writes if write["role"] == "TOOL"]
            events = await collect_until(sub, writes[-1]["revision"])
            assert_gap_free(events, tool_writes, before)
            # Every message touched after `before` is received in its final state.
            final = {write["id"]: write for write in tool_writes}
            assert {event["id"]: event for event in events} == final


# --- Broker loss --------------------------------------------------------------------------


@dataclass
class Watched:
    """A session with pending tool calls, subscribed on process A; what it must receive."""

    sid: str
    sub: Subscriber
    expected: list[dict[str, Any]]
    received: int = 0


@asynccontextmanager
async def watched_sessions(writer: Api, reader: Api, ws_url: str) -> AsyncIterator[list[Watched]]:
    """Two sessions with calls call_0..call_5 pending, each subscribed with `afterRevision` (one
    on graphql-transport-ws, one on graphql-ws); live once call_0's result has arrived."""
    first, second = [await session_with_pending_tools(writer, 6) for _ in range(2)]
    async with (
        subscribed(ws_url, reader.token, {"sessionId": first[0], "afterRevision": first[1]}) as s1,
        subscribed(
            ws_url, reader.token, {"sessionId": second[0], "afterRevision": second[1]}, LEGACY_WS
        ) as s2,
    ):
        watched = [
            Watched(sid=sid, sub=sub, expected=[]) for (sid, _), sub in ((first, s1), (second, s2))
        ]
        for session in watched:
            live = await complete_tool(writer, session.sid, "call_0", "before the outage")
            assert await session.sub.next_tool_message() == live
        yield watched


async def receive_news(watched: list[Watched]) -> None:
    """Each subscriber receives exactly what was written since it last checked, in order."""
    for session in watched:
        await receive_exactly(session.sub, session.expected[session.received :])
        session.received = len(session.expected)


async def write_round(writer: Api, watched: list[Watched], phase: str, calls: list[str]) -> None:
    """For each session (the sessions at once): results for `calls` and one new completed TOOL
    message. Each write touches a message no other write after the subscription touched, so
    every one of them must arrive as it is, once."""

    async def write(session: Watched) -> None:
        for call in calls:
            session.expected.append(await complete_tool(writer, session.sid, call, phase))
        new = tool(f"call_{phase}_{uuid.uuid4().hex[:6]}", f"new, {phase}")
        session.expected.append(await append(writer, session.sid, new))

    await asyncio.gather(*(write(session) for session in watched))


async def test_subscriptions_on_a_process_survive_a_redis_restart_and_miss_nothing(
    tmp_path: Path, user: str
):
    async with (
        pair_on_own_redis(tmp_path) as (broker, a, b),
        apis(user, a, b) as (on_a, on_b),
        watched_sessions(on_b, on_a, a.ws_url) as watched,
    ):
        # Mutations keep working while the broker is away (Api.data: 200, no errors).
        await redis_outage(
            broker, a, b, 2, lambda phase, calls: write_round(on_b, watched, phase, calls)
        )
        # What was written during the outage arrives now, before any later write could
        # prompt a re-read: the reconnect's resync catches the subscribers up.
        await receive_news(watched)
        await write_round(on_b, watched, "after", ["call_4", "call_5"])
        await receive_news(watched)
        assert (await readiness(a))[1]["subscriptions"] == 2


async def listen_connections(admin: asyncpg.Connection, database: str) -> dict[int, str]:
    """The broadcast connections in `database` (pid: application_name): those whose last
    statement was LISTEN or a NOTIFY (broadcaster publishes on its LISTEN connection)."""
    rows = await admin.fetch(
        """
        SELECT pid, application_name FROM pg_stat_activity
        WHERE datname = $1 AND (query ILIKE 'LISTEN%' OR query ILIKE '%pg_notify%')
        """,
        database,
    )
    return {row["pid"]: row["application_name"] for row in rows}


async def wait_listen_connections(
    admin: asyncpg.Connection, database: str, names: set[str], not_pids: set[int]
) -> dict[int, str]:
    """Poll until each of `names` has a broadcast connection whose pid is not in `not_pids`."""
    deadline = asyncio.get_running_loop().time() + STATE_WAIT
    while True:
        found = await listen_connections(admin, database)
        fresh = {pid: name for pid, name in found.items() if pid not in not_pids}
        if set(fresh.values()) >= names:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no new LISTEN connection for {names}: {found}")
        await asyncio.sleep(0.02)


async def wait_gone(admin: asyncpg.Connection, pids: set[int]) -> None:
    """Poll until the backends `pids` have exited (pg_terminate_backend only signals them)."""
    deadline = asyncio.get_running_loop().time() + STATE_WAIT
    query = "SELECT count(*) FROM pg_stat_activity WHERE pid = any($1::int[])"
    while await admin.fetchval(query, list(pids)):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"backends {pids} did not exit")
        await asyncio.sleep(0.005)


async def watch_readiness(server: ServerProcess, seen: list[tuple[int, dict[str, Any]]]) -> None:
    while True:
        seen.append(await readiness(server))
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("terminated", ["subscribers", "writers", "all"])
async def test_subscriptions_survive_the_termination_of_listen_connections_and_miss_nothing(
    tmp_path: Path, user: str, terminated: str
):
    """`subscribers`: process A's LISTEN connection (A serves the subscriptions); `writers`:
    process B's (B takes the mutations, so its hints are what is lost); `all`: every LISTEN
    connection of the database."""
    admin = await postgres_or_skip()
    try:
        async with database_url("postgres", tmp_path) as url:
            database = url.rsplit("/", 1)[1]
            tag = uuid.uuid4().hex[:8]
            name_a, name_b = f"chatstore-a-{tag}", f"chatstore-b-{tag}"
            envs = [
                server_env(
                    url,
                    postgres_broadcast_url(url, name),
                    recheck_seconds=NO_RECHECK,
                    broker_heartbeat_seconds=LISTEN_HEARTBEAT,
                )
                for name in (name_a, name_b)
            ]
            async with (
                uvicorn_processes(tmp_path, envs) as (a, b),
                apis(user, a, b) as (on_a, on_b),
                watched_sessions(on_b, on_a, a.ws_url) as watched,
            ):
                connections = await listen_connections(admin, database)
                assert sorted(connections.values()) == [name_a, name_b], connections
                targets = {
                    "subscribers": {name_a},
                    "writers": {name_b},
                    "all": {name_a, name_b},
                }[terminated]
                doomed = {pid for pid, name in connections.items() if name in targets}

                seen: list[tuple[int, dict[str, Any]]] = []
                watcher = asyncio.create_task(watch_readiness(a, seen))
                try:
                    for pid in doomed:
                        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
                    await wait_gone(admin, doomed)
                    # At once: a process notices at its next heartbeat and reconnects after a
                    # backoff, so these are written while the connections are down.
                    await write_round(on_b, watched, "during", ["call_1", "call_2"])
                    await wait_listen_connections(admin, database, targets, doomed)
                    for server in (a, b):
                        assert (await wait_readiness(server, 200))["broadcast"] is True
                finally:
                    watcher.cancel()
                # /readyz may have been 503 for too short a time to be seen; when it was, it
                # was for the broker, and never for the database.
                for status, body in seen:
                    assert body["database"] is True, body
                    assert (status == 200) == body["broadcast"], body

                # What was written during the outage arrives now, before any later write
                # could prompt a re-read.
                await receive_news(watched)
                await write_round(on_b, watched, "after", ["call_3", "call_4", "call_5"])
                await receive_news(watched)
    finally:
        await admin.close()


# --- The safety net -----------------------------------------------------------------------


async def test_a_hint_that_never_reaches_a_process_is_caught_up_by_the_periodic_recheck(
    tmp_path: Path, redis: RedisServer, user: str
):
    """A listens on Redis, B publishes in its own memory only: B's hints never reach A, so
    whatever A's subscriber receives of B's writes, the recheck (every second) delivered."""
    async with (
        unheard_pair(tmp_path, redis) as (a, b),
        apis(user, a, b) as (on_a, on_b),
    ):
        session = await create_session(on_b)
        sid = session["id"]
        variables = {"sessionId": sid, "afterRevision": session["revision"]}
        async with subscribed(a.ws_url, on_a.token, variables, TRANSPORT_WS) as sub:
            # WAIT (10 s) is the hang guard: ten rounds of the recheck.
            first = await append(on_b, sid, tool("call_first", "answered at once"))
            assert await sub.next_tool_message() == first
            pending = await append(on_b, sid, tool("call_slow"))
            assert await sub.next_tool_message() == pending
            completed = await complete_tool(on_b, sid, "call_slow", "finally")
            another = await append(on_b, sid, tool("call_more", "more"))
            await receive_exactly(sub, [completed, another])

            # A session deleted on B: the recheck finds it gone and completes the
            # subscription on A.
            assert await on_b.data(document("DeleteSession"), {"id": sid}) == {
                "deleteSession": True
            }
            assert await sub.receive() == {"type": "complete", "id": "1"}
