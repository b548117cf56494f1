"""Change hints between server processes, over the `broadcaster` package.

A hint only says "session S changed at revision r" (or "was deleted"). It is never the
source of truth: a subscriber that receives one re-reads the messages from the database,
so a hint that is late, repeated or lost (then caught up by the next one) costs no data.
"""

import json
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from broadcaster import Broadcast
from broadcaster._base import Subscriber

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Hint:
    """What changed in a session: a revision was committed, or the session was deleted."""

    revision: int = 0
    deleted: bool = False


def channel_for(session_id: uuid.UUID) -> str:
    return f"chat_session_{session_id.hex}"


class Events:
    """Publishes hints after commits and hands subscribers the hints of one session."""

    def __init__(self, url: str) -> None:
        self._broadcast = Broadcast(url)
        self.connected = False

    async def connect(self) -> None:
        await self._broadcast.connect()
        self.connected = True

    async def disconnect(self) -> None:
        self.connected = False
        await self._broadcast.disconnect()

    async def publish_revision(self, session_id: uuid.UUID, revision: int) -> None:
        await self._publish(session_id, Hint(revision=revision))

    async def publish_deleted(self, session_id: uuid.UUID) -> None:
        await self._publish(session_id, Hint(deleted=True))

    async def _publish(self, session_id: uuid.UUID, hint: Hint) -> None:
        """Best effort: the write is committed already, and readers catch up by revision."""
        message = json.dumps({"revision": hint.revision, "deleted": hint.deleted})
        try:
            await self._broadcast.publish(channel_for(session_id), message)
        except Exception:
            logger.exception("could not publish a hint for session %s", session_id)

    @asynccontextmanager
    async def subscribe(self, session_id: uuid.UUID) -> AsyncIterator[AsyncIterator[Hint]]:
        """Hints of one session, from the moment this context is entered until it exits."""
        async with self._broadcast.subscribe(channel_for(session_id)) as subscriber:
            yield _hints(subscriber)


async def _hints(subscriber: Subscriber) -> AsyncIterator[Hint]:
    async for event in subscriber:  # type: ignore[union-attr]
        if event is None:  # broadcaster's end-of-subscription marker
            return
        payload = json.loads(event.message)
        yield Hint(revision=int(payload["revision"]), deleted=bool(payload["deleted"]))
