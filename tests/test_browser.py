"""The frontend's view: the built chat client and GraphiQL, served by a real uvicorn.

The first tests read what the server sends a browser (plain HTTP, always run). The scenarios
drive Debian's Chromium with playwright-core: each is a step list in
`web/tests/browser/scenarios.mjs`, run by node against a server this module starts on SQLite,
with a user token and a service (worker) token minted here. Without node, Chromium or
`web/node_modules` they skip with the reason; with `CI=true` that is a failure. Screenshots of
every state land in `build/screenshots/` (or `$BROWSER_SCREENSHOTS`).
"""

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.clients import Api, new_user, operation, token_for
from tests.servers import REQUIRED_IN_CI, RunningServer, database_url, running_server

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
SCENARIOS = WEB / "tests" / "browser" / "scenarios.mjs"
SCREENSHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", ROOT / "build" / "screenshots"))
# A hang guard for one scenario (a browser start included), never a speed check.
SCENARIO_TIMEOUT = 90


def chromium_path() -> str | None:
    candidates = [os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", shutil.which("chromium")]
    return next((c for c in candidates if c and Path(c).is_file()), None)


def browser_tools_or_skip() -> tuple[str, str]:
    """node and Chromium; a visible skip without them (a failure under CI=true)."""
    node = shutil.which("node")
    chromium = chromium_path()
    missing = [
        what
        for what, present in [
            ("node (Node.js 20+)", node),
            ("Chromium (apt-get install -y chromium, or set CHROMIUM_PATH)", chromium),
            (
                "web/node_modules (cd web && npm ci)",
                (WEB / "node_modules" / "playwright-core").is_dir(),
            ),
        ]
        if not present
    ]
    if missing or node is None or chromium is None:
        reason = f"browser tests need {', '.join(missing)}"
        if REQUIRED_IN_CI:
            pytest.fail(f"CI=true requires the browser tests: {reason}")
        pytest.skip(reason)
    return node, chromium


@pytest.fixture(scope="module")
async def web_server(workdir: Path) -> AsyncIterator[RunningServer]:
    async with database_url("sqlite", workdir) as url, running_server(database_url=url) as server:
        yield server


@pytest.fixture(scope="module")
async def trusted_web_server(workdir: Path) -> AsyncIterator[RunningServer]:
    """TRUSTED_DOCUMENTS_ONLY=true: only the chat client's manifest runs."""
    async with (
        database_url("sqlite", workdir) as url,
        running_server(database_url=url, trusted_documents_only=True) as server,
    ):
        yield server


@pytest.fixture
async def browser_http(web_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=web_server.http_url, timeout=60) as client:
        yield client


async def run_scenario(
    server: RunningServer, name: str, hang_guard: float = SCENARIO_TIMEOUT
) -> str:
    """Runs one scenario in a fresh browser; its output, or a failure that shows it."""
    node, chromium = browser_tools_or_skip()
    process = await asyncio.create_subprocess_exec(
        node,
        str(SCENARIOS),
        name,
        cwd=WEB,
        env={
            **os.environ,
            "BASE_URL": server.http_url,
            "USER_TOKEN": token_for(new_user()),
            "SERVICE_TOKEN": token_for("worker", role="service"),
            "CHROMIUM_PATH": chromium,
            "SCREENSHOT_DIR": str(SCREENSHOTS),
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        stdout, _ = await asyncio.wait_for(process.communicate(), hang_guard)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"scenario {name} hung for {hang_guard} s")
    output = stdout.decode()
    print(output)  # pytest shows it with -s or on failure: the screenshots' paths, timings
    assert process.returncode == 0, f"scenario {name} failed:\n{output}"
    return output


# What the server sends a browser.


async def test_a_browser_asking_for_graphql_gets_our_graphiql_under_a_strict_csp(
    browser_http: httpx.AsyncClient,
):
    response = await browser_http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    page = response.text
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', page)
    assert scripts and all(src.startswith("/app/assets/") for src in scripts), scripts
    assert "http://" not in page and "https://" not in page, "the page names another host"
    for asset in re.findall(r'(?:src|href)="(/app/assets/[^"]+)"', page):
        assert (await browser_http.get(asset)).status_code == 200, asset


async def test_the_server_serves_the_built_chat_client_at_app(browser_http: httpx.AsyncClient):
    assert (await browser_http.get("/app", follow_redirects=False)).status_code in (301, 302, 307)
    response = await browser_http.get("/app/")
    assert response.status_code == 200
    assert 'id="app"' in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    (script,) = re.findall(r'<script[^>]*src="(/app/assets/[^"]+\.js)"', response.text)
    asset = await browser_http.get(script)
    assert asset.status_code == 200
    assert "javascript" in asset.headers["content-type"]
    assert (await browser_http.get("/app/missing.js")).status_code == 404


async def test_chat_page_operation_loads_the_latest_page_then_the_one_before(
    browser_http: httpx.AsyncClient,
):
    api = Api(browser_http, token_for(new_user()))
    session = (await api.data(operation("CreateSession"), {"input": {"title": "Paging"}}))[
        "createSession"
    ]
    messages = [{"role": "USER", "content": f"message {n}"} for n in range(5)]
    await api.data(operation("AppendMessages"), {"sessionId": session["id"], "messages": messages})
    latest = (await api.data(operation("ChatPage"), {"id": session["id"], "last": 3}))["session"]
    assert (latest["title"], latest["revision"], latest["messageCount"]) == ("Paging", 1, 5)
    assert [m["sequence"] for m in latest["messages"]] == [2, 3, 4]
    before = (
        await api.data(operation("ChatPage"), {"id": session["id"], "last": 3, "beforeSequence": 2})
    )["session"]
    assert [m["sequence"] for m in before["messages"]] == [0, 1]


# The close-the-tab story in a real browser.


async def test_worker_appends_a_pending_tool_message_and_the_open_page_shows_it_pending(
    web_server: RunningServer,
):
    await run_scenario(web_server, "pending")


async def test_page_closed_while_the_tool_completes_then_a_new_page_shows_the_result_once(
    web_server: RunningServer,
):
    await run_scenario(web_server, "closed-tab")


async def test_open_page_shows_the_completion_live_within_a_second(web_server: RunningServer):
    await run_scenario(web_server, "live")


async def test_page_offline_while_the_tool_completes_shows_the_result_once_back_online(
    web_server: RunningServer,
):
    await run_scenario(web_server, "offline")


async def test_open_page_shows_a_workers_plain_assistant_reply(web_server: RunningServer):
    """The product goal is within a second; the scenario waits with a hang guard only."""
    await run_scenario(web_server, "assistant-reply")


async def test_a_batch_appended_to_a_new_empty_chat_shows_all_three_messages_in_order(
    web_server: RunningServer,
):
    await run_scenario(web_server, "empty-chat-batch")


async def test_a_message_sent_in_one_page_appears_in_a_second_page_of_the_chat(
    web_server: RunningServer,
):
    await run_scenario(web_server, "two-tabs")


async def test_page_closed_while_a_reply_and_a_tool_result_land_shows_both_once_reopened(
    web_server: RunningServer,
):
    await run_scenario(web_server, "closed-reply")


async def test_the_list_shows_the_users_chats_by_title_or_first_message_and_renames_live(
    web_server: RunningServer,
):
    await run_scenario(web_server, "chat-list")


async def test_a_chat_deleted_while_open_says_so_and_takes_no_more_messages(
    web_server: RunningServer,
):
    await run_scenario(web_server, "deleted")


async def test_graphiql_with_other_hosts_blocked_runs_a_query_and_shows_a_subscription_event(
    web_server: RunningServer,
):
    await run_scenario(web_server, "graphiql")


async def test_the_readmes_graphiql_walk_followed_as_written_works_step_by_step(
    web_server: RunningServer,
):
    """Step 7 waits, bounded, for a deadline half a minute ahead, as the README says."""
    await run_scenario(web_server, "readme-walk", hang_guard=SCENARIO_TIMEOUT + 60)


async def test_graphiqls_token_field_follows_persist_headers_and_clear_data(
    web_server: RunningServer,
):
    await run_scenario(web_server, "graphiql-token")


async def test_the_chat_client_names_its_documents_by_id_on_a_server_that_runs_no_other(
    trusted_web_server: RunningServer,
):
    await run_scenario(trusted_web_server, "trusted-documents")


async def test_the_chat_client_shows_a_tool_result_live_with_trusted_documents_only(
    trusted_web_server: RunningServer,
):
    await run_scenario(trusted_web_server, "live")


# Streamed replies and operations that end.


async def test_page_closed_mid_stream_and_reopened_shows_the_text_so_far_then_the_rest_once(
    web_server: RunningServer,
):
    await run_scenario(web_server, "closed-stream")


async def test_a_tool_left_pending_by_a_dead_worker_shows_failed_with_the_reason_at_its_deadline(
    web_server: RunningServer,
):
    """Waits (bounded) for the server's expiry; no assertion on how long it took."""
    await run_scenario(web_server, "expired")


async def test_a_reply_streamed_in_chunks_that_split_emoji_and_accents_shows_exactly(
    web_server: RunningServer,
):
    await run_scenario(web_server, "emoji-stream")


async def test_a_page_whose_copy_of_a_streamed_reply_is_off_reads_it_again_and_shows_it_right(
    web_server: RunningServer,
):
    await run_scenario(web_server, "stream-resync")
