"""permessage-deflate on and off: what a streamed reply costs on the wire against what an
idle subscription costs in memory, the two figures its default is decided by.

    .venv/bin/python -m bench.deflate [--subscriptions 1000] [--chunks 2000]

For each setting of the server (uvicorn's `--ws-per-message-deflate`, true being uvicorn's
default), on a fresh throwaway database: the RSS each idle `sessionEvents` subscription
adds to the server (figure 7's method) beside the same crowd on the bare-socket floor
(`bench.floor_ws`, with the socket compressed when ours is), and the bytes the wire
carries per chunk of a streamed reply (figure 9c's method: one subscriber, a chunk of
20 bytes at a time, at content 0 and 100 KiB). The subscribers offer permessage-deflate as
browsers do; the server decides.
"""

import argparse
import asyncio
import secrets
from typing import Any

from bench import figures
from bench.figures import Config
from bench.procs import raise_fd_limit, uvicorn_server
from bench.subscribers import CHUNK_BYTES, SESSION_EVENTS, Subscribers


async def measure(deflate: bool, subscriptions: int) -> dict[str, Any]:
    """Both figures with the server's permessage-deflate `deflate`."""
    secret = secrets.token_urlsafe(48)
    config = Config.make(quick=True)
    config.idle = subscriptions
    clients = [Subscribers() for _ in range(config.client_processes)]
    try:
        async with figures.seeded(
            config,
            clients,
            secret,
            tool_sessions=100,
        ) as ctx:
            option = "true" if deflate else "false"
            async with uvicorn_server(
                database_dsn=ctx.dsn,
                jwt_secret=secret,
                label=f"deflate-{option}",
                settings=figures.IDLE_SETTINGS,
                options=["--ws-per-message-deflate", option],
            ) as server:
                idle = await figures.capacity(ctx, server, SESSION_EVENTS, beside=False)
                frames = await figures.chunk_frames(ctx, server)
            # The floor's socket is compressed exactly when ours is.
            config.deflate = deflate
            floor = await figures.capacity_floor(ctx)
    finally:
        for client in clients:
            client.stop()
    return {"idle": idle, "floor": floor, "frames": frames}


def report(deflate: bool, result: dict[str, Any], chunks: int) -> None:
    ours = result["idle"]["kib_per_subscription"]
    floor = result["floor"]["kib_per_socket"]
    print(f"permessage-deflate {'on' if deflate else 'off'}:")
    print(
        f"  idle sessionEvents subscription: {ours:.1f} KiB RSS, "
        f"floor {floor:.1f} KiB per socket, {ours / floor:.2f}x the floor, "
        f"{ours * 10_000 / 1024:.0f} MB per 10,000"
    )
    for key, entry in result["frames"].items():
        if not key.startswith("kib_"):
            continue
        text = entry["appended_bytes"] + entry["session_bytes"]
        wire = entry["wire_bytes_per_chunk"]
        print(
            f"  chunk of {CHUNK_BYTES} B at content {key[4:]} KiB: frames {text} B of text, "
            f"{wire:.0f} B on the wire; a reply of {chunks:,} chunks: "
            f"{wire * chunks / 1024:.0f} KiB"
        )


async def run(subscriptions: int, chunks: int) -> None:
    raise_fd_limit()
    for deflate in (True, False):
        report(deflate, await measure(deflate, subscriptions), chunks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--chunks", type=int, default=2000, help="chunks in a long reply")
    arguments = parser.parse_args()
    asyncio.run(run(arguments.subscriptions, arguments.chunks))


if __name__ == "__main__":
    main()
