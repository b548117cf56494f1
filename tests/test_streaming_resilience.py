"""Streamed replies and operations that end, through what real clients and servers go through.

Every test applies the events as a client must (tests.clients.Reader: a MESSAGE replaces, an
APPENDED adds its text where the content is `offset` UTF-16 code units long, every event after
the one before it) and compares the content it rebuilt with what the chunks' senders wrote and
what the database holds. The text is cut where a careless server would miscount it: emoji and
other characters outside the Basic Multilingual Plane (two UTF-16 code units, one code point),
a combining mark in a chunk apart from its letter, a flag's two regional indicators in two
chunks, a ZWJ sequence, line breaks (an SSE frame ends at one).

Covers, on SQLite and PostgreSQL unless it says otherwise:
- an SSE subscriber, live and resuming by `Last-Event-ID` (after a SESSION event, after an
  APPENDED one, and after missing several chunks);
- a WebSocket subscriber that stops reading during 1,000 chunks (a real uvicorn process), then
  catches up;
- deadlines: two processes on PostgreSQL and Redis expiring the same overdue operations, each
  once, seen once by subscribers on both; a process started after a deadline passed;
- a process killed with SIGKILL mid-stream, three times, and restarted;
- workers sending a chunk per token, and one per 100 ms.
"""

import asyncio
import itertools
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.clients import (
    BATCH,
    QUIET,
    SESSION_EVENTS,
    WAIT,
    Api,
    EventStream,
    NextEvent,
    Reader,
    append_many,
    chunk,
    create_session,
    cursor,
    in_future,
    new_user,
    operation,
    sse,
    stalling_subscriber,
    streaming_reply,
    subscribed,
    token_for,
    tool,
)
from tests.processes import (
    RedisServer,
    apis,
    server_env,
    server_pair,
    uvicorn_process,
    uvicorn_processes,
)
from tests.servers import RunningServer, database_url

SSE_SESSION_EVENTS = "/sse/session-events"

# Each item one chunk, cut where counting goes wrong (see the module's docstring).
TRICKY = [
    "Olá 😀",
    " cafe",
    "\u0301 ",  # the acute of "café", apart from its e
    "\U0001d518\U0001d52b\U0001d526",  # mathematical fraktur, outside the BMP
    " 🇵",
    "🇹 ",  # the flag of Portugal, one regional indicator per chunk
    "👩\u200d👩\u200d👧 ",  # a family: three emoji joined by ZWJ
    "𠀋𡈽 ",  # CJK extension B
    "line\nbreak\r\n",
    "\u2028👍🏽",  # a line separator, a thumb with a skin tone
    " n\u0303o ✓",
    " 🦀",
]


STORED = """
query Stored($id: ID!) {
  session(id: $id) {
    revision
    messages { sequence content revision status deadline failureReason }
  }
}
"""


async def stored_messages(api: Api, session_id: str) -> tuple[int, dict[int, dict[str, Any]]]:
    """The session's revision, and its messages as stored (with their status) by sequence."""
    session = (await api.data(STORED, {"id": session_id}))["session"]
    return session["revision"], {message["sequence"]: message for message in session["messages"]}


async def stored_message(api: Api, session_id: str, sequence: int) -> dict[str, Any]:
    """The message at `sequence` as stored, with the session's revision as `sessionRevision`."""
    revision, messages = await stored_messages(api, session_id)
    return {**messages[sequence], "sessionRevision": revision}


async def nothing_more(stream: EventStream) -> None:
    """No SSE event within QUIET (the stream is not usable afterwards)."""
    with pytest.raises(TimeoutError):
        event = await stream.next_event(QUIET)
        raise AssertionError(f"unexpected event: {event}")


# --- SSE: live, and resumed by Last-Event-ID ------------------------------------------------


async def test_an_sse_subscriber_rebuilds_the_exact_content_live_and_across_resumes(
    api: Api, http: httpx.AsyncClient
):
    session = await create_session(api)
    sid = session["id"]
    reader = Reader()
    written: list[str] = []

    async def write(text: str, **more: Any) -> dict[str, Any]:
        acknowledged = await chunk(api, sid, reply["id"], text, **more)
        written.append(text)
        return acknowledged

    def resumed() -> Any:
        assert reader.last_event_id is not None
        return sse(
            http, sid, token=api.token, path=SSE_SESSION_EVENTS, last_event_id=reader.last_event_id
        )

    async with sse(
        http, sid, token=api.token, path=SSE_SESSION_EVENTS, afterRevision=session["revision"]
    ) as stream:
        reply = await streaming_reply(api, sid)
        sequence = reply["sequence"]
        await reader.read_through(stream.next_message, reply["revision"])
        # Live, one chunk at a time: each arrives as the added text alone.
        for text in TRICKY[:4]:
            acknowledged = await write(text)
            await reader.read_through(stream.next_message, acknowledged["revision"])
        assert (reader.wholes, reader.deltas) == (1, 4)

    # Gone after a SESSION event (Last-Event-ID "<revision>"), one chunk missed: the resume
    # still has the message as it was just before, so it gets that chunk alone.
    assert "-" not in (reader.last_event_id or "")
    await write(TRICKY[4])
    async with resumed() as stream:
        first = await stream.next_message()
        assert first["kind"] == "APPENDED", first
        reader.apply(first)
        # Gone right after an APPENDED event (Last-Event-ID "<revision>-<sequence>"), before
        # the SESSION event of its revision.
        acknowledged = await write(TRICKY[5])
        while reader.last_event_id != f"{acknowledged['revision']}-{sequence}":
            reader.apply(await stream.next_message())
    await write(TRICKY[6])
    async with resumed() as stream:
        first = await stream.next_message()
        assert first["kind"] == "APPENDED", first
        reader.apply(first)
        await reader.read_through(stream.next_message, first["revision"])
    assert (reader.wholes, reader.deltas) == (1, 7)

    # Several chunks missed: the content so far, whole, once; then the rest as chunks.
    for text in TRICKY[7:10]:
        await write(text)
    async with resumed() as stream:
        first = await stream.next_message()
        assert first["kind"] == "MESSAGE", first
        assert first["message"]["content"] == "".join(written)
        reader.apply(first)
        rest = TRICKY[10:]
        for index, text in enumerate(rest):
            acknowledged = await write(text, done=index == len(rest) - 1)
            await reader.read_through(stream.next_message, acknowledged["revision"])
        await nothing_more(stream)

    assert written == TRICKY
    rebuilt = reader.messages[sequence]
    assert rebuilt["content"] == "".join(TRICKY)
    assert (reader.wholes, reader.deltas) == (2, 7 + len(TRICKY[10:]))
    stored = await stored_message(api, sid, sequence)
    assert stored["content"] == rebuilt["content"]
    assert stored["revision"] == rebuilt["revision"] == reply["revision"] + len(TRICKY)
    assert stored["status"] == "COMPLETE"


# --- A WebSocket subscriber that stops reading --------------------------------------------

STALLED_CHUNKS = 1_000
# Every write's events end with the session's fields: with this much in one of them, the
# events of the chunks fill the sockets' buffers many times over, while the reply stays small.
SESSION_BALLAST = {"log": "b" * 32_000}


def stalled_chunk(index: int) -> str:
    return f"<{index}>{TRICKY[index % len(TRICKY)]}"


async def append_chunks(api: Api, session_id: str, message_id: str, texts: list[str]) -> list[int]:
    """appendMessageContent for each of `texts` in one request, as aliased mutations (run
    one after another, each its own write). Their revisions."""
    declared = ", ".join(f"$t{index}: String!" for index in range(len(texts)))
    fields = "\n".join(
        f"c{index}: appendMessageContent(sessionId: $sid, messageId: $mid, text: $t{index}) "
        "{ revision }"
        for index in range(len(texts))
    )
    variables = {f"t{index}": text for index, text in enumerate(texts)}
    data = await api.data(
        f"mutation($sid: ID!, $mid: ID!, {declared}) {{\n{fields}\n}}",
        {"sid": session_id, "mid": message_id, **variables},
    )
    revisions = [data[f"c{index}"]["revision"] for index in range(len(texts))]
    assert revisions == list(range(revisions[0], revisions[0] + len(texts))), revisions
    return revisions


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_a_subscriber_that_stops_reading_during_1000_chunks_catches_up_exactly(
    tmp_path: Path, kind: str
):
    async with database_url(kind, tmp_path) as url:
        # No pings from uvicorn or the app: a client that does not read is not dropped as
        # dead, so the app's own handling is what is tested.
        env = {"DATABASE_URL": url, "BROADCAST_URL": "memory://", "WS_PING_SECONDS": "600"}
        async with (
            uvicorn_process(tmp_path, **env) as (_, base),
            httpx.AsyncClient(base_url=base, timeout=60) as http,
        ):
            api = Api(http, token_for(new_user()))
            ws_url = base.replace("http://", "ws://") + "/graphql"
            sid = (await create_session(api))["id"]
            session = (
                await api.data(
                    operation("UpdateSession"),
                    {"id": sid, "input": {"successfulAgentRuns": SESSION_BALLAST}},
                )
            )["updateSession"]
            variables = {"sessionId": sid, "afterRevision": session["revision"]}
            async with stalling_subscriber(
                ws_url, api.token or "", variables, SESSION_EVENTS
            ) as sub:
                reader = Reader()
                reply = await streaming_reply(api, sid)
                sequence = reply["sequence"]
                # The subscription runs: the reply, then its first chunk alone.
                await reader.read_through(sub.next_session_event, reply["revision"])
                started = await chunk(api, sid, reply["id"], "start:")
                await reader.read_through(sub.next_session_event, started["revision"])
                assert (reader.wholes, reader.deltas) == (1, 1)

                # From here on the client does not read; its socket stays open.
                texts = [stalled_chunk(index) for index in range(STALLED_CHUNKS)]
                revisions: list[int] = []
                for start in range(0, STALLED_CHUNKS, BATCH):
                    batch = texts[start : start + BATCH]
                    revisions += await append_chunks(api, sid, reply["id"], batch)

                # Reading again: what was in flight, then the catch-up.
                await reader.read_through(sub.next_session_event, revisions[-1])
                expected = "start:" + "".join(texts)
                assert reader.messages[sequence]["content"] == expected  # none lost, none doubled
                assert reader.messages[sequence]["revision"] == revisions[-1]
                # It fell behind: the events in flight, then the content so far whole (at
                # least once), not every chunk kept in a queue for it.
                fell_behind = (reader.wholes, reader.deltas)
                assert reader.wholes >= 2, fell_behind
                assert reader.deltas + reader.wholes < STALLED_CHUNKS // 4, fell_behind
                # Caught up, it is followed by the chunk alone again.
                for index, text in enumerate(TRICKY[:3]):
                    acknowledged = await chunk(api, sid, reply["id"], text, done=index == 2)
                    expected += text
                    await reader.read_through(sub.next_session_event, acknowledged["revision"])
                assert (reader.wholes, reader.deltas) == (fell_behind[0], fell_behind[1] + 3)
                await sub.nothing_within(QUIET)

            rebuilt = reader.messages[sequence]
            stored = await stored_message(api, sid, sequence)
            assert rebuilt["content"] == stored["content"] == expected
            assert rebuilt["status"] == stored["status"] == "COMPLETE"
            assert rebuilt["revision"] == stored["revision"] == revisions[-1] + 3


# --- Deadlines: two processes at once, and one that was down ----------------------------

DEADLINE_PASSED = "The deadline passed before the operation ended."
# Large enough that a later expiry round cannot act during a test.
NO_SECOND_ROUND = 300
OPEN_PER_SESSION = 8
EXPIRY_RACE = 0.05  # seconds between expiry rounds: both processes find the same overdue


def open_operations(deadline: str) -> list[dict[str, Any]]:
    """PENDING tool calls and STREAMING replies, all due at `deadline`."""
    half = OPEN_PER_SESSION // 2
    calls = [
        {**tool(f"call_{index}"), "status": "PENDING", "deadline": deadline}
        for index in range(half)
    ]
    replies = [
        {
            "role": "ASSISTANT",
            "content": f"reply {index}…",
            "status": "STREAMING",
            "deadline": deadline,
        }
        for index in range(half)
    ]
    return [message for pair in zip(calls, replies, strict=True) for message in pair]


async def read_failures(next_event: NextEvent, expected: set[int]) -> list[dict[str, Any]]:
    """Events until every message in `expected` (sequences) arrived FAILED, and then the
    SESSION event that ends the last write's events; all of them, checked by a Reader."""
    reader = Reader()
    events: list[dict[str, Any]] = []
    while {
        sequence for sequence, message in reader.messages.items() if message["status"] == "FAILED"
    } != expected or events[-1]["kind"] != "SESSION":
        events.append(await next_event())
        reader.apply(events[-1])
    return events


def assert_failed_once(
    events: list[dict[str, Any]], sequences: set[int], base_revision: int
) -> None:
    """One FAILED event per message, none of anything else but SESSION events, and the
    expiries took the revisions right after `base_revision`, one each."""
    failures = [event for event in events if event["kind"] == "MESSAGE"]
    assert sorted(event["sequence"] for event in failures) == sorted(sequences), failures
    assert all(event["kind"] in ("MESSAGE", "SESSION") for event in events), events
    for event in failures:
        message = event["message"]
        assert (message["status"], message["failureReason"]) == ("FAILED", DEADLINE_PASSED)
        assert message["deadline"] is None
    revisions = sorted(event["revision"] for event in failures)
    assert revisions == list(range(base_revision + 1, base_revision + 1 + len(sequences)))


async def test_two_processes_expire_each_overdue_operation_once_and_both_subscribers_see_it(
    tmp_path: Path, redis: RedisServer
):
    async with (
        server_pair(tmp_path, "redis", redis, expiry_seconds=EXPIRY_RACE) as pair,
        apis(new_user(), pair.a, pair.b) as [on_a, on_b],
    ):
        # The same deadline for all, so that both processes find them overdue at once.
        deadline = in_future(3)
        sessions: list[tuple[str, int, set[int]]] = []
        for writer in (on_a, on_b, on_a):
            sid = (await create_session(writer))["id"]
            appended = await append_many(writer, sid, open_operations(deadline))
            sequences = {message["sequence"] for message in appended}
            sessions.append((sid, appended[0]["revision"], sequences))

        async def watch_on_a(sid: str, after: int, sequences: set[int]) -> list[Any]:
            variables = {"sessionId": sid, "afterRevision": after}
            async with subscribed(
                pair.a.ws_url, on_a.token, variables, query=SESSION_EVENTS
            ) as sub:
                events = await read_failures(sub.next_session_event, sequences)
                # Several more expiry rounds on both processes: nothing expires twice.
                await sub.nothing_within(20 * EXPIRY_RACE + QUIET)
                return events

        async def watch_on_b(sid: str, after: int, sequences: set[int]) -> list[Any]:
            async with sse(
                on_b.http, sid, token=on_b.token, path=SSE_SESSION_EVENTS, afterRevision=after
            ) as stream:
                events = await read_failures(stream.next_message, sequences)
                await nothing_more(stream)
                return events

        async with asyncio.timeout(WAIT + 3):
            watched = await asyncio.gather(
                *(watch(*session) for session in sessions for watch in (watch_on_a, watch_on_b))
            )

        for (sid, base, sequences), on_a_events, on_b_events in zip(
            sessions, watched[0::2], watched[1::2], strict=True
        ):
            assert_failed_once(on_a_events, sequences, base)
            assert_failed_once(on_b_events, sequences, base)
            revision, stored = await stored_messages(on_b, sid)
            assert revision == base + len(sequences)
            failed = {
                event["sequence"]: event["message"]
                for event in on_a_events
                if event["kind"] == "MESSAGE"
            }
            assert {
                sequence: {key: message[key] for key in stored[sequence]}
                for sequence, message in failed.items()
            } == stored


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_a_process_started_after_a_deadline_passed_expires_the_operation_as_it_starts(
    tmp_path: Path, kind: str
):
    async with database_url(kind, tmp_path) as url:
        # One expiry round at start, the next one minutes later.
        env = server_env(url, "memory://", expiry_seconds=NO_SECOND_ROUND)
        async with (
            uvicorn_processes(tmp_path, [env]) as [server],
            apis(new_user(), server) as [api],
        ):
            sid = (await create_session(api))["id"]
            appended = await append_many(api, sid, open_operations(in_future(2)))
            due = time.monotonic() + 2  # the deadline has passed by then
            base = appended[0]["revision"]
            sequences = {message["sequence"] for message in appended}
            server.terminate()  # down before the deadline, back after it
            await asyncio.sleep(max(0.0, due - time.monotonic()) + 0.2)
            server.spawn()
            await server.wait_healthy()

            variables = {"sessionId": sid, "afterRevision": base}
            async with subscribed(server.ws_url, api.token, variables, query=SESSION_EVENTS) as sub:
                events = await read_failures(sub.next_session_event, sequences)
                await sub.nothing_within(QUIET)
            assert_failed_once(events, sequences, base)
            revision, stored = await stored_messages(api, sid)
            assert revision == base + len(sequences)
            assert {message["status"] for message in stored.values()} == {"FAILED"}


# --- A server killed mid-stream -----------------------------------------------------------

KILL_AFTER = 40  # chunks acknowledged in a round before its kill
# How long after that the kill comes, one round each: varied, so that it lands at different
# points of a chunk's request (before its commit, or after it and before the answer).
KILL_PAUSES = (0.0, 0.002, 0.006)


def killed_chunk(index: int) -> str:
    return f"[{index}]{TRICKY[index % len(TRICKY)]}"


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_a_server_killed_mid_stream_keeps_every_acknowledged_chunk(tmp_path: Path, kind: str):
    async with database_url(kind, tmp_path) as url:
        env = server_env(url, "memory://")
        async with (
            uvicorn_processes(tmp_path, [env]) as [server],
            apis(new_user(), server) as [api],
        ):
            session = await create_session(api)
            sid = session["id"]
            reply = await streaming_reply(api, sid, "Answer: ")
            numbers = itertools.count()
            reader = Reader()
            variables = {"sessionId": sid, "afterRevision": session["revision"]}

            async def worker(acknowledged: list[str], reached: asyncio.Event) -> str:
                """Chunks as fast as they are acknowledged; the one the kill cut off."""
                while True:
                    text = killed_chunk(next(numbers))
                    try:
                        await chunk(api, sid, reply["id"], text)
                    except httpx.TransportError:
                        return text
                    acknowledged.append(text)
                    if len(acknowledged) == KILL_AFTER:
                        reached.set()

            async def follow(next_event: NextEvent) -> None:
                """Apply events until the connection drops."""
                with suppress(ConnectionClosed):
                    while True:
                        reader.apply(await next_event())

            kept, revision = "Answer: ", reply["revision"]
            for pause in KILL_PAUSES:
                acknowledged: list[str] = []
                reached = asyncio.Event()
                async with subscribed(
                    server.ws_url, api.token, variables, query=SESSION_EVENTS
                ) as sub:
                    following = asyncio.create_task(follow(sub.next_session_event))
                    writing = asyncio.create_task(worker(acknowledged, reached))
                    await asyncio.wait_for(reached.wait(), WAIT)
                    await asyncio.sleep(pause)
                    server.kill()  # a chunk's request is on its way, or about to be
                    cut_off = await asyncio.wait_for(writing, WAIT)
                    await asyncio.wait_for(following, WAIT)

                server.spawn()
                await server.wait_healthy()
                stored = await stored_message(api, sid, reply["sequence"])
                # Every acknowledged chunk, in order; the one cut off whole or not at all.
                expected = kept + "".join(acknowledged)
                assert stored["content"] in (expected, expected + cut_off), (
                    stored["content"][-60:],
                    cut_off,
                )
                revision += len(acknowledged) + (stored["content"] != expected)
                assert stored["revision"] == stored["sessionRevision"] == revision
                assert stored["status"] == "STREAMING"
                kept = stored["content"]
                # The subscriber resumes on the new process from the last event it applied.
                assert reader.last is not None
                variables = {"sessionId": sid, **cursor(reader.last)}

            # The last resume by SSE (Last-Event-ID), and the worker finishes the reply.
            rest = [killed_chunk(next(numbers)) for _ in range(5)]
            async with sse(
                api.http,
                sid,
                token=api.token,
                path=SSE_SESSION_EVENTS,
                last_event_id=reader.last_event_id,
            ) as stream:
                for index, text in enumerate(rest):
                    await chunk(api, sid, reply["id"], text, done=index == len(rest) - 1)
                await reader.read_until(stream.next_message, reply["sequence"], "COMPLETE")
            final = await stored_message(api, sid, reply["sequence"])
            assert final["content"] == kept + "".join(rest)
            assert reader.messages[reply["sequence"]]["content"] == final["content"]
            assert reader.messages[reply["sequence"]]["revision"] == final["revision"]


# --- Workers of every pace ----------------------------------------------------------------


def tokens(text: str) -> list[str]:
    """`text` as a model's tokens might cut it: one or two code points each, so that emoji,
    flags, ZWJ sequences and combining marks are split between tokens."""
    widths = itertools.cycle((1, 2, 1))
    pieces: list[str] = []
    start = 0
    while start < len(text):
        width = next(widths)
        pieces.append(text[start : start + width])
        start += width
    return pieces


PER_TOKEN = tokens("".join(TRICKY) * 12)  # hundreds of tiny chunks, sent as fast as acknowledged
EVERY_100_MS = 30  # chunks, 100 ms apart: longer than one deadline window
DEADLINE_WINDOW = 2.0  # seconds each chunk moves the deadline on by


@pytest.mark.parametrize("pace", ["per-token", "per-100ms"])
async def test_workers_sending_a_chunk_per_token_or_per_100_ms_reach_every_subscriber_exactly(
    api: Api, http: httpx.AsyncClient, server: RunningServer, pace: str
):
    if pace == "per-token":
        texts, pause, more = PER_TOKEN, 0.0, {}
    else:
        texts = [TRICKY[index % len(TRICKY)] for index in range(EVERY_100_MS)]
        pause = 0.1
        more = {"deadline": in_future(DEADLINE_WINDOW)}
    session = await create_session(api)
    sid = session["id"]
    variables = {"sessionId": sid, "afterRevision": session["revision"]}
    on_ws, on_sse = Reader(), Reader()
    async with (
        subscribed(server.ws_url, api.token, variables, query=SESSION_EVENTS) as sub,
        sse(
            http, sid, token=api.token, path=SSE_SESSION_EVENTS, afterRevision=session["revision"]
        ) as stream,
    ):
        reply = await streaming_reply(api, sid, **more)
        sequence = reply["sequence"]
        readers = [
            asyncio.create_task(on_ws.read_until(sub.next_session_event, sequence, "COMPLETE")),
            asyncio.create_task(on_sse.read_until(stream.next_message, sequence, "COMPLETE")),
        ]
        revision = reply["revision"]
        try:
            for index, text in enumerate(texts):
                if pause:
                    await asyncio.sleep(pause)
                    more = {"deadline": in_future(DEADLINE_WINDOW)}  # the worker is alive
                acknowledged = await chunk(
                    api, sid, reply["id"], text, done=index == len(texts) - 1, **more
                )
                assert acknowledged["revision"] == revision + 1
                revision = acknowledged["revision"]
            await asyncio.wait_for(asyncio.gather(*readers), WAIT)
        finally:
            for task in readers:
                task.cancel()

    expected = "".join(texts)
    stored = await stored_message(api, sid, sequence)
    assert (stored["content"], stored["status"], stored["deadline"]) == (expected, "COMPLETE", None)
    for reader in (on_ws, on_sse):
        rebuilt = reader.messages[sequence]
        assert (rebuilt["content"], rebuilt["revision"]) == (expected, revision)
        # At most one event per write: the reply's creation, then one per chunk (fewer
        # when news of several chunks came together).
        assert 1 <= reader.wholes + reader.deltas <= len(texts) + 1
