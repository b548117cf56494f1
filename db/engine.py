"""The async engine, its per-connection settings, and the unit of work."""

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from compat.sqlalchemy import close_pooled
from core.errors import Conflict
from core.metrics import DB_CONNECTIONS_IN_USE, DB_CONNECTIONS_WAITING
from db.prepared import PREPARED, TRACER, Leased, PreparedQuery, PreparedRead, PreparedWrite

T = TypeVar("T")
P = ParamSpec("P")

Query = Callable[Concatenate[AsyncConnection, P], Awaitable[T]]


def create_engine(
    url: str,
    *,
    pool_size: int = 20,
    max_overflow: int = 10,
    json_loads: Callable[[str], Any] | None = None,
) -> AsyncEngine:
    """An engine for `url`; SQLite connections get WAL, a busy timeout and foreign keys.

    On PostgreSQL each process keeps up to `pool_size` connections open and opens up to
    `max_overflow` more while busy: every worker process counts against the server's
    `max_connections`. JSON columns are read by `json_loads` (FAST_JSON), or by the
    standard library.
    """
    options: dict[str, Any] = {} if json_loads is None else {"json_deserializer": json_loads}
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **options)
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=max_overflow, **options)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Without this SQLite ignores ON DELETE CASCADE.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


async def to_the_end(work: Coroutine[Any, Any, T]) -> T:
    """`work`'s result; when the caller is cancelled (a sibling field failed), `work` still
    runs to its end. SQLAlchemy's async connection cancelled in the middle of its checkout
    or its close is never returned to the pool: the garbage collector terminates it later,
    with a warning. Reads only: a write whose request is cancelled (the process stops) is
    left to roll back, never to commit after its client was cut off."""
    task = asyncio.ensure_future(work)
    # What it raises once its caller has gone is nobody's to handle.
    task.add_done_callback(lambda done: done.cancelled() or done.exception())
    return await asyncio.shield(task)


class Database:
    """The engine plus the two ways the service talks to it: reads and atomic writes.

    Five speed layers are switched here (app.py passes the settings): `prepared_statements`
    lets db/prepared.py run the hot statements on asyncpg itself, and a read made of them
    alone (a PreparedRead) or a write of one (a PreparedWrite) on a pooled connection
    without SQLAlchemy's Connection around it; `single_statement_append` lets a
    one-message append on PostgreSQL be one statement, and `single_statement_chunk` a
    streamed chunk; `shared_reads` lets concurrent `read_shared` (or `read_shared_into`)
    calls under one key share one query, and `answers_from_writes` (with it) lets a write's
    own rows answer such a read (`offer_answer`). With a `tracer` (OpenTelemetry), the
    statements asyncpg runs itself get a span each.

    The pool's connections in use and the requests waiting for one are gauges
    (core/metrics.py).
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        prepared_statements: bool = True,
        single_statement_append: bool = True,
        single_statement_chunk: bool = True,
        shared_reads: bool = True,
        answers_from_writes: bool = True,
        tracer: Any = None,
    ) -> None:
        self.engine = engine
        self._autocommit = engine.execution_options(
            isolation_level="AUTOCOMMIT", **{PREPARED: prepared_statements, TRACER: tracer}
        )
        self._leases = prepared_statements and engine.dialect.name == "postgresql"
        self._tracer = tracer
        # Each checkout is checked in once (an invalidated connection too).
        event.listen(engine.sync_engine.pool, "checkout", _checked_out)
        event.listen(engine.sync_engine.pool, "checkin", _checked_in)
        # PostgreSQL takes writes inside WITH: a claim and an insert (or an update) can be
        # one statement.
        in_with = engine.dialect.name == "postgresql"
        self.writes_in_with = single_statement_append and in_with
        self.chunks_in_with = single_statement_chunk and in_with
        self.shared_reads = shared_reads
        # The callers waiting for each shared read in flight, by key.
        self._shared: dict[Hashable, list[asyncio.Future[Any]]] = {}
        self.answers_from_writes = answers_from_writes and shared_reads
        # The answers writes offered for a shared read, by key, for a turn of the loop.
        self._answers: dict[Hashable, _Answer[Any]] = {}

    async def read(self, query: Query[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`query(conn, ...)` on a connection of its own, in autocommit: no BEGIN and ROLLBACK
        round trips around its statements, each of which sees what had committed when it
        began (as in a READ COMMITTED transaction)."""
        if self._leases and isinstance(query, PreparedRead):
            return await self._leased(query, *args, **kwargs)
        return await to_the_end(self._read(query, *args, **kwargs))

    async def _read(self, query: Query[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self._leases and isinstance(query, PreparedRead):
            return await self._leased(query, *args, **kwargs)
        async with _Connected(self._autocommit.connect()) as conn:
            return await query(conn, *args, **kwargs)

    async def _leased(self, query: PreparedQuery[P, T], *args: Any, **kwargs: Any) -> T:
        """`query` on a connection checked out of the pool as it is: asyncpg, which runs its
        statements, is in autocommit outside a transaction of its own.

        It needs no task of its own to run to its end (`to_the_end`, which costs a task and
        a turn of the event loop per read; a write never has one): cancelled, it gives its
        connection back all the same. The checkout is the pool's own, which a cancellation
        leaves as it was; a statement cancelled mid-way is cancelled by asyncpg, whose next
        statement on that connection waits until PostgreSQL has acknowledged it.
        """
        DB_CONNECTIONS_WAITING.inc()
        try:
            pooled = await self.engine.raw_connection()
        finally:
            DB_CONNECTIONS_WAITING.dec()
        try:
            leased = Leased(pooled, self.engine.sync_engine.pool, self.engine.dialect, self._tracer)
            return await query(leased, *args, **kwargs)
        finally:
            await close_pooled(pooled)

    async def read_shared(
        self, key: Hashable, query: Query[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`read`, with concurrent calls under one key sharing a single query.

        The key must identify the answer, including what the read has to have seen: a
        caller joins only a read that started after what it waits for had committed.
        """
        waiter: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.read_shared_into(waiter, key, query, *args, **kwargs)
        return await waiter

    def read_shared_into(
        self,
        waiter: "asyncio.Future[T]",
        key: Hashable,
        query: Query[P, T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> None:
        """`read_shared`, answering `waiter`: one who waits already (on a future made for
        something else) can be given a read to wait for, without a turn of its own to start
        it. An answer a write offered under the key answers at once (`offer_answer`).
        Without `shared_reads`, a read of its own."""
        answer = self._answers.get(key)
        if answer is not None:
            waiter.set_result(answer())
            return
        if not self.shared_reads:
            key = object()
        waiters = self._shared.get(key)
        if waiters is None:
            waiters = self._shared[key] = []
            shared = asyncio.ensure_future(self._read(query, *args, **kwargs))
            shared.add_done_callback(partial(self._answer_shared, key, waiters))
        # Each caller waits on a future of its own, as asyncio.shield would have it: one
        # going away does not cancel the read of the others. One callback answers them all.
        waiters.append(waiter)

    def offer_answer(self, key: Hashable, answer: Callable[[], Any]) -> None:
        """Let `answer()`, built once on first use, be what `read_shared(key)` returns to
        the callers that ask before the event loop's next turn is over, and forget it then
        (`answers_from_writes`; the caller vouches that it is what the read would return).

        A write offers it before it announces its revision: a subscription waiting for
        news asks as the news arrives (`read_shared_into`), one busy sending when it next
        waits, and later ones read the database. A read of the same key already in flight
        is left to answer. Held for a turn, the answers of a busy process's writes stay
        few.
        """
        if not self.answers_from_writes or key in self._shared or key in self._answers:
            return
        self._answers[key] = _Answer(answer)
        # Run in the next turn, after the wake-ups scheduled in this one: it forgets the
        # answer in the turn after that.
        asyncio.get_running_loop().call_soon(self._forget_answer_soon, key)

    def _forget_answer_soon(self, key: Hashable) -> None:
        asyncio.get_running_loop().call_soon(self._answers.pop, key)

    def _answer_shared(
        self, key: Hashable, waiters: list[asyncio.Future[Any]], shared: asyncio.Future[Any]
    ) -> None:
        del self._shared[key]
        # Retrieved even when every caller went away, as asyncio.shield does: no "exception
        # never retrieved" in the log.
        error = None if shared.cancelled() else shared.exception()
        for waiter in waiters:
            if waiter.done():  # its caller went away
                continue
            if shared.cancelled():
                waiter.cancel()
            elif error is not None:
                waiter.set_exception(error)
            else:
                waiter.set_result(shared.result())

    async def write(self, query: Query[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`query(conn, ...)` in one transaction: all of it commits, or none of it.

        A unique-constraint violation means a concurrent write got there first (the same
        client id twice, say). The query runs once more: its own checks then see the
        committed row and answer as for a retry. A second violation is a CONFLICT.
        """
        try:
            return await self._transaction(query, *args, **kwargs)
        except IntegrityError:
            pass
        try:
            return await self._transaction(query, *args, **kwargs)
        except IntegrityError as exc:
            raise Conflict("A concurrent write conflicted with this one; retry it.") from exc

    async def write_at_once(
        self, query: Query[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T | None:
        """`query(conn, ...)`, a write of one statement, on an autocommit connection: atomic
        by itself, it saves a transaction's BEGIN and COMMIT round trips. None when a unique
        constraint refused it (a concurrent write got there first): `write` then tells why.
        """
        try:
            if self._leases and isinstance(query, PreparedWrite):
                return await self._leased(query, *args, **kwargs)
            async with _Connected(self._autocommit.connect()) as conn:
                return await query(conn, *args, **kwargs)
        except IntegrityError:
            return None

    async def _transaction(self, query: Query[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        async with _Connected(self.engine.begin()) as conn:
            return await query(conn, *args, **kwargs)

    async def is_reachable(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()


class _Answer(Generic[T]):
    """An answer made on first demand, then the same object for every caller."""

    __slots__ = ("_made", "_make")

    def __init__(self, make: Callable[[], T]) -> None:
        self._make: Callable[[], T] | None = make
        self._made: T | None = None

    def __call__(self) -> T:
        if self._make is not None:
            self._made, self._make = self._make(), None
        return self._made  # type: ignore[return-value]


def _checked_out(*_: Any) -> None:
    DB_CONNECTIONS_IN_USE.inc()


def _checked_in(*_: Any) -> None:
    DB_CONNECTIONS_IN_USE.dec()


class _Connected:
    """`engine.connect()` or `engine.begin()`, counted as waiting until the pool hands over a
    connection.

    A class, not a generator's context manager: every read of every request enters one, and
    a generator around `engine.begin()` changed how a write cancelled at the drain's end
    ends (it must leave without an answer to its client: tests/test_drain.py). Here the
    exception reaches SQLAlchemy's own context manager as in a plain `async with`.
    """

    __slots__ = ("_opening",)

    def __init__(self, opening: AbstractAsyncContextManager[AsyncConnection]) -> None:
        self._opening = opening

    async def __aenter__(self) -> AsyncConnection:
        DB_CONNECTIONS_WAITING.inc()
        try:
            return await self._opening.__aenter__()
        finally:
            DB_CONNECTIONS_WAITING.dec()

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        return await self._opening.__aexit__(*exc_info)
