"""`chatstore`, the command line pyproject.toml installs, run as a user runs it."""

import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import jwt
import pytest

from cli.export_schema import SDL_PATH, sdl
from core.identity import ALGORITHM
from tests.processes import CHATSTORE, REPO, START_TIMEOUT, STOP_TIMEOUT, free_port, log_tail
from tests.servers import JWT_SECRET


def chatstore(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`chatstore args…` in the repository, with `env` as its whole environment (but PATH),
    so that no setting of the caller's leaks in."""
    assert CHATSTORE.exists(), f"{CHATSTORE} is missing: pip install -e . installs it"
    return subprocess.run(
        [str(CHATSTORE), *args],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ((), ["serve", "migrate", "token", "export-schema", "check"]),
        (("serve",), ["--host", "--port", "--workers", "--reload", "SIGTERM", "DRAIN_SECONDS"]),
        (("migrate",), ["upgrade", "downgrade", "current"]),
        (("migrate", "downgrade"), ["REVISION", "base"]),
        (("token",), ["USER_ID", "--service", "--lifetime", "JWT_SECRET"]),
        (("export-schema",), ["--output", "graphql/schema.graphql"]),
        (("check",), ["--sdl", "exit 1"]),
    ],
)
def test_help(command: tuple[str, ...], says: list[str]) -> None:
    done = chatstore(*command, "--help")
    assert done.returncode == 0, done.stderr
    for words in says:
        assert words in done.stdout, (words, done.stdout)


def test_token_for_a_user_and_for_a_service() -> None:
    user = chatstore("token", "alice", JWT_SECRET=JWT_SECRET)
    assert user.returncode == 0, user.stderr
    claims = jwt.decode(user.stdout.strip(), JWT_SECRET, algorithms=[ALGORITHM])
    assert claims["sub"] == "alice" and "role" not in claims
    assert abs(claims["exp"] - datetime.now(UTC).timestamp() - 3600) < 60

    service = chatstore("token", "worker", "--service", "--lifetime", "15m", JWT_SECRET=JWT_SECRET)
    claims = jwt.decode(service.stdout.strip(), JWT_SECRET, algorithms=[ALGORITHM])
    assert (claims["sub"], claims["role"]) == ("worker", "service")
    assert abs(claims["exp"] - datetime.now(UTC).timestamp() - 900) < 60

    forever = chatstore("token", "bob", "--lifetime", "never", JWT_SECRET=JWT_SECRET)
    assert "exp" not in jwt.decode(forever.stdout.strip(), JWT_SECRET, algorithms=[ALGORITHM])


@pytest.mark.parametrize(
    ("args", "env", "error"),
    [
        (("token", "alice"), {}, "JWT_SECRET is not set"),
        (("token", "alice"), {"JWT_SECRET": "short"}, "JWT_SECRET: Value error"),
        (("token", "alice", "--lifetime", "soon"), {"JWT_SECRET": JWT_SECRET}, "'soon'"),
        (("token", "alice", "--lifetime", "0"), {"JWT_SECRET": JWT_SECRET}, "positive"),
    ],
)
def test_token_refusals(args: tuple[str, ...], env: dict[str, str], error: str) -> None:
    done = chatstore(*args, **env)
    assert done.returncode == 2, done
    assert error in done.stderr and done.stdout == "", done


def test_migrate_up_down_and_current(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"}
    steps = [
        (("upgrade",), "0002 (head)"),
        (("downgrade", "-1"), "0001 (head is 0002: `chatstore migrate upgrade`)"),
        (("downgrade", "base"), "none: no migration applied (head is 0002)"),
        (("current",), "none: no migration applied (head is 0002)"),
    ]
    for args, says in steps:
        done = chatstore("migrate", *args, **env)
        assert (done.returncode, done.stdout.strip()) == (0, says), (args, done)


def test_export_schema_and_check(tmp_path: Path) -> None:
    written = tmp_path / "schema.graphql"
    assert chatstore("export-schema", "-o", str(written)).returncode == 0
    assert written.read_text() == SDL_PATH.read_text() == sdl()

    fresh = chatstore("check")
    assert fresh.returncode == 0 and "up to date" in fresh.stdout, fresh

    written.write_text(sdl().replace("One message of a chat session.", "A message."))
    stale = chatstore("check", "--sdl", str(written))
    assert stale.returncode == 1, stale
    assert '-"""A message."""' in stale.stdout, stale.stdout
    assert '+"""One message of a chat session."""' in stale.stdout, stale.stdout
    assert "stale: run `chatstore export-schema`" in stale.stderr


def test_serve_with_two_workers_and_stop(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
        "JWT_SECRET": JWT_SECRET,
    }
    with log.open("wb") as output:
        server = subprocess.Popen(
            [str(CHATSTORE), "serve", "--port", str(port), "--workers", "2"],
            cwd=REPO,
            env={"PATH": "/usr/bin:/bin", **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert server.poll() is None, log_tail(log)
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                if answer.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log_tail(log)
            time.sleep(0.1)
        # The first worker may answer /readyz before the second has started.
        while log.read_text().count("Started server process") < 2:
            assert server.poll() is None, log_tail(log)
            assert time.monotonic() < deadline, log_tail(log)
            time.sleep(0.1)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(STOP_TIMEOUT * 2)
    assert "Finished server process" in log.read_text(), log_tail(log)


def test_serve_refuses_reload_with_workers() -> None:
    done = chatstore("serve", "--reload", "--workers", "2")
    assert done.returncode == 2 and "--reload runs a single process" in done.stderr, done
