"""A new user's first hour: `/` says where to go, the start-up log says where the token goes,
and tokens minted by the README's commands expire.

The README's GraphiQL walk itself runs in the browser (tests/test_browser.py, scenario
"readme-walk")."""

import asyncio
import os
import re
import sys
import time
from collections.abc import AsyncIterator
from contextlib import suppress
from datetime import timedelta
from pathlib import Path

import httpx
import jwt
import pytest

from core.identity import TOKEN_LIFETIME, issue_token
from tests.clients import Api
from tests.processes import REPO, free_port
from tests.servers import RunningServer, database_url, running_server
from transports.welcome import served_at


@pytest.fixture(scope="module")
async def site(workdir: Path) -> AsyncIterator[RunningServer]:
    async with database_url("sqlite", workdir) as url, running_server(database_url=url) as server:
        yield server


async def test_the_root_points_to_graphiql_and_the_chat_client(site: RunningServer):
    async with httpx.AsyncClient(base_url=site.http_url, timeout=30) as http:
        root = await http.get("/", headers={"Accept": "text/html"})
        assert root.status_code == 200
        assert root.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in root.headers["content-security-policy"]
        links = re.findall(r'<a href="([^"]+)"', root.text)
        assert links == ["/graphql", "/app/"]
        for link in links:
            page = await http.get(link, headers={"Accept": "text/html"})
            assert page.status_code == 200, link
            assert "<!doctype html>" in page.text.lower(), link


async def test_the_dev_mode_log_gives_the_urls_and_a_token_for_the_pages_token_field(
    tmp_path: Path,
):
    port = free_port()
    log = tmp_path / "uvicorn.log"
    env = {name: value for name, value in os.environ.items() if name != "JWT_SECRET"}
    env.update(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'dev.db'}",
        DEV_TOKEN_HOURS="2",
        PYTHONUNBUFFERED="1",
    )
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port)),
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=output,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            deadline = time.monotonic() + 30
            while True:
                assert process.returncode is None, log.read_text()
                with suppress(httpx.TransportError):
                    if (await http.get("/healthz")).status_code == 200:
                        break
                assert time.monotonic() < deadline, log.read_text()
                await asyncio.sleep(0.1)
            text = log.read_text()
            assert f"Open GraphiQL at {base}/graphql or the chat client at {base}/app/" in text
            assert "(valid for 2 hours, DEV_TOKEN_HOURS) into the page's Bearer token field:" in (
                text
            )
            assert "Headers pane" not in text
            (token,) = re.findall(r"^(eyJ[\w-]+\.[\w-]+\.[\w-]+)$", text, re.MULTILINE)
            claims = jwt.decode(token, options={"verify_signature": False})
            assert claims["sub"] == "dev"
            assert claims["exp"] - claims["iat"] == 2 * 3600
            api = Api(http, token)
            assert await api.data("{ sessionCount }") == {"sessionCount": 0}
            # The page's field is the one the log names.
            page = await http.get("/graphql", headers={"Accept": "text/html"})
            assert '<label for="token">Bearer token</label>' in page.text
    finally:
        process.terminate()
        await process.wait()


def test_tokens_minted_as_the_readme_says_expire_after_a_day_or_the_lifetime_given():
    secret = "k" * 32
    default = jwt.decode(issue_token(secret, "alice"), secret, algorithms=["HS256"])
    assert default["exp"] - default["iat"] == TOKEN_LIFETIME.total_seconds() == 24 * 3600
    chosen = jwt.decode(
        issue_token(secret, "worker", role="service", ttl=timedelta(hours=8)),
        secret,
        algorithms=["HS256"],
    )
    assert (chosen["exp"] - chosen["iat"], chosen["role"]) == (8 * 3600, "service")


@pytest.mark.parametrize(
    ("argv", "url"),
    [
        (["/x/.venv/bin/uvicorn", "app:app"], "http://127.0.0.1:8000"),
        (["/x/uvicorn/__main__.py", "app:app", "--port", "9001"], "http://127.0.0.1:9001"),
        (["uvicorn", "app:app", "--host", "0.0.0.0", "--port", "80"], "http://127.0.0.1:80"),
        (["uvicorn", "app:app", "--host", "::1"], "http://[::1]:8000"),
        (["uvicorn", "app:app", "--uds", "/run/chat.sock"], "http://127.0.0.1:8000"),
        (["gunicorn", "app:app", "--bind", "0.0.0.0:9"], "http://127.0.0.1:8000"),
    ],
)
def test_the_log_names_the_address_uvicorn_was_told_to_serve(argv: list[str], url: str):
    assert served_at(argv) == url
