"""Leaving without losing anything: what a process does between SIGTERM and its exit.

uvicorn, on SIGTERM, stops accepting connections and waits for the open ones to close;
WebSockets and SSE streams do not close by themselves, and its lifespan shutdown comes only
after they have. So the app takes SIGTERM first (`drain_on`), and drains:

1. `/readyz` answers 503 and every new request 503 (`SERVICE_UNAVAILABLE`, nothing run), so
   a load balancer and clients go to another process;
2. WebSockets close with 1012 (Service Restart), a code graphql-ws clients retry, and SSE
   streams end without `complete`, so an EventSource reconnects; both resume by cursor
   on another process;
3. requests in flight (a mutation: whole and acknowledged) get up to DRAIN_SECONDS to finish;

then it hands the signal to uvicorn's own handler, which stops accepting and exits.
"""

import asyncio
import json
import logging
import signal
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager, suppress
from types import FrameType
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketState

from transports.observed import refused_early

logger = logging.getLogger("chatstore.drain")

# RFC 6455 / IANA: "Service Restart": graphql-ws's client retries it (it retries 1000,
# 1001, 1005, 1006, 1012, 1013, 1014 and the 4xxx codes but 4400-4499's terminal ones).
SERVICE_RESTART = 1012
RESTART_REASON = "Service Restart: reconnect and resume"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
# Paths that answer while draining: the probes.
PROBES = ("/healthz", "/readyz")


class Draining(Exception):
    """The process is draining: end the stream (without `complete`) so the client reconnects."""


class Drain:
    """One process's drain: whether it has begun, the requests in flight, the open sockets."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._begun: asyncio.Future[None] | None = None
        self._in_flight = 0
        self._idle: asyncio.Event | None = None
        self._sockets: set[WebSocket] = set()

    @property
    def started(self) -> bool:
        return self._begun is not None and self._begun.done()

    def _signal(self) -> asyncio.Future[None]:
        if self._begun is None:
            self._begun = asyncio.get_running_loop().create_future()
        return self._begun

    async def run(self) -> None:
        """Drain: refuse new work, end the streams, close the sockets and wait for the
        requests in flight, all within `seconds` (a client that stops reading can hold up
        its socket's close, not the exit)."""
        begun = self._signal()
        if begun.done():
            return
        begun.set_result(None)
        logger.warning(
            "Draining: %d request(s) in flight, %d WebSocket(s) to close",
            self._in_flight,
            len(self._sockets),
        )
        try:
            async with asyncio.timeout(self.seconds):
                await asyncio.gather(*(self._close(socket) for socket in list(self._sockets)))
                if self._in_flight:
                    self._idle = asyncio.Event()
                    await self._idle.wait()
        except TimeoutError:
            logger.warning(
                "Drained for %ss: %d request(s) still in flight", self.seconds, self._in_flight
            )

    def request(self) -> "_InFlight":
        """Counts a request in flight for as long as the block runs."""
        return _InFlight(self)

    def _request_started(self) -> None:
        self._in_flight += 1

    def _request_ended(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0 and self._idle is not None:
            self._idle.set()

    @contextmanager
    def socket(self, websocket: WebSocket) -> Iterator[None]:
        """Closes `websocket` with 1012 when draining begins while the block runs."""
        self._sockets.add(websocket)
        try:
            yield
        finally:
            self._sockets.discard(websocket)

    async def next_item(self, stream: AsyncIterator[Any], seconds: float | None) -> Any:
        """The next item of `stream` within `seconds` (TimeoutError after them,
        StopAsyncIteration at its end); Draining when draining begins first."""
        begun = self._signal()
        if begun.done():
            raise Draining
        item = asyncio.ensure_future(anext(stream))
        try:
            done, _ = await asyncio.wait(
                {item, begun}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            if not item.done():
                item.cancel()
                with suppress(asyncio.CancelledError, StopAsyncIteration):
                    await item
        if item in done:
            return item.result()
        if begun in done:
            raise Draining
        raise TimeoutError

    async def _close(self, websocket: WebSocket) -> None:
        if websocket.application_state is WebSocketState.DISCONNECTED:
            return
        with suppress(RuntimeError, OSError):
            await websocket.close(code=SERVICE_RESTART, reason=RESTART_REASON)


class _InFlight:
    """Drain.request's block: a class, not a generator, since every request enters one."""

    __slots__ = ("_drain",)

    def __init__(self, drain: Drain) -> None:
        self._drain = drain

    def __enter__(self) -> None:
        self._drain._request_started()

    def __exit__(self, *exc_info: object) -> None:
        self._drain._request_ended()


class RefuseWhileDraining:
    """ASGI middleware: counts HTTP requests in flight; once draining has begun, answers
    new ones (the probes excepted) 503 with a coded GraphQL error and `Connection: close`,
    and closes new WebSockets before accepting them. A refused request to a path of
    `transports` (path: transport) is logged and counted as an operation."""

    def __init__(
        self, app: ASGIApp, drain: Drain, transports: Mapping[str, str] | None = None
    ) -> None:
        self.app = app
        self.drain = drain
        self.transports = transports or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if self.drain.started and scope["path"] not in PROBES:
                await _refuse(send)
                transport = self.transports.get(scope["path"])
                if transport is not None:
                    refused_early(transport, SERVICE_UNAVAILABLE)
                return
            with self.drain.request():
                await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket" and self.drain.started:
            await send({"type": "websocket.close", "code": SERVICE_RESTART})
            return
        await self.app(scope, receive, send)


async def _refuse(send: Send) -> None:
    error = {
        "message": "The server is restarting: send the request again.",
        "extensions": {"code": SERVICE_UNAVAILABLE},
    }
    body = json.dumps({"errors": [error]}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", b"1"),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@contextmanager
def drain_on(signum: int, drain: Drain) -> Iterator[None]:
    """While the block runs (the app's lifespan), `signum` runs `drain`, then the handler it
    replaced: uvicorn's, which stops accepting, closes what is left and exits. A second
    `signum` hands over at once. Signals reach the main thread only: elsewhere (an app
    served from another thread) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signum) or signal.SIG_DFL
    signalled = False
    tasks: set[asyncio.Task[None]] = set()  # a reference, so that the task is not collected

    def hand_over(frame: FrameType | None) -> None:
        if callable(previous):
            previous(signum, frame)
        else:  # no server of ours installed one: do what the signal does by default
            signal.signal(signum, previous)
            signal.raise_signal(signum)

    async def drain_then_hand_over(frame: FrameType | None) -> None:
        await drain.run()
        hand_over(frame)

    def start(frame: FrameType | None) -> None:
        tasks.add(loop.create_task(drain_then_hand_over(frame)))

    def handle(received: int, frame: FrameType | None) -> None:
        nonlocal signalled
        if signalled:
            hand_over(frame)
            return
        signalled = True
        loop.call_soon_threadsafe(start, frame)

    signal.signal(signum, handle)
    try:
        yield
    finally:
        if signal.getsignal(signum) is handle:
            signal.signal(signum, previous)
