"""Production mode (ENVIRONMENT=production): no start without a key, no dev token, no
GraphiQL and no introspection unless turned on, cross-origin WebSockets only from
ALLOWED_ORIGINS; and development, the default, as the README's first command has it."""

import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query
from pydantic import ValidationError
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from core.settings import Settings
from tests.clients import TRANSPORT_WS, Api, Subscriber, new_user, token_for
from tests.processes import REPO, START_TIMEOUT, free_port
from tests.servers import JWT_SECRET, RunningServer, running_server

INTROSPECTIONS = {
    "__schema": "{ __schema { queryType { name } } }",
    "__type": '{ __type(name: "ChatSession") { name } }',
    "GraphiQL's query": get_introspection_query(),
}
ALLOWED = "https://chat.example.com"


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}"


@pytest.fixture(scope="module")
async def production(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[RunningServer]:
    url = sqlite_url(tmp_path_factory.mktemp("production"))
    async with running_server(
        environment="production", database_url=url, allowed_origins=[ALLOWED]
    ) as server:
        yield server


@pytest.fixture
async def http(production: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=production.http_url, timeout=30) as client:
        yield client


def production_environment(**variables: str) -> dict[str, str]:
    """The environment of a production server process: none of the settings of this one."""
    keep = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("JWT_", "ENVIRONMENT", "GRAPHIQL", "INTROSPECTION"))
    }
    return {**keep, "ENVIRONMENT": "production", **variables}


def test_production_refuses_to_start_without_a_key_naming_the_settings(tmp_path: Path):
    """`uvicorn app:app` itself, as it would be started, stops with the reason."""
    command = [sys.executable, "-m", "uvicorn", "app:app", "--app-dir", str(REPO)]
    started = subprocess.run(
        [*command, "--port", str(free_port())],
        cwd=tmp_path,  # no .env file
        env=production_environment(DATABASE_URL=sqlite_url(tmp_path)),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
    )
    assert started.returncode != 0
    assert "ENVIRONMENT=production needs a key" in started.stderr, started.stderr
    assert "JWT_SECRET" in started.stderr and "JWT_JWKS_URL" in started.stderr


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({}, "JWT_SECRET"),
        ({"jwt_secret": JWT_SECRET, "allowed_origins": ["*"]}, "ALLOWED_ORIGINS"),
        ({"jwt_jwks_url": "file:///etc/passwd"}, "JWT_JWKS_URL"),
    ],
    ids=["no_key", "any_origin", "jwks_not_http"],
)
def test_production_settings_refuse_what_is_unsafe(settings: dict[str, Any], named: str):
    with pytest.raises(ValidationError) as raised:
        Settings(environment="production", **settings)
    assert named in str(raised.value)


def test_production_starts_with_a_key_set_alone():
    settings = Settings(environment="production", jwt_jwks_url="https://id.example.com/jwks")
    assert settings.production and not settings.serves_graphiql
    assert not settings.allows_introspection


async def test_production_logs_its_mode_and_no_dev_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger="chatstore")
    async with running_server(environment="production", database_url=sqlite_url(tmp_path)):
        pass
    records = [record for record in caplog.records if record.name == "chatstore"]
    assert [(record.levelno, record.getMessage()) for record in records] == [
        (
            logging.INFO,
            "ENVIRONMENT=production: tokens verified with JWT_SECRET; "
            "GraphiQL off, introspection off",
        )
    ]


async def test_development_is_the_default_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    caplog.set_level(logging.INFO, logger="chatstore")
    async with running_server(jwt_secret=None, database_url=sqlite_url(tmp_path)) as server:
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            page = await http.get("/graphql", headers={"Accept": "text/html"})
            assert page.status_code == 200 and "<html" in page.text.lower()
            body = await Api(http, None).post(INTROSPECTIONS["__schema"])
            assert body == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    mode = [record for record in caplog.records if record.levelno == logging.INFO]
    assert "ENVIRONMENT=development: tokens verified with a random dev key" in (
        mode[0].getMessage()
    )
    assert any("token for user 'dev'" in record.getMessage() for record in caplog.records)


async def test_production_serves_no_graphiql_page(http: httpx.AsyncClient):
    response = await http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert "GRAPHIQL=true" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("introspection", INTROSPECTIONS)
async def test_production_refuses_introspection_with_a_code(
    introspection: str, http: httpx.AsyncClient
):
    api = Api(http, token_for(new_user()))
    for _ in range(2):  # the second time, as a text the server has seen
        error = await api.error(INTROSPECTIONS[introspection])
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", error
        assert "introspection has been disabled" in error["message"]
    assert await api.data("{ __typename sessionCount }") == {
        "__typename": "Query",
        "sessionCount": 0,
    }


async def test_production_refuses_introspection_over_a_websocket(production: RunningServer):
    async with connect(production.ws_url, subprotocols=[Subprotocol(TRANSPORT_WS)]) as ws:
        subscriber = Subscriber(ws, TRANSPORT_WS)
        assert (await subscriber.init(token_for(new_user())))["type"] == "connection_ack"
        await subscriber.subscribe(INTROSPECTIONS["__schema"], {})
        message = await subscriber.receive()
        assert message["type"] == "error", message
        [error] = message["payload"]
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", error


async def test_production_takes_cross_origin_websockets_from_allowed_origins_only(
    production: RunningServer,
):
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            production.ws_url,
            subprotocols=[Subprotocol(TRANSPORT_WS)],
            origin="https://elsewhere.example.com",  # type: ignore[arg-type]
        ):
            pass
    assert refused.value.response.status_code == 403
    async with connect(
        production.ws_url,
        subprotocols=[Subprotocol(TRANSPORT_WS)],
        origin=ALLOWED,  # type: ignore[arg-type]
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        # Let in, then refused for want of a token: the origin check passed.
        await ws.wait_closed()
        assert ws.close_code == 4403


async def test_settings_turn_graphiql_and_introspection_back_on_in_production(tmp_path: Path):
    async with running_server(
        environment="production",
        database_url=sqlite_url(tmp_path),
        graphiql=True,
        introspection=True,
    ) as server:
        async with httpx.AsyncClient(base_url=server.http_url) as http:
            page = await http.get("/graphql", headers={"Accept": "text/html"})
            assert page.status_code == 200 and "<html" in page.text.lower()
            body = await Api(http, None).post(INTROSPECTIONS["__type"])
            assert body == {"data": {"__type": {"name": "ChatSession"}}}


def test_production_runs_only_the_named_manifests_documents_unless_told_otherwise():
    key = "k" * 40
    named = Settings(environment="production", jwt_secret=key, trusted_documents="m.json")
    assert named.runs_trusted_documents_only
    assert not Settings(environment="production", jwt_secret=key).runs_trusted_documents_only
    relaxed = Settings(
        environment="production",
        jwt_secret=key,
        trusted_documents="m.json",
        trusted_documents_only=False,
    )
    assert not relaxed.runs_trusted_documents_only
    assert not Settings(trusted_documents="m.json").runs_trusted_documents_only
