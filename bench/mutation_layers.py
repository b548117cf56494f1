"""CPU per appendMessage with the mutation speed layers off, partly on and on, interleaved.

    .venv/bin/python -m bench.mutation_layers [--batches 15] [--size 200]

`python -m bench.cpu` measures one app after another; on a shared machine its best of three
runs moves more than these layers change. This builds three apps on one throwaway
PostgreSQL database in one process (FAST_MUTATIONS and COMPILED_ARGUMENTS off; FAST_MUTATIONS
alone; both on, as by default) and posts `--size` appends through each in turn, `--batches`
times, so that the machine's moods fall on all three alike; it prints the lowest and the
median `time.process_time()` per append of each.
"""

import argparse
import json
import secrets
import statistics
import time
from contextlib import AsyncExitStack
from typing import Any

import uvloop

from bench.cpu import APPEND, app_settings, create_session, post
from bench.procs import throwaway_database

VARIANTS: dict[str, dict[str, Any]] = {
    "both off": {"fast_mutations": False, "compiled_arguments": False},
    "FAST_MUTATIONS alone": {"compiled_arguments": False},
    "both on": {},
}


async def run(batches: int, size: int) -> None:
    from app import create_app
    from core.identity import issue_token

    secret = secrets.token_urlsafe(48)
    token = issue_token(secret, "bench-mutation-layers")
    async with throwaway_database() as dsn, AsyncExitStack() as stack:
        bodies = {}
        for name, layers in VARIANTS.items():
            app = create_app(app_settings(dsn, secret, **layers))
            await stack.enter_async_context(app.router.lifespan_context(app))
            session_id = await create_session(app, token)
            message = {"role": "USER", "content": "hello " * 30}
            variables = {"sessionId": session_id, "message": message}
            bodies[name] = (app, json.dumps({"query": APPEND, "variables": variables}).encode())
            for _ in range(300):  # warm: caches, prepared statements, the pool
                await post(app, bodies[name][1], token)
        spent: dict[str, list[float]] = {name: [] for name in VARIANTS}
        for _ in range(batches):
            for name, (app, body) in bodies.items():
                start = time.process_time()
                for _ in range(size):
                    await post(app, body, token)
                spent[name].append((time.process_time() - start) / size * 1e6)
    for name, figures in spent.items():
        print(
            f"{min(figures):7.0f} µs lowest {statistics.median(figures):7.0f} µs median  "
            f"CPU per append, {name}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=15)
    parser.add_argument("--size", type=int, default=200)
    arguments = parser.parse_args()
    uvloop.run(run(arguments.batches, arguments.size))


if __name__ == "__main__":
    main()
