"""Operations that cannot stay open forever: deadlines enforced by every process.

Every `interval` seconds each process marks FAILED the open messages whose deadline has
passed (`expire` does it, one write and one revision per message) and announces each change
like any other write, so subscribers see it at once. Several processes may look at the same
time: a message expires once, in the first write that finds it still open. A process that was
down catches up when it starts, since its first round runs right away.
"""

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence

from core.metrics import EXPIRED_OPERATIONS

logger = logging.getLogger("chatstore.expiry")

ExpireOverdue = Callable[[], Awaitable[Sequence[tuple[uuid.UUID, int]]]]
Publish = Callable[[uuid.UUID, int], Awaitable[None]]


async def expire_forever(expire: ExpireOverdue, publish: Publish, interval: float) -> None:
    while True:
        try:
            expired = await expire()
            EXPIRED_OPERATIONS.inc(len(expired))
            for session_id, revision in expired:
                await publish(session_id, revision)
        except Exception:
            logger.exception("expiring overdue operations failed; retrying next round")
        await asyncio.sleep(interval)
