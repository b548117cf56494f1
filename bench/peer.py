"""Figure 10 (issue 15): our server beside PostGraphile 4, the GraphQL server people would put on
the same PostgreSQL instead, one process each, on the same tables and data, in the same run.

    .venv/bin/python -m bench.peer            # this figure alone, about 2 minutes
    .venv/bin/python -m bench.peer --quick    # a smoke run

Three servers answer in turn, in interleaved rounds (the order flips every round): ours, ours
with its response cache off (RESPONSE_CACHE_BYTES=0: what a first read after a write costs),
and PostGraphile (bench/peer_server.py). Each load is `wrk` for a few seconds; the figures are
the medians over the rounds of each load's p50, rate, and the server process's CPU per request.
Every ratio is ours ÷ the peer's.

- The history: a session of 1,000 messages, `id sequence role content toolCallId createdAt`
  of each in sequence order, one request at a time. PostGraphile reads it through its
  generated `chatSessionById { chatMessagesBySessionId(orderBy: SEQUENCE_ASC) }`.
- The one-message create, at concurrency 1 and 10, to 64 sessions in turn: our
  appendMessage, and the peer's `appendMessage` (bench/postgraphile/schema.sql), a function
  doing what our statement does (the caller's session row's revision and count bumped, the
  message inserted with the next sequence) in its transaction, returning the same fields.
"""

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import wrk
from bench.environment import environment
from bench.figures import (
    MESSAGE_FIELDS,
    Config,
    Context,
    GraphQLClient,
    body,
    cpu_ms_per_request,
    operation,
    seeded,
    write_json,
)
from bench.peer_server import PeerUnavailable, postgraphile_server
from bench.peer_table import CONCURRENCIES, peer_notes, peer_rows
from bench.procs import RESULTS, ROOT, Server, raise_fd_limit, uvicorn_server
from bench.report import format_table
from bench.seed import message_input

HISTORY_FIELDS = "id sequence role content toolCallId createdAt"
OURS_HISTORY = (
    f"query PeerHistory($id: ID!) {{ session(id: $id) {{ messages {{ {HISTORY_FIELDS} }} }} }}"
)
PEER_HISTORY = (
    "query PeerHistory($id: UUID!) { chatSessionById(id: $id) { "
    "chatMessagesBySessionId(orderBy: SEQUENCE_ASC) { "
    f"nodes {{ {HISTORY_FIELDS} }} }} }} }}"
)
PEER_APPEND = (
    "mutation PeerAppend($sessionId: UUID!, $role: String!, $content: String) { "
    "appendMessage(input: {sessionId: $sessionId, role: $role, content: $content}) { "
    f"chatMessage {{ {MESSAGE_FIELDS} }} }} }}"
)
# Which figures the rounds measure, and the servers each one compares.
READS = ("ours", "ours_uncached", "peer")
WRITES = ("ours", "peer")


def rounds_for(config: Config) -> tuple[int, float]:
    """(rounds, seconds per load)."""
    return (2, 1) if config.quick else (5, 2)


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def figure(ctx: Context, *, secret: str, tree: Path, stamp: str) -> dict[str, Any]:
    """The figure, or {"unavailable": why} (said in one line) when the peer cannot run."""
    async with AsyncExitStack() as stack:
        try:
            peer, version = await stack.enter_async_context(
                postgraphile_server(
                    database_dsn=ctx.dsn, jwt_secret=secret, label=f"{stamp}-postgraphile"
                )
            )
        except PeerUnavailable as exc:
            say(f"peer: PostGraphile cannot run, its figure is left out: {exc}")
            return {"unavailable": str(exc)}
        servers = {"peer": peer}
        for name, settings in (("ours", {}), ("ours_uncached", {"RESPONSE_CACHE_BYTES": "0"})):
            servers[name] = await stack.enter_async_context(
                uvicorn_server(
                    database_dsn=ctx.dsn,
                    jwt_secret=secret,
                    tree=tree,
                    label=f"{stamp}-peer-{name.replace('_', '-')}",
                    settings=settings,
                )
            )
        result = await measure(ctx, servers)
        result["peer"] = f"PostGraphile {version}"
        return result


def history_bodies(ctx: Context) -> dict[str, str]:
    ours = body(OURS_HISTORY, id=str(ctx.data.history))
    return {
        "ours": ours,
        "ours_uncached": ours,
        "peer": body(PEER_HISTORY, id=str(ctx.data.history)),
    }


def create_bodies(ctx: Context) -> dict[str, list[str]]:
    """One message (a user's, about 200 characters) to each of the append sessions in turn."""
    message = message_input(0)
    ours = operation("AppendMessage")
    return {
        "ours": [body(ours, sessionId=str(s), message=message) for s in ctx.data.appends],
        "peer": [
            body(PEER_APPEND, sessionId=str(s), role=message["role"], content=message["content"])
            for s in ctx.data.appends
        ],
    }


async def same_history(ctx: Context, servers: dict[str, Server], reads: dict[str, str]) -> bool:
    """Whether every server answers the history with the same messages in the same order."""
    answers = []
    for name in READS:
        client = GraphQLClient(servers[name], ctx.token)
        try:
            data = (await client.post(reads[name]))["data"]
        finally:
            await client.close()
        found = (
            data["chatSessionById"]["chatMessagesBySessionId"]["nodes"]
            if name == "peer"
            else data["session"]["messages"]
        )
        keys = ("id", "sequence", "role", "content", "toolCallId")
        answers.append([tuple(message[key] for key in keys) for message in found])
    return len(answers[0]) == ctx.config.history and all(a == answers[0] for a in answers)


async def first_creates(
    ctx: Context, servers: dict[str, Server], writes: dict[str, list[str]]
) -> None:
    """One create on each server, checked: the peer's function returns null, not an error,
    when it wrote nothing."""
    for name in WRITES:
        client = GraphQLClient(servers[name], ctx.token)
        try:
            data = (await client.post(writes[name][0]))["data"]
        finally:
            await client.close()
        created = data["appendMessage"]["chatMessage"] if name == "peer" else data["appendMessage"]
        if not created or created["sessionId"] != str(ctx.data.appends[0]):
            raise RuntimeError(f"{name}'s create wrote nothing: {json.dumps(data)[:300]}")


def load(
    server: Server, token: str, bodies: list[str], concurrency: int, seconds: float
) -> dict[str, Any]:
    """One `wrk` load, and the server's CPU per request."""
    result = wrk.run(
        server.http_url,
        token,
        bodies,
        connections=concurrency,
        seconds=seconds,
        server_pids=server.pids(),
    )
    return {**result.as_dict(), "cpu_ms_per_request": cpu_ms_per_request(result)}


async def measure(ctx: Context, servers: dict[str, Server]) -> dict[str, Any]:
    rounds, seconds = rounds_for(ctx.config)
    reads, writes = history_bodies(ctx), create_bodies(ctx)
    identical = await same_history(ctx, servers, reads)
    await first_creates(ctx, servers, writes)
    # Warm: statements prepared, pools open, Node's JIT at work on both paths.
    for name in READS:
        load(servers[name], ctx.token, [reads[name]], 1, 1)
    for name in WRITES:
        load(servers[name], ctx.token, writes[name], max(CONCURRENCIES), 1)
    loads: dict[str, dict[str, list[dict[str, Any]]]] = {"history": {n: [] for n in READS}}
    for concurrency in CONCURRENCIES:
        loads[f"create_c{concurrency}"] = {n: [] for n in WRITES}
    for index in range(rounds):
        flip = -1 if index % 2 else 1
        for name in READS[::flip]:
            loads["history"][name].append(load(servers[name], ctx.token, [reads[name]], 1, seconds))
        for concurrency in CONCURRENCIES:
            for name in WRITES[::flip]:
                measured = load(servers[name], ctx.token, writes[name], concurrency, seconds)
                loads[f"create_c{concurrency}"][name].append(measured)
    out: dict[str, Any] = {
        "messages": ctx.config.history,
        "rounds": rounds,
        "seconds_per_load": seconds,
        "same_history": identical,
    }
    for key, by_server in loads.items():
        out[key] = {name: medians(results) for name, results in by_server.items()}
    return out


def medians(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over the rounds; failed requests and saturated clients summed."""
    numbers = ("rate", "p50_ms", "p99_ms", "cpu_ms_per_request", "server_cores", "machine_busy")
    out: dict[str, Any] = {key: statistics.median(r[key] for r in results) for key in numbers}
    out["errors"] = sum(r["errors"] for r in results)
    out["client_saturated"] = any(r["client_saturated"] for r in results)
    return out


def render(result: dict[str, Any]) -> str:
    """Figure 10 alone: a column per server."""
    if "unavailable" in result:
        return f"the peer did not run: {result['unavailable']}"
    header = ("what", "ours", result["peer"], "ours ÷ peer", "target")
    return format_table([header, *peer_rows(result)])


# --- python -m bench.peer -------------------------------------------------------------------


async def run(config: Config, tree: Path, stamp: str) -> dict[str, Any]:
    raise_fd_limit()
    secret = secrets.token_urlsafe(48)
    began = time.perf_counter()
    report: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(),
        "quick": config.quick,
        "environment": environment(tree),
    }
    async with seeded(
        config,
        [],
        secret,
        tree=tree,
        history=config.history,
        big=0,
        append_sessions=64,
        batch_reps=0,
        listed=0,
        listed_messages=0,
        tool_sessions=0,
    ) as ctx:
        report["figures"] = {"10_peer": await figure(ctx, secret=secret, tree=tree, stamp=stamp)}
    report["seconds"] = time.perf_counter() - began
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description="figure 10: our server beside PostGraphile 4")
    parser.add_argument("--quick", action="store_true", help="2 rounds of 1 s loads")
    parser.add_argument("--tree", type=Path, default=ROOT, help="serve our app from this checkout")
    arguments = parser.parse_args()
    if not wrk.available():
        sys.exit("missing wrk: apt-get install -y wrk")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    config = Config.make(arguments.quick)
    report = asyncio.run(run(config, arguments.tree.resolve(), stamp))
    result = report["figures"]["10_peer"]
    path = RESULTS / f"{stamp}-peer{'-quick' if arguments.quick else ''}.json"
    write_json(path, report)
    print(render(result))
    for note in [] if "unavailable" in result else peer_notes(result):
        print(f"! {note}")
    load = report["environment"]["loadavg_at_start"][0]
    if load > 1.0:
        print(f"! the machine was busy when the run started (load average {load:.1f})")
    print(f"\nwritten to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
