"""Every test that takes `api` or `server` runs on SQLite and on PostgreSQL (TEST_DATABASES
may keep one of them: see `server`); every test that takes `pair` runs with hints over Redis
and over PostgreSQL LISTEN/NOTIFY."""

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.clients import Api, new_user, token_for
from tests.processes import Pair, RedisServer, redis_server, server_pair
from tests.servers import RunningServer, database_url, running_server

DATABASE_KINDS = ("sqlite", "postgres")
SERVER_DATABASES = os.environ.get("TEST_DATABASES", ",".join(DATABASE_KINDS)).split(",")
if not set(SERVER_DATABASES) <= set(DATABASE_KINDS):
    raise pytest.UsageError(
        f"TEST_DATABASES={os.environ['TEST_DATABASES']!r}: sqlite and/or postgres, comma-separated"
    )


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("databases")


@pytest.fixture(scope="session", params=SERVER_DATABASES)
async def server(request: pytest.FixtureRequest, workdir: Path) -> AsyncIterator[RunningServer]:
    """One uvicorn per database kind for the whole run; tests isolate by fresh users.

    The kinds are sqlite and postgres, or those listed in TEST_DATABASES (comma-separated,
    e.g. TEST_DATABASES=postgres), as for CI's second run with the speed layers off.
    """
    async with database_url(request.param, workdir) as url:
        async with running_server(database_url=url) as running:
            yield running


@pytest.fixture
async def http(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=60) as client:
        yield client


@pytest.fixture
def user() -> str:
    return new_user()


@pytest.fixture
def api(http: httpx.AsyncClient, user: str) -> Api:
    """A fresh user's client: no other test sees its sessions."""
    return Api(http, token_for(user))


@pytest.fixture(scope="module")
async def redis(workdir: Path) -> AsyncIterator[RedisServer]:
    """A redis-server of our own for the tests that do not kill it."""
    async with redis_server(workdir) as server:
        yield server


@pytest.fixture(scope="module", params=["redis", "postgres"])
async def pair(
    request: pytest.FixtureRequest, workdir: Path, redis: RedisServer
) -> AsyncIterator[Pair]:
    """Two `uvicorn app:app` processes sharing one PostgreSQL database and one broker."""
    async with server_pair(workdir, request.param, redis) as running:
        yield running
