"""SQLAlchemy's names that its public API does not export, reached from here alone.

When one of them is gone, the import of this module says so with the installed SQLAlchemy
version; tests/test_compat.py names it when one of them changes.
"""

from importlib.metadata import version
from typing import Any

from sqlalchemy.pool import Pool, PoolProxiedConnection

try:
    from sqlalchemy.util import greenlet_spawn
except ImportError as error:  # pragma: no cover - a SQLAlchemy that moved it
    raise ImportError(
        f"SQLAlchemy {version('sqlalchemy')} moved a name compat/sqlalchemy.py reaches: {error}"
    ) from error


def invalidate_pool(pool: Pool, pooled: Any, error: BaseException) -> None:
    """What SQLAlchemy does itself when a connection is lost: `pooled` is replaced, and so is
    every pooled connection opened before now, since the server may have restarted."""
    pool._invalidate(pooled, error)


async def close_pooled(pooled: PoolProxiedConnection) -> None:
    """Returns `pooled` (from AsyncEngine.raw_connection) to its pool, as AsyncConnection's
    close does: in a greenlet, since the pool may close it (one opened past its size), which
    awaits the driver."""
    await greenlet_spawn(pooled.close)
