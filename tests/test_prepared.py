"""Hot statements run by asyncpg itself (db.prepared) answer as SQLAlchemy would, stay inside
transactions, and leave the pool healthy when PostgreSQL drops its connections."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.event import listen, remove
from sqlalchemy.exc import IntegrityError

from core.identity import Identity
from db.engine import Database, create_engine
from db.messages import NewMessage, append, append_message_at_once, list_tool_messages_after
from db.migrate import migrate
from db.prepared import Connection, Prepared, PreparedRead, PreparedWrite
from db.sessions import claim_revision, create_session, get_revision, get_session
from db.streaming import append_content_at_once
from db.tables import Row, messages
from tests.servers import database_url, postgres_or_skip

CALLER = Identity("prepared-user")


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    async with database_url("postgres", tmp_path) as url:
        database = Database(create_engine(url))
        await migrate(database.engine)
        try:
            yield database
        finally:
            await database.dispose()


@contextmanager
def observed_by_sqlalchemy(database: Database, record: Callable[[str], None]) -> Iterator[None]:
    def before_cursor_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        record(statement)

    listen(database.engine.sync_engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield
    finally:
        remove(database.engine.sync_engine, "before_cursor_execute", before_cursor_execute)


@contextmanager
def sqlalchemy_connections(database: Database) -> Iterator[list[object]]:
    """The connections SQLAlchemy's engine hands out meanwhile (its Connection objects)."""
    connections: list[object] = []

    def engine_connect(connection: object) -> None:
        connections.append(connection)

    listen(database.engine.sync_engine, "engine_connect", engine_connect)
    try:
        yield connections
    finally:
        remove(database.engine.sync_engine, "engine_connect", engine_connect)


async def new_session(database: Database) -> uuid.UUID:
    row = await database.write(create_session, caller=CALLER, session_id=None, title="t")
    return row["id"]


async def test_rows_read_through_asyncpg_equal_sqlalchemys_in_values_and_types(
    database: Database,
) -> None:
    key = await new_session(database)
    new = [
        NewMessage(
            {"role": "TOOL", "tool_call_id": "c1", "content": "done", "tool_calls": [{"a": 1}]}
        ),
        NewMessage(
            {"role": "TOOL", "tool_call_id": "c2", "content": None, "function_call": {"f": "x"}}
        ),
    ]
    await append(database, session_id=key, caller=CALLER, new=new)
    # Database.read is autocommit (asyncpg runs them); in a transaction SQLAlchemy does.
    through_sqlalchemy: list[str] = []
    with observed_by_sqlalchemy(database, through_sqlalchemy.append):
        fast_session = await database.read(get_session, session_id=key, caller=CALLER)
        fast_tools = await database.read(list_tool_messages_after, session_id=key, revision=0)
    assert through_sqlalchemy == []
    async with database.engine.begin() as conn:
        slow_session = await get_session(conn, session_id=key, caller=CALLER)
        slow_tools = await list_tool_messages_after(conn, session_id=key, revision=0)
    assert fast_session is not None and slow_session is not None
    for fast, slow in [(fast_session, slow_session), *zip(fast_tools, slow_tools, strict=True)]:
        assert dict(fast) == dict(slow)
        assert {k: type(v) for k, v in fast.items()} == {k: type(v) for k, v in slow.items()}
    assert [row["tool_call_id"] for row in fast_tools] == ["c1", "c2"]
    assert isinstance(fast_session["id"], uuid.UUID)
    assert fast_session["created_at"].tzinfo is not None


async def test_a_prepared_read_runs_on_a_pooled_connection_and_gives_it_back(
    database: Database,
) -> None:
    """Database.read runs a PreparedRead without SQLAlchemy's Connection around it."""
    assert isinstance(get_session, PreparedRead) and isinstance(get_revision, PreparedRead)
    key = await new_session(database)
    with sqlalchemy_connections(database) as connections:
        row = await database.read(get_session, session_id=key, caller=CALLER)
        revision = await database.read(get_revision, session_id=key, caller=CALLER)
        shared = await database.read_shared(
            ("revision", key), get_revision, session_id=key, caller=CALLER
        )
        unknown = await database.read(get_session, session_id=uuid.uuid4(), caller=CALLER)
    assert connections == []
    assert row is not None and row["id"] == key and row["title"] == "t"
    assert revision == shared == 0 and unknown is None
    assert database.engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_prepared_write_runs_on_a_pooled_connection_commits_and_gives_it_back(
    database: Database,
) -> None:
    """Database.write_at_once runs a PreparedWrite without SQLAlchemy's Connection around
    it; a unique constraint's refusal is None, with nothing written."""
    assert isinstance(append_message_at_once, PreparedWrite)
    assert isinstance(append_content_at_once, PreparedWrite)
    key = await new_session(database)
    with sqlalchemy_connections(database) as connections:
        [stored] = await append(
            database, session_id=key, caller=CALLER, new=[NewMessage({"role": "USER"})]
        )
        again = Prepared(
            insert(messages).values({**stored, "sequence": 5}).returning(messages.c.id)
        )

        @PreparedWrite
        async def insert_again(conn: Connection) -> Row | None:
            return await again.first(conn, {})

        refused = await database.write_at_once(insert_again)
    assert connections == [] and refused is None
    assert database.engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert await database.read(get_revision, session_id=key, caller=CALLER) == 1
    async with database.engine.connect() as conn:
        ids = await conn.execute(select(messages.c.id).where(messages.c.session_id == key))
        assert list(ids.scalars()) == [stored["id"]]


async def test_prepared_reads_beyond_the_pool_wait_for_a_connection_and_return_them_all(
    tmp_path: Path,
) -> None:
    async with database_url("postgres", tmp_path) as url:
        database = Database(create_engine(url, pool_size=1, max_overflow=1))
        try:
            await migrate(database.engine)
            key = await new_session(database)
            rows = await asyncio.gather(
                *[database.read(get_session, session_id=key, caller=CALLER) for _ in range(30)]
            )
            pool: Any = database.engine.sync_engine.pool
            # The connection opened past the pool's size was closed on its return.
            assert (pool.checkedout(), pool.checkedin(), pool.overflow()) == (0, 1, 0)
        finally:
            await database.dispose()
    assert all(row is not None and row["id"] == key for row in rows)


async def test_a_prepared_statement_in_a_transaction_rolls_back_with_it(
    database: Database,
) -> None:
    key = await new_session(database)
    async with database.engine.connect() as conn:
        transaction = await conn.begin()
        claim = await claim_revision(conn, session_id=key, caller=CALLER, new_messages=1)
        assert claim["revision"] == 1
        await transaction.rollback()
    assert await database.read(get_revision, session_id=key, caller=CALLER) == 0


async def test_a_unique_violation_is_sqlalchemys_integrity_error_and_writes_nothing(
    database: Database,
) -> None:
    key = await new_session(database)
    [stored] = await append(
        database, session_id=key, caller=CALLER, new=[NewMessage({"role": "USER"})]
    )
    again = Prepared(insert(messages).values({**stored, "sequence": 5}).returning(messages.c.id))
    with pytest.raises(IntegrityError):
        async with database.engine.execution_options(isolation_level="AUTOCOMMIT").connect() as c:
            await again.rows(c, {})
    assert await database.read(get_revision, session_id=key, caller=CALLER) == 1


async def test_after_postgresql_drops_every_connection_one_read_fails_at_most(
    database: Database,
) -> None:
    """As SQLAlchemy does on a disconnect, the first lost connection replaces the pool's
    older ones: the reads after it do not each find another dead connection."""
    key = await new_session(database)
    # Several pooled connections, all idle afterwards.
    await asyncio.gather(
        *[database.read(get_session, session_id=key, caller=CALLER) for _ in range(5)]
    )
    admin = await postgres_or_skip()
    try:
        name = database.engine.url.database
        terminated = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1",
            name,
        )
        assert terminated >= 1
        while await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", name
        ):
            pass  # pg_terminate_backend only signals
    finally:
        await admin.close()
    failures = 0
    for _ in range(10):
        try:
            row = await database.read(get_session, session_id=key, caller=CALLER)
        except Exception:
            failures += 1
        else:
            assert row is not None and row["id"] == key
    assert failures <= 1
