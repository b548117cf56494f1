"""WebSocket subscribers in a process of their own, so the server's process only serves.

`Subscribers` starts a worker process (multiprocessing, spawn) and talks to it over a
pipe. The worker opens graphql-transport-ws subscriptions (a `Subscription`: `toolMessageUpdated`
or `sessionEvents`), or plain sockets to the floor server, waits for each one's first
message (the replay of what changed after `afterRevision`, which proves the subscription
is live), then records when each later update has arrived, keyed by the `bench-…` token in
the content of the message it changed (for streamed chunks, the chunk's text: its send time).
Times are `time.perf_counter()`, CLOCK_MONOTONIC, comparable across processes (and with the
time a `wrk` Lua script reads from clock_gettime(CLOCK_MONOTONIC)).
"""

import asyncio
import json
import multiprocessing
import re
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from bench.procs import raise_fd_limit

OPERATIONS = Path(__file__).resolve().parent.parent / "graphql" / "operations"
TOKEN = re.compile(r'"content":\s*"(bench-[^"]*)"')
SESSION_EVENT = re.compile(r'"kind":\s*"SESSION"')
MESSAGE_EVENT = re.compile(r'"kind":\s*"MESSAGE"')

# A streamed chunk's text: "bench-", its send time (seconds of CLOCK_MONOTONIC), ";".
CHUNK = "bench-%013.6f;"
CHUNK_BYTES = 20  # ASCII: as many bytes, and UTF-16 code units, as characters
CHUNK_TEXT = re.compile(r'"text":\s*"(bench-[0-9.]{13};)"')
CHUNK_TOKENS = re.compile(r"bench-[0-9.]{13};")
# Marks a chunk that arrived inside a MESSAGE event (the content so far: the subscriber had
# fallen behind) instead of an APPENDED event of its own.
CAUGHT_UP = "MESSAGE "


def chunk_text(at: float | None = None) -> str:
    """A chunk sent now (or `at`, a perf_counter time)."""
    return CHUNK % (time.perf_counter() if at is None else at)


def chunk_sent_at(token: str) -> float:
    """When the chunk `token` (as recorded on arrival) was sent, in perf_counter seconds."""
    return float(token.removeprefix(CAUGHT_UP)[len("bench-") : -1])


@dataclass(frozen=True)
class Subscription:
    """What a crowd subscribes to, and which frame delivers an update to a subscriber."""

    field: str  # the subscription field; the floor server sends frames of its shape
    operation: str  # the document's name in graphql/operations
    # False: the frame carrying the update's `bench-…` content delivers it. True: that frame
    # is a MESSAGE event, and the update is delivered with the SESSION event that follows it
    # (a write is one MESSAGE event, then one SESSION event, for sessionEvents).
    ends_with_session_event: bool = False
    # True: the updates are streamed chunks (CHUNK texts), each delivered by its APPENDED
    # event, or inside a MESSAGE event when the subscriber had fallen behind (CAUGHT_UP).
    chunks: bool = False

    @property
    def key(self) -> str:
        """What names it in a Spec, and to the floor server."""
        return f"{self.field}:chunks" if self.chunks else self.field

    @property
    def document(self) -> str:
        return (OPERATIONS / f"{self.operation}.graphql").read_text()


TOOL_MESSAGE_UPDATED = Subscription("toolMessageUpdated", "ToolMessageUpdated")
SESSION_EVENTS = Subscription("sessionEvents", "SessionEvents", ends_with_session_event=True)
STREAMED_CHUNKS = Subscription("sessionEvents", "SessionEvents", chunks=True)
SUBSCRIPTIONS = {s.field: s for s in (TOOL_MESSAGE_UPDATED, SESSION_EVENTS)}  # the fan-outs'
BY_KEY = {s.key: s for s in (TOOL_MESSAGE_UPDATED, SESSION_EVENTS, STREAMED_CHUNKS)}


@dataclass(frozen=True)
class Spec:
    """One subscription: where, as whom, on which session, from which revision."""

    url: str
    token: str
    session_id: str
    after_revision: int
    floor: bool = False
    # Offer permessage-deflate, as browsers do (the server then keeps zlib state per socket).
    deflate: bool = True
    subscription: str = TOOL_MESSAGE_UPDATED.key  # a key of BY_KEY


class Subscribers:
    """A client process holding many subscriptions."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_main, args=(child,), daemon=True)
        self._process.start()
        child.close()

    @property
    def pid(self) -> int:
        assert self._process.pid is not None
        return self._process.pid

    def send(self, *command: Any) -> None:
        self._pipe.send(command)

    def receive(self, timeout: float) -> Any:
        if not self._pipe.poll(timeout):
            raise TimeoutError("the subscriber process did not answer")
        answer = self._pipe.recv()
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def stop(self) -> None:
        try:
            self.send("exit")
            self._process.join(15)
        except (OSError, EOFError):
            pass
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


async def open_all(clients: Sequence[Subscribers], specs: Sequence[Spec]) -> dict[str, Any]:
    """Spread `specs` over `clients` and open them all; returns counts and the time taken."""
    start = time.perf_counter()
    shares = [list(specs[i :: len(clients)]) for i in range(len(clients))]
    for client, share in zip(clients, shares, strict=True):
        client.send("open", share)
    answers = [await asyncio.to_thread(c.receive, 600) for c in clients]
    failed = sum(answer["failed"] for answer in answers)
    errors = [error for answer in answers for error in answer["errors"]]
    return {
        "opened": len(specs) - failed,
        "failed": failed,
        "errors": errors[:3],
        "seconds": time.perf_counter() - start,
        "shares": [len(s) for s in shares],
    }


async def collect(
    clients: Sequence[Subscribers], expected: Sequence[int], wait_seconds: float
) -> list[tuple[str, float]]:
    """Wait until each client has seen its expected number of arrivals (or the timeout)."""
    for client, count in zip(clients, expected, strict=True):
        client.send("collect", count, wait_seconds)
    arrivals: list[tuple[str, float]] = []
    for client in clients:
        arrivals += await asyncio.to_thread(client.receive, wait_seconds + 30)
    return arrivals


async def frame_bytes(clients: Sequence[Subscribers]) -> int:
    """The bytes of the frames the clients' subscriptions received (their first frames
    left out) since the last call, as text: permessage-deflate undone."""
    for client in clients:
        client.send("bytes")
    return sum([await asyncio.to_thread(client.receive, 60) for client in clients])


async def close_all(clients: Sequence[Subscribers]) -> None:
    for client in clients:
        client.send("close")
    for client in clients:
        await asyncio.to_thread(client.receive, 120)


async def connect_subscription(
    spec: Spec, document: str, create_connection: type[ClientConnection] | None = None
) -> ClientConnection:
    """A socket subscribed as `spec` says, with `document` (a plain socket to the floor
    server, for a floor spec); its frames, the first one included, are still to be read."""
    options: dict[str, Any] = {
        "ping_interval": None,
        "max_size": None,
        "open_timeout": 120,
        "compression": "deflate" if spec.deflate else None,
        "create_connection": create_connection,
    }
    if spec.floor:
        return await connect(f"{spec.url}/{spec.session_id}", **options)
    ws = await connect(
        spec.url,
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        **options,
    )
    init = {"Authorization": f"Bearer {spec.token}"}
    await ws.send(json.dumps({"type": "connection_init", "payload": init}))
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 120))
        if frame["type"] == "connection_ack":
            break
        if frame["type"] != "ping":
            raise RuntimeError(f"expected connection_ack, got {frame}")
    variables = {"sessionId": spec.session_id, "afterRevision": spec.after_revision}
    payload = {"query": document, "variables": variables}
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
    return ws


# --- in the worker process ------------------------------------------------------------------


def _main(pipe: Connection) -> None:
    raise_fd_limit()
    asyncio.run(_Worker(pipe).serve())


class _Worker:
    def __init__(self, pipe: Connection) -> None:
        self.pipe = pipe
        self.sockets: list[ClientConnection] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.arrivals: list[tuple[str, float]] = []
        self.arrived = asyncio.Event()
        self.documents: dict[str, str] = {}
        self.frame_bytes = 0

    async def serve(self) -> None:
        while True:
            command = await asyncio.to_thread(self.pipe.recv)
            try:
                if command[0] == "exit":
                    await self.close()
                    return
                if command[0] == "open":
                    self.pipe.send(await self.open(command[1]))
                elif command[0] == "collect":
                    self.pipe.send(await self.collect(command[1], command[2]))
                elif command[0] == "bytes":
                    self.pipe.send(self.frame_bytes)
                    self.frame_bytes = 0
                elif command[0] == "close":
                    await self.close()
                    self.pipe.send("closed")
            except Exception as exc:
                self.pipe.send(exc)

    async def open(self, specs: list[Spec]) -> dict[str, Any]:
        gate = asyncio.Semaphore(64)
        failures: dict[str, int] = defaultdict(int)

        async def one(spec: Spec) -> None:
            async with gate:
                try:
                    await self.subscribe(spec)
                except Exception as exc:
                    failures[f"{type(exc).__name__}: {exc}"[:200]] += 1

        await asyncio.gather(*(one(spec) for spec in specs))
        return {"failed": sum(failures.values()), "errors": list(failures)}

    async def subscribe(self, spec: Spec) -> None:
        subscription = BY_KEY[spec.subscription]
        ws = await connect_subscription(spec, self.document(subscription))
        self.sockets.append(ws)
        ready = asyncio.get_running_loop().create_future()
        deliveries = Deliveries(subscription)
        self.tasks.append(asyncio.create_task(self.listen(ws, ready, deliveries)))
        await asyncio.wait_for(ready, 120)

    def document(self, subscription: Subscription) -> str:
        if subscription.field not in self.documents:
            self.documents[subscription.field] = subscription.document
        return self.documents[subscription.field]

    async def listen(
        self, ws: ClientConnection, ready: asyncio.Future[None], deliveries: "Deliveries"
    ) -> None:
        try:
            async for frame in ws:
                now = time.perf_counter()
                text = frame if isinstance(frame, str) else frame.decode()
                if '"ping"' in text and '"type":"ping"' in text.replace(" ", ""):
                    await ws.send('{"type":"pong"}')
                    continue
                if not ready.done():
                    if '"next"' in text or text == "ready":
                        deliveries.replayed(text)
                        ready.set_result(None)
                    else:
                        ready.set_exception(RuntimeError(f"unexpected first frame {text[:300]}"))
                    continue
                self.frame_bytes += len(text)  # the frames here are ASCII
                delivered = deliveries.delivered(text)
                if delivered:
                    self.arrivals += [(token, now) for token in delivered]
                    self.arrived.set()
        except Exception as exc:
            if not ready.done():
                ready.set_exception(exc)
        finally:
            if not ready.done():
                ready.set_exception(RuntimeError("closed before the first message"))

    async def collect(self, expected: int, wait_seconds: float) -> list[tuple[str, float]]:
        deadline = time.monotonic() + wait_seconds
        while len(self.arrivals) < expected and time.monotonic() < deadline:
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), deadline - time.monotonic())
            except TimeoutError:
                break
        arrivals, self.arrivals = self.arrivals, []
        return arrivals

    async def close(self) -> None:
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.sockets, self.tasks, self.arrivals = [], [], []
        self.frame_bytes = 0


class Deliveries:
    """One socket's frames after the first: which ones complete an update, and its token."""

    def __init__(self, subscription: Subscription) -> None:
        self.ends_with_session_event = subscription.ends_with_session_event
        self.chunks = subscription.chunks
        self.pending: str | None = None  # sessionEvents: the token whose SESSION event is due
        self.chunks_seen = 0  # streamed chunks: how many the message's content has here

    def replayed(self, text: str) -> None:
        """The first frame, which proves the subscription live: for streamed chunks, the
        message's content so far (a replay from revision 0 is a MESSAGE event)."""
        if self.chunks:
            self.chunks_seen = len(CHUNK_TOKENS.findall(text))

    def delivered(self, text: str) -> list[str]:
        if self.chunks:
            return self._chunks(text)
        found = TOKEN.search(text)
        if found is not None:
            if not self.ends_with_session_event:
                return [found.group(1)]
            self.pending = found.group(1)
            return []
        if self.pending is not None and SESSION_EVENT.search(text):
            token, self.pending = self.pending, None
            return [token]
        return []

    def _chunks(self, text: str) -> list[str]:
        """An APPENDED event's chunk; or, in a MESSAGE event, the chunks its content has
        that this socket had not seen yet (marked CAUGHT_UP)."""
        found = CHUNK_TEXT.search(text)
        if found is not None:
            self.chunks_seen += 1
            return [found.group(1)]
        if MESSAGE_EVENT.search(text):
            tokens = CHUNK_TOKENS.findall(text)
            new, self.chunks_seen = tokens[self.chunks_seen :], len(tokens)
            return [CAUGHT_UP + token for token in new]
        return []
