"""`sessionEvents` through what `toolMessageUpdated` survives (tests/test_broker.py,
tests/test_resilience.py, tests/test_live.py): other server processes, the loss of the broker,
lost hints, a subscriber that stops reading, tokens that expire, writes racing the subscribe.

Covers: a subscriber on one process receives every change written on another (messages of
several roles, the session's own fields, the deletion), once, in commit order, with hints over
Redis and over PostgreSQL LISTEN/NOTIFY, and the periodic recheck minutes away; writes on one
process racing a resubscribe on another lose and repeat nothing, nor do writes racing a
live-only subscribe (on SQLite and PostgreSQL); a Redis restart under open
subscriptions loses nothing (what was written during the outage arrives after it, once, before
any later write could prompt a re-read); a hint that never reaches a process is caught up by
the periodic recheck; a subscriber that stops reading while 3,000 changes land keeps the
server's memory bounded and then gets each message's latest state once, in commit order, and
the session's latest state; an expiring token closes the WebSocket with 4403 (both protocols)
and ends the SSE stream with an `error` event, and a fresh token resumes from the last event
received without gap or duplicate (on SQLite and PostgreSQL).

The expected events are computed from the database (GetSession): what a subscriber whose last
event was at some position must receive is each message changed past that position, in its
current state, by (revision, sequence), then the session's own fields at its current revision.
"""

import asyncio
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.clients import (
    LEGACY_WS,
    QUIET,
    TRANSPORT_WS,
    Api,
    Changes,
    Subscriber,
    append,
    append_many,
    as_written,
    assert_gap_free,
    assert_in_commit_order,
    assert_newer_each_time,
    complete,
    complete_tool,
    create_session,
    events_until,
    go_live,
    load_session,
    operation,
    position,
    probe,
    session_with_pending_tools,
    sse,
    subscribe_amid_writes,
    subscribed,
    token_for,
    tool,
    tool_result_field,
)
from tests.clients import websocket as open_websocket
from tests.processes import (
    Pair,
    RedisServer,
    apis,
    assert_ready_with_broker,
    pair_on_own_redis,
    readiness,
    redis_outage,
    slow_subscription,
    unheard_pair,
    within_memory_bound,
)
from tests.servers import RunningServer

SESSION_EVENTS = operation("SessionEvents")
SSE_PATH = "/sse/session-events"
CHANGES = 3_000
# Changes before the measured ones: enough events (about 1.5 KiB each on average) to fill
# the sockets' buffers (a few MiB; net.ipv4.tcp_wmem caps the server's send buffer at 4 MiB
# by default), so that none of the measured changes can still be sent one by one. The
# tool-message test's 10,000 changes need no such warm-up: the buffers fill within the first
# tenth of them.
WARM_UP = 1_500
FRESH_TOKEN_TTL = timedelta(minutes=10)

Event = dict[str, Any]
Position = tuple[int, float]


# --- What a subscriber must receive -------------------------------------------------------


def start(revision: int) -> Position:
    """The position of a subscription with `afterRevision: revision`."""
    return revision, float("inf")


def message_event(message: dict[str, Any]) -> Event:
    """The MESSAGE event of a message as GetSession returned it (COMPLETE: these tests write
    no open operations)."""
    return {
        "kind": "MESSAGE",
        "sessionId": message["sessionId"],
        "revision": message["revision"],
        "sequence": message["sequence"],
        "message": complete(message),
        "appended": None,
        "session": None,
    }


def session_event(loaded: dict[str, Any]) -> Event:
    """The SESSION event of a session as GetSession returned it."""
    return {
        "kind": "SESSION",
        "sessionId": loaded["id"],
        "revision": loaded["revision"],
        "sequence": None,
        "message": None,
        "appended": None,
        "session": {name: value for name, value in loaded.items() if name != "messages"},
    }


def changes_since(loaded: dict[str, Any], after: Position) -> list[Event]:
    """What a subscriber whose last event stood at `after` must receive now that the session
    is `loaded`: each message changed past it, in its current state, in commit order, then
    the session's own fields."""
    events = sorted((message_event(message) for message in loaded["messages"]), key=position)
    events.append(session_event(loaded))
    return [event for event in events if position(event) > after]


def messages_of(events: list[Event]) -> list[dict[str, Any]]:
    """The messages of the MESSAGE events, as the writing operations return them (each must
    be COMPLETE: these tests start no operation)."""
    return [as_written(event["message"]) for event in events if event["kind"] == "MESSAGE"]


async def next_events(sub: Subscriber, count: int) -> list[Event]:
    """The next `count` events (a timeout says which arrived)."""
    received: list[Event] = []
    try:
        while len(received) < count:
            received.append(await sub.next_session_event())
    except TimeoutError:
        raise AssertionError(
            f"no event in time; received {len(received)} of {count}: {received}"
        ) from None
    return received


async def receive_changes(reader: Api, sid: str, after: Position, *subs: Subscriber) -> list[Event]:
    """Each of `subs` receives exactly what changed past `after`, as the database now holds
    it, in commit order (a duplicate would come first at the next call, or break a final
    `nothing_within`); those events."""
    expected = changes_since(await load_session(reader, sid), after)
    assert expected, "nothing changed past the position"
    for sub in subs:
        assert await next_events(sub, len(expected)) == expected
    return expected


def assert_events_gap_free(
    events: list[Event], writes: list[dict[str, Any]], after: int, loaded: dict[str, Any]
) -> None:
    """`events`, of a subscription past revision `after` once every write has landed (the
    session is now `loaded`), lose and repeat nothing: in commit order, each once; their
    messages answer the message `writes` as `assert_gap_free` demands (each one a write's
    result, and every write received, or a later state of its message); each SESSION event
    holds the session at its own revision; the last one is the session as it now is."""
    assert_in_commit_order(events)
    assert {event["sessionId"] for event in events} == {loaded["id"]}, events
    assert_gap_free(messages_of(events), writes, after)
    for event in events:
        if event["kind"] == "SESSION":
            assert event["session"]["revision"] == event["revision"], event
    assert events[-1] == session_event(loaded)


async def update_session(api: Api, sid: str, **input: Any) -> dict[str, Any]:
    variables = {"id": sid, "input": input}
    return (await api.data(operation("UpdateSession"), variables))["updateSession"]


async def add_token_usage(api: Api, sid: str, prompt: int, completion: int) -> dict[str, Any]:
    variables = {"sessionId": sid, "promptTokens": prompt, "completionTokens": completion}
    return (await api.data(operation("AddTokenUsage"), variables))["addTokenUsage"]


# --- Two processes, one broker ------------------------------------------------------------


async def test_a_subscriber_on_one_process_receives_every_change_written_on_the_other_once(
    pair: Pair, user: str
):
    async with apis(user, pair.a, pair.b) as (on_a, on_b):
        await assert_ready_with_broker(pair.a, pair.b)
        session = await create_session(on_b)
        sid, seen = session["id"], start(session["revision"])
        variables = {"sessionId": sid, "afterRevision": session["revision"]}
        async with (
            subscribed(pair.a.ws_url, on_a.token, variables, TRANSPORT_WS, SESSION_EVENTS) as a,
            subscribed(pair.b.ws_url, on_b.token, variables, LEGACY_WS, SESSION_EVENTS) as b,
        ):

            async def delivered() -> list[Event]:
                """What the last write changed, received on both processes."""
                nonlocal seen
                events = await receive_changes(on_b, sid, seen, a, b)
                seen = position(events[-1])
                return events

            # This one may come from either subscription's first read; once it has arrived,
            # both subscriptions are live, and each later write reaches the other process's
            # subscriber only through the broker (the recheck is minutes away).
            system = await append(on_b, sid, {"role": "SYSTEM", "content": "Be brief."})
            assert messages_of(await delivered()) == [system]

            asked = await append(on_b, sid, {"role": "USER", "content": "Weather in Oslo?"})
            assert messages_of(await delivered()) == [asked]
            call = {"id": "call_weather", "type": "function", "function": {"name": "weather"}}
            calling = await append_many(
                on_b, sid, [{"role": "ASSISTANT", "toolCalls": [call]}, tool("call_weather")]
            )
            assert messages_of(await delivered()) == calling
            result = await complete_tool(on_b, sid, "call_weather", '{"temp": 21}')
            assert messages_of(await delivered()) == [result]
            # The session's own fields: a SESSION event alone.
            renamed = await update_session(on_b, sid, title="Oslo", credentials={"key": "v"})
            assert [event["session"] for event in await delivered()] == [renamed]
            used = await add_token_usage(on_b, sid, 120, 30)
            assert [event["session"] for event in await delivered()] == [used]

            # And the other way round: written on A, received on B (and on A).
            answer = await append(on_a, sid, {"role": "ASSISTANT", "content": "21 °C, sunny."})
            assert messages_of(await delivered()) == [answer]
            retitled = await update_session(on_a, sid, title="Oslo weather")
            assert [event["session"] for event in await delivered()] == [retitled]
            for sub in (a, b):
                await sub.nothing_within(QUIET)

            # Deleting the session on B ends the subscription on both: DELETED, then complete.
            deleted = await on_b.data(operation("DeleteSession"), {"id": sid})
            assert deleted == {"deleteSession": True}
            for sub in (a, b):
                assert await sub.next_session_event() == {
                    "kind": "DELETED",
                    "sessionId": sid,
                    "revision": seen[0],
                    "sequence": None,
                    "message": None,
                    "appended": None,
                    "session": None,
                }
                assert await sub.receive() == {"type": "complete", "id": "1"}


@pytest.mark.parametrize("subscribe_at", [0, 15])
async def test_writes_on_one_process_racing_a_resubscribe_on_another_lose_and_repeat_nothing(
    pair: Pair, user: str, subscribe_at: int
):
    async with apis(user, pair.a, pair.b) as (on_a, on_b):
        sid, before = await session_with_pending_tools(on_b, 4)
        calls = [f"call_{index}" for index in range(4)]
        async with open_websocket(pair.a.ws_url) as sub:
            assert (await sub.init(on_a.token))["type"] == "connection_ack"
            variables = {"sessionId": sid, "afterRevision": before}
            writes = await subscribe_amid_writes(
                sub, on_b, sid, calls, subscribe_at, SESSION_EVENTS, variables
            )
            events = await events_until(sub, writes[-1]["revision"])
        assert_events_gap_free(events, writes, before, await load_session(on_b, sid))
        # Every message touched after `before` is received in its final state.
        assert {message["id"]: message for message in messages_of(events)} == {
            write["id"]: write for write in writes
        }


def ends_the_probe(event: Event, written: dict[str, Any]) -> bool:
    """Whether `event` is the last event of the probe `written`: its write's SESSION event."""
    return event["kind"] == "SESSION" and event["revision"] >= written["revision"]


@pytest.mark.parametrize("subscribe_at", [0, 15])
async def test_a_live_only_subscription_racing_writes_sends_nothing_older_and_misses_nothing(
    server: RunningServer, api: Api, subscribe_at: int
):
    sid, before = await session_with_pending_tools(api, 4)
    calls = [f"call_{index}" for index in range(4)]
    async with open_websocket(server.ws_url) as sub:
        assert (await sub.init(api.token))["type"] == "connection_ack"
        writes = await subscribe_amid_writes(
            sub, api, sid, calls, subscribe_at, SESSION_EVENTS, {"sessionId": sid}
        )
        # The subscription may have started after the last write: probes prove it is live.
        events = await go_live(
            api, sid, sub, receive=Subscriber.next_session_event, received_probe=ends_the_probe
        )
        await sub.nothing_within(QUIET)
    loaded = await load_session(api, sid)
    probes = [m for m in loaded["messages"] if (m["toolCallId"] or "").startswith("probe-")]
    # The subscription started at some revision s >= `before`; whatever it sent must be every
    # change after its first event (or a later state of that message), the session's last.
    assert all(event["revision"] > before for event in events), events
    assert_events_gap_free(events, writes + probes, events[0]["revision"] - 1, loaded)


# --- Broker loss --------------------------------------------------------------------------


@dataclass
class Watched:
    """A session with pending tool calls, subscribed on process A: where its subscriber
    stands, and the messages written since."""

    sid: str
    sub: Subscriber
    seen: Position
    writes: list[dict[str, Any]] = field(default_factory=list)


async def write_round(writer: Api, watched: list[Watched], phase: str, calls: list[str]) -> None:
    """For each session (the sessions at once): messages of several roles, results for
    `calls`, then the session's own fields. Each write touches a message no other write after
    the subscription touched, so each message must arrive as written, once; the session's
    own fields change last, so that only their own hints announce the last revision."""

    async def write(session: Watched) -> None:
        session.writes.append(
            await append(writer, session.sid, {"role": "USER", "content": f"{phase}?"})
        )
        session.writes.extend(
            await append_many(
                writer,
                session.sid,
                [
                    {"role": "ASSISTANT", "content": f"{phase}: working"},
                    tool(f"call_{phase}", f"new, {phase}"),
                ],
            )
        )
        for call in calls:
            session.writes.append(await complete_tool(writer, session.sid, call, phase))
        await update_session(writer, session.sid, title=phase)
        await add_token_usage(writer, session.sid, 3, 4)

    await asyncio.gather(*(write(session) for session in watched))


async def receive_news(reader: Api, watched: list[Watched]) -> None:
    """Each subscriber receives exactly what changed since it last checked: every message
    written, as written, once, in commit order, and last the session as it now is."""
    for session in watched:
        loaded = await load_session(reader, session.sid)
        events = await events_until(session.sub, loaded["revision"])
        assert_events_gap_free(events, session.writes, session.seen[0], loaded)
        assert messages_of(events) == session.writes
        session.seen, session.writes = position(events[-1]), []


async def test_session_events_on_a_process_survive_a_redis_restart_and_miss_nothing(
    tmp_path: Path, user: str
):
    async with (
        pair_on_own_redis(tmp_path) as (broker, a, b),
        apis(user, a, b) as (on_a, on_b),
    ):
        first, second = [await session_with_pending_tools(on_b, 6) for _ in range(2)]
        async with (
            subscribed(
                a.ws_url,
                on_a.token,
                {"sessionId": first[0], "afterRevision": first[1]},
                TRANSPORT_WS,
                SESSION_EVENTS,
            ) as s1,
            subscribed(
                a.ws_url,
                on_a.token,
                {"sessionId": second[0], "afterRevision": second[1]},
                LEGACY_WS,
                SESSION_EVENTS,
            ) as s2,
        ):
            watched = [
                Watched(sid=sid, sub=sub, seen=start(revision))
                for (sid, revision), sub in ((first, s1), (second, s2))
            ]
            # Live once call_0's result has arrived.
            for session in watched:
                done = await complete_tool(on_b, session.sid, "call_0", "before the outage")
                events = await receive_changes(on_a, session.sid, session.seen, session.sub)
                assert messages_of(events) == [done]
                session.seen = position(events[-1])

            # Changes of every kind while Redis is down, which lose their hints.
            await redis_outage(
                broker, a, b, 2, lambda phase, calls: write_round(on_b, watched, phase, calls)
            )
            # They arrive now, before any later write could prompt a re-read: the reconnect's
            # resync catches the subscribers up.
            await receive_news(on_a, watched)
            await write_round(on_b, watched, "after", ["call_4", "call_5"])
            await receive_news(on_a, watched)
            assert (await readiness(a))[1]["subscriptions"] == 2


# --- The safety net -----------------------------------------------------------------------


async def test_changes_whose_hints_never_reach_a_process_arrive_through_the_periodic_recheck(
    tmp_path: Path, redis: RedisServer, user: str
):
    """Every kind of change, the deletion included, each delivered by the recheck alone (B's
    hints stay in B's memory)."""
    async with (
        unheard_pair(tmp_path, redis) as (a, b),
        apis(user, a, b) as (on_a, on_b),
    ):
        created = await create_session(on_b)
        seen, sid = start(created["revision"]), created["id"]
        variables = {"sessionId": sid, "afterRevision": created["revision"]}
        async with subscribed(a.ws_url, on_a.token, variables, TRANSPORT_WS, SESSION_EVENTS) as sub:
            # WAIT (10 s) is the hang guard: ten rounds of the recheck.
            writes = [
                lambda: append(on_b, sid, {"role": "USER", "content": "anyone?"}),
                lambda: append(on_b, sid, tool("call_slow")),
                lambda: complete_tool(on_b, sid, "call_slow", "finally"),
                lambda: update_session(on_b, sid, title="caught up"),
                lambda: add_token_usage(on_b, sid, 5, 6),
            ]
            for write in writes:
                await write()
                events = await receive_changes(on_a, sid, seen, sub)
                seen = position(events[-1])
            await sub.nothing_within(QUIET)

            # A session deleted on B: the recheck finds it gone and ends the subscription on A.
            deleted = await on_b.data(operation("DeleteSession"), {"id": sid})
            assert deleted == {"deleteSession": True}
            ending = await sub.next_session_event()
            assert (ending["kind"], ending["revision"]) == ("DELETED", seen[0]), ending
            assert await sub.receive() == {"type": "complete", "id": "1"}


# --- A subscriber that stops reading ------------------------------------------------------


def change(sid: str, calls: list[str], number: int) -> str:
    """Change `number` of the slow-subscriber test: a tool result (version `number`) for
    each call in turn, and every tenth change the session's token usage instead."""
    if number % 10 == 9:
        return (
            f'addTokenUsage(sessionId: "{sid}", promptTokens: 1, completionTokens: 2) '
            "{ revision }"
        )
    return tool_result_field(sid, calls[number % len(calls)], number)


async def test_a_subscriber_that_stops_reading_costs_bounded_memory_and_then_gets_the_latest_states(
    tmp_path: Path,
):
    async with slow_subscription(tmp_path, SESSION_EVENTS) as slow:
        api, sid, calls, sub = slow.api, slow.sid, slow.calls, slow.sub
        # The subscription runs.
        await receive_changes(api, sid, start(slow.revision), sub)

        # From here on the client does not read; its socket stays open.
        changes = Changes(api, lambda number: change(sid, calls, number))
        warm_revision = await changes.publish(WARM_UP)  # the buffers fill up here
        final_revision = await within_memory_bound(slow.pid, changes.publish(CHANGES))

        # Reading again: old states still in flight first, then the catch-up, which ends with
        # the session's own fields at the last revision.
        events = await events_until(sub, final_revision)
        loaded = await load_session(api, sid)

    assert loaded["revision"] == final_revision
    usage = sum(1 for number in range(changes.count) if number % 10 == 9)
    assert (loaded["totalPromptTokens"], loaded["totalCompletionTokens"]) == (usage, 2 * usage)
    assert_in_commit_order(events)
    # Each message's states arrive oldest first, each once; its last one is the stored latest
    # state; last of all comes the session's latest state.
    assert_newer_each_time(messages_of(events))
    final = {message["id"]: message for message in messages_of(events)}
    assert sorted(final.values(), key=lambda message: message["sequence"]) == loaded["messages"]
    assert events[-1] == session_event(loaded)
    # The server kept the latest news, not a queue. What arrives after the pause is what was
    # already in the sockets' buffers (states of the warm-up's changes), then one catch-up
    # read: each message's latest state, in commit order, then the session's. Of the measured
    # changes (about two events each, had they been queued), only that handful arrives.
    measured = [event for event in events if event["revision"] > warm_revision]
    assert len(measured) < CHANGES // 4, f"{len(measured)} events for {CHANGES} changes"
    late = [event for event in events if event["revision"] > final_revision - CHANGES // 2]
    stale = events[: len(events) - len(late)]
    assert late == changes_since(loaded, position(stale[-1]))
    assert {message["toolCallId"] for message in messages_of(late)} == set(calls)


# --- Token expiry -------------------------------------------------------------------------


async def write_while_away(api: Api, sid: str) -> dict[str, Any]:
    """Changes of every kind, made while the client has no connection (one message changed
    twice); the session after them."""
    await append(api, sid, {"role": "USER", "content": "still there?"})
    call = {"id": "call_b", "type": "function", "function": {"name": "lookup"}}
    await append_many(
        api,
        sid,
        [{"role": "ASSISTANT", "toolCalls": [call]}, tool("call_b"), tool("call_c", "c")],
    )
    await complete_tool(api, sid, "call_b", "b done")
    await update_session(api, sid, title="while away")
    await add_token_usage(api, sid, 7, 8)
    return await load_session(api, sid)


def expiring_token(user: str) -> tuple[str, float]:
    """A token that expires in 2 s, and when."""
    short = token_for(user, ttl=timedelta(seconds=2))
    return short, jwt.decode(short, options={"verify_signature": False})["exp"]


async def websocket_expires_then_resumes(
    server: RunningServer, api: Api, user: str, protocol: str
) -> None:
    session = await create_session(api)
    sid = session["id"]
    short, expires_at = expiring_token(user)
    variables = {"sessionId": sid, "afterRevision": session["revision"]}
    async with subscribed(server.ws_url, short, variables, protocol, SESSION_EVENTS) as sub:
        pending = await append(api, sid, tool("call_a"))
        before = await events_until(sub, pending["revision"])
        done = await complete_tool(api, sid, "call_a", "a done")
        before.extend(await sub.items_until_closed("sessionEvents"))
        assert time.time() >= expires_at - 0.1, "closed before the token expired"
        assert sub.ws.close_code == 4403, sub.ws.close_code
        assert sub.ws.close_reason == "Forbidden: token expired", sub.ws.close_reason
    assert messages_of(before) == [pending, done]
    assert [event["kind"] for event in before] == ["MESSAGE", "SESSION"] * 2

    loaded = await write_while_away(api, sid)
    # Resumed with a fresh token from the last event received: exactly what was missed.
    fresh = token_for(user, ttl=FRESH_TOKEN_TTL)
    variables = {"sessionId": sid, "afterRevision": before[-1]["revision"]}  # no sequence
    async with subscribed(server.ws_url, fresh, variables, protocol, SESSION_EVENTS) as sub:
        missed = changes_since(loaded, position(before[-1]))
        after = await next_events(sub, len(missed))
        assert after == missed
        live = await probe(api, sid)
        assert messages_of(await events_until(sub, live["revision"])) == [live]
    assert_in_commit_order(before + after)


async def sse_expires_then_resumes(http: httpx.AsyncClient, api: Api, user: str) -> None:
    session = await create_session(api)
    sid = session["id"]
    short, expires_at = expiring_token(user)
    params = {"afterRevision": session["revision"]}
    async with sse(http, sid, token=short, path=SSE_PATH, **params) as stream:
        live = await probe(api, sid)
        before = await stream.messages(2)
        assert as_written(before[0]["message"]) == live and before[1]["kind"] == "SESSION", before
        await stream.ends_as_expired(expires_at)

    loaded = await write_while_away(api, sid)
    # The EventSource reconnects with the id of the last event it got, and a fresh token.
    fresh = token_for(user, ttl=FRESH_TOKEN_TTL)
    last_id = str(before[-1]["revision"])  # a SESSION event: no sequence
    async with sse(http, sid, token=fresh, path=SSE_PATH, last_event_id=last_id) as stream:
        missed = changes_since(loaded, position(before[-1]))
        assert await stream.messages(len(missed)) == missed
        live = await probe(api, sid)
        assert as_written((await stream.next_message())["message"]) == live


async def test_an_expired_token_ends_session_events_and_a_fresh_one_resumes_gap_free(
    server: RunningServer, api: Api, http: httpx.AsyncClient, user: str
):
    """graphql-transport-ws and graphql-ws close with 4403, SSE sends an UNAUTHENTICATED
    `error` event and ends; all at once, so the test waits for one expiry only."""
    async with asyncio.TaskGroup() as tasks:
        for protocol in (TRANSPORT_WS, LEGACY_WS):
            tasks.create_task(websocket_expires_then_resumes(server, api, user, protocol))
        tasks.create_task(sse_expires_then_resumes(http, api, user))
