"""Every test that takes `api` or `server` runs on SQLite and on PostgreSQL."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.clients import Api, new_user, token_for
from tests.servers import RunningServer, database_url, running_server


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("databases")


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def server(request: pytest.FixtureRequest, workdir: Path) -> AsyncIterator[RunningServer]:
    """One uvicorn per database kind for the whole run; tests isolate by fresh users."""
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
