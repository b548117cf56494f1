"""PostGraphile 4 on one Node process (bench/postgraphile/server.js), the peer of issue 15:
installed with `npm ci` from the committed lock file when its node_modules is missing,
started on the run's database, stopped afterwards (even on error).

What stops the peer from running (no node or npm, `npm ci` failing, a server that does not
answer) is a `PeerUnavailable` whose message is one line saying why.
"""

import asyncio
import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator

import asyncpg
import httpx

from bench.procs import RESULTS, ROOT, Server, free_port, spawn, stop_process

PEER = ROOT / "bench" / "postgraphile"
READY_SECONDS = 60
INSTALL_SECONDS = 600


class PeerUnavailable(Exception):
    """The peer cannot run here; the message says why in one line."""


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def _npm_error(text: str) -> str:
    """npm's first error line (its last one only says where the log is)."""
    errors = [line for line in text.splitlines() if line.startswith(("npm error", "npm ERR!"))]
    return errors[0] if errors else _last_line(text)


def install() -> str:
    """node_modules from package-lock.json (`npm ci`) unless present; PostGraphile's version."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        raise PeerUnavailable(f"{' and '.join(missing)} not found (Node 20 and npm are needed)")
    if not (PEER / "node_modules" / "postgraphile").is_dir():
        command = ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"]
        try:
            done = subprocess.run(
                command, cwd=PEER, capture_output=True, text=True, timeout=INSTALL_SECONDS
            )
        except subprocess.TimeoutExpired:
            raise PeerUnavailable(f"npm ci took over {INSTALL_SECONDS} s in {PEER}") from None
        if done.returncode != 0:
            said = _npm_error(done.stderr + done.stdout)
            raise PeerUnavailable(f"npm ci failed in {PEER}: {said}")
    version = subprocess.run(
        ["node", "-p", "require('postgraphile/package.json').version"],
        cwd=PEER,
        capture_output=True,
        text=True,
    )
    if version.returncode != 0:
        raise PeerUnavailable(f"postgraphile is not installed in {PEER}: {version.stderr}")
    return version.stdout.strip()


async def prepare(database_dsn: str) -> None:
    """The peer's own schema (bench/postgraphile/schema.sql) beside our tables."""
    conn = await asyncpg.connect(database_dsn)
    try:
        await conn.execute((PEER / "schema.sql").read_text())
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def postgraphile_server(
    *, database_dsn: str, jwt_secret: str, label: str = "postgraphile"
) -> AsyncIterator[tuple[Server, str]]:
    """PostGraphile on a free loopback port until it answers a query, and its version."""
    version = install()
    await prepare(database_dsn)
    port = free_port()
    RESULTS.mkdir(parents=True, exist_ok=True)
    log = RESULTS / f"{label}.log"
    env = {
        **os.environ,
        "NODE_ENV": "production",
        "DATABASE_URL": database_dsn,
        "JWT_SECRET": jwt_secret,
        "PORT": str(port),
    }
    process = spawn(["node", "server.js"], env=env, log=log, cwd=PEER)
    server = Server(pid=process.pid, port=port, log=log)
    try:
        await _wait_ready(process, server)
        yield server, version
    finally:
        stop_process(process)


async def _wait_ready(process: subprocess.Popen[bytes], server: Server) -> None:
    """Until a query is answered: PostGraphile introspects the database before it serves."""
    deadline = time.monotonic() + READY_SECONDS
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                said = _last_line(server.log.read_text(errors="replace"))
                raise PeerUnavailable(f"PostGraphile exited ({process.returncode}): {said}")
            with contextlib.suppress(httpx.HTTPError):
                response = await client.post(server.http_url, json={"query": "{ __typename }"})
                if response.status_code == 200 and "data" in response.json():
                    return
            await asyncio.sleep(0.2)
    raise PeerUnavailable(f"PostGraphile did not answer within {READY_SECONDS} s: see {server.log}")
