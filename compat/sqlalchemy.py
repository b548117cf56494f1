"""SQLAlchemy's names that its public API does not export, reached from here alone.

tests/test_compat.py names the installed SQLAlchemy version when one of them changes.
"""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection


def invalidate_pool(conn: AsyncConnection, pooled: Any, error: BaseException) -> None:
    """What SQLAlchemy does itself when a connection is lost: `pooled` is replaced, and so is
    every pooled connection opened before now, since the server may have restarted."""
    conn.sync_engine.pool._invalidate(pooled, error)
