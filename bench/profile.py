"""Where the server's time goes, for figures 1, 3, 6 and 9: py-spy samples, summed by package.

    .venv/bin/python -m bench.profile [--seconds 15] [--only history|append|fanout|streams ...]

Needs py-spy (the `bench` extra installs it beside this Python) and wrk. Starts its own
throwaway database and `python -m uvicorn app:app`, then samples the server with
`py-spy record --nonblocking` (idle time is not sampled) while it serves:

- history: GetSession of 1,000 messages, each request after a write (the cache misses);
- append: appendMessage from wrk at concurrency 16;
- fan-out: 8 rounds of figure 6a (1,000 subscribers on one session);
- streams: figure 9's 100 streamed replies, chunks as fast as answered (wrk.streams), first
  without subscribers, then with a sessionEvents subscriber per stream.

Prints, per load, the share of busy samples by package (inclusive: a sample counts for
every package on its stack; self: the package of the innermost frame) and the busiest
functions; the collapsed stacks go to bench/results/profile-<load>.txt for a flame graph.
"""

import argparse
import asyncio
import re
import secrets
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from bench import figures, wrk
from bench.figures import Config, Context, GraphQLClient, body, operation
from bench.procs import (
    RESULTS,
    Server,
    raise_fd_limit,
    uvicorn_server,
)
from bench.seed import message_input
from bench.subscribers import CHUNK, STREAMED_CHUNKS, Subscribers, close_all, open_all

FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^():]+)(?::\d+)?\)$")
# py-spy as the `bench` extra installs it (beside this Python), else from PATH.
PY_SPY = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")

OURS = ("app.py", "core", "db", "schema", "resolvers", "bench")
FRAMING = {"<frozen runpy>", "click", "uvicorn"}  # on every stack: says nothing


def package(path: str) -> str:
    """A frame's package: the first part of py-spy's short path (ours marked as such)."""
    first = path.split("/", 1)[0].removesuffix(".py")
    return f"chatstore:{first}" if first in OURS or f"{first}.py" in OURS else first


def summarize(collapsed: str, top: int = 12) -> str:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [FRAME.match(frame) for frame in stack.split(";")]
        parsed = [(m["function"], m["path"]) for m in frames if m is not None]
        if not parsed:
            continue
        total += count
        for name in {package(path) for _, path in parsed} - FRAMING:
            inclusive[name] += count
        function, path = parsed[-1]
        own[package(path)] += count
        functions[f"{function} ({path})"] += count
    if not total:
        return "  no samples (is the server busy? did py-spy attach?)"
    lines = [f"  {total} busy samples"]
    for title, counter in (("inclusive", inclusive), ("self", own), ("function", functions)):
        lines.append(f"  by {title}:")
        for name, count in counter.most_common(top):
            lines.append(f"    {count / total:6.1%}  {name}")
    return "\n".join(lines)


def record(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy on `pid` until `finish` interrupts it."""
    assert PY_SPY is not None
    command = [PY_SPY, "record", "--nonblocking", "--format", "raw", "--rate", "200"]
    command += ["--pid", str(pid), "--output", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def finish(spy: subprocess.Popen[bytes], out: Path, label: str) -> None:
    spy.send_signal(signal.SIGINT)
    _, errors = spy.communicate(timeout=120)
    if not out.exists():
        raise RuntimeError(f"py-spy wrote nothing: {errors.decode()}")
    print(f"\n{label}  ({out.relative_to(RESULTS.parent.parent)})")
    print(summarize(out.read_text()))


async def profile_history(ctx: Context, server: Server) -> None:
    query = body(operation("GetSession"), id=str(ctx.data.history))
    await figures.after_write(ctx, server, ctx.token, query, ctx.data.history)
    out = RESULTS / "profile-history.txt"
    spy = record(server.pid, out)
    await asyncio.sleep(1)
    samples, _ = await figures.after_write(ctx, server, ctx.token, query, ctx.data.history)
    finish(spy, out, f"1 history after a write: p50 {samples.p50:.1f} ms")


async def profile_append(ctx: Context, server: Server, seconds: int) -> None:
    bodies = [
        body(operation("AppendMessage"), sessionId=str(s), message=message_input(0))
        for s in ctx.data.appends
    ]
    client = GraphQLClient(server, ctx.token)
    await client.post(bodies[0])
    await client.close()
    out = RESULTS / "profile-append.txt"
    spy = record(server.pid, out)
    await asyncio.sleep(1)
    load = wrk.run(
        server.http_url,
        ctx.token,
        bodies,
        connections=16,
        seconds=seconds,
        server_pids=server.pids(),
    )
    finish(
        spy,
        out,
        f"3 appendMessage at concurrency 16: {load.rate:.0f}/s, "
        f"server CPU {figures.cpu_ms_per_request(load):.2f} ms/request",
    )


async def profile_fanout(ctx: Context, server: Server) -> None:
    specs = await figures.specs_for(ctx, server.ws_url, [ctx.data.fanout] * ctx.config.fanout)
    opened = await open_all(ctx.clients, specs)
    trigger = figures.Trigger(server, ctx.token)
    out = RESULTS / "profile-fanout.txt"
    try:
        spy = record(server.pid, out)
        await asyncio.sleep(1)
        result = await figures._rounds(ctx, trigger, opened["shares"], "p", 8, server.pids())
        finish(
            spy,
            out,
            f"6a fan-out to {opened['opened']} subscribers: p50 "
            f"{result['p50_ms']:.0f} ms, server CPU "
            f"{result['server_cpu_ms_per_delivery']:.2f} ms per delivery",
        )
    finally:
        await trigger.close()
        await close_all(ctx.clients)


async def profile_streams(ctx: Context, server: Server, seconds: int) -> None:
    bodies = figures.chunk_bodies(ctx.data.streams)

    def load() -> wrk.WrkResult:
        return wrk.streams(
            server.http_url, ctx.token, bodies, CHUNK, seconds=seconds, server_pids=server.pids()
        )

    sessions = [stream.session_id for stream in ctx.data.streams]
    specs = await figures.specs_for(
        ctx, server.ws_url, sessions, subscription=STREAMED_CHUNKS, after_revision=0
    )
    load()  # warm
    for label, watched in (("streams", False), ("streams-watched", True)):
        if watched:
            await open_all(ctx.clients, specs)
        out = RESULTS / f"profile-{label}.txt"
        spy = record(server.pid, out)
        await asyncio.sleep(1)
        result = load()
        finish(
            spy,
            out,
            f"9 {len(bodies)} streams{', each with a subscriber' if watched else ''}: "
            f"{result.rate:.0f} chunks/s, server CPU "
            f"{figures.cpu_ms_per_request(result):.2f} ms/chunk",
        )
    await figures.settled_chunks(ctx, ctx.data.streams)  # the queued chunks sent, then close
    await close_all(ctx.clients)


LOADS = ("history", "append", "fanout", "streams")


async def run(seconds: int, loads: Sequence[str] = LOADS) -> None:
    raise_fd_limit()
    secret = secrets.token_urlsafe(48)
    config = Config.make(quick=False)
    config.latency_seconds = seconds
    config.floor_count = 1_000_000
    clients = [Subscribers() for _ in range(config.client_processes)]
    try:
        async with figures.seeded(
            config,
            clients,
            secret,
            history=1000,
            big=1000,
            append_sessions=64,
            streams=config.streams,
        ) as ctx:
            async with uvicorn_server(
                database_dsn=ctx.dsn, jwt_secret=secret, label="profile"
            ) as server:
                if "history" in loads:
                    await profile_history(ctx, server)
                if "append" in loads:
                    await profile_append(ctx, server, seconds)
                if "fanout" in loads:
                    await profile_fanout(ctx, server)
                if "streams" in loads:
                    await profile_streams(ctx, server, seconds)
    finally:
        for client in clients:
            client.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--only", nargs="+", choices=LOADS, default=LOADS, help="these loads")
    arguments = parser.parse_args()
    if PY_SPY is None or shutil.which("wrk") is None:
        sys.exit('needs py-spy (pip install -e ".[bench]") and wrk (apt-get install -y wrk)')
    asyncio.run(run(arguments.seconds, arguments.only))


if __name__ == "__main__":
    main()
