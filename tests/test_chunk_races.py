"""A chunk that waited behind another write to its session answers as if it had come after
that write, on PostgreSQL, with SINGLE_STATEMENT_CHUNK on and off.

The single statement (db.streaming.append_content_at_once) reads what had committed when it
began, before the session's row lock was its own: these tests queue a chunk behind a write
that changes its message, so that what it read is out of date once it runs. A transaction
of the test's own holds the session's row (FOR UPDATE) while the two queue up behind it, in
order; PostgreSQL hands the row to its waiters in that order.
"""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import select

from core.errors import BadUserInput, Conflict, NotFound
from core.identity import Identity
from db.engine import Database, create_engine
from db.messages import NewMessage, append
from db.migrate import migrate
from db.sessions import delete_session
from db.streaming import append_chunk
from db.tables import Row, messages, sessions
from tests.clients import WAIT
from tests.servers import database_url
from tests.stored import stored_reply

CALLER = Identity("chunk-races")
LIMIT = 10  # max_content_bytes
WAITING = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


@pytest.fixture(params=[True, False], ids=["single_statement_chunk", "transaction"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with database_url("postgres", tmp_path) as url:
        database = Database(create_engine(url), single_statement_chunk=request.param)
        await migrate(database.engine)
        try:
            yield database
        finally:
            await database.dispose()


async def chunk(
    database: Database,
    session_id: uuid.UUID,
    message_id: uuid.UUID,
    text: str,
    done: bool = False,
) -> Row:
    """The message as the chunk's write changed it."""
    chunked = await append_chunk(
        database,
        session_id=session_id,
        caller=CALLER,
        message_id=message_id,
        text=text,
        done=done,
        deadline=None,
        max_content_bytes=LIMIT,
    )
    return chunked.message


async def queued_in_order(
    database: Database, session_id: uuid.UUID, *writes: Awaitable[Any]
) -> list[Any]:
    """The results (or exceptions) of `writes`, each queued behind the session's row lock
    after the one before it, then let through."""
    dsn = database.engine.url.render_as_string(hide_password=False)
    dsn = dsn.replace("postgresql+asyncpg://", "postgresql://", 1)
    holder, watcher = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    tasks = []
    try:
        async with holder.transaction():
            await holder.execute("SELECT 1 FROM chat_session WHERE id = $1 FOR UPDATE", session_id)
            for count, write in enumerate(writes, start=1):
                tasks.append(asyncio.ensure_future(write))
                deadline = time.monotonic() + WAIT
                while await watcher.fetchval(WAITING) < count:
                    assert time.monotonic() < deadline, "a write did not queue for the lock"
                    await asyncio.sleep(0.01)
        return await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await holder.close()
        await watcher.close()


async def revision_and_content(database: Database, message_id: uuid.UUID) -> tuple[int, str]:
    async with database.engine.connect() as conn:
        found = await conn.execute(
            select(sessions.c.revision, messages.c.content)
            .join_from(messages, sessions, messages.c.session_id == sessions.c.id)
            .where(messages.c.id == message_id)
        )
        revision, content = found.one()
        return revision, content


@pytest.mark.parametrize(
    ("first", "refused"),
    [
        ({"text": "!", "done": True}, Conflict),  # the message is COMPLETE by then
        ({"text": "1234"}, BadUserInput),  # it has no room left for the second chunk
    ],
)
async def test_a_chunk_queued_behind_a_change_to_its_message_is_refused_and_changes_nothing(
    database: Database, first: dict[str, Any], refused: type[Exception]
) -> None:
    session_id, message_id = await stored_reply(database, CALLER)
    revision, _ = await revision_and_content(database, message_id)
    ahead, behind = await queued_in_order(
        database,
        session_id,
        chunk(database, session_id, message_id, **first),
        chunk(database, session_id, message_id, "late"),
    )
    assert isinstance(behind, refused), behind
    assert ahead["revision"] == revision + 1, ahead
    assert await revision_and_content(database, message_id) == (
        revision + 1,
        "so far" + first["text"],
    )


async def test_a_chunk_queued_behind_its_sessions_deletion_is_not_found(
    database: Database,
) -> None:
    session_id, message_id = await stored_reply(database, CALLER)
    deleted, behind = await queued_in_order(
        database,
        session_id,
        database.write(delete_session, session_id=session_id, caller=CALLER),
        chunk(database, session_id, message_id, "late"),
    )
    assert deleted is True
    assert isinstance(behind, NotFound), behind


async def test_a_chunk_queued_behind_a_write_to_another_message_is_taken(
    database: Database,
) -> None:
    session_id, message_id = await stored_reply(database, CALLER)
    revision, _ = await revision_and_content(database, message_id)
    other = NewMessage({"role": "USER", "content": "meanwhile"})
    written, taken = await queued_in_order(
        database,
        session_id,
        append(database, session_id=session_id, caller=CALLER, new=[other]),
        chunk(database, session_id, message_id, "late"),
    )
    assert written[0]["revision"] == revision + 1, written
    assert taken["revision"] == revision + 2, taken
    assert await revision_and_content(database, message_id) == (revision + 2, "so farlate")
