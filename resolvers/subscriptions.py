"""`toolMessageUpdated`: a replay from the database, then live, with no gap and no duplicate."""

from collections.abc import AsyncGenerator

import strawberry

from core.errors import BadUserInput, NotFound
from db.messages import list_tool_messages_after
from db.sessions import SESSION_NOT_FOUND, get_revision
from db.tables import Row
from resolvers.arguments import parse_id
from schema.context import Info
from schema.types import ChatMessage


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

        async def read_past_cursor(news: int | None = None) -> list[Row]:
            """TOOL messages past the cursor. Subscribers woken by the same news with the
            same cursor (every live tab of a session, usually) share one query."""
            if news is None:
                return await database.read(
                    list_tool_messages_after, session_id=key, revision=revision, sequence=sequence
                )
            return await database.read_shared(
                (key, revision, sequence, news),
                list_tool_messages_after,
                session_id=key,
                revision=revision,
                sequence=sequence,
            )

        rows = [] if after_revision is None else await read_past_cursor()
        while True:
            for row in rows:
                revision, sequence = row["revision"], row["sequence"]
                yield ChatMessage.from_row(row)
            change = await mailbox.next_change()
            if change.deleted:
                return
            if change.resync:
                rows = await read_past_cursor()
            elif change.revision > revision:
                rows = await read_past_cursor(news=change.revision)
            else:
                rows = []
