"""The benchmark suite of issue 4 (and figure 9, streamed replies): the service against its
floor, on PostgreSQL; and figure 10, the service beside PostGraphile 4 (issue 15, bench/peer.py).

    .venv/bin/python -m bench            # the full run, about 6-10 minutes
    .venv/bin/python -m bench --quick    # a smoke run, 1-2 minutes

Needs PostgreSQL (TEST_POSTGRES_URL's server, default postgres@127.0.0.1:5432), `wrk` and
`redis-server` (Debian: apt-get install -y wrk redis-server), and for figure 10 Node 20 and
npm (without them the run says so and leaves figure 10 out). Creates a throwaway
database, seeds it, serves the app with `python -m uvicorn app:app`, prints one table and
writes bench/results/<UTC timestamp>.json. Every figure's floor is measured in the same
run; compare ratios, not milliseconds, between runs.
"""

import argparse
import asyncio
import secrets
import shutil
import sys
import time
import traceback
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import figures, peer, wrk
from bench.environment import environment
from bench.figures import Config
from bench.procs import (
    RESULTS,
    ROOT,
    raise_fd_limit,
    redis_server,
    uvicorn_server,
)
from bench.report import render
from bench.subscribers import SESSION_EVENTS, Subscribers

# What a server's log may say under load that changes how to read the figures.
LOG_PATTERNS = {
    "broadcast lost": "lost the broadcast backend",
    "pool exhausted": "QueuePool limit",
    "PostgreSQL out of connections": "too many clients already",
    "unexpected errors": "unexpected error",
    "tracebacks": "Traceback (most recent call last)",
}


def log_summary(path: Path) -> dict[str, int]:
    text = path.read_text(errors="replace")
    return {name: text.count(needle) for name, needle in LOG_PATTERNS.items() if needle in text}


async def attempt(into: dict[str, Any], key: str, work: Awaitable[Any]) -> None:
    """Store `work`'s result under `key`; a failure is stored as an error, and the run goes on."""
    try:
        into[key] = await work
    except Exception as exc:
        traceback.print_exc()
        into[key] = {"error": f"{type(exc).__name__}: {exc}"}


async def run(config: Config, tree: Path, stamp: str) -> dict[str, Any]:

    fd_limit = raise_fd_limit()
    secret = secrets.token_urlsafe(48)
    report: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(),
        "quick": config.quick,
        "environment": environment(tree),
        "fd_limit": fd_limit,
        "config": config.__dict__,
        "figures": {},
    }
    figs = report["figures"]
    clients = [Subscribers() for _ in range(config.client_processes)]
    began = time.perf_counter()

    def step(name: str) -> None:
        print(f"[{time.perf_counter() - began:6.1f}s] {name}", file=sys.stderr, flush=True)

    try:
        step("migrating and seeding")
        async with figures.seeded(
            config,
            clients,
            secret,
            tree=tree,
            history=config.history,
            big=config.big,
            append_sessions=64,
            batch_reps=config.batch_reps,
            listed=config.listed,
            listed_messages=config.listed_messages,
            tool_sessions=max(config.idle, config.fanout_sessions),
            streams=config.streams,
        ) as ctx:
            async with uvicorn_server(
                database_dsn=ctx.dsn, jwt_secret=secret, tree=tree, label=f"{stamp}-one-worker"
            ) as server:
                step("1 history")
                await attempt(figs, "1_history", figures.history(ctx, server))
                step("2 latest page")
                await attempt(figs, "2_latest_page", figures.latest_page(ctx, server))
                step("3 append")
                await attempt(figs, "3_append", figures.append(ctx, server))
                step("4 batch")
                await attempt(figs, "4_batch", figures.batch(ctx, server))
                step("5 session list")
                await attempt(figs, "5_session_list", figures.session_list(ctx, server))
                step("6 fan-out")
                await attempt(figs, "6_fanout", figures.fanout(ctx, server, "6"))
                step("6 fan-out: sessionEvents")
                await attempt(
                    figs,
                    "6_fanout_session_events",
                    figures.fanout(ctx, server, "6e", subscription=SESSION_EVENTS),
                )
            step("6 fan-out floor")
            await attempt(figs, "6_fanout_floor", figures.fanout_floor(ctx))
            step("6 fan-out floor: sessionEvents")
            await attempt(
                figs, "6_fanout_session_events_floor", figures.fanout_floor(ctx, SESSION_EVENTS)
            )
            async with uvicorn_server(
                database_dsn=ctx.dsn,
                jwt_secret=secret,
                tree=tree,
                app="bench.counted:app",
                label=f"{stamp}-counted",
            ) as counted:
                step("5 statement count")
                await attempt(
                    figs["5_session_list"], "statements", figures.statements(ctx, counted)
                )
            async with uvicorn_server(
                database_dsn=ctx.dsn,
                jwt_secret=secret,
                tree=tree,
                label=f"{stamp}-capacity",
                settings=figures.IDLE_SETTINGS,
            ) as server:
                step(f"7 capacity ({config.idle} idle subscriptions)")
                await attempt(figs, "7_capacity", figures.capacity(ctx, server))
            step(f"7 capacity floor ({config.idle} idle sockets)")
            await attempt(figs, "7_capacity_floor", figures.capacity_floor(ctx))
            async with uvicorn_server(
                database_dsn=ctx.dsn,
                jwt_secret=secret,
                tree=tree,
                label=f"{stamp}-capacity-session-events",
                settings=figures.IDLE_SETTINGS,
            ) as server:
                step(f"7 capacity: sessionEvents ({config.idle} idle subscriptions)")
                await attempt(
                    figs,
                    "7_capacity_session_events",
                    figures.capacity(ctx, server, SESSION_EVENTS, beside=False),
                )
            with redis_server() as redis_url:
                async with uvicorn_server(
                    tree=tree,
                    database_dsn=ctx.dsn,
                    jwt_secret=secret,
                    workers=2,
                    broadcast_url=redis_url,
                    label=f"{stamp}-two-workers",
                ) as server:
                    step("8 two workers: append")
                    two: dict[str, Any] = {}
                    figs["8_two_workers"] = two
                    await attempt(two, "append", figures.append(ctx, server, with_floor=False))
                    step("8 two workers: fan-out")
                    await attempt(
                        two,
                        "fanout",
                        figures.fanout(ctx, server, "8", rounds=max(3, config.fanout_rounds // 2)),
                    )
            async with uvicorn_server(
                database_dsn=ctx.dsn, jwt_secret=secret, tree=tree, label=f"{stamp}-streams"
            ) as server:
                step(f"9 streams ({config.streams} at once)")
                await attempt(figs, "9_streams", figures.streams(ctx, server))
            step("9 streams floor")
            await attempt(figs, "9_streams_floor", figures.streams_floor(ctx))
            step("10 beside the peer, PostGraphile")
            await attempt(figs, "10_peer", peer.figure(ctx, secret=secret, tree=tree, stamp=stamp))
    finally:
        for client in clients:
            client.stop()
    report["seconds"] = time.perf_counter() - began
    report["server_logs"] = {
        path.name: log_summary(path) for path in sorted(RESULTS.glob(f"{stamp}-*.log"))
    }
    step("done")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description="chatstore's benchmark suite (issue 4)")
    parser.add_argument("--quick", action="store_true", help="a smoke run of 1-2 minutes")
    parser.add_argument(
        "--tree",
        type=Path,
        default=ROOT,
        help="serve the app from this checkout instead (e.g. a `git worktree` of an older "
        "commit, to measure a lever before and after with the same harness)",
    )
    parser.add_argument(
        "--no-deflate",
        action="store_true",
        help="subscribers do not offer permessage-deflate (what it costs: figures 6-8)",
    )
    arguments = parser.parse_args()
    missing = [tool for tool in ("wrk", "redis-server") if shutil.which(tool) is None]
    if missing:
        sys.exit(f"missing {', '.join(missing)}: apt-get install -y {' '.join(missing)}")
    assert wrk.available()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    config = Config.make(arguments.quick)
    config.deflate = not arguments.no_deflate
    report = asyncio.run(run(config, arguments.tree.resolve(), stamp))
    path = RESULTS / f"{stamp}{'-quick' if arguments.quick else ''}.json"
    table, notes = render(report)
    report["table"] = table
    report["notes"] = notes
    figures.write_json(path, report)
    print(table)
    for note in notes:
        print(f"! {note}")
    print(f"\nwritten to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
