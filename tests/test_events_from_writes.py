"""EVENTS_FROM_WRITES: a chunk's own rows answer the re-read of the subscribers it wakes.

The events built from the write are those the database read would have returned at its
commit, for a subscriber at the revision before: compared here event for event on
SQLite and PostgreSQL, by each path a chunk can take, and frame for frame between a server
with the layer on and one with it off following the same session. A subscriber at any other
cursor reads the database, and still gets every change once.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from core.identity import Identity
from db.engine import Database, create_engine
from db.migrate import migrate
from db.streaming import append_chunk, fail
from resolvers.subscriptions import session_events_after, session_events_of, shared_read_key
from tests.clients import (
    SESSION_EVENTS,
    TRANSPORT_WS,
    WAIT,
    Api,
    Reader,
    chunk,
    counted_statements,
    create_session,
    load_session,
    new_user,
    streaming_reply,
    subscribed,
    token_for,
    until_waiting,
)
from tests.processes import RedisServer
from tests.servers import SPEED_LAYERS_ON, database_url, running_server
from tests.stored import stored_reply

CALLER = Identity("events-from-writes")
# Text a JavaScript client and a Python one count differently, and an empty chunk.
CHUNKS = ["Hel", "lo, 😀", "", " wörld ", "\U0001d518\U0001d52b", "🇵🇹"]


@pytest.fixture(
    params=[
        ("postgres", True, True),
        ("postgres", True, False),
        ("postgres", False, True),
        ("postgres", False, False),
        ("sqlite", False, False),
    ],
    ids=lambda p: (
        f"{p[0]}-{'one statement' if p[1] else 'transaction'}"
        f"-{'prepared' if p[2] else 'sqlalchemy'}"
    ),
)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    kind, single_statement, prepared = request.param
    async with database_url(kind, tmp_path) as url:
        database = Database(
            create_engine(url),
            single_statement_chunk=single_statement,
            prepared_statements=prepared,
        )
        await migrate(database.engine)
        try:
            yield database
        finally:
            await database.dispose()


@pytest.mark.speed_layer
async def test_a_chunks_events_from_its_rows_are_those_the_database_read_returns(
    database: Database,
):
    session_id, message_id = await stored_reply(database, CALLER)
    for index, text in enumerate(CHUNKS):
        chunked = await append_chunk(
            database,
            session_id=session_id,
            caller=CALLER,
            message_id=message_id,
            text=text,
            done=index == len(CHUNKS) - 1,
            deadline=None,
            max_content_bytes=1000,
            with_session=True,
        )
        assert chunked.session is not None
        revision = chunked.session["revision"]
        assert chunked.message["revision"] == revision
        from_write = session_events_of(chunked.session, [chunked.message], revision - 1, None)
        read = await database.read(
            session_events_after, session_id=session_id, revision=revision - 1, sequence=None
        )
        assert from_write == read
        assert [event.kind.value for event in read] == ["APPENDED", "SESSION"]


@pytest.mark.speed_layer
async def test_an_answer_offered_for_a_shared_read_is_taken_within_the_next_turn_only(
    database: Database,
):
    session_id, message_id = await stored_reply(database, CALLER)
    await database.write(
        fail, session_id=session_id, caller=CALLER, message_id=message_id, reason="stopped"
    )
    built: list[int] = []

    def answer() -> list[str]:
        built.append(1)
        return ["offered"]

    key = shared_read_key(session_events_after, session_id, 0, None, 1)
    reads: dict[str, Any] = {"session_id": session_id, "revision": 0, "sequence": None}
    database.offer_answer(key, answer)
    await asyncio.sleep(0)  # the turn the news wakes its subscribers in
    first = await database.read_shared(key, session_events_after, **reads)
    second = await database.read_shared(key, session_events_after, **reads)
    assert first == ["offered"] and first is second and built == [1]
    other_news = shared_read_key(session_events_after, session_id, 0, None, 2)
    other = await database.read_shared(other_news, session_events_after, **reads)
    assert [event.kind.value for event in other] == ["MESSAGE", "SESSION"]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    forgotten = await database.read_shared(key, session_events_after, **reads)
    assert forgotten == other and built == [1]


async def frames(ws: ClientConnection, count: int) -> list[str]:
    """The next `count` frames of a subscription, as the server wrote them."""
    out: list[str] = []
    while len(out) < count:
        frame = await asyncio.wait_for(ws.recv(), WAIT)
        assert isinstance(frame, str)
        if json.loads(frame)["type"] == "ping":
            await ws.send(json.dumps({"type": "pong"}))
            continue
        out.append(frame)
    return out


@pytest.mark.speed_layer
@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_the_frames_of_each_chunk_are_the_same_with_the_layer_on_and_off(
    kind: str, tmp_path: Path, redis: RedisServer
):
    """Two servers on one database and one broker, one with EVENTS_FROM_WRITES and one
    without, each with a subscriber of the same session; the chunks go to the first. Each
    chunk's frames are the same text on both, and the first read no messages to send them."""
    async with database_url(kind, tmp_path) as url:
        shared = {**SPEED_LAYERS_ON, "database_url": url, "broadcast_url": redis.url}
        async with (
            running_server(**shared) as on,
            running_server(**{**shared, "events_from_writes": False}) as off,
        ):
            token = token_for(new_user())
            async with httpx.AsyncClient(base_url=on.http_url, timeout=WAIT) as http:
                api = Api(http, token)
                session_id = (await create_session(api))["id"]
                reply = await streaming_reply(api, session_id)
                # From before the reply: each replays it first, once subscribed.
                variables = {"sessionId": session_id, "afterRevision": reply["revision"] - 1}
                async with (
                    subscribed(on.ws_url, token, variables, TRANSPORT_WS, SESSION_EVENTS) as ours,
                    subscribed(
                        off.ws_url, token, variables, TRANSPORT_WS, SESSION_EVENTS
                    ) as theirs,
                ):
                    assert await frames(ours.ws, 2) == await frames(theirs.ws, 2)
                    for index, text in enumerate(CHUNKS):
                        # Its task back from sending, to be woken by the chunk's write.
                        await until_waiting(on, session_id, 1)
                        with counted_statements(on) as statements:
                            await chunk(
                                api, session_id, reply["id"], text, done=index == len(CHUNKS) - 1
                            )
                            sent = await frames(ours.ws, 2)
                        assert sent == await frames(theirs.ws, 2)
                        assert '"APPENDED"' in sent[0] and '"SESSION"' in sent[1], sent
                        # The subscriber's events came from the write: no read of messages.
                        assert not [s for s in statements if "chat_message.revision >" in s]


@pytest.mark.parametrize("layer", ["on", "off"])
@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_subscribers_behind_and_caught_up_get_every_chunk_once(
    kind: str, layer: str, tmp_path: Path
):
    """Chunks sent one after another and at once, to a subscriber that follows from the start
    and to one that starts behind (its cursor before the reply): each rebuilds the message
    the database holds, every event once and in order."""
    async with database_url(kind, tmp_path) as url:
        settings = {**SPEED_LAYERS_ON, "database_url": url, "events_from_writes": layer == "on"}
        async with running_server(**settings) as server:
            token = token_for(new_user())
            async with httpx.AsyncClient(base_url=server.http_url, timeout=WAIT) as http:
                api = Api(http, token)
                session_id = (await create_session(api))["id"]
                reply = await streaming_reply(api, session_id, "so far")
                behind = {"sessionId": session_id, "afterRevision": reply["revision"] - 1}
                async with subscribed(
                    server.ws_url, token, behind, TRANSPORT_WS, SESSION_EVENTS
                ) as first:
                    following = Reader()
                    await following.read_through(first.next_session_event, reply["revision"])
                    for text in CHUNKS:
                        await chunk(api, session_id, reply["id"], text)
                    async with subscribed(
                        server.ws_url, token, behind, TRANSPORT_WS, SESSION_EVENTS
                    ) as late:
                        await asyncio.gather(
                            *(chunk(api, session_id, reply["id"], f"<{n}>") for n in range(20))
                        )
                        last = await chunk(api, session_id, reply["id"], "!", done=True)
                        stored = await load_session(api, session_id)
                        for subscriber, reader in ((first, following), (late, Reader())):
                            await reader.read_through(
                                subscriber.next_session_event, last["revision"]
                            )
                            [message] = reader.messages.values()
                            assert message["content"] == stored["messages"][0]["content"]
                            assert message["status"] == "COMPLETE"
                    assert following.deltas >= len(CHUNKS)
