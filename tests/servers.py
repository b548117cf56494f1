"""Real servers for the tests: databases to run against, and uvicorn serving the app."""

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import uvicorn
from starlette.applications import Starlette

from app import create_app
from core.settings import Settings
from schema.root import Query

JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRED_IN_CI = os.environ.get("CI", "").lower() == "true"

# Settings that turn every speed layer on, and off (speed/__init__.py lists them), whatever
# the environment says.
SPEED_LAYERS_ON: dict[str, Any] = {
    "response_cache_bytes": Settings.model_fields["response_cache_bytes"].default,
    "document_cache": True,
    "fast_queries": True,
    "fast_mutations": True,
    "root_field_plans": True,
    "compiled_arguments": True,
    "compiled_reads": True,
    "shared_fanout": True,
    "events_from_writes": True,
    "extension_hooks_once": True,
    "prepared_statements": True,
    "single_statement_append": True,
    "single_statement_chunk": True,
    "gc_freeze": True,
    "fast_json": True,
    "database_json": True,
    "idle_compressor_seconds": Settings.model_fields["idle_compressor_seconds"].default,
}
SPEED_LAYERS_OFF: dict[str, Any] = {
    name: 0 if name in ("response_cache_bytes", "idle_compressor_seconds") else False
    for name in SPEED_LAYERS_ON
}


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def postgres_or_skip() -> asyncpg.Connection:
    """An admin connection to PostgreSQL; a visible skip without one (a failure under CI)."""
    try:
        return await asyncpg.connect(_asyncpg_dsn(POSTGRES_ADMIN_URL), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        reason = (
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({exc}); set TEST_POSTGRES_URL"
        )
        if REQUIRED_IN_CI:
            pytest.fail(f"CI=true requires PostgreSQL: {reason}")
        pytest.skip(reason)


@asynccontextmanager
async def database_url(kind: str, workdir: Path) -> AsyncIterator[str]:
    """A fresh, empty database of `kind` ("sqlite" or "postgres"), dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / f'chatstore-{uuid.uuid4().hex}.db'}"
        return
    admin = await postgres_or_skip()
    name = f"chatstore_test_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = _asyncpg_dsn(POSTGRES_ADMIN_URL).rsplit("/", 1)[0]
        yield f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@dataclass(frozen=True)
class RunningServer:
    app: Starlette
    settings: Settings
    http_url: str
    ws_url: str


@asynccontextmanager
async def running_server(*, query: type = Query, **settings: Any) -> AsyncIterator[RunningServer]:
    """The app under a real uvicorn on a free loopback port, lifespan included; `query`
    replaces the schema's Query type. It logs warnings and worse, unless `log_level` says
    otherwise (the app's logging is the process's: tests/test_observability.py restores it)."""
    config = Settings(**{"jwt_secret": JWT_SECRET, "log_level": "WARNING", **settings})
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this; without it each response waits ~40 ms for a delayed ACK.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(config, query=query)
    # A connection a test left open (a browser's subscription, say) is cancelled after a
    # few seconds when the server stops, instead of holding the teardown until the timeout.
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what stopped the server
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
        yield RunningServer(
            app=app,
            settings=config,
            http_url=f"http://127.0.0.1:{port}",
            ws_url=f"ws://127.0.0.1:{port}/graphql",
        )
    finally:
        server.should_exit = True
        await task
        sock.close()
