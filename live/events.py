"""Change hints: published after each commit, delivered to this process's subscriptions.

A hint only says "session S changed at revision r" (or "was deleted"). It is never the
source of truth: a subscriber that gets one re-reads the messages from the database, so a
hint that is late, repeated or lost (then caught up by the next hint, by the resync after
a broker reconnect, or by the periodic recheck) costs no data.
"""

import json
import logging
import uuid

from live.broker import Broker
from live.hub import Hub, Subscription

logger = logging.getLogger("chatstore.events")


class Events:
    def __init__(self, url: str, *, heartbeat_seconds: float) -> None:
        self.hub = Hub()
        self.broker = Broker(
            url,
            on_message=self._receive,
            on_reconnect=self.hub.resync_all,
            heartbeat_seconds=heartbeat_seconds,
        )

    @property
    def connected(self) -> bool:
        return self.broker.connected

    async def start(self) -> None:
        await self.broker.start()

    async def stop(self) -> None:
        await self.broker.stop()

    async def publish_revision(self, session_id: uuid.UUID, revision: int) -> None:
        # This process's subscribers hear it at once; other processes through the broker.
        self.hub.offer(session_id, revision)
        await self.broker.publish(json.dumps({"session": session_id.hex, "revision": revision}))

    async def publish_deleted(self, session_id: uuid.UUID) -> None:
        self.hub.delete(session_id)
        await self.broker.publish(json.dumps({"session": session_id.hex, "deleted": True}))

    def watched(self, session_id: uuid.UUID) -> bool:
        """True when a subscription of this process follows the session."""
        return self.hub.watched(session_id)

    def subscribe(self, session_id: uuid.UUID) -> Subscription:
        """The session's news from the moment this context is entered until it exits."""
        # The hub's own context: a subscription holds it for its life, and one wrapped in
        # another would hold both.
        return self.hub.subscribe(session_id)

    def _receive(self, message: str) -> None:
        try:
            hint = json.loads(message)
            session_id = uuid.UUID(hint["session"])
            if hint.get("deleted"):
                self.hub.delete(session_id)
            else:
                self.hub.offer(session_id, int(hint["revision"]))
        except (ValueError, KeyError, TypeError):
            logger.warning("ignored a malformed hint: %.200r", message)
