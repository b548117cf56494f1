"""One supervised connection to the broadcast backend, through the `broadcaster` package.

broadcaster 0.3.1 is unmaintained, and when its Redis or LISTEN connection drops its
listener dies without a word: subscriptions go silent. So this process subscribes to one
channel for all hints, checks that the channel is alive by sending itself a ping every
`heartbeat` seconds, and on any failure (an error, or pings no longer coming back) drops
the connection, reconnects with backoff, and reports the reconnect so that subscribers
re-read what they may have missed. It also tells every other process, since the hints it
failed to publish while it was away are missing there too. broadcaster's PostgreSQL backend
publishes on its LISTEN connection, which cannot run two commands at once, so publishes
there take turns.
"""

import asyncio
import logging
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack, nullcontext, suppress
from typing import Any
from urllib.parse import urlparse

from broadcaster import Broadcast

from core.metrics import BROKER_RECONNECTS, BROKER_RESYNCS

logger = logging.getLogger("chatstore.broker")

CHANNEL = "chatstore_hints"
# Control messages on the channel, each followed by the id of the process that sent it.
PING_PREFIX = "ping:"
RESYNC_PREFIX = "resync:"
MIN_BACKOFF, MAX_BACKOFF = 0.1, 5.0


class BrokerSilent(Exception):
    """The channel stopped delivering: our own pings no longer come back."""


class Broker:
    def __init__(
        self,
        url: str,
        *,
        on_message: Callable[[str], None],
        on_reconnect: Callable[[], None],
        heartbeat_seconds: float,
        timeout_seconds: float = 2.0,
    ) -> None:
        self.url = url
        self.connected = False
        self._on_message = on_message
        self._on_reconnect = on_reconnect
        self._heartbeat = heartbeat_seconds
        self._timeout = timeout_seconds
        process = uuid.uuid4().hex
        self._ping = f"{PING_PREFIX}{process}:"
        self._resync = f"{RESYNC_PREFIX}{process}"
        self._broadcast: Broadcast | None = None
        self._publishing: Any = (
            asyncio.Lock() if urlparse(url).scheme in ("postgres", "postgresql") else nullcontext()
        )
        self._first_connection = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect in the background; wait a moment for the first connection, not longer."""
        self._supervisor = asyncio.create_task(self._supervise(), name="broker-supervisor")
        with suppress(TimeoutError):
            await asyncio.wait_for(self._first_connection.wait(), self._timeout)
        if not self.connected:
            logger.warning("broadcast backend %s is not reachable yet; retrying", self._safe_url)

    async def stop(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with suppress(asyncio.CancelledError):
                await self._supervisor

    async def publish(self, message: str) -> None:
        """Best effort: a hint that is not delivered is caught up by resync and recheck."""
        broadcast = self._broadcast
        if broadcast is None:
            return
        try:
            await self._publish(broadcast, message)
        except Exception as exc:
            logger.warning("could not publish to the broadcast backend: %r", exc)

    async def _publish(self, broadcast: Broadcast, message: str) -> None:
        async with self._publishing:
            await asyncio.wait_for(broadcast.publish(CHANNEL, message), self._timeout)

    @property
    def _safe_url(self) -> str:
        parsed = urlparse(self.url)
        return (
            f"{parsed.scheme}://{parsed.hostname or ''}{f':{parsed.port}' if parsed.port else ''}"
        )

    async def _supervise(self) -> None:
        delay = MIN_BACKOFF
        reconnecting = False
        while True:
            broadcast = Broadcast(self.url)
            # Holds the subscription once it is entered, so that _close leaves it.
            subscription = AsyncExitStack()
            try:
                await asyncio.wait_for(broadcast.connect(), self._timeout)
                subscriber = await asyncio.wait_for(
                    subscription.enter_async_context(broadcast.subscribe(CHANNEL)), self._timeout
                )
                self._broadcast, self.connected = broadcast, True
                self._first_connection.set()
                if reconnecting:
                    logger.warning("broadcast backend %s is back", self._safe_url)
                    BROKER_RECONNECTS.inc()
                    BROKER_RESYNCS.labels("self").inc()
                    self._on_reconnect()
                    await self._publish(broadcast, self._resync)
                reconnecting, delay = True, MIN_BACKOFF
                await self._relay(broadcast, subscriber)
            except Exception as exc:
                if self.connected:
                    logger.warning("lost the broadcast backend %s: %r", self._safe_url, exc)
                reconnecting = True
            finally:
                self._broadcast, self.connected = None, False
                await self._close(broadcast, subscription)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)

    async def _relay(self, broadcast: Broadcast, subscriber: Any) -> None:
        """Pass on the hints `subscriber` receives until the channel fails or falls silent.
        (`subscriber` is what broadcast.subscribe() yields: broadcaster exports no name for it.)"""
        # Pings are numbered and counted, not timed: a process too busy to read its pong
        # for a while is also too busy to send the next ping, so it is not taken for dead.
        sent = answered = 0

        async def listen() -> None:
            nonlocal answered
            async for event in subscriber:
                if event is None:
                    break
                message = event.message
                if message.startswith(self._ping):
                    answered = int(message.removeprefix(self._ping))
                elif message.startswith(RESYNC_PREFIX):
                    if message != self._resync:
                        BROKER_RESYNCS.labels("peer").inc()
                        self._on_reconnect()
                elif not message.startswith(PING_PREFIX):
                    self._on_message(message)
            raise BrokerSilent("the subscription ended")

        async def heartbeat() -> None:
            nonlocal sent
            while True:
                await asyncio.sleep(self._heartbeat)
                if sent - answered >= 3:
                    raise BrokerSilent("three pings in a row did not come back")
                sent += 1
                await self._publish(broadcast, f"{self._ping}{sent}")

        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(listen())
            tasks.create_task(heartbeat())

    async def _close(self, broadcast: Broadcast, subscription: AsyncExitStack) -> None:
        """Let go of a connection that may be dead: errors and hangs are expected here."""
        with suppress(Exception):
            await asyncio.wait_for(subscription.aclose(), self._timeout)
        with suppress(Exception):
            await asyncio.wait_for(broadcast.disconnect(), self._timeout)
