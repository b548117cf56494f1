"""What a person meets first: the page at `/`, and the start-up log's directions."""

import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import click
import uvicorn
from starlette.requests import Request
from starlette.responses import HTMLResponse

from transports.browser import SECURITY_HEADERS

HOME_PAGE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <link rel="icon" href="data:," />
    <title>chatstore</title>
    <style>
      body { font: 16px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 3rem auto;
             padding: 0 1rem; color: #1f2430; }
      code { background: #eef0f4; padding: 0 0.25em; border-radius: 3px; }
    </style>
  </head>
  <body>
    <h1>chatstore</h1>
    <p>A GraphQL service that stores AI chat sessions.</p>
    <ul>
      <li><a href="/graphql">GraphiQL</a> (<code>/graphql</code>): the schema's docs, and
        operations to run; paste a token into its <b>Bearer token</b> field.</li>
      <li><a href="/app/">The chat client</a> (<code>/app/</code>): paste a token, and your
        chats follow every change live.</li>
    </ul>
    <p>The API is <code>/graphql</code>: POST and GET, subscriptions over WebSocket. A server
      started without <code>JWT_SECRET</code> prints a token in its log.</p>
  </body>
</html>
"""


async def home(_: Request) -> HTMLResponse:
    """`GET /`: where the browser pages are."""
    return HTMLResponse(HOME_PAGE, headers=SECURITY_HEADERS)


def served_at(argv: Sequence[str] = sys.argv) -> str:
    """The base URL a browser reaches this process at, read from uvicorn's command line with
    uvicorn's own parser (its `UVICORN_*` variables included); the README's default,
    `http://127.0.0.1:8000`, when uvicorn was started another way or on a socket."""
    default = "http://127.0.0.1:8000"
    program = Path(argv[0]) if argv else Path()
    if "uvicorn" not in (program.name, program.parent.name):
        return default
    try:
        params = uvicorn.main.make_context("uvicorn", list(argv[1:]), resilient_parsing=True).params
    except click.ClickException:
        return default
    if params.get("uds") or params.get("fd") is not None:
        return default
    host = params["host"]
    if host in ("0.0.0.0", "::", ""):  # every interface: this machine's loopback is one
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    scheme = "https" if params.get("ssl_certfile") else "http"
    return f"{scheme}://{host}:{params['port']}"


def dev_mode_directions(token: str, lifetime: timedelta, base_url: str) -> str:
    """The start-up log's words for a server in dev mode: where the token goes, then the
    token alone on the last line."""
    hours = lifetime / timedelta(hours=1)
    return (
        "JWT_SECRET is not set: dev mode, with a random key for this run only.\n"
        f"Open GraphiQL at {base_url}/graphql or the chat client at {base_url}/app/ and paste "
        f"this token for user 'dev' (valid for {hours:g} hours, DEV_TOKEN_HOURS) into the "
        "page's Bearer token field:\n"
        f"{token}"
    )
