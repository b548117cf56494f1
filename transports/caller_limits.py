"""Limits per caller, held in this process: requests per second, and WebSocket connections.

A caller is a verified user, keyed by their `sub`; a request without a verified identity is
keyed by its client address. Services (`role: "service"`) are the backend's own workers,
one identity for every user's tool results: they are not limited here.

The request rate is a token bucket per caller: `burst` requests at once, refilled at
`per_second`. The `limits` library was the first choice, but it has no token bucket (a rate
with a burst would take two moving windows, up to `burst + 10 * per_second` timestamps per
caller), and its in-memory storages sweep every key on a timer every 10 ms. A bucket here is
two floats, and a full one (an idle caller) is dropped.
"""

import math
import time
from collections import Counter
from collections.abc import Callable

from core.identity import Identity

RATE_LIMITED = "RATE_LIMITED"
TOO_MANY_CONNECTIONS = "TOO_MANY_CONNECTIONS"
TOO_MANY_SUBSCRIPTIONS = "TOO_MANY_SUBSCRIPTIONS"

# graphql-transport-ws close code of a connection over the caller's limit: 4429 is the
# protocol's own "too many" code, and clients take it as final (no instant reconnect loop).
TOO_MANY = 4429


def caller_key(identity: Identity | None, client_host: str | None) -> str | None:
    """Whom a request counts against: the user, or the client address without an identity;
    None for a service, which is not limited."""
    if identity is None:
        return f"address:{client_host or 'unknown'}"
    if identity.is_service:
        return None
    return f"user:{identity.user_id}"


class RequestRate:
    """A token bucket per caller. `per_second` 0 turns the limit off."""

    def __init__(
        self, per_second: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_second = per_second
        self.burst = burst
        self._clock = clock
        # caller -> (tokens left, when they were counted)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._prune_above = 1024

    def wait(self, caller: str | None) -> float:
        """Take one request from the caller's bucket: 0 when it may run, else the seconds
        until it could (the bucket is then left as it was)."""
        if caller is None or self.per_second <= 0:
            return 0.0
        now = self._clock()
        tokens, counted_at = self._buckets.get(caller, (self.burst, now))
        tokens = min(self.burst, tokens + (now - counted_at) * self.per_second)
        if tokens < 1:
            return (1 - tokens) / self.per_second
        self._buckets[caller] = (tokens - 1, now)
        if len(self._buckets) > self._prune_above:
            self._prune(now)
        return 0.0

    def _prune(self, now: float) -> None:
        """Forget the callers whose bucket has filled up again: the same as no bucket."""
        self._buckets = {
            caller: (tokens, at)
            for caller, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self.per_second < self.burst
        }
        self._prune_above = max(1024, 2 * len(self._buckets))


def retry_after(seconds: float) -> str:
    """A Retry-After value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))


class SocketCounts:
    """Open WebSocket connections per caller, at most `most` each."""

    def __init__(self, most: int) -> None:
        self.most = most
        self._open: Counter[str] = Counter()

    def open(self, caller: str | None) -> bool:
        """Count one more connection for the caller, or False when it has `most` open."""
        if caller is None:
            return True
        if self._open[caller] >= self.most:
            return False
        self._open[caller] += 1
        return True

    def close(self, caller: str | None) -> None:
        if caller is None:
            return
        self._open[caller] -= 1
        if self._open[caller] <= 0:
            del self._open[caller]
