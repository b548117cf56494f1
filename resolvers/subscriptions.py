"""Subscriptions: a replay from the database past the client's cursor, then live, with no
gap and no duplicate.

Both subscriptions share one loop (`replay_then_live`): register for the session's news
first, then read, so that a write landing in between is both read and announced, and the
cursor (the revision and sequence of the last event sent) drops the second copy. News only
prompts a read of everything past the cursor, so news that arrives late, twice, coalesced or
not at all (caught up by a resync or the periodic recheck) loses nothing.
"""

import asyncio
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Hashable
from functools import partial
from typing import Any, Protocol, TypeVar

import strawberry

from compat.prometheus_client import CounterChild, HistogramChild
from core.errors import BadUserInput, NotFound
from core.metrics import CATCH_UP_EVENTS, EVENTS_DELIVERED
from db.engine import Database
from db.messages import list_messages_after, list_tool_messages_after
from db.prepared import Connection, PreparedRead
from db.sessions import SESSION_NOT_FOUND, get_revision, get_session_of_anyone
from db.tables import Row
from live.hub import Change
from resolvers.arguments import parse_id
from schema.context import Info
from schema.events import SessionEvent
from schema.types import ChatMessage


class Positioned(Protocol):
    """An event's place in the session's history, (revision, sequence): a sequence of None
    stands after every message of its revision."""

    @property
    def revision(self) -> int: ...

    @property
    def sequence(self) -> int | None: ...


Event = TypeVar("Event", bound=Positioned)

# Bound once, their checks made once (compat/prometheus_client.py): a catch-up read is
# counted per subscriber.
CATCH_UP = {
    reason: HistogramChild(CATCH_UP_EVENTS.labels(reason))
    for reason in ("replay", "news", "resync")
}
ReadPast = Callable[..., Awaitable[list[Event]]]


@PreparedRead
async def tool_messages_after(
    conn: Connection, *, session_id: uuid.UUID, revision: int, sequence: int | None
) -> list[ChatMessage]:
    """The TOOL messages past the cursor, as the objects the subscription yields.

    Built inside the read so that subscribers sharing a read share these objects too: one
    ChatMessage per row, not one per subscriber, and so one execution of each event
    (speed/fanout.py).
    """
    rows = await list_tool_messages_after(
        conn, session_id=session_id, revision=revision, sequence=sequence
    )
    return [ChatMessage.from_row(row) for row in rows]


@PreparedRead
async def session_events_after(
    conn: Connection, *, session_id: uuid.UUID, revision: int, sequence: int | None
) -> list[SessionEvent]:
    """Every change past the cursor, in commit order: the messages changed since, each in
    its current state, and the session's own fields when they changed since.

    The session row is read first: the messages read after it may be newer, never older,
    so the session's event (placed after the messages of its revision) never moves the
    cursor past a message not yet sent.
    """
    session = await get_session_of_anyone(conn, session_id=session_id)
    rows = await list_messages_after(
        conn, session_id=session_id, revision=revision, sequence=sequence
    )
    return session_events_of(session, rows, revision, sequence)


def session_events_of(
    session: Row | None, rows: list[Row], revision: int, sequence: int | None
) -> list[SessionEvent]:
    """The events of `session_events_after` for the session's row and its messages' rows
    past the cursor (revision, sequence), in (revision, sequence) order."""
    events = [
        SessionEvent.of_delta(row)
        if _had_it_before(row, revision, sequence)
        else SessionEvent.of_message(ChatMessage.from_row(row))
        for row in rows
    ]
    if session is not None and _past_cursor(session["revision"], None, revision, sequence):
        changed = SessionEvent.of_session(session)
        at = next((i for i, e in enumerate(events) if e.revision > changed.revision), len(events))
        events.insert(at, changed)
    return events


def shared_read_key(
    read: "ReadPast[Any]", session_id: uuid.UUID, revision: int, sequence: int | None, news: int
) -> Hashable:
    """The key of the read past the cursor (revision, sequence) that subscribers given the
    same news share (Database.read_shared_into), and under which a write offers its answer.
    The session goes by its number: a UUID hashes and compares in Python."""
    return (read, session_id.int, revision, sequence, news)


def answer_from_write(
    database: Database, session_id: uuid.UUID, session: Row, rows: list[Row]
) -> None:
    """Let the rows a write returned answer the shared read of the subscribers it wakes
    (EVENTS_FROM_WRITES): those of sessionEvents whose cursor is at the revision before,
    (revision - 1, no sequence), and whose news is the write's revision, as it is after they
    took every event of the write before.

    `session` is the session's row as the write left it, `rows` every message the write
    changed. Revisions of a session are claimed one at a time under its row's lock and a
    message changes only at a revision its write claimed: so at the write's commit, past
    that cursor the database held exactly these rows, and `session_events_after` would
    have read them. The events are built by `session_events_of` from the same rows. A
    subscriber at another cursor or with other news reads the database as ever.
    """
    revision = session["revision"]
    database.offer_answer(
        shared_read_key(session_events_after, session_id, revision - 1, None, revision),
        partial(session_events_of, session, rows, revision - 1, None),
    )


def _had_it_before(row: Row, revision: int, sequence: int | None) -> bool:
    """True when the message's last change appended a chunk and a subscriber at the cursor
    (revision, sequence) has the message as it was just before: it needs the chunk alone."""
    before = row["previous_revision"]
    if row["last_chunk"] is None or before is None:
        return False
    return not _past_cursor(before, row["sequence"], revision, sequence)


def _past_cursor(
    revision: int, sequence: int | None, cursor_revision: int, cursor_sequence: int | None
) -> bool:
    """True when the position (revision, sequence) stands after the cursor's. A null
    sequence stands after every message of its revision, in a position as in a cursor."""
    return (revision, _INF if sequence is None else sequence) > (
        cursor_revision,
        _INF if cursor_sequence is None else cursor_sequence,
    )


_INF = float("inf")


# Bound once, likewise: the events each subscription field yields.
DELIVERED = {
    field: CounterChild(EVENTS_DELIVERED.labels(field))
    for field in ("toolMessageUpdated", "sessionEvents")
}


async def tool_message_updated(
    info: Info,
    session_id: strawberry.ID,
    after_revision: int | None = None,
    after_sequence: int | None = None,
) -> AsyncGenerator[ChatMessage, None]:
    """TOOL messages as they are created or change; completes when the session is deleted."""
    return replay_then_live(
        info,
        session_id,
        after_revision,
        after_sequence,
        tool_messages_after,
        counted_as="toolMessageUpdated",
    )


async def session_events(
    info: Info,
    session_id: strawberry.ID,
    after_revision: int | None = None,
    after_sequence: int | None = None,
) -> AsyncGenerator[SessionEvent, None]:
    """Every committed change of the session; a DELETED event, then the end, when it is
    deleted."""
    return replay_then_live(
        info,
        session_id,
        after_revision,
        after_sequence,
        session_events_after,
        deleted=SessionEvent.deleted,
        counted_as="sessionEvents",
    )


async def replay_then_live(
    info: Info,
    session_id: strawberry.ID,
    after_revision: int | None,
    after_sequence: int | None,
    read: "ReadPast[Event]",
    *,
    deleted: Callable[[uuid.UUID, int], Event] | None = None,
    counted_as: str,
) -> AsyncGenerator[Event, None]:
    """What `read` finds past the cursor, first from `after_revision` (if given), then each
    time the session changes; when the session is deleted, `deleted(session, revision)` (if
    given) and the end. Each event is counted as one of the subscription field
    `counted_as`."""
    delivered = DELIVERED[counted_as]
    key = parse_id(session_id, "sessionId")
    if after_sequence is not None and after_revision is None:
        raise BadUserInput("afterSequence needs afterRevision.")
    caller = info.context.caller
    database = info.context.database
    with info.context.events.subscribe(key) as mailbox:
        current = await database.read(get_revision, session_id=key, caller=caller)
        if current is None:
            raise NotFound(SESSION_NOT_FOUND)
        revision = current if after_revision is None else after_revision
        sequence = after_sequence

        async def read_past_cursor(reason: str) -> list[Event]:
            """Everything past the cursor."""
            found = await database.read(read, session_id=key, revision=revision, sequence=sequence)
            CATCH_UP[reason].observe(len(found))
            return found

        change: Change | None = None

        def read_news(arrived: Change, found: "asyncio.Future[list[Event] | None]") -> None:
            """Answers `found` with everything past the cursor when `arrived` is news past
            it, else None. Run by the mailbox as the news arrives: the read starts at once,
            and this subscriber wakes once, to what it found. Subscribers given the same
            news with the same cursor (every live tab of a session, usually) share one
            read."""
            nonlocal change
            change = arrived
            if not (arrived.deleted or arrived.resync) and _past_cursor(
                arrived.revision, None, revision, sequence
            ):
                # answer_from_write offers a write's events under the same key.
                database.read_shared_into(
                    found,
                    shared_read_key(read, key, revision, sequence, arrived.revision),
                    read,
                    session_id=key,
                    revision=revision,
                    sequence=sequence,
                )
            else:
                found.set_result(None)

        events = [] if after_revision is None else await read_past_cursor("replay")
        while True:
            for event in events:
                revision, sequence = event.revision, event.sequence
                delivered.inc()
                yield event
            found = await mailbox.answer_next_change(read_news)
            assert change is not None
            if change.deleted:
                if deleted is not None:
                    delivered.inc()
                    yield deleted(key, revision)
                return
            if change.resync:
                events = await read_past_cursor("resync")
            elif found is None:
                events = []
            else:
                CATCH_UP["news"].observe(len(found))
                events = found
