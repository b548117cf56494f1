"""Real processes for the multi-process tests: uvicorn servers and throwaway redis-servers;
two servers sharing a database and a broker (the `pair` fixture of tests/conftest.py), or a
redis-server of their own to kill (`pair_on_own_redis`, `redis_outage`), or hints that never
reach the other (`unheard_pair`); a server under a subscriber that stops reading
(`slow_subscription`, `within_memory_bound`).

Each server is `python -m uvicorn app:app` in its own process, configured by environment
variables as in production; each redis-server is our own, on a free port, so it can be killed
and restarted without touching anyone else's Redis.
"""

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.clients import (
    Api,
    Subscriber,
    append_many,
    create_session,
    new_user,
    stalling_subscriber,
    token_for,
    tool,
)
from tests.servers import JWT_SECRET, REQUIRED_IN_CI, database_url

REPO = Path(__file__).resolve().parent.parent
T = TypeVar("T")
# Hang guards: a process that needs longer than this to start (or stop) is broken.
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
# Hang guard for a process to notice an outage or its end (heartbeats, reconnect backoff).
STATE_WAIT = 20.0
# Large enough that the periodic recheck cannot deliver anything during a test.
NO_RECHECK = 300
# Small, so that a process notices within a second that Redis is gone.
HEARTBEAT = 0.2


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --- redis-server -------------------------------------------------------------------------


def redis_server_binary() -> str:
    """The redis-server binary; a visible skip without one (a failure under CI)."""
    binary = shutil.which("redis-server")
    if binary is None:
        reason = "redis-server is not on PATH (apt-get install redis-server)"
        if REQUIRED_IN_CI:
            pytest.fail(f"CI=true requires redis-server: {reason}")
        pytest.skip(reason)
    return binary


class RedisServer:
    """A redis-server of our own on a fixed port: `stop()` kills it, `start()` brings it back."""

    def __init__(self, workdir: Path) -> None:
        self.binary = redis_server_binary()
        self.port = free_port()
        self.workdir = workdir
        self.log = workdir / f"redis-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Start it (again, on the same port) and wait until it answers PING."""
        self.spawn()
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while not await self.answers_ping():
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited:\n{log_tail(self.log)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not answer:\n{log_tail(self.log)}")
            await asyncio.sleep(0.05)

    def spawn(self) -> None:
        assert self.process is None, "already running"
        command = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--dir",
            str(self.workdir),
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        """Kill it (SIGKILL: a crash, not a goodbye) and wait until it is gone."""
        if self.process is None:
            return
        self.process.kill()
        self.process.wait(STOP_TIMEOUT)
        self.process = None

    async def answers_ping(self) -> bool:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.port), 1
            )
        except (OSError, TimeoutError):
            return False
        try:
            writer.write(b"PING\r\n")
            await writer.drain()
            return (await asyncio.wait_for(reader.readline(), 1)).startswith(b"+PONG")
        except (OSError, TimeoutError):
            return False
        finally:
            writer.close()
            with suppress(OSError):
                await writer.wait_closed()


@asynccontextmanager
async def redis_server(workdir: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(workdir)
    await server.start()
    try:
        yield server
    finally:
        server.stop()


# --- uvicorn ------------------------------------------------------------------------------


# The installed command line (pyproject.toml [project.scripts]), next to this Python.
CHATSTORE = Path(sys.executable).with_name("chatstore")


@dataclass
class ServerProcess:
    """One `uvicorn app:app` process; with `cli`, one `chatstore serve` (uvicorn too, with
    the CLI's shutdown bound after the app's drain)."""

    name: str
    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    cli: bool = False

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def spawn(self) -> None:
        launcher = [str(CHATSTORE), "serve"] if self.cli else [sys.executable, "-m", "uvicorn"]
        command = [
            *launcher,
            *([] if self.cli else ["app:app"]),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    async def wait_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT
        async with httpx.AsyncClient(base_url=self.http_url, timeout=2) as http:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited at start:\n{log_tail(self.log)}")
                with suppress(httpx.TransportError):
                    if (await http.get("/healthz")).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} did not start:\n{log_tail(self.log)}")
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: a crash, with no shutdown and no goodbye to clients; `spawn()` and
        `wait_healthy()` bring it back on the same port."""
        assert self.process is not None, "not running"
        self.process.kill()
        self.process.wait(STOP_TIMEOUT)
        self.process = None

    def terminate(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
        self.process = None


@asynccontextmanager
async def uvicorn_process(workdir: Path, **env: str) -> AsyncIterator[tuple[int, str]]:
    """`uvicorn app:app` as a separate process: (its pid, its base URL). Its WebSocket-level
    pings are off, so a client that stops reading is not dropped as dead (the app's own
    bounds are what is tested)."""
    port = free_port()
    log = workdir / f"uvicorn-{port}.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port)),
            *("--log-level", "warning", "--ws-ping-interval", "600"),
            cwd=REPO,
            env={**os.environ, "JWT_SECRET": JWT_SECRET, **env},
            stdout=output,
            stderr=output,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            deadline = time.monotonic() + 30
            while True:
                assert process.returncode is None, log.read_text()
                with suppress(httpx.TransportError):
                    if (await client.get("/healthz")).status_code == 200:
                        break
                assert time.monotonic() < deadline, f"uvicorn did not start: {log.read_text()}"
                await asyncio.sleep(0.1)
        yield process.pid, base
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


def resident_kib(pid: int) -> int:
    """VmRSS of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def server_env(database_url: str, broadcast_url: str, **settings: float | str) -> dict[str, str]:
    """The environment of a server process: our settings over the caller's environment."""
    env = {**os.environ}
    env.update(
        {
            "DATABASE_URL": database_url,
            "BROADCAST_URL": broadcast_url,
            "JWT_SECRET": JWT_SECRET,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update({name.upper(): str(value) for name, value in settings.items()})
    return env


@asynccontextmanager
async def uvicorn_processes(
    workdir: Path, envs: Sequence[dict[str, str]], *, cli: bool = False
) -> AsyncIterator[list[ServerProcess]]:
    """One uvicorn process per environment (`chatstore serve` with `cli`), started
    together, each answering /healthz."""
    run = uuid.uuid4().hex[:8]
    servers = [
        ServerProcess(
            name=f"process {'AB'[index] if index < 2 else index}",
            env=env,
            log=workdir / f"uvicorn-{run}-{index}.log",
            cli=cli,
        )
        for index, env in enumerate(envs)
    ]
    try:
        for server in servers:
            server.spawn()
        await asyncio.gather(*(server.wait_healthy() for server in servers))
        yield servers
    finally:
        for server in servers:
            server.terminate()


def postgres_broadcast_url(database_url: str, application_name: str) -> str:
    """A `postgres://` BROADCAST_URL for the database of `database_url` (an SQLAlchemy URL);
    `application_name` labels its LISTEN connection in pg_stat_activity."""
    plain = database_url.replace("postgresql+asyncpg://", "postgres://", 1)
    return f"{plain}?application_name={application_name}"


# --- Two processes, one database, one broker -----------------------------------------------


@dataclass
class Pair:
    """Two server processes sharing one PostgreSQL database and one broadcast backend."""

    a: ServerProcess
    b: ServerProcess
    database_url: str
    broadcast: str


@asynccontextmanager
async def server_pair(
    workdir: Path, broadcast: str, redis: RedisServer, **settings: float | str
) -> AsyncIterator[Pair]:
    """Two processes on a fresh PostgreSQL database, hints over `broadcast` ("redis": the
    redis-server `redis`, "postgres": LISTEN/NOTIFY); the periodic recheck is minutes away.
    `settings` are more of their settings (see `server_env`)."""
    async with database_url("postgres", workdir) as url:
        broker = redis.url if broadcast == "redis" else postgres_broadcast_url(url, "pair")
        env = server_env(url, broker, recheck_seconds=NO_RECHECK, **settings)
        async with uvicorn_processes(workdir, [env, env]) as (a, b):
            yield Pair(a=a, b=b, database_url=url, broadcast=broadcast)


@asynccontextmanager
async def pair_on_own_redis(
    workdir: Path,
) -> AsyncIterator[tuple[RedisServer, ServerProcess, ServerProcess]]:
    """A redis-server of our own (to kill and restart) and two processes sharing it and a
    fresh PostgreSQL database; they notice its loss within a second (HEARTBEAT), and the
    periodic recheck is minutes away."""
    async with (
        redis_server(workdir) as broker,
        database_url("postgres", workdir) as url,
    ):
        env = server_env(
            url, broker.url, recheck_seconds=NO_RECHECK, broker_heartbeat_seconds=HEARTBEAT
        )
        async with uvicorn_processes(workdir, [env, env]) as (a, b):
            yield broker, a, b


async def redis_outage(
    broker: RedisServer,
    a: ServerProcess,
    b: ServerProcess,
    subscriptions: int,
    write: Callable[[str, list[str]], Awaitable[None]],
) -> None:
    """Kill `broker` under the `subscriptions` open on `a`, `write(phase, calls)` twice while
    it is down (phases "down" and "still-down", tool results for call_1..call_3), restart it,
    and wait until both processes are back on it. Meanwhile mutations keep working, and `a`
    reports the outage (not ready, the database fine, its subscriptions still open)."""
    for server in (a, b):
        assert (await readiness(server))[0] == 200
    broker.stop()
    await write("down", ["call_1", "call_2"])
    outage = await wait_readiness(a, 503)
    assert outage["broadcast"] is False and outage["database"] is True, outage
    assert outage["subscriptions"] == subscriptions, outage
    await write("still-down", ["call_3"])

    await broker.start()
    # B too: hints B publishes before it has reconnected are the `writers` case of the LISTEN
    # test in tests/test_broker.py.
    for server in (a, b):
        back = await wait_readiness(server, 200)
        assert back["broadcast"] is True, back


@asynccontextmanager
async def unheard_pair(workdir: Path, redis: RedisServer) -> AsyncIterator[list[ServerProcess]]:
    """Two processes on a fresh PostgreSQL database: A listens on the redis-server `redis`,
    B publishes in its own memory only, so B's hints never reach A; the periodic recheck runs
    every second."""
    async with database_url("postgres", workdir) as url:
        envs = [
            server_env(url, redis.url, recheck_seconds=1),
            server_env(url, "memory://", recheck_seconds=1),
        ]
        async with uvicorn_processes(workdir, envs) as servers:
            yield servers


@asynccontextmanager
async def apis(user: str, *servers: ServerProcess) -> AsyncIterator[list[Api]]:
    """One HTTP client per process, all as `user`."""
    clients = [httpx.AsyncClient(base_url=server.http_url, timeout=60) for server in servers]
    try:
        yield [Api(client, token_for(user)) for client in clients]
    finally:
        for client in clients:
            await client.aclose()


async def readiness(server: ServerProcess) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=server.http_url, timeout=5) as http:
        response = await http.get("/readyz")
        return response.status_code, response.json()


async def assert_ready_with_broker(*servers: ServerProcess) -> None:
    """Each of `servers` is ready, its broadcast backend connected."""
    for server in servers:
        status, body = await readiness(server)
        assert (status, body["broadcast"]) == (200, True), body


async def wait_readiness(server: ServerProcess, status: int) -> dict[str, Any]:
    """Poll /readyz until it answers `status` (bounded); the body of that answer."""
    deadline = asyncio.get_running_loop().time() + STATE_WAIT
    while True:
        code, body = await readiness(server)
        if code == status:
            return body
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{server.name}: /readyz stayed {code} {body}, not {status}")
        await asyncio.sleep(0.02)


# --- A subscriber that stops reading -------------------------------------------------------

# What a server may grow by, in resident memory, while a subscriber does not read.
MEMORY_BOUND_MIB = 50


@dataclass
class SlowSubscription:
    """A server process (`pid`), a session `sid` of `api`'s with the TOOL messages `calls`
    (`created`, content "-1"), and a `stalling_subscriber` on it from before they were
    created."""

    pid: int
    api: Api
    sid: str
    revision: int
    calls: list[str]
    created: list[dict[str, Any]]
    sub: Subscriber


@asynccontextmanager
async def slow_subscription(
    workdir: Path, query: str | None = None
) -> AsyncIterator[SlowSubscription]:
    """A `uvicorn_process` on a fresh SQLite database with hints in memory, and there a
    session with four TOOL messages under a stalling subscription (`toolMessageUpdated`
    unless `query` says otherwise) that started before them (`afterRevision`)."""
    url = f"sqlite+aiosqlite:///{workdir / 'slow.db'}"
    env = {"DATABASE_URL": url, "BROADCAST_URL": "memory://", "WS_PING_SECONDS": "600"}
    async with uvicorn_process(workdir, **env) as (pid, base):
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            api = Api(http, token_for(new_user()))
            session = await create_session(api)
            sid = session["id"]
            calls = [f"call_{index}" for index in range(4)]
            created = await append_many(api, sid, [tool(call, "-1") for call in calls])
            variables = {"sessionId": sid, "afterRevision": session["revision"]}
            ws_url = base.replace("http://", "ws://") + "/graphql"
            async with stalling_subscriber(ws_url, api.token or "", variables, query) as sub:
                yield SlowSubscription(pid, api, sid, session["revision"], calls, created, sub)


async def within_memory_bound(pid: int, work: Awaitable[T]) -> T:
    """What `work` returns, once it has run; meanwhile the process `pid` must not have grown
    its resident memory by MEMORY_BOUND_MIB or more."""
    before = resident_kib(pid)
    result = await work
    growth_mib = (resident_kib(pid) - before) / 1024
    assert growth_mib < MEMORY_BOUND_MIB, f"RSS grew by {growth_mib:.1f} MiB"
    return result
