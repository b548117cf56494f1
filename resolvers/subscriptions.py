"""`toolMessageUpdated`: a replay from the database, then live, with no gap and no duplicate."""

import uuid
from collections.abc import AsyncGenerator

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection

from core.errors import BadUserInput, NotFound
from db.messages import list_tool_messages_after
from db.sessions import SESSION_NOT_FOUND, get_revision
from resolvers.arguments import parse_id
from schema.context import Info
from schema.types import ChatMessage


async def tool_messages_after(
    conn: AsyncConnection, *, session_id: uuid.UUID, revision: int, sequence: int | None
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


async def tool_message_updated(
    info: Info,
    session_id: strawberry.ID,
    after_revision: int | None = None,
    after_sequence: int | None = None,
) -> AsyncGenerator[ChatMessage, None]:
    """Register for the session's news first, then read: a write that lands in between is
    both read and announced, and the cursor (the revision and sequence of the last message
    sent) drops the second copy.

    News only prompts a read of every TOOL message changed after the cursor, so news that
    arrives late, twice, coalesced or not at all (caught up by a resync) loses nothing.
    """
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

        async def read_past_cursor(news: int | None = None) -> list[ChatMessage]:
            """TOOL messages past the cursor. Subscribers woken by the same news with the
            same cursor (every live tab of a session, usually) share one query."""
            if news is None:
                return await database.read(
                    tool_messages_after, session_id=key, revision=revision, sequence=sequence
                )
            return await database.read_shared(
                (key, revision, sequence, news),
                tool_messages_after,
                session_id=key,
                revision=revision,
                sequence=sequence,
            )

        messages = [] if after_revision is None else await read_past_cursor()
        while True:
            for message in messages:
                revision, sequence = message.revision, message.sequence
                yield message
            change = await mailbox.next_change()
            if change.deleted:
                return
            if change.resync:
                messages = await read_past_cursor()
            elif change.revision > revision:
                messages = await read_past_cursor(news=change.revision)
            else:
                messages = []
