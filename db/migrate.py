"""The database schema's migrations (Alembic): upgraded as the server starts, and by
`chatstore migrate` (upgrade, downgrade, current)."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any constant will do: it only has to be the same for every server process.
MIGRATION_LOCK_KEY = 7_201_431_962


@dataclass(frozen=True)
class Revisions:
    """Where a database stands: its revision (None before the first migration) and the
    newest one this code has."""

    current: str | None
    head: str | None


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade to `revision` (the newest by default). Several processes starting at once on
    PostgreSQL take turns."""
    async with engine.begin() as conn:
        await conn.run_sync(_locked, lambda config: command.upgrade(config, revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Downgrade to `revision` ("base": before the first migration, no tables)."""
    async with engine.begin() as conn:
        await conn.run_sync(_locked, lambda config: command.downgrade(config, revision))


async def revisions(engine: AsyncEngine) -> Revisions:
    async with engine.connect() as conn:
        return await conn.run_sync(_revisions)


def _locked(connection: Connection, run: Callable[[Config], None]) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    run(_config(connection))


def _revisions(connection: Connection) -> Revisions:
    current = MigrationContext.configure(connection).get_current_revision()
    head = ScriptDirectory.from_config(_config(connection)).get_current_head()
    return Revisions(current=current, head=head)


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config
