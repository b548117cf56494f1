"""The figures of issue 4 (1-8) and of streamed replies (9): each measures the server and its
floor in the same run."""

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from websockets.asyncio.client import ClientConnection, connect

from bench import floors, wrk
from bench.procs import (
    ROOT,
    CpuWindow,
    Server,
    free_port,
    migrate_in,
    rss_kib,
    spawn,
    throwaway_database,
)
from bench.seed import LISTER, TOOL_CALL_ID, USER, Data, Stream, message_input, seed
from bench.stats import Samples
from bench.subscribers import (
    CAUGHT_UP,
    CHUNK,
    CHUNK_BYTES,
    STREAMED_CHUNKS,
    TOOL_MESSAGE_UPDATED,
    Spec,
    Subscribers,
    Subscription,
    chunk_sent_at,
    chunk_text,
    close_all,
    collect,
    connect_subscription,
    frame_bytes,
    open_all,
)
from schema.fields import graphql_name, value_fields
from schema.types import ChatMessage, ChatSession

OPERATIONS = ROOT / "graphql" / "operations"
MESSAGE_FIELDS = " ".join(graphql_name(field) for field in value_fields(ChatMessage).values())
SESSION_FIELDS = " ".join(graphql_name(field) for field in value_fields(ChatSession).values())
# ListSessions.graphql plus each session's latest page: what a sidebar with previews loads.
SESSION_LIST = (
    "query BenchSessionList($limit: Int!, $last: Int!) { sessionCount "
    f"sessions(limit: $limit) {{ {SESSION_FIELDS} "
    f"messages(last: $last) {{ {MESSAGE_FIELDS} }} }} }}"
)


def operation(name: str) -> str:
    return (OPERATIONS / f"{name}.graphql").read_text()


def body(query: str, **variables: Any) -> str:
    return json.dumps({"query": query, "variables": variables}, separators=(",", ":"))


@dataclass
class Config:
    quick: bool
    history: int
    big: int
    latency_seconds: float
    rate_seconds: float
    floor_count: int
    batch_reps: int
    listed: int
    listed_messages: int
    fanout: int
    fanout_rounds: int
    fanout_sessions: int
    idle: int
    client_processes: int
    deflate: bool = True  # subscribers offer permessage-deflate, as browsers do
    streams: int = 100  # figure 9: replies streamed at once, each to its own session
    stream_pace: float = 20.0  # figure 9b: chunks a second per stream (100 x 20 = 2,000/s)

    @classmethod
    def make(cls, quick: bool) -> "Config":
        if quick:
            return cls(True, 1000, 20_000, 1.5, 2, 100, 2, 50, 40, 100, 3, 100, 1000, 2)
        return cls(False, 1000, 100_000, 6, 8, 300, 10, 50, 40, 1000, 20, 1000, 10_000, 2)


@dataclass
class Context:
    config: Config
    dsn: str
    data: Data
    token: str
    lister_token: str
    floor: asyncpg.Connection
    clients: list[Subscribers]


@asynccontextmanager
async def seeded(
    config: Config,
    clients: list[Subscribers],
    secret: str,
    *,
    tree: Path = ROOT,
    **sizes: int,
) -> AsyncIterator[Context]:
    """A throwaway database with the tables of `tree`, seeded (bench.seed's `sizes`), and the
    Context the figures run in; dropped afterwards."""
    from core.identity import issue_token

    async with throwaway_database() as dsn:
        await asyncio.to_thread(migrate_in, tree, dsn)
        raw = await floors.connect(dsn)
        try:
            yield Context(
                config=config,
                dsn=dsn,
                data=await seed(raw, **sizes),
                token=issue_token(secret, USER),
                lister_token=issue_token(secret, LISTER),
                floor=raw,
                clients=clients,
            )
        finally:
            await raw.close()


class GraphQLClient:
    """Single requests (validation, batches, the fan-out's mutations) over one connection."""

    def __init__(self, server: Server, token: str) -> None:
        self.url = server.http_url
        self.http = httpx.AsyncClient(
            timeout=120,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )

    async def post(self, content: str) -> dict[str, Any]:
        response = await self.http.post(self.url, content=content)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        if answer.get("errors"):
            raise RuntimeError(f"GraphQL errors: {json.dumps(answer['errors'])[:500]}")
        return answer

    async def close(self) -> None:
        await self.http.aclose()


def ms(seconds: float) -> float:
    return seconds * 1000


def cpu_ms_per_request(result: wrk.WrkResult) -> float:
    return result.server_cores * result.seconds / max(result.requests, 1) * 1000


# --- 1 and 2: reads ---------------------------------------------------------------------------


async def after_write(
    ctx: Context,
    server: Server,
    token: str,
    query: str,
    session_id: uuid.UUID,
    floor: Callable[[], Awaitable[object]] | None = None,
) -> tuple[Samples, Samples]:
    """Latency of `query` when every request follows a write to the session.

    A raw `revision + 1` before each request (untimed) stands for the write: the response
    cache keyed by revision misses, so this is the executor's path. The client is httpx in
    this process, one request at a time; the response is read, not parsed. When `floor` is
    given it runs right after each request, so both see the same noise (paired samples).
    """
    samples, floors_seen = Samples(), Samples()
    bump = "UPDATE chat_session SET revision = revision + 1 WHERE id = $1"
    client = GraphQLClient(server, token)
    deadline = time.perf_counter() + ctx.config.latency_seconds
    try:
        while len(samples) < ctx.config.floor_count and time.perf_counter() < deadline:
            await ctx.floor.execute(bump, session_id)
            start = time.perf_counter()
            response = await client.http.post(client.url, content=query)
            content = response.content
            samples.add(time.perf_counter() - start)
            if response.status_code != 200 or b'"errors"' in content[:200]:
                raise RuntimeError(f"{response.status_code}: {content[:500]!r}")
            if floor is not None:
                start = time.perf_counter()
                await floor()
                floors_seen.add(time.perf_counter() - start)
    finally:
        await client.close()
    return samples, floors_seen


def _latency(samples: Samples, floor: Samples) -> dict[str, Any]:
    return {
        "p50_ms": samples.p50,
        "p99_ms": samples.p99,
        "floor_p50_ms": floor.p50,
        "floor_p99_ms": floor.p99,
        "samples": len(samples),
        "ratio_p50": samples.p50 / floor.p50,
        "ratio_p99": samples.p99 / floor.p99,
    }


async def history(ctx: Context, server: Server) -> dict[str, Any]:
    query = body(operation("GetSession"), id=str(ctx.data.history))
    client = GraphQLClient(server, ctx.token)
    try:
        served = await client.post(query)
    finally:
        await client.close()
    identical = served == json.loads(await floors.history(ctx.floor, ctx.data.history))
    load = wrk.run(
        server.http_url,
        ctx.token,
        [query],
        connections=1,
        seconds=ctx.config.latency_seconds,
        server_pids=server.pids(),
    )
    floor = await floors.repeat(
        partial(floors.history, ctx.floor, ctx.data.history),
        count=ctx.config.floor_count,
        seconds=ctx.config.latency_seconds,
    )
    fetch = await floors.repeat(
        partial(floors.history_fetch, ctx.floor, ctx.data.history),
        count=ctx.config.floor_count,
        seconds=ctx.config.latency_seconds / 2,
    )
    missed, paired = await after_write(
        ctx,
        server,
        ctx.token,
        query,
        ctx.data.history,
        partial(floors.history, ctx.floor, ctx.data.history),
    )
    return {
        "messages": ctx.config.history,
        "server": load.as_dict(),
        "after_write": _latency(missed, paired),
        "server_cpu_ms_per_request": cpu_ms_per_request(load),
        "floor": {
            "p50_ms": floor.p50,
            "p99_ms": floor.p99,
            "samples": len(floor),
            "serializer": floors.SERIALIZER,
            "fetch_only_p50_ms": fetch.p50,
        },
        "floor_json_identical": identical,
        "ratio_p50": load.p50_ms / floor.p50,
        "ratio_p99": load.p99_ms / floor.p99,
    }


async def latest_page(ctx: Context, server: Server) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, session_id, size in (
        ("big", ctx.data.big, ctx.config.big),
        ("small", ctx.data.history, ctx.config.history),
    ):
        query = body(operation("ChatPage"), id=str(session_id), last=50)
        client = GraphQLClient(server, ctx.token)
        try:
            served = await client.post(query)
        finally:
            await client.close()
        identical = served == json.loads(await floors.latest_page(ctx.floor, session_id, 50))
        load = wrk.run(
            server.http_url,
            ctx.token,
            [query],
            connections=1,
            seconds=ctx.config.latency_seconds / 2,
            server_pids=server.pids(),
        )
        floor = await floors.repeat(
            partial(floors.latest_page, ctx.floor, session_id, 50),
            count=ctx.config.floor_count,
            seconds=ctx.config.latency_seconds / 2,
        )
        missed, paired = await after_write(
            ctx,
            server,
            ctx.token,
            query,
            session_id,
            partial(floors.latest_page, ctx.floor, session_id, 50),
        )
        out[label] = {
            "messages": size,
            "server": load.as_dict(),
            "after_write": _latency(missed, paired),
            "floor": {"p50_ms": floor.p50, "p99_ms": floor.p99},
            "floor_json_identical": identical,
            "ratio_p50": load.p50_ms / floor.p50,
        }
    out["growth_p50"] = out["big"]["server"]["p50_ms"] / out["small"]["server"]["p50_ms"]
    out["growth_p50_after_write"] = (
        out["big"]["after_write"]["p50_ms"] / out["small"]["after_write"]["p50_ms"]
    )
    return out


# --- 3 and 4: writes --------------------------------------------------------------------------


async def append(ctx: Context, server: Server, *, with_floor: bool = True) -> dict[str, Any]:
    query = operation("AppendMessage")
    bodies = [body(query, sessionId=str(s), message=message_input(0)) for s in ctx.data.appends]
    client = GraphQLClient(server, ctx.token)
    try:
        await client.post(bodies[0])
    finally:
        await client.close()
    out: dict[str, Any] = {}
    for concurrency in (1, 16):
        load = wrk.run(
            server.http_url,
            ctx.token,
            bodies,
            connections=concurrency,
            seconds=ctx.config.rate_seconds,
            server_pids=server.pids(),
        )
        entry: dict[str, Any] = {
            "server": load.as_dict(),
            "server_cpu_ms_per_request": cpu_ms_per_request(load),
        }
        if with_floor:
            floor = await floors.append_rate(
                ctx.dsn,
                "bench",
                ctx.data.floor_appends,
                concurrency=concurrency,
                seconds=ctx.config.rate_seconds / 2,
            )
            entry["floor"] = rate_entry(floor)
            entry["ratio_rate"] = floor.rate / load.rate
        out[f"c{concurrency}"] = entry
    return out


def rate_entry(floor: floors.RateResult) -> dict[str, Any]:
    """A raw floor's rate and latency, and its client's (this process's) CPU."""
    return {
        "rate": floor.rate,
        "p50_ms": floor.samples.p50,
        "p99_ms": floor.samples.p99,
        "client_cores": floor.client_cores,
        "client_saturated": floor.client_cores > wrk.SATURATED,
    }


async def batch(ctx: Context, server: Server) -> dict[str, Any]:
    query = operation("AppendMessages")
    messages = [message_input(i) for i in range(1000)]
    client = GraphQLClient(server, ctx.token)
    samples = Samples()
    try:
        for session_id in ctx.data.batches:
            payload = body(query, sessionId=str(session_id), messages=messages)
            start = time.perf_counter()
            answer = await client.post(payload)
            samples.add(time.perf_counter() - start)
            assert len(answer["data"]["appendMessages"]) == 1000
    finally:
        await client.close()
    half = len(ctx.data.floor_batches) // 2
    floor_samples: dict[str, Samples] = {}
    for kind, sessions in (
        ("executemany", ctx.data.floor_batches[:half]),
        ("copy", ctx.data.floor_batches[half:]),
    ):
        floor_samples[kind] = Samples()
        for session_id in sessions:
            start = time.perf_counter()
            await floors.batch(ctx.floor, "bench", session_id, copy=kind == "copy")
            floor_samples[kind].add(time.perf_counter() - start)
    best = min(sample.p50 for sample in floor_samples.values())
    return {
        "server": {"p50_ms": samples.p50, "max_ms": samples.max, "samples": len(samples)},
        "floor": {kind: {"p50_ms": s.p50} for kind, s in floor_samples.items()},
        "floor_best_p50_ms": best,
        "ratio_p50": samples.p50 / best,
    }


# --- 5: the session list ----------------------------------------------------------------------


async def session_list(ctx: Context, server: Server) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for limit in (10, ctx.config.listed):
        query = body(SESSION_LIST, limit=limit, last=20)
        client = GraphQLClient(server, ctx.lister_token)
        try:
            answer = await client.post(query)
        finally:
            await client.close()
        served = answer["data"]["sessions"]
        assert len(served) == limit and all(len(s["messages"]) == 20 for s in served)
        load = wrk.run(
            server.http_url,
            ctx.lister_token,
            [query],
            connections=1,
            seconds=ctx.config.latency_seconds / 2,
            server_pids=server.pids(),
        )
        floor = await floors.repeat(
            partial(floors.session_list, ctx.floor, LISTER, limit, 20),
            count=ctx.config.floor_count,
            seconds=ctx.config.latency_seconds / 2,
        )
        out[f"sessions_{limit}"] = {
            "server": load.as_dict(),
            "floor": {"p50_ms": floor.p50},
            "ratio_p50": load.p50_ms / floor.p50,
        }
    return out


async def statements(ctx: Context, counted: Server) -> dict[str, int]:
    """SQL statements per session-list request, counted inside a `bench.counted` server."""
    base = f"http://127.0.0.1:{counted.port}"
    counts: dict[str, int] = {}
    client = GraphQLClient(counted, ctx.lister_token)
    try:
        for limit in (10, ctx.config.listed):
            query = body(SESSION_LIST, limit=limit, last=20)
            await client.post(query)  # warm: nothing first-time is counted
            before = int((await client.http.get(f"{base}/bench/statements")).text)
            await client.post(query)
            after = int((await client.http.get(f"{base}/bench/statements")).text)
            counts[f"sessions_{limit}"] = after - before
    finally:
        await client.close()
    return counts


# --- 6, 7, 8: fan-out -------------------------------------------------------------------------


async def current_revisions(ctx: Context, sessions: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    rows = await ctx.floor.fetch(
        "SELECT id, revision FROM chat_session WHERE id = ANY($1::uuid[])", list(sessions)
    )
    return {row["id"]: row["revision"] for row in rows}


async def specs_for(
    ctx: Context,
    url: str,
    sessions: Sequence[uuid.UUID],
    *,
    floor: bool = False,
    subscription: Subscription = TOOL_MESSAGE_UPDATED,
    after_revision: int | None = None,
) -> list[Spec]:
    """One subscription per entry of `sessions`, each replaying the session's last write
    once (the TOOL message; for sessionEvents, its MESSAGE and SESSION events), or what
    changed after `after_revision` when given."""
    revisions = await current_revisions(ctx, sorted(set(sessions)))
    return [
        Spec(
            url=url,
            token=ctx.token,
            session_id=str(s),
            after_revision=revisions[s] - 1 if after_revision is None else after_revision,
            floor=floor,
            deflate=ctx.config.deflate,
            subscription=subscription.key,
        )
        for s in sessions
    ]


class Trigger:
    """How one round starts: a GraphQL updateToolResult, or the floor server's control."""

    def __init__(self, server: Server | None, token: str, floor_url: str | None = None) -> None:
        self.client = GraphQLClient(server, token) if server else None
        self.floor_url = floor_url
        self.control: Any = None

    async def fire(self, session_id: uuid.UUID, content: str) -> float:
        """Start the update; returns when it started (perf_counter)."""
        if self.client is not None:
            query = body(
                operation("UpdateToolResult"),
                sessionId=str(session_id),
                toolCallId=TOOL_CALL_ID,
                content=content,
            )
            start = time.perf_counter()
            await self.client.post(query)
            return start
        if self.control is None:
            self.control = await connect(f"{self.floor_url}/control", max_size=None)
        start = time.perf_counter()
        await self.control.send(f"{session_id} {content}")
        await self.control.recv()
        return start

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()
        if self.control is not None:
            await self.control.close()


def _summary(latencies: Samples, expected: int, windows: list[CpuWindow]) -> dict[str, Any]:
    cores = [w.cores for w in windows]
    long_enough = all(w.wall >= 0.5 for w in windows)
    return {
        "p50_ms": latencies.p50,
        "p99_ms": latencies.p99,
        "max_ms": latencies.max,
        "delivered": len(latencies),
        "expected": expected,
        "client_cores": cores,
        "client_saturated": long_enough and any(c > wrk.SATURATED for c in cores),
    }


async def _rounds(
    ctx: Context,
    trigger: Trigger,
    shares: Sequence[int],
    tag: str,
    rounds: int,
    server_pids: Sequence[int],
) -> dict[str, Any]:
    """Rounds of one update to the fan-out session, each waiting for every delivery."""
    latencies = Samples()
    windows = [CpuWindow([c.pid]) for c in ctx.clients]
    server_window = CpuWindow(server_pids)
    per_round: list[dict[str, float]] = []
    for index in range(rounds):
        token = f"bench-{tag}-{index}"
        for window in windows:
            window.start()
        server_window.start()
        start = await trigger.fire(ctx.data.fanout, token)
        answered = time.perf_counter()
        arrivals = await collect(ctx.clients, shares, wait_seconds=30)
        for window in windows:
            window.stop()
        server_window.stop()
        times = Samples([t - start for seen, t in arrivals if seen == token])
        latencies.extend(times.values)
        per_round.append(
            {
                "mutation_ms": ms(answered - start),
                "p50_ms": times.p50,
                "last_ms": times.max,
                "delivered": len(times),
            }
        )
        await asyncio.sleep(0.2)
    summary = _summary(latencies, sum(shares) * rounds, windows)
    summary["rounds"] = per_round
    summary["server_cores"] = server_window.cores
    summary["server_cpu_ms_per_delivery"] = server_window.cpu * 1000 / max(len(latencies), 1)
    return summary


async def fanout_one_session(
    ctx: Context,
    url: str,
    trigger: Trigger,
    tag: str,
    server_pids: Sequence[int],
    *,
    floor: bool = False,
    rounds: int | None = None,
    subscription: Subscription = TOOL_MESSAGE_UPDATED,
) -> dict[str, Any]:
    """6a: N subscribers on one session; each round one update reaches all of them."""
    sessions = [ctx.data.fanout] * ctx.config.fanout
    specs = await specs_for(ctx, url, sessions, floor=floor, subscription=subscription)
    opened = await open_all(ctx.clients, specs)
    try:
        summary = await _rounds(
            ctx, trigger, opened["shares"], tag, rounds or ctx.config.fanout_rounds, server_pids
        )
    finally:
        await close_all(ctx.clients)
    summary["open"] = opened
    return summary


async def fanout_many_sessions(
    ctx: Context,
    url: str,
    trigger: Trigger,
    tag: str,
    *,
    floor: bool = False,
    subscription: Subscription = TOOL_MESSAGE_UPDATED,
) -> dict[str, Any]:
    """6b: N subscribers on N sessions; N updates sent one after another, one delivery each."""
    sessions = ctx.data.tools[: ctx.config.fanout_sessions]
    specs = await specs_for(ctx, url, sessions, floor=floor, subscription=subscription)
    opened = await open_all(ctx.clients, specs)
    windows = [CpuWindow([c.pid]).start() for c in ctx.clients]
    started: dict[str, float] = {}
    try:
        for index, session_id in enumerate(sessions):
            token = f"bench-{tag}-{index}"
            started[token] = await trigger.fire(session_id, token)
        arrivals = await collect(ctx.clients, opened["shares"], wait_seconds=30)
        for window in windows:
            window.stop()
    finally:
        await close_all(ctx.clients)
    latencies = Samples([t - started[seen] for seen, t in arrivals if seen in started])
    summary = _summary(latencies, len(sessions), windows)
    summary["open"] = opened
    return summary


async def fanout(
    ctx: Context,
    server: Server,
    tag: str,
    rounds: int | None = None,
    subscription: Subscription = TOOL_MESSAGE_UPDATED,
) -> dict[str, Any]:
    """6a then 6b, with `subscription`'s crowds, updates by updateToolResult."""
    trigger = Trigger(server, ctx.token)
    url = server.ws_url
    try:
        one = await fanout_one_session(
            ctx, url, trigger, f"{tag}a", server.pids(), rounds=rounds, subscription=subscription
        )
        many = await fanout_many_sessions(ctx, url, trigger, f"{tag}b", subscription=subscription)
    finally:
        await trigger.close()
    return {"subscription": subscription.field, "one_session": one, "many_sessions": many}


@asynccontextmanager
async def floor_server(
    ctx: Context, subscription: Subscription = TOOL_MESSAGE_UPDATED
) -> AsyncIterator[tuple[str, subprocess.Popen[bytes]]]:
    """bench.floor_ws in a process of its own, sending `subscription`'s frames: its
    WebSocket URL and the process."""
    port = free_port()
    command = [sys.executable, "-m", "bench.floor_ws", ctx.dsn, str(port), subscription.key]
    process = spawn(command)
    try:
        assert process.stdout is not None
        line = await asyncio.to_thread(process.stdout.readline)
        if b"listening" not in line:
            raise RuntimeError(f"floor server did not start: {line!r}")
        yield f"ws://127.0.0.1:{port}", process
    finally:
        process.terminate()
        process.wait(10)


async def fanout_floor(
    ctx: Context, subscription: Subscription = TOOL_MESSAGE_UPDATED
) -> dict[str, Any]:
    """6's floor: the same crowds and updates on a floor server sending `subscription`'s
    frames."""
    async with floor_server(ctx, subscription) as (url, process):
        trigger = Trigger(None, ctx.token, floor_url=url)
        pids = [process.pid]
        try:
            one = await fanout_one_session(
                ctx, url, trigger, "f6a", pids, floor=True, subscription=subscription
            )
            many = await fanout_many_sessions(
                ctx, url, trigger, "f6b", floor=True, subscription=subscription
            )
        finally:
            await trigger.close()
    return {"subscription": subscription.field, "one_session": one, "many_sessions": many}


async def capacity_floor(ctx: Context) -> dict[str, Any]:
    """7's floor: the same idle crowd on a fresh floor server, which keeps only the socket
    (and, when the client offers it, permessage-deflate's state) per subscriber."""
    async with floor_server(ctx) as (url, process):
        opened, per = await _open_idle(ctx, url, process.pid, floor=True)
        await close_all(ctx.clients)
    return {"idle": opened, "kib_per_socket": per}


# Figure 7's servers run with IDLE_COMPRESSOR_SECONDS at this (IDLE_SETTINGS), and the figure
# reads their memory once the subscriptions sat idle twice as long: their sockets have let go
# of their compressors by then, as a server with the default (30 s) does after a minute.
IDLE_COMPRESSOR_SECONDS = 5
IDLE_SETTINGS = {"IDLE_COMPRESSOR_SECONDS": str(IDLE_COMPRESSOR_SECONDS)}


async def _open_idle(
    ctx: Context,
    url: str,
    pid: int,
    *,
    floor: bool = False,
    subscription: Subscription = TOOL_MESSAGE_UPDATED,
) -> tuple[dict[str, Any], float]:
    """Opens `ctx.config.idle` subscriptions at `url` and leaves them open: what open_all
    reported, and the RSS each added to process `pid`. One small round first, so the
    baseline includes what the first subscription allocates once (imports, the hub,
    protocol handler caches)."""
    warm = ctx.data.tools[:20]
    specs = await specs_for(ctx, url, warm, floor=floor, subscription=subscription)
    await open_all(ctx.clients, specs)
    await close_all(ctx.clients)
    await asyncio.sleep(1)
    before = rss_kib(pid)
    idle = ctx.config.idle
    sessions = (ctx.data.tools * (idle // len(ctx.data.tools) + 1))[:idle]
    specs = await specs_for(ctx, url, sessions, floor=floor, subscription=subscription)
    opened = await open_all(ctx.clients, specs)
    await asyncio.sleep(2 * IDLE_COMPRESSOR_SECONDS + 1)
    return opened, (rss_kib(pid) - before) / max(opened["opened"], 1)


async def capacity(
    ctx: Context,
    server: Server,
    subscription: Subscription = TOOL_MESSAGE_UPDATED,
    *,
    beside: bool = True,
) -> dict[str, Any]:
    """7: idle `subscription`s on one process: extra RSS each, and (`beside`) 6a while they
    are open."""
    pid = server.worker_pids()[0]
    warm = GraphQLClient(server, ctx.token)
    try:
        for _ in range(20):
            await warm.post(body(operation("ChatPage"), id=str(ctx.data.history), last=50))
    finally:
        await warm.close()
    try:
        opened, per = await _open_idle(ctx, server.ws_url, pid, subscription=subscription)
        async with httpx.AsyncClient() as http:
            ready = (await http.get(f"http://127.0.0.1:{server.port}/readyz")).json()
        out = {
            "subscription": subscription.field,
            "idle": opened,
            "kib_per_subscription": per,
            "extrapolated_mb_per_10000": per * 10_000 / 1024,
            "readyz_subscriptions": ready.get("subscriptions"),
        }
        if beside:
            # The idle ones stay open in the same client processes; 6a adds its own.
            trigger = Trigger(server, ctx.token)
            try:
                out["fanout_one_session"] = await _fanout_beside_idle(
                    ctx, server, trigger, subscription
                )
            finally:
                await trigger.close()
    finally:
        await close_all(ctx.clients)
    return out


async def _fanout_beside_idle(
    ctx: Context, server: Server, trigger: Trigger, subscription: Subscription
) -> dict[str, Any]:
    sessions = [ctx.data.fanout] * ctx.config.fanout
    specs = await specs_for(ctx, server.ws_url, sessions, subscription=subscription)
    opened = await open_all(ctx.clients, specs)
    rounds = max(3, ctx.config.fanout_rounds // 3)
    summary = await _rounds(ctx, trigger, opened["shares"], "7", rounds, server.pids())
    summary["open"] = opened
    return summary


# --- 9: streamed replies ---------------------------------------------------------------------

Drive = Callable[[], Awaitable[dict[str, Any]]]
"""Sends chunks for a while; returns what its client measured (rate, acknowledgements)."""
KIND = re.compile(r'"kind":\s*"(\w+)"')


def chunk_bodies(streams: Sequence[Stream]) -> list[tuple[str, str]]:
    """Each stream's appendMessageContent body, cut in two where the chunk's text goes."""
    query = operation("AppendMessageContent")
    cut = json.dumps("\0")[1:-1]  # the text's place, as JSON writes it
    out = []
    for stream in streams:
        ids = {"sessionId": str(stream.session_id), "messageId": str(stream.message_id)}
        before, after = body(query, **ids, text="\0").split(cut)
        out.append((before, after))
    return out


async def committed_chunks(ctx: Context, streams: Sequence[Stream]) -> list[int]:
    """The chunks each stream's message holds so far (its content is whole chunks)."""
    rows = await ctx.floor.fetch(
        "SELECT id, content_units FROM chat_message WHERE id = ANY($1::uuid[])",
        [stream.message_id for stream in streams],
    )
    units = {row["id"]: row["content_units"] for row in rows}
    return [units[stream.message_id] // CHUNK_BYTES for stream in streams]


async def settled_chunks(
    ctx: Context, streams: Sequence[Stream], *, every: float = 0.25, most: float = 15
) -> list[int]:
    """committed_chunks once it stops changing: requests still queued in the server when
    the client stopped commit (or fail) meanwhile."""
    counts = await committed_chunks(ctx, streams)
    deadline = time.perf_counter() + most
    while time.perf_counter() < deadline:
        await asyncio.sleep(every)
        previous, counts = counts, await committed_chunks(ctx, streams)
        if counts == previous:
            break
    return counts


async def chunk_deliveries(
    ctx: Context, url: str, streams: Sequence[Stream], drive: Drive, *, floor: bool = False
) -> dict[str, Any]:
    """A sessionEvents subscriber per stream (in the client processes) while `drive()`
    sends chunks: each committed chunk's time from its send to its arrival, in its APPENDED
    event or, when the subscriber had fallen behind, in a MESSAGE event (`caught_up`); and
    the bytes of the frames they received per chunk."""
    sessions = [stream.session_id for stream in streams]
    specs = await specs_for(
        ctx, url, sessions, floor=floor, subscription=STREAMED_CHUNKS, after_revision=0
    )
    opened = await open_all(ctx.clients, specs)
    try:
        await frame_bytes(ctx.clients)  # from here on
        before = await committed_chunks(ctx, streams)
        windows = [CpuWindow([c.pid]).start() for c in ctx.clients]
        load = await drive()
        after = await settled_chunks(ctx, streams)
        added = [b - a for a, b in zip(before, after, strict=True)]
        # open_all gives the i-th subscription to client i % len(clients).
        shares = [sum(added[i :: len(ctx.clients)]) for i in range(len(ctx.clients))]
        arrivals = await collect(ctx.clients, shares, wait_seconds=30)
        for window in windows:
            window.stop()
        received = await frame_bytes(ctx.clients)
    finally:
        await close_all(ctx.clients)
    latencies = Samples([t - chunk_sent_at(token) for token, t in arrivals])
    summary = _summary(latencies, sum(added), windows)
    summary["caught_up"] = sum(token.startswith(CAUGHT_UP) for token, _ in arrivals)
    summary["frame_bytes_per_chunk"] = received / max(len(arrivals), 1)
    summary["open"] = opened
    summary["load"] = load
    return summary


async def paced_floor_chunks(
    url: str,
    streams: Sequence[Stream],
    *,
    seconds: float,
    per_second: float,
    server_pids: Sequence[int] = (),
) -> dict[str, Any]:
    """Chunks to bench.floor_ws as wrk.streams sends them to the server: a control socket
    per stream, one chunk at a time, `per_second` a second per stream (first ones spread
    over one period; late ones sent as soon as the previous is answered). The CPU of this
    process and of `server_pids` is measured meanwhile."""
    samples = Samples()
    period = 1 / per_second
    deadline = time.perf_counter() + seconds

    async def worker(index: int, stream: Stream) -> None:
        async with connect(f"{url}/control", max_size=None, ping_interval=None) as control:
            due = time.perf_counter() + period * (index + 1) / len(streams)
            while due < deadline:
                await asyncio.sleep(due - time.perf_counter())
                start = time.perf_counter()
                await control.send(f"{stream.session_id} {stream.message_id} {chunk_text(start)}")
                await control.recv()
                samples.add(time.perf_counter() - start)
                due = max(due + period, time.perf_counter())

    window = CpuWindow([os.getpid()]).start()
    server = CpuWindow(server_pids).start()
    start = time.perf_counter()
    await asyncio.gather(*(worker(index, stream) for index, stream in enumerate(streams)))
    wall = time.perf_counter() - start
    window.stop()
    server.stop()
    return {
        "requests": len(samples),
        "seconds": wall,
        "rate": len(samples) / wall,
        "p50_ms": samples.p50,
        "p99_ms": samples.p99,
        "client_cores": window.cores,
        "client_saturated": window.cores > wrk.SATURATED,
        "server_cores": server.cores,
    }


async def streams(ctx: Context, server: Server) -> dict[str, Any]:
    """9: `ctx.config.streams` replies streamed at once to one server process, each by a
    worker posting appendMessageContent chunks to its own message (wrk.streams): (a) chunks
    a second as fast as they are answered, without subscribers, then with a sessionEvents
    subscriber per stream; (b) the time from a chunk's send to its subscriber, at
    `stream_pace` chunks a second per stream, and at half the rate of (a) (a load the server
    sustains); (c) the bytes of a chunk's events."""
    bodies = chunk_bodies(ctx.data.streams)

    def load(seconds: float = ctx.config.rate_seconds, per_second: float = 0) -> wrk.WrkResult:
        return wrk.streams(
            server.http_url,
            ctx.token,
            bodies,
            CHUNK,
            seconds=seconds,
            server_pids=server.pids(),
            per_second=per_second,
        )

    async def closed() -> dict[str, Any]:
        return load().as_dict()

    def paced(per_second: float) -> Drive:
        async def drive() -> dict[str, Any]:
            return load(per_second=per_second).as_dict()

        return drive

    load(seconds=1)  # warm: the statements prepared, the pool's connections open
    alone = load()
    half = alone.rate / 2 / len(bodies)
    return {
        "streams": len(bodies),
        "chunk_bytes": CHUNK_BYTES,
        "alone": alone.as_dict(),
        "server_cpu_ms_per_chunk": cpu_ms_per_request(alone),
        "watched": await chunk_deliveries(ctx, server.ws_url, ctx.data.streams, closed),
        "pace_per_stream": ctx.config.stream_pace,
        "paced": await chunk_deliveries(
            ctx, server.ws_url, ctx.data.streams, paced(ctx.config.stream_pace)
        ),
        "half_pace_per_stream": half,
        "half": await chunk_deliveries(ctx, server.ws_url, ctx.data.streams, paced(half)),
        "frames": await chunk_frames(ctx, server),
    }


async def streams_floor(ctx: Context) -> dict[str, Any]:
    """9's floors, on streams of their own: (a) appendMessageContent's statements through
    raw asyncpg, a worker loop per stream on a pool the size of the server's; (b) the same
    paced chunks through bench.floor_ws, which runs them so and sends the same frames."""
    streams = ctx.data.floor_streams
    raw = await floors.chunk_rate(
        ctx.dsn, USER, streams, chunk_text, seconds=ctx.config.rate_seconds / 2
    )
    async with floor_server(ctx, STREAMED_CHUNKS) as (url, process):
        drive = partial(
            paced_floor_chunks,
            url,
            streams,
            seconds=ctx.config.rate_seconds,
            per_second=ctx.config.stream_pace,
            server_pids=[process.pid],
        )
        # Warm, as the server is: the floor's pool opens its connections under this load.
        await paced_floor_chunks(url, streams, seconds=1, per_second=ctx.config.stream_pace)
        paced = await chunk_deliveries(ctx, url, streams, drive, floor=True)
    return {"rate": rate_entry(raw), "pool": floors.SERVER_POOL, "paced": paced}


class CountingConnection(ClientConnection):
    """A client socket that counts the bytes it receives: the frames as the wire carries
    them (headers, and permessage-deflate when negotiated)."""

    received = 0

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        super().data_received(data)


async def chunk_events(ws: ClientConnection) -> tuple[str, str, float]:
    """The APPENDED and SESSION frames of one chunk, and when the APPENDED one arrived."""
    frames: list[str] = []
    arrived = 0.0
    while len(frames) < 2:
        frame = await asyncio.wait_for(ws.recv(), 30)
        text = frame if isinstance(frame, str) else frame.decode()
        if '"type":"ping"' in text.replace(" ", ""):
            await ws.send('{"type":"pong"}')
            continue
        found = KIND.search(text)
        kind = found.group(1) if found else None
        if kind != ("APPENDED" if not frames else "SESSION"):
            raise RuntimeError(f"expected a chunk's APPENDED then SESSION event: {text[:300]}")
        if not frames:
            arrived = time.perf_counter()
        frames.append(text)
    return frames[0], frames[1], arrived


async def chunk_frames(
    ctx: Context, server: Server, sizes_kib: Sequence[int] = (0, 100), repeats: int = 10
) -> dict[str, Any]:
    """9c: a subscriber of one stream, chunks sent one at a time while the message's content
    is each of `sizes_kib` long: the bytes of each chunk's APPENDED and SESSION frames (their
    text), the bytes the wire carried for both, and the time from send to APPENDED."""
    stream = ctx.data.bytes_stream
    (spec,) = await specs_for(
        ctx, server.ws_url, [stream.session_id], subscription=STREAMED_CHUNKS, after_revision=0
    )
    ws = await connect_subscription(spec, STREAMED_CHUNKS.document, CountingConnection)
    assert isinstance(ws, CountingConnection)
    client = GraphQLClient(server, ctx.token)
    query = operation("AppendMessageContent")
    ids = {"sessionId": str(stream.session_id), "messageId": str(stream.message_id)}

    async def send(text: str) -> tuple[str, str, float, float]:
        events = asyncio.create_task(chunk_events(ws))
        start = time.perf_counter()
        await client.post(body(query, **ids, text=text))
        appended, session, arrived = await events
        return appended, session, start, arrived

    out: dict[str, Any] = {}
    content = 0
    try:
        for _ in range(2):  # the replay: the message (MESSAGE), then the session (SESSION)
            await asyncio.wait_for(ws.recv(), 30)
        for kib in sizes_kib:
            if kib * 1024 > content:
                await send("x" * (kib * 1024 - content))
                content = kib * 1024
            sizes: list[tuple[int, int, int]] = []
            latency = Samples()
            for _ in range(repeats):
                before = ws.received
                appended, session, start, arrived = await send(chunk_text())
                content += CHUNK_BYTES
                sizes.append((len(appended.encode()), len(session.encode()), ws.received - before))
                latency.add(arrived - start)
            out[f"kib_{kib}"] = {
                "content_bytes": content,
                "appended_bytes": max(size[0] for size in sizes),
                "session_bytes": max(size[1] for size in sizes),
                "wire_bytes_per_chunk": sum(size[2] for size in sizes) / len(sizes),
                "p50_ms": latency.p50,
            }
    finally:
        await client.close()
        await ws.close()
    out["deflate"] = spec.deflate
    return out


def write_json(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str))
