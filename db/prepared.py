"""The hot statements, compiled once by SQLAlchemy and run by asyncpg itself.

Per statement, SQLAlchemy's execution layer (its compiled-cache lookup, parameter and
result processing, the cursor adapter, the greenlet bridge) costs about 100 µs of CPU on
top of asyncpg's own work: a third of a one-row read, a tenth of an append through the
whole app (`python -m bench.cpu`). A `Prepared` statement is compiled once per dialect. On
PostgreSQL, on a connection in autocommit (`Database.read`, `Database.write_at_once`),
asyncpg runs the SQL that SQLAlchemy compiled, with SQLAlchemy's own bind and result
processors for the types, and its prepared-statement cache keeps the plan. In a
transaction, and on SQLite, SQLAlchemy runs the statement as usual: the SQLAlchemy adapter
begins its transaction on its first statement, so a statement run beside it could run
outside the transaction.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import Dialect, Insert, Select, Update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import SQLCompiler

from db.tables import Row

Processor = Callable[[Any], Any] | None
Statement = Select[Any] | Insert | Update  # DML with RETURNING


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A statement as SQLAlchemy compiled it for asyncpg, with what its values need."""

    sql: str
    parameters: tuple[tuple[str, Processor], ...]  # in $1, $2, … order
    literals: Mapping[str, Any]  # values the statement itself holds (`count - 1`, say)
    columns: tuple[tuple[str, Processor], ...]

    @classmethod
    def of(cls, statement: Statement, dialect: Dialect) -> "_Compiled":
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler) and compiled.positiontup is not None
        binds = {name: compiled.binds[name] for name in compiled.positiontup}
        return cls(
            sql=compiled.string,
            parameters=tuple(
                (name, bind.type.dialect_impl(dialect).bind_processor(dialect))
                for name, bind in binds.items()
            ),
            literals={name: bind.value for name, bind in binds.items() if not bind.required},
            columns=tuple(
                (str(column.key), column.type.dialect_impl(dialect).result_processor(dialect, None))
                for column in statement.exported_columns
            ),
        )

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        arguments = []
        for name, process in self.parameters:
            value = values[name] if name in values else self.literals[name]
            arguments.append(value if process is None else process(value))
        return arguments

    def row(self, record: asyncpg.Record) -> Row:
        return {
            name: value if process is None else process(value)
            for (name, process), value in zip(self.columns, record, strict=True)
        }


class Prepared:
    """A statement (a Select, or DML with RETURNING) whose rows every request reads."""

    def __init__(self, statement: Statement) -> None:
        self.statement = statement
        self._compiled: _Compiled | None = None  # for PostgreSQL, on first use

    async def rows(self, conn: AsyncConnection, parameters: Mapping[str, Any]) -> list[Row]:
        if conn.dialect.name != "postgresql" or not _autocommit(conn):
            return list((await conn.execute(self.statement, parameters)).mappings())
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = _Compiled.of(self.statement, conn.dialect)
        pooled = await conn.get_raw_connection()
        driver = pooled.driver_connection
        assert isinstance(driver, asyncpg.Connection)
        try:
            records = await driver.fetch(compiled.sql, *compiled.arguments(parameters))
        except asyncpg.IntegrityConstraintViolationError as error:
            # As SQLAlchemy raises it, so that callers handle one kind of refusal.
            raise IntegrityError(compiled.sql, parameters, error) from error
        except BaseException as error:
            if driver.is_closed():
                # What SQLAlchemy does on a disconnect: this connection, and every pooled
                # one opened before now (the server may have restarted), is replaced.
                conn.sync_engine.pool._invalidate(pooled, error)
            raise
        return [compiled.row(record) for record in records]

    async def first(self, conn: AsyncConnection, parameters: Mapping[str, Any]) -> Row | None:
        rows = await self.rows(conn, parameters)
        return rows[0] if rows else None


def _autocommit(conn: AsyncConnection) -> bool:
    options = conn.sync_connection.get_execution_options() if conn.sync_connection else {}
    return options.get("isolation_level") == "AUTOCOMMIT"
