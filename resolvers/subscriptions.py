"""`toolMessageUpdated`: a replay from the database, then live, with no gap and no duplicate."""

from collections.abc import AsyncGenerator

import strawberry

from core.errors import NotFound
from db.messages import list_tool_messages_after
from db.sessions import SESSION_NOT_FOUND, get_session
from resolvers.arguments import parse_id
from schema.context import Info
from schema.types import ChatMessage


async def tool_message_updated(
    info: Info, session_id: strawberry.ID, after_revision: int | None = None
) -> AsyncGenerator[ChatMessage, None]:
    """Subscribe first, then read: a write that lands in between is both read and hinted,
    and `sent` (the highest revision sent) drops the second copy.

    Every hint is answered from the database with all TOOL messages changed after `sent`,
    so a hint that arrives late, twice or not at all (caught up by the next) loses nothing.
    """
    key = parse_id(session_id, "sessionId")
    caller = info.context.caller
    database = info.context.database
    async with info.context.events.subscribe(key) as hints:
        session = await database.read(get_session, session_id=key, caller=caller)
        if session is None:
            raise NotFound(SESSION_NOT_FOUND)
        sent = session["revision"] if after_revision is None else after_revision
        pending = after_revision is not None
        while True:
            if pending:
                for row in await database.read(
                    list_tool_messages_after, session_id=key, revision=sent
                ):
                    sent = row["revision"]
                    yield ChatMessage.from_row(row)
            hint = await anext(hints, None)
            if hint is None or hint.deleted:
                return
            pending = hint.revision > sent
