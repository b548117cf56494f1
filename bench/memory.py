"""Where an idle subscription's memory goes (figure 7): tracemalloc inside the server.

    .venv/bin/python -m bench.memory [--subscriptions N] [--deflate] [--ws IMPL] [--by lineno]
                                     [--subscription toolMessageUpdated|sessionEvents]
                                     [--idle-compressor SECONDS]

Unlike the other figures the app runs in this process, under uvicorn, so that tracemalloc
sees its allocations; the subscribers are the suite's own client processes. Prints the RSS
and the traced Python memory per subscription, then the allocation sites that grew most
while the subscriptions opened. tracemalloc inflates RSS: compare the traced figure, and
RSS with `python -m bench` (figure 7).
"""

import argparse
import asyncio
import gc
import secrets
import socket
import tracemalloc

import httpx
import uvicorn

from bench.procs import raise_fd_limit, sqlalchemy_url, throwaway_database
from bench.subscribers import SUBSCRIPTIONS, Spec, Subscribers, open_all

TOOL_MESSAGE = (
    "mutation ($id: ID!) { appendMessage(sessionId: $id, "
    'message: {role: TOOL, toolCallId: "call", content: "done"}) { id } }'
)


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


async def session_ids(http: httpx.AsyncClient, token: str, count: int) -> list[str]:
    """`count` sessions with one TOOL message each: a subscription's first event replays it."""
    headers = {"Authorization": f"Bearer {token}"}
    ids = []
    for _ in range(count):
        created = await http.post(
            "/graphql", json={"query": "mutation { createSession { id } }"}, headers=headers
        )
        session_id = created.json()["data"]["createSession"]["id"]
        await http.post(
            "/graphql",
            json={"query": TOOL_MESSAGE, "variables": {"id": session_id}},
            headers=headers,
        )
        ids.append(session_id)
    return ids


async def run(
    subscriptions: int, deflate: bool, ws: str, by: str, subscription: str, idle: float
) -> None:
    from app import create_app
    from core.identity import issue_token
    from core.settings import Settings

    raise_fd_limit()
    secret = secrets.token_urlsafe(48)
    clients = [Subscribers(), Subscribers()]
    try:
        async with throwaway_database() as dsn:
            # One user holds every subscription: no limit per caller in the way.
            settings = Settings(
                database_url=sqlalchemy_url(dsn),
                jwt_secret=secret,
                log_level="WARNING",
                max_sockets_per_user=100_000,
                rate_limit_per_second=0,
                idle_compressor_seconds=idle,
            )
            app = create_app(settings)
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            config = uvicorn.Config(
                app, log_level="warning", ws=ws, ws_per_message_deflate=deflate, lifespan="on"
            )
            server = uvicorn.Server(config)
            serving = asyncio.create_task(server.serve(sockets=[sock]))
            while not server.started:
                if serving.done():
                    serving.result()  # raises what stopped the server
                await asyncio.sleep(0.01)
            token = issue_token(secret, "bench-memory")
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                ids = await session_ids(http, token, subscriptions + 50)
            url = f"ws://127.0.0.1:{port}/graphql"
            specs = [
                Spec(url, token, id, 0, deflate=deflate, subscription=subscription) for id in ids
            ]
            await open_all(clients, specs[:50])  # first-time costs (imports, caches) go here
            gc.collect()
            tracemalloc.start()
            rss_before, before = rss_kib(), tracemalloc.take_snapshot()
            opened = await open_all(clients, specs[50:])
            # Idle long enough for every socket to let go of its compressor, when they do.
            await asyncio.sleep(2 * idle + 1)
            gc.collect()
            rss_after, after = rss_kib(), tracemalloc.take_snapshot()
            tracemalloc.stop()
            count = opened["opened"]
            growth = after.compare_to(before, by)
            traced = sum(stat.size_diff for stat in growth)
            print(
                f"{count} idle {subscription} subscriptions "
                f"({ws}, deflate {'on' if deflate else 'off'}): "
                f"RSS {(rss_after - rss_before) / count:.1f} KiB each (tracemalloc on), "
                f"traced Python {traced / count / 1024:.1f} KiB each"
            )
            for stat in growth[:60]:
                print(
                    f"{stat.size_diff / count:8.0f} B {stat.count_diff / count:6.1f} objects"
                    f"  {stat.traceback}"
                )
            server.should_exit = True
            await serving
    finally:
        for client in clients:
            client.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--deflate", action="store_true", help="offer permessage-deflate")
    parser.add_argument(
        "--ws",
        choices=["auto", "websockets", "websockets-sansio", "wsproto"],
        default="auto",
        help="uvicorn's WebSocket implementation",
    )
    parser.add_argument("--by", choices=["filename", "lineno"], default="filename")
    parser.add_argument("--subscription", choices=list(SUBSCRIPTIONS), default="toolMessageUpdated")
    parser.add_argument(
        "--idle-compressor",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="IDLE_COMPRESSOR_SECONDS (default 0: compressors kept); measured once idle twice that",
    )
    arguments = parser.parse_args()
    asyncio.run(
        run(
            arguments.subscriptions,
            arguments.deflate,
            arguments.ws,
            arguments.by,
            arguments.subscription,
            arguments.idle_compressor,
        )
    )


if __name__ == "__main__":
    main()
