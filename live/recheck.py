"""The safety net: a periodic revision check of every session someone is subscribed to.

Hints can be lost (a broker restart, a network fault) and the broker's own reconnect
resync covers only the outages it notices. Every `interval` seconds this reads the
revisions of all subscribed sessions in one query and wakes the subscribers of those that
moved (or closes those of sessions that are gone), so a lost hint delays an event by at
most about `interval`.
"""

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence

from core.metrics import RECHECK_ROUNDS
from live.hub import Hub

logger = logging.getLogger("chatstore.recheck")

ReadRevisions = Callable[[Sequence[uuid.UUID]], Awaitable[Mapping[uuid.UUID, int]]]


async def recheck_forever(hub: Hub, read_revisions: ReadRevisions, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        sessions = hub.sessions()
        if not sessions:
            continue
        try:
            hub.reconcile(sessions, await read_revisions(sessions))
        except Exception:
            RECHECK_ROUNDS.labels("error").inc()
            logger.exception("the periodic revision check failed; retrying next round")
        else:
            RECHECK_ROUNDS.labels("ok").inc()
