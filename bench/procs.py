"""The processes a run needs: a throwaway database, uvicorn servers, a private Redis.

Each is a context manager that cleans up in `finally`, so an interrupted run leaves no
server, no Redis and no database behind.
"""

import asyncio
import contextlib
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def raise_fd_limit() -> int:
    """Lift the soft open-file limit to the hard one; children inherit it."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def throwaway_database() -> AsyncIterator[str]:
    """A fresh database on TEST_POSTGRES_URL's server (asyncpg DSN), dropped afterwards."""
    admin = await asyncpg.connect(ADMIN_URL, timeout=10)
    name = f"chatstore_bench_{uuid.uuid4().hex[:10]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def sqlalchemy_url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


# --- CPU and memory readings from /proc -------------------------------------------------


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(child) for child in handle.read().split()]
    return found


def process_tree(pid: int) -> list[int]:
    tree = [pid]
    for child in children_of(pid):
        tree += process_tree(child)
    return tree


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds used so far by `pids` (gone processes count 0)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as handle:
        values = [int(value) for value in handle.readline().split()[1:]]
    idle = values[3] + values[4]
    return float(sum(values) - idle), float(sum(values))


@dataclass
class CpuWindow:
    """CPU used by some processes (and the machine) over one or more start/stop spans."""

    pids: Sequence[int]
    wall: float = 0.0
    cpu: float = 0.0
    machine_busy: float = 0.0
    machine_total: float = 0.0

    def start(self) -> "CpuWindow":
        self._t = time.perf_counter()
        self._cpu = cpu_seconds(self.pids)
        self._machine = machine_busy()
        return self

    def stop(self) -> "CpuWindow":
        self.wall += time.perf_counter() - self._t
        self.cpu += cpu_seconds(self.pids) - self._cpu
        busy, total = machine_busy()
        self.machine_busy += busy - self._machine[0]
        self.machine_total += total - self._machine[1]
        return self

    @property
    def cores(self) -> float:
        """Average cores busy over the spans (CPU time is counted in clock ticks: spans
        shorter than about half a second say little)."""
        return self.cpu / self.wall if self.wall else 0.0

    @property
    def machine(self) -> float:
        """The share of the whole machine's CPU that was busy over the spans."""
        return self.machine_busy / self.machine_total if self.machine_total else 0.0


# --- servers --------------------------------------------------------------------------------


@dataclass
class Server:
    pid: int
    port: int
    log: Path

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def pids(self) -> list[int]:
        """The uvicorn process and its workers."""
        return process_tree(self.pid)

    def worker_pids(self) -> list[int]:
        tree = self.pids()
        return tree[1:] or tree


def spawn(
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    cwd: Path = ROOT,
) -> subprocess.Popen[bytes]:
    """Start `command` in `cwd`; its output goes to `log`, or to a pipe."""
    if log is None:
        return subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
    with open(log, "wb") as output:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)


def server_env(database_dsn: str, **extra: str) -> dict[str, str]:
    """The environment of a server process; `bench` stays importable from another tree."""
    path = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(ROOT)) if p)
    # The bench's load comes from one user: thousands of requests a second, and up to
    # 11,000 WebSockets at once.
    return {
        **os.environ,
        "DATABASE_URL": sqlalchemy_url(database_dsn),
        "PYTHONPATH": path,
        "RATE_LIMIT_PER_SECOND": "0",
        "MAX_SOCKETS_PER_USER": "100000",
        # As uvicorn's own --log-level: no line per request.
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def migrate_in(tree: Path, database_dsn: str) -> None:
    """Create the tables with the migrations of the code under test (`tree`)."""
    script = (
        "import asyncio\n"
        "from db.engine import create_engine\n"
        "from db.migrate import migrate\n"
        "async def main():\n"
        "    engine = create_engine(__import__('os').environ['DATABASE_URL'])\n"
        "    await migrate(engine)\n"
        "    await engine.dispose()\n"
        "asyncio.run(main())\n"
    )
    subprocess.run(
        [sys.executable, "-c", script], cwd=tree, env=server_env(database_dsn), check=True
    )


def stop_process(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGINT, then SIGKILL after `grace` seconds; nothing when it has exited already."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.asynccontextmanager
async def uvicorn_server(
    *,
    database_dsn: str,
    jwt_secret: str,
    app: str = "app:app",
    workers: int = 1,
    broadcast_url: str = "memory://",
    label: str = "server",
    tree: Path = ROOT,
    settings: Mapping[str, str] | None = None,
    options: Sequence[str] = (),
) -> AsyncIterator[Server]:
    """`python -m uvicorn <app>` on a free loopback port, until it answers /readyz;
    `settings` adds to its environment (RESPONSE_CACHE_BYTES=0: a speed layer off),
    `options` to uvicorn's command line (`--ws-per-message-deflate false`)."""
    port = free_port()
    RESULTS.mkdir(parents=True, exist_ok=True)
    log = RESULTS / f"{label}.log"
    env = server_env(
        database_dsn, BROADCAST_URL=broadcast_url, JWT_SECRET=jwt_secret, **(settings or {})
    )
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--no-access-log", "--log-level", "warning", *options]
    if workers > 1:
        command += ["--workers", str(workers)]
    process = spawn(command, env=env, log=log, cwd=tree)
    server = Server(pid=process.pid, port=port, log=log)
    try:
        await _wait_ready(process, server, workers)
        yield server
    finally:
        stop_process(process)


async def _wait_ready(process: subprocess.Popen[bytes], server: Server, workers: int) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn exited: see {server.log}\n{server.log.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                response = await client.get(f"http://127.0.0.1:{server.port}/readyz")
                if response.status_code == 200:
                    if workers > 1:
                        # /readyz answered from one worker; the others finish their start
                        # (migrations take turns) before they accept connections.
                        await asyncio.sleep(3)
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"uvicorn did not become ready: see {server.log}")


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A private redis-server on a free port (nothing else publishes on its channels)."""
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1"]
    command += ["--save", "", "--appendonly", "no"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("redis-server did not start")
        yield f"redis://127.0.0.1:{port}"
    finally:
        stop_process(process)
