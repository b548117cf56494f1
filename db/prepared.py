"""The hot statements, compiled once by SQLAlchemy and run by asyncpg itself.

Per statement, SQLAlchemy's execution layer (its compiled-cache lookup, parameter and
result processing, the cursor adapter, the greenlet bridge) costs CPU on top of asyncpg's
own work, a large share of a one-row read (`python -m bench.cpu` measures it). On
PostgreSQL, on a connection in autocommit (`Database.read`, `Database.write_at_once`) whose
engine has the PREPARED execution option (the PREPARED_STATEMENTS setting), a `Prepared`
statement is compiled once, on first use, and asyncpg runs the SQL that SQLAlchemy
compiled, with SQLAlchemy's own bind and result processors for the types; asyncpg's
prepared-statement cache keeps the plan. In a transaction, and on SQLite, SQLAlchemy runs
the statement as usual: the SQLAlchemy adapter begins its transaction on its first
statement, so a statement run beside it could run outside the transaction.

SQLAlchemy's events do not see these statements, so neither does its OpenTelemetry
instrumentation: with a tracer in the TRACER execution option, each gets a span here.
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from functools import update_wrapper
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

import asyncpg
from opentelemetry.trace import SpanKind
from sqlalchemy import Dialect, Insert, Select, Update, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import Pool, PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler

from compat.sqlalchemy import invalidate_pool
from db.tables import Row

T = TypeVar("T")
P = ParamSpec("P")

# The execution option, set by Database on its autocommit engine, that lets asyncpg run the
# statements itself.
PREPARED = "chatstore_prepared"
# The execution option holding an OpenTelemetry tracer for those statements (None: no spans).
TRACER = "chatstore_tracer"

Processor = Callable[[Any], Any] | None
Statement = Select[Any] | Insert | Update  # DML with RETURNING


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A statement as SQLAlchemy compiled it for asyncpg, with what its values need."""

    sql: str
    parameters: tuple[tuple[str, Processor], ...]  # in $1, $2, … order
    literals: Mapping[str, Any]  # values the statement itself holds (`count - 1`, say)
    # The column names in order, and the columns that have a processor.
    names: tuple[str, ...]
    processed: tuple[tuple[str, Callable[[Any], Any]], ...]

    @classmethod
    def of(cls, statement: Statement, dialect: Dialect) -> "_Compiled":
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler) and compiled.positiontup is not None
        binds = {name: compiled.binds[name] for name in compiled.positiontup}
        columns = tuple(
            (str(column.key), column.type.dialect_impl(dialect).result_processor(dialect, None))
            for column in statement.exported_columns
        )
        return cls(
            sql=compiled.string,
            parameters=tuple(
                (name, bind.type.dialect_impl(dialect).bind_processor(dialect))
                for name, bind in binds.items()
            ),
            literals={name: bind.value for name, bind in binds.items() if not bind.required},
            names=tuple(name for name, _ in columns),
            processed=tuple((name, process) for name, process in columns if process is not None),
        )

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        arguments = []
        for name, process in self.parameters:
            value = values[name] if name in values else self.literals[name]
            arguments.append(value if process is None else process(value))
        return arguments

    def row(self, record: asyncpg.Record) -> Row:
        # Built whole from the record, then the columns with a processor (times, say)
        # replaced: the rows of a long history are most of its read's database work.
        row = dict(zip(self.names, record, strict=True))
        for name, process in self.processed:
            row[name] = process(row[name])
        return row


class Leased:
    """A connection of the engine's pool as asyncpg runs a Prepared statement on it: checked
    out by Database.read for a PreparedRead, without SQLAlchemy's Connection around it, or
    the one under an autocommit AsyncConnection."""

    __slots__ = ("dialect", "pool", "pooled", "tracer")

    def __init__(
        self, pooled: PoolProxiedConnection, pool: Pool, dialect: Dialect, tracer: Any
    ) -> None:
        self.pooled = pooled
        self.pool = pool
        self.dialect = dialect
        self.tracer = tracer  # an OpenTelemetry tracer, or None: no spans


# What a query made of Prepared statements alone runs on.
Connection = AsyncConnection | Leased


class PreparedQuery(Generic[P, T]):
    """A query made of Prepared statements alone, which Database may run on a Leased
    connection: a PreparedRead or a PreparedWrite. Called with an AsyncConnection (a
    transaction's), it runs as any query does."""

    def __init__(self, query: Callable[Concatenate[Connection, P], Awaitable[T]]) -> None:
        self.query = query
        update_wrapper(self, query)

    def __call__(self, conn: Connection, /, *args: P.args, **kwargs: P.kwargs) -> Awaitable[T]:
        return self.query(conn, *args, **kwargs)


class PreparedRead(PreparedQuery[P, T]):
    """A read made of Prepared statements alone (decorate it with `@PreparedRead`).

    On PostgreSQL with PREPARED_STATEMENTS, Database.read runs it on a Leased connection:
    SQLAlchemy's Connection around a one-statement read (its checkout, the isolation level
    set and reset, its events) costs more CPU than asyncpg's run of the statement.
    """


class PreparedWrite(PreparedQuery[P, T]):
    """A write of one Prepared statement, atomic by itself (decorate it with
    `@PreparedWrite`). On PostgreSQL with PREPARED_STATEMENTS, Database.write_at_once runs
    it on a Leased connection, where asyncpg commits each statement, as Database.read runs
    a PreparedRead: without SQLAlchemy's Connection around it."""


class Prepared:
    """A statement (a Select, or DML with RETURNING) whose rows every request reads."""

    def __init__(self, statement: Statement) -> None:
        self.statement = statement
        self._compiled: _Compiled | None = None  # for PostgreSQL, on first use

    async def rows(self, conn: Connection, parameters: Mapping[str, Any]) -> list[Row]:
        if isinstance(conn, Leased):
            return await self._fetch(conn, parameters)
        options = conn.sync_connection.get_execution_options() if conn.sync_connection else {}
        if conn.dialect.name != "postgresql" or not _prepared(options):
            return list((await conn.execute(self.statement, parameters)).mappings())
        # The checked-out connection as it is, without the greenlet that get_raw_connection
        # spawns to read it; one that was invalidated is revalidated there.
        sync = conn.sync_connection
        pooled = (
            sync.connection
            if sync is not None and not sync.invalidated
            else await conn.get_raw_connection()
        )
        leased = Leased(pooled, conn.sync_engine.pool, conn.dialect, options.get(TRACER))
        return await self._fetch(leased, parameters)

    async def _fetch(self, conn: Leased, parameters: Mapping[str, Any]) -> list[Row]:
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = _Compiled.of(self.statement, conn.dialect)
        driver = conn.pooled.driver_connection
        assert isinstance(driver, asyncpg.Connection)
        try:
            with _span(conn.tracer, compiled.sql):
                records = await driver.fetch(compiled.sql, *compiled.arguments(parameters))
        except asyncpg.IntegrityConstraintViolationError as error:
            # As SQLAlchemy raises it, so that callers handle one kind of refusal.
            raise IntegrityError(compiled.sql, parameters, error) from error
        except BaseException as error:
            if driver.is_closed():
                invalidate_pool(conn.pool, conn.pooled, error)
            raise
        return [compiled.row(record) for record in records]

    async def first(self, conn: Connection, parameters: Mapping[str, Any]) -> Row | None:
        rows = await self.rows(conn, parameters)
        return rows[0] if rows else None


def _prepared(options: Mapping[str, Any]) -> bool:
    """True for the execution options of an autocommit connection of an engine that runs
    prepared statements."""
    return options.get("isolation_level") == "AUTOCOMMIT" and bool(options.get(PREPARED))


# What a statement runs in without a tracer: one for all, as nullcontext is reusable.
_NO_SPAN: AbstractContextManager[None] = nullcontext()


def _span(tracer: Any, sql: str) -> AbstractContextManager[Any]:
    """A client span for `sql` (named by its first word, as OpenTelemetry's SQLAlchemy
    instrumentation names its own), or nothing without a tracer."""
    if tracer is None:
        return _NO_SPAN
    return tracer.start_as_current_span(
        sql.split(None, 1)[0],
        kind=SpanKind.CLIENT,
        attributes={"db.system": "postgresql", "db.statement": sql},
    )


@contextmanager
def observed_statements(engine: AsyncEngine, record: Callable[[str], None]) -> Iterator[None]:
    """Calls `record(sql)` for each statement `engine` runs inside the block (for tests and
    benchmarks that count them): SQLAlchemy's through its `before_cursor_execute` event,
    the ones asyncpg runs itself through a query logger on each connection checked out
    meanwhile."""

    def before_cursor_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # asyncpg calls its query loggers a turn of the event loop after each statement:
        # these are recorded a turn later too, so that the record keeps the order they ran in.
        asyncio.get_running_loop().call_soon(record, statement)

    def logged(query: Any) -> None:
        record(query.query)

    def checkout(dbapi_connection: Any, *_: Any) -> None:
        if isinstance(dbapi_connection.driver_connection, asyncpg.Connection):
            dbapi_connection.driver_connection.add_query_logger(logged)

    def checkin(dbapi_connection: Any, *_: Any) -> None:
        if isinstance(dbapi_connection.driver_connection, asyncpg.Connection):
            dbapi_connection.driver_connection.remove_query_logger(logged)

    sync_engine = engine.sync_engine
    listeners: list[tuple[Any, str, Callable[..., None]]] = [
        (sync_engine, "before_cursor_execute", before_cursor_execute),
        (sync_engine.pool, "checkout", checkout),
        (sync_engine.pool, "checkin", checkin),
    ]
    for target, name, listener in listeners:
        event.listen(target, name, listener)
    try:
        yield
    finally:
        for target, name, listener in listeners:
            event.remove(target, name, listener)
