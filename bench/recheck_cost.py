"""What the live-update safety net costs: one round of the periodic revision check.

    .venv/bin/python bench/recheck_cost.py [--sessions 1000 10000] [--rounds 30]

Creates sessions in a throwaway PostgreSQL database (TEST_POSTGRES_URL's server), then
times db.sessions.revisions_by_id over all of them (what live/recheck.py runs every
RECHECK_SECONDS per process) against the floor: the same rows through raw asyncpg.
"""

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db.engine import Database, create_engine
from db.migrate import migrate
from db.sessions import revisions_by_id

ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


async def timed(rounds: int, work: Callable[[], Awaitable[object]]) -> float:
    """The median of `rounds` runs of `work`, in milliseconds."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        await work()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


async def raw_revisions(raw: asyncpg.Connection, ids: list[uuid.UUID]) -> None:
    """The floor: the same chunked query, straight through asyncpg."""
    for start in range(0, len(ids), 1000):
        await raw.fetch(
            "SELECT id, revision FROM chat_session WHERE id IN (SELECT unnest($1::uuid[]))",
            ids[start : start + 1000],
        )


INSERT = "INSERT INTO chat_session VALUES ($1, 'bench', NULL, $2, $2, '{}', '{}', '{}', 0, 0, 0, 0)"


async def main(counts: list[int], rounds: int) -> None:
    admin = await asyncpg.connect(ADMIN)
    name = f"chatstore_bench_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN.rsplit("/", 1)[0]
    try:
        url = f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
        database = Database(create_engine(url))
        await migrate(database.engine)
        raw = await asyncpg.connect(f"{base}/{name}")
        print(f"{'sessions':>9} {'recheck ms':>11} {'floor ms':>9} {'ratio':>6} {'µs/session':>11}")
        created: list[uuid.UUID] = []
        for count in counts:
            now = datetime.now(UTC)
            fresh = [uuid.uuid4() for _ in range(count - len(created))]
            await raw.executemany(INSERT, [(session_id, now) for session_id in fresh])
            created += fresh
            ids = created[:count]
            ours = await timed(rounds, partial(database.read, revisions_by_id, session_ids=ids))
            floor = await timed(rounds, partial(raw_revisions, raw, ids))
            print(
                f"{count:>9} {ours:>11.2f} {floor:>9.2f} {ours / floor:>6.1f}"
                f" {ours * 1000 / count:>11.2f}"
            )
        await raw.close()
        await database.dispose()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--rounds", type=int, default=30)
    arguments = parser.parse_args()
    asyncio.run(main(sorted(arguments.sessions), arguments.rounds))
