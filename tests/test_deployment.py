"""The deployment of the README, proven: nginx (Debian's package) in front of two
`chatstore serve` processes sharing PostgreSQL and a Redis, everything on free ports.

Through nginx a worker writes (tool calls, then their results) while a chat page follows the
session over a WebSocket and another over SSE, and one closes its tab for a while. Meanwhile
the process holding the WebSocket is redeployed (SIGTERM, then started again: the socket
closes with 1012) and the other crashes (kill -9, then started again). Writes that fail are
sent again (an appended message carries the client's id, so a write that landed answers as
such); subscribers reconnect through nginx and resume by cursor. At the end every
acknowledged write is in the database, and each subscriber holds exactly what the database
holds, having seen every change once (tests/clients.py's Reader fails on an event that is
not after the one before it).

Select it with `-m deployment`; it needs nginx (`apt-get install -y nginx`): without it the
test skips with the reason, and under CI=true that is a failure.
"""

import asyncio
import getpass
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from tests.clients import (
    SESSION_EVENTS,
    TRANSPORT_WS,
    EventStream,
    Reader,
    Subscriber,
    cursor,
    new_user,
    operation,
    position,
    token_for,
)
from tests.processes import (
    START_TIMEOUT,
    STOP_TIMEOUT,
    RedisServer,
    ServerProcess,
    free_port,
    log_tail,
    readiness,
    server_env,
    uvicorn_processes,
)
from tests.servers import REQUIRED_IN_CI, database_url

pytestmark = pytest.mark.deployment

# The nginx configuration of the README's deployment section; {placeholders} are the
# test's ports and paths.
NGINX_CONF = """\
{user}worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}

http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;

    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}

    upstream chatstore {{
        server 127.0.0.1:{port_a} max_fails=1 fail_timeout=2s;
        server 127.0.0.1:{port_b} max_fails=1 fail_timeout=2s;
    }}

    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 40m;

        location / {{
            proxy_pass http://chatstore;
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_buffering off;
            proxy_cache off;
            proxy_connect_timeout 2s;
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_next_upstream_tries 2;
        }}
    }}
}}
"""

# Writes: a TOOL call appended, then its result, WRITES times each.
WRITES = 40
# How long the whole scenario may take before it is a hang.
SCENARIO_TIMEOUT = 60.0
RETRY_PAUSE = 0.05


def nginx_binary() -> str:
    """nginx; a visible skip without it (a failure under CI)."""
    binary = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if binary is None:
        reason = "nginx is not installed (apt-get install -y nginx)"
        if REQUIRED_IN_CI:
            pytest.fail(f"CI=true requires nginx: {reason}")
        pytest.skip(reason)
    return binary


@asynccontextmanager
async def nginx(workdir: Path, upstreams: list[ServerProcess]) -> AsyncIterator[str]:
    """nginx in front of `upstreams`, as the current user, from a config of its own in
    `workdir`; yields its base URL."""
    binary = nginx_binary()
    prefix = workdir / f"nginx-{uuid.uuid4().hex[:8]}"
    prefix.mkdir()
    port = free_port()
    # Run by root, nginx would hand its workers to `nobody`, who cannot enter the test's
    # directories: keep them as the current user.
    user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""
    conf = prefix / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            user=user,
            prefix=prefix,
            port=port,
            port_a=upstreams[0].port,
            port_b=upstreams[1].port,
        )
    )
    log = prefix / "error.log"
    process = await asyncio.create_subprocess_exec(
        *(binary, "-p", str(prefix), "-c", str(conf), "-e", str(log)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                assert process.returncode is None, f"nginx exited:\n{log_tail(log)}"
                with suppress(httpx.TransportError):
                    if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                assert time.monotonic() < deadline, f"nginx did not start:\n{log_tail(log)}"
                await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), STOP_TIMEOUT)


@dataclass
class Worker:
    """Writes through nginx, sending a failed request again until it is answered."""

    http: httpx.AsyncClient
    token: str
    session_id: str
    acknowledged: dict[str, dict[str, Any]] = field(default_factory=dict)
    retries: int = 0
    progress: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def acknowledge(self, call: str, message: dict[str, Any]) -> None:
        async with self.progress:
            self.acknowledged[call] = message
            self.progress.notify_all()

    async def written(self, count: int) -> None:
        """Until `count` tool calls have been acknowledged."""
        async with self.progress:
            await self.progress.wait_for(lambda: len(self.acknowledged) >= count)

    async def send(self, name: str, variables: dict[str, Any]) -> dict[str, Any]:
        """The answer to operation `name`, however many times it takes."""
        body = {"query": operation(name), "variables": variables}
        headers = {"Authorization": f"Bearer {self.token}"}
        for _ in range(int(SCENARIO_TIMEOUT / RETRY_PAUSE)):
            try:
                response = await self.http.post("/graphql", json=body, headers=headers)
            except httpx.TransportError:
                response = None
            if response is not None and response.status_code == 200:
                answer = response.json()
                assert "errors" not in answer, answer
                return answer["data"]
            if response is not None:
                assert response.status_code in (502, 503), response.text
            self.retries += 1
            await asyncio.sleep(RETRY_PAUSE)
        raise AssertionError(f"{name} was never answered")

    async def run(self, count: int) -> None:
        for index in range(count):
            call = f"call-{index}"
            message = {"id": str(uuid.uuid4()), "role": "TOOL", "toolCallId": call}
            message["status"] = "PENDING"
            variables = {"sessionId": self.session_id, "message": message}
            appended = (await self.send("AppendMessage", variables))["appendMessage"]
            assert appended["id"] == message["id"], appended
            await self.acknowledge(call, appended)
            result = {"sessionId": self.session_id, "toolCallId": call, "content": f"r{index}"}
            completed = (await self.send("UpdateToolResult", result))["updateToolResult"]
            await self.acknowledge(call, completed)
            await asyncio.sleep(0.02)


@dataclass
class Follower:
    """A chat page following the session through nginx: reconnects whenever its connection
    ends and resumes after the last event it applied."""

    base: str
    token: str
    session_id: str
    revision: int
    reader: Reader = field(default_factory=Reader)
    connections: int = 0
    close_codes: list[int] = field(default_factory=list)
    tab_closed: asyncio.Event = field(default_factory=asyncio.Event)
    progress: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def apply(self, event: dict[str, Any]) -> None:
        async with self.progress:
            self.reader.apply(event)
            self.progress.notify_all()

    async def caught_up(self, revision: int) -> None:
        """Until every event of `revision` is applied."""
        end = (revision, float("inf"))
        async with self.progress:
            await self.progress.wait_for(
                lambda: self.reader.last is not None and position(self.reader.last) >= end
            )

    def resume_from(self) -> dict[str, int]:
        last = self.reader.last
        return {"afterRevision": self.revision} if last is None else cursor(last)

    async def follow_websocket(self) -> None:
        url = self.base.replace("http://", "ws://") + "/graphql"
        while True:
            self.connections += 1
            try:
                async with connect(url, subprotocols=[Subprotocol(TRANSPORT_WS)]) as ws:
                    sub = Subscriber(ws, TRANSPORT_WS)
                    ack = await sub.init(self.token)
                    assert ack["type"] == "connection_ack", ack
                    variables = {"sessionId": self.session_id, **self.resume_from()}
                    await sub.subscribe(SESSION_EVENTS, variables)
                    while not self.tab_closed.is_set():
                        with suppress(TimeoutError):
                            await self.apply(await sub.next_session_event(0.2))
                if self.tab_closed.is_set():  # the person closed the tab; opens it again
                    await asyncio.sleep(0.5)
                    self.tab_closed.clear()
            except ConnectionClosed as closed:
                self.close_codes.append(closed.rcvd.code if closed.rcvd else 1006)
            except (OSError, InvalidStatus):
                pass
            await asyncio.sleep(RETRY_PAUSE)

    async def follow_sse(self) -> None:
        headers = {"Accept": "text/event-stream", "Authorization": f"Bearer {self.token}"}
        async with httpx.AsyncClient(base_url=self.base, timeout=None) as http:
            while True:
                self.connections += 1
                params: dict[str, Any] = {"sessionId": self.session_id}
                if self.reader.last is None:
                    params["afterRevision"] = self.revision
                else:
                    headers["Last-Event-ID"] = self.reader.last_event_id
                try:
                    async with http.stream(
                        "GET", "/sse/session-events", params=params, headers=headers
                    ) as response:
                        if response.status_code == 200:
                            stream = EventStream(response)
                            while (event := await stream.next_event(3600)) is not None:
                                assert event.event == "message", event
                                await self.apply(json.loads(event.data))
                except httpx.TransportError:
                    pass
                await asyncio.sleep(RETRY_PAUSE)


async def holding_a_subscription(*servers: ServerProcess) -> ServerProcess:
    """The first of `servers` whose /readyz counts a subscription."""
    while True:
        for server in servers:
            status, body = await readiness(server)
            if status == 200 and body["subscriptions"] > 0:
                return server
        await asyncio.sleep(0.02)


async def restart(server: ServerProcess, how: signal.Signals) -> float:
    """Stop `server` with `how`, start it again; the seconds it took to exit."""
    assert server.process is not None
    started = time.monotonic()
    server.process.send_signal(how)
    await asyncio.to_thread(server.process.wait, STOP_TIMEOUT)
    took = time.monotonic() - started
    server.process = None
    server.spawn()
    await server.wait_healthy()
    return took


async def test_nginx_two_processes_a_redeploy_and_a_crash_lose_nothing(
    workdir: Path, redis: RedisServer
) -> None:
    nginx_binary()
    async with database_url("postgres", workdir) as url:
        env = server_env(url, redis.url, drain_seconds=5, ws_ping_seconds=1)
        async with (
            uvicorn_processes(workdir, [env, env], cli=True) as (a, b),
            nginx(workdir, [a, b]) as base,
            httpx.AsyncClient(base_url=base, timeout=10) as http,
        ):
            token = token_for(new_user())
            worker = Worker(http, token, "")
            created = await worker.send("CreateSession", {"input": {}})
            session = created["createSession"]
            worker.session_id = session["id"]
            followers = [
                Follower(base, token, session["id"], session["revision"]) for _ in range(2)
            ]
            tasks = [asyncio.create_task(followers[0].follow_websocket())]
            try:
                async with asyncio.timeout(SCENARIO_TIMEOUT):
                    # The process nginx gave the WebSocket to is the one redeployed.
                    redeployed = await holding_a_subscription(a, b)
                    crashed = b if redeployed is a else a
                    tasks.append(asyncio.create_task(followers[1].follow_sse()))
                    writing = asyncio.create_task(worker.run(WRITES))
                    await worker.written(8)
                    drained_in = await restart(redeployed, signal.SIGTERM)
                    await worker.written(16)
                    followers[0].tab_closed.set()
                    await worker.written(22)
                    await restart(crashed, signal.SIGKILL)
                    await writing
                    final = await worker.send("GetSession", {"id": session["id"]})
                    stored = final["session"]
                    for follower in followers:
                        await follower.caught_up(stored["revision"])
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    assert drained_in < 5 + 2, drained_in
    by_call = {message["toolCallId"]: message for message in stored["messages"]}
    assert len(by_call) == len(stored["messages"]) == WRITES
    for call, acked in worker.acknowledged.items():
        assert by_call[call]["id"] == acked["id"]
        assert by_call[call]["content"] == acked["content"]
        assert by_call[call]["revision"] >= acked["revision"]
    for follower in followers:
        held = {seq: message for seq, message in follower.reader.messages.items()}
        assert sorted(held) == [message["sequence"] for message in stored["messages"]]
        for message in stored["messages"]:
            seen = held[message["sequence"]]
            assert (seen["id"], seen["content"], seen["revision"]) == (
                message["id"],
                message["content"],
                message["revision"],
            ), (seen, message)
        assert follower.connections >= 2, follower  # moved by a restart at least
    # A drained process closes with 1012, a crashed one with none (1006): both retried.
    assert 1012 in followers[0].close_codes, followers[0].close_codes
    assert set(followers[0].close_codes) <= {1012, 1006}, followers[0].close_codes
    print(
        f"\ndeployment: {WRITES * 2} writes acknowledged ({worker.retries} retries), "
        f"SIGTERM to exit {drained_in:.2f}s, connections: WebSocket {followers[0].connections} "
        f"(closes {followers[0].close_codes}), SSE {followers[1].connections}"
    )
