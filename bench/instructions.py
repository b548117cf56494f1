"""Repeat reads of one session in process, for an instruction count under callgrind.

    .venv/bin/python -m bench.instructions --callgrind [--reads 1000] [--document ChatPage]

Creates a throwaway database on TEST_POSTGRES_URL's server and a session of 1,000 messages
of 200-500 characters, serves `bench.cpu`'s app (no rate limit, log level WARNING, no
periodic duty due while it runs), warms up with 50 reads, then posts `--reads` GetSession
requests through the ASGI app, each answered by the response cache after the `session`
field's permission and resolver.

With `--callgrind` it runs itself twice under `valgrind --tool=callgrind`, with the reads
and without them, and prints the difference per read: what one repeat read costs in
instructions, start-up and the session's writes subtracted. Run the same command before
and after a change; the callgrind files stay in bench/results/ for `callgrind_annotate`.
Instruction counts are not times, but they do not move with the machine's load.
"""

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import uvloop

from bench.cpu import app_settings, operation_text, post, session_of_1000
from bench.procs import RESULTS, throwaway_database

DOCUMENTS = ("GetSession", "ChatPage")


@asynccontextmanager
async def session_read(document: str) -> AsyncIterator[Callable[[], Awaitable[bytes]]]:
    """A read of `document` on a session of 1,000 messages, through the app (posting
    returns the response's body), with the app and its database up meanwhile."""
    from app import create_app
    from core.identity import issue_token

    secret = secrets.token_urlsafe(48)
    async with throwaway_database() as dsn:
        # No periodic duty (overdue operations' expiry each second, the subscriptions'
        # recheck) runs in between: a run under callgrind lasts minutes, and theirs would be
        # counted against the reads.
        app = create_app(app_settings(dsn, secret, expiry_seconds=3600, recheck_seconds=3600))
        token = issue_token(secret, "bench-instructions")
        async with app.router.lifespan_context(app):
            session_id = await session_of_1000(app, token)
            variables = {"id": session_id} | ({"last": 50} if document == "ChatPage" else {})
            body = json.dumps({"query": operation_text(document), "variables": variables}).encode()

            async def read() -> bytes:
                return await post(app, body, token)

            first = await read()
            assert b'"errors"' not in first, first[:500]
            yield read


async def run(reads: int, document: str, warm: int) -> None:
    async with session_read(document) as read:
        for _ in range(warm):
            await read()
        for _ in range(reads):
            await read()


def instructions(reads: int, document: str, warm: int) -> int:
    """The instructions of this module's run with `reads` reads, under callgrind."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"callgrind-{document}-{reads}.out"
    command = [
        *("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"),
        *(sys.executable, "-m", "bench.instructions", "--reads", str(reads)),
        *("--document", document, "--warm", str(warm)),
    ]
    # The same hash seed for both runs: dicts and sets then do the same work.
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    finished = subprocess.run(command, env=environment, capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", finished.stderr)
    if finished.returncode or found is None:
        raise SystemExit(f"callgrind failed:\n{finished.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=1000)
    parser.add_argument("--warm", type=int, default=50)
    parser.add_argument("--document", choices=DOCUMENTS, default="GetSession")
    parser.add_argument("--callgrind", action="store_true")
    arguments = parser.parse_args()
    if not arguments.callgrind:
        uvloop.run(run(arguments.reads, arguments.document, arguments.warm))
        return
    with_reads = instructions(arguments.reads, arguments.document, arguments.warm)
    without = instructions(0, arguments.document, arguments.warm)
    per_read = (with_reads - without) / arguments.reads
    print(
        f"{per_read:,.0f} instructions per {arguments.document} repeat read "
        f"({with_reads:,} with {arguments.reads} reads, {without:,} without)"
    )


if __name__ == "__main__":
    main()
