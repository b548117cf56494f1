"""`chatstore`: serve, migrate, mint tokens, export and check the SDL.

Each command imports what it runs when it runs, so that `--help` and `chatstore token`
answer at once instead of loading the schema, the database drivers and uvicorn first.
"""

import asyncio
import difflib
import re
import sys
from collections.abc import Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

REPO = Path(__file__).resolve().parent.parent
SDL_PATH = REPO / "graphql" / "schema.graphql"
# What uvicorn still grants a request once the app's own drain (DRAIN_SECONDS) is over;
# after it, what is left is cancelled and the process exits.
AFTER_DRAIN_SECONDS = 1
SECONDS_PER_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
T = TypeVar("T")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """The chatstore service: a GraphQL store of AI chat sessions.

    Settings come from environment variables (or a .env file in the working directory):
    DATABASE_URL, BROADCAST_URL, JWT_SECRET and the others the README lists.
    """


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Server processes sharing the port (each with its own database pool).",
)
@click.option("--reload", is_flag=True, help="Restart when the code changes (development).")
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
def serve(host: str, port: int, workers: int, reload: bool, log_level: str) -> None:
    """Serve the API with uvicorn (app:app).

    On SIGTERM each process drains: /readyz answers 503, new requests get 503,
    WebSockets close with 1012 and SSE streams end (clients reconnect and resume),
    requests in flight get up to DRAIN_SECONDS to finish, then it exits.
    """
    import uvicorn

    if reload and workers > 1:
        raise click.UsageError("--reload runs a single process: leave out --workers.")
    uvicorn.run(
        "app:app",
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        reload_dirs=[str(REPO)] if reload else None,
        log_level=log_level,
        timeout_graceful_shutdown=AFTER_DRAIN_SECONDS,
    )


@main.group()
def migrate() -> None:
    """The database schema's migrations (Alembic), on DATABASE_URL.

    The server upgrades to the newest revision as it starts; these commands run a
    migration ahead of a rollout, show where a database stands, or go back.
    """


@migrate.command()
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Upgrade to REVISION (default: head, the newest)."""
    from db.migrate import migrate as upgrade_to

    _on_database(lambda engine: upgrade_to(engine, revision))
    _print_revision()


@migrate.command(context_settings={"ignore_unknown_options": True})
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Downgrade to REVISION ("base": no tables; "-1": one step back)."""
    from db.migrate import downgrade as downgrade_to

    _on_database(lambda engine: downgrade_to(engine, revision))
    _print_revision()


@migrate.command()
def current() -> None:
    """Print the database's revision, and whether it is the newest."""
    _print_revision()


def _print_revision() -> None:
    from db.migrate import revisions

    where = _on_database(revisions)
    if where.current is None:
        click.echo(f"none: no migration applied (head is {where.head})")
    elif where.current == where.head:
        click.echo(f"{where.current} (head)")
    else:
        click.echo(f"{where.current} (head is {where.head}: `chatstore migrate upgrade`)")


class Duration(click.ParamType):
    """A lifetime: 90 (seconds), 90s, 15m, 12h, 30d, or "never"."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, timedelta) or value is None:
            return value
        if value == "never":
            return None
        match = re.fullmatch(r"(\d+)([smhd]?)", str(value).strip())
        if match is None or int(match[1]) == 0:
            self.fail(f"{value!r}: expected a positive number of s, m, h or d, or 'never'")
        return timedelta(seconds=int(match[1]) * SECONDS_PER_UNIT[match[2]])


@main.command()
@click.argument("user_id")
@click.option(
    "--service", is_flag=True, help="A backend worker's token (role: service): any session."
)
@click.option(
    "--lifetime",
    type=Duration(),
    default="1h",
    show_default=True,
    help="How long it is valid: 90s, 15m, 12h, 30d, or never.",
)
def token(user_id: str, service: bool, lifetime: timedelta | None) -> None:
    """Print a bearer token for USER_ID, signed with JWT_SECRET.

    \b
    chatstore token alice                      # a user, valid for an hour
    chatstore token worker --service --lifetime 30d
    """
    from core.identity import SERVICE_ROLE, issue_token
    from core.settings import Settings

    secret = _settings(Settings).jwt_secret
    if secret is None:
        raise click.UsageError("JWT_SECRET is not set: the server's key signs the token.")
    role = SERVICE_ROLE if service else None
    click.echo(issue_token(secret.get_secret_value(), user_id, role=role, ttl=lifetime))


@main.command("export-schema")
@click.option(
    "--output",
    "-o",
    default=str(SDL_PATH),
    show_default="graphql/schema.graphql",
    help="Where to write it; - for standard output.",
)
def export_schema(output: str) -> None:
    """Write the SDL that clients generate code from."""
    from cli.export_schema import sdl

    if output == "-":
        click.echo(sdl(), nl=False)
        return
    Path(output).write_text(sdl())
    click.echo(f"wrote {output}", err=True)


@main.command()
@click.option(
    "--sdl",
    "committed",
    default=str(SDL_PATH),
    show_default="graphql/schema.graphql",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The SDL file to compare with.",
)
def check(committed: Path) -> None:
    """Check that the committed SDL is what the code exports (exit 1, with a diff, if not)."""
    from cli.export_schema import sdl

    exported, written = sdl(), committed.read_text()
    if exported == written:
        click.echo(f"{committed} is up to date")
        return
    diff = difflib.unified_diff(
        written.splitlines(keepends=True),
        exported.splitlines(keepends=True),
        fromfile=str(committed),
        tofile="exported",
    )
    sys.stdout.writelines(diff)
    raise click.ClickException(f"{committed} is stale: run `chatstore export-schema`.")


def _settings(settings_class: Callable[[], T]) -> T:
    """The settings, or the reason they are wrong as a usage error."""
    from pydantic import ValidationError

    try:
        return settings_class()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, problem['loc'])).upper()}: {problem['msg']}"
            for problem in error.errors()
        )
        raise click.UsageError(problems) from None


def _on_database(run: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
    """What `run(engine)` returns, on an engine for DATABASE_URL."""
    from core.settings import Settings
    from db.engine import create_engine

    async def on_engine() -> T:
        engine = create_engine(_settings(Settings).database_url)
        try:
            return await run(engine)
        finally:
            await engine.dispose()

    return asyncio.run(on_engine())
