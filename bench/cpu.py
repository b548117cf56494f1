"""The server's CPU per operation, in-process: steadier than rates on a noisy machine.

    .venv/bin/python -m bench.cpu [--runs 4] [--operations 1500]

Calls the ASGI app directly (no HTTP parsing, no client in the way) and the db layer
alone, one operation at a time, on a throwaway PostgreSQL database, and prints the best
of `--runs` runs of `time.process_time()` per operation:
- appendMessage through the whole app (Starlette, Strawberry, the db layer, asyncpg);
- db.messages.append of one message, a read of one session row, and a streamed chunk
  (db.streaming.append_chunk), through the db layer; a chunk and its subscriber's events,
  read from the database or built from the chunk's rows (EVENTS_FROM_WRITES);
- a session of 1,000 messages read through the whole app (GetSession, and ChatPage's latest
  page), repeated and right after a write;
- one subscription event delivered to 200 subscribers of the same document, per subscriber,
  through Strawberry's subscribe with the app's executor (speed/fanout.py) and extension
  runner (speed/extension_hooks.py), no socket.
The process's CPU includes asyncpg's side of each round trip, as the server's does.
"""

import argparse
import asyncio
import json
import random
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvloop

from bench.procs import sqlalchemy_url, throwaway_database

if TYPE_CHECKING:
    from core.settings import Settings

OPERATIONS = Path(__file__).resolve().parent.parent / "graphql" / "operations"


def operation_text(name: str) -> str:
    return (OPERATIONS / f"{name}.graphql").read_text()


APPEND = operation_text("AppendMessage")
APPEND_BATCH = operation_text("AppendMessages")
RENAME = operation_text("UpdateSession")


async def post(app: Callable[..., Awaitable[None]], body: bytes, token: str) -> bytes:
    """One POST /graphql through the ASGI app; the response body."""
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    headers = [
        (b"content-type", b"application/json"),
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    await app(scope, receive, send)
    answer = sent[-1]["body"]
    assert isinstance(answer, bytes)
    return answer


def app_settings(dsn: str, secret: str, **layers: Any) -> "Settings":
    """The in-process app's settings on database `dsn`: one caller at thousands of requests
    a second, so no per-caller rate limit and no line per operation; `layers` sets speed
    layers (`fast_json=False`, say)."""
    from core.settings import Settings

    return Settings(
        database_url=sqlalchemy_url(dsn),
        jwt_secret=secret,
        rate_limit_per_second=0,
        log_level="WARNING",
        **layers,
    )


async def create_session(app: Callable[..., Awaitable[None]], token: str) -> str:
    """A new session's id."""
    create = json.dumps({"query": "mutation { createSession { id } }"}).encode()
    return str(json.loads(await post(app, create, token))["data"]["createSession"]["id"])


async def session_of_1000(app: Callable[..., Awaitable[None]], token: str) -> str:
    """A new session of 1,000 messages of 200-500 characters, appended in ten batches."""
    session_id = await create_session(app, token)
    sizes = random.Random(1)
    for _ in range(10):
        batch = [{"role": "USER", "content": "x" * sizes.randint(200, 500)} for _ in range(100)]
        variables = {"sessionId": session_id, "messages": batch}
        await post(app, json.dumps({"query": APPEND_BATCH, "variables": variables}).encode(), token)
    return session_id


async def best_cpu_us(operation: Callable[[], Awaitable[object]], runs: int, count: int) -> float:
    for _ in range(300):  # warm: caches, prepared statements, the pool
        await operation()
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        for _ in range(count):
            await operation()
        best = min(best, (time.process_time() - start) / count * 1e6)
    return best


async def run(runs: int, count: int) -> None:
    from app import create_app
    from core.identity import Identity, issue_token
    from db.messages import NewMessage, append
    from db.sessions import get_session
    from db.streaming import append_chunk

    secret = secrets.token_urlsafe(48)
    async with throwaway_database() as dsn:
        settings = app_settings(dsn, secret)
        app = create_app(settings)
        token = issue_token(secret, "bench-cpu")
        async with app.router.lifespan_context(app):
            session_id = await create_session(app, token)
            message = {"role": "USER", "content": "hello " * 30}
            body = json.dumps(
                {"query": APPEND, "variables": {"sessionId": session_id, "message": message}}
            ).encode()
            database = app.state.database
            caller = Identity("bench-cpu")
            key = uuid.UUID(session_id)
            new = [NewMessage({"role": "USER", "content": "hello"})]
            reply = await append(
                database,
                session_id=key,
                caller=caller,
                new=[NewMessage({"role": "ASSISTANT", "content": "", "status": "STREAMING"})],
            )
            chunk = partial(
                append_chunk,
                database,
                session_id=key,
                caller=caller,
                message_id=reply[0]["id"],
                text="tok ",
                done=False,
                deadline=None,
                max_content_bytes=settings.max_content_bytes,
            )
            operations: dict[str, Callable[[], Awaitable[object]]] = {
                "appendMessage through the app": lambda: post(app, body, token),
                "db.messages.append of one message": lambda: append(
                    database, session_id=key, caller=caller, new=new
                ),
                "a session row through Database.read": lambda: database.read(
                    get_session, session_id=key, caller=caller
                ),
                "db.streaming.append_chunk of a 4-byte chunk": chunk,
            }
            operations |= chunk_and_events(database, key, chunk)
            for name, operation in operations.items():
                print(f"{await best_cpu_us(operation, runs, count):7.0f} µs CPU  {name}")
            for name, cpu_us in (await session_reads_cpu_us(app, token, runs)).items():
                print(f"{cpu_us:7.0f} µs CPU  {name}")
    shared = await shared_event_cpu_us(runs)
    print(f"{shared:7.1f} µs CPU  one subscription event, per subscriber of 200")


def chunk_and_events(
    database: Any, key: uuid.UUID, chunk: Callable[..., Awaitable[Any]]
) -> dict[str, Callable[[], Awaitable[object]]]:
    """`chunk` (db.streaming.append_chunk of session `key`'s reply), then the events its
    subscriber's shared read gets: read from the database (EVENTS_FROM_WRITES off), or built
    from the rows the chunk's write returned (on), under the key the subscriber reads by."""
    from resolvers.subscriptions import answer_from_write, session_events_after, shared_read_key

    async def chunk_and_read(*, from_write: bool) -> object:
        chunked = await chunk(with_session=from_write)
        if chunked.session is not None:
            answer_from_write(database, key, chunked.session, [chunked.message])
        revision = chunked.message["revision"]
        events = await database.read_shared(
            shared_read_key(session_events_after, key, revision - 1, None, revision),
            session_events_after,
            session_id=key,
            revision=revision - 1,
            sequence=None,
        )
        assert len(events) == 2, events
        return events

    return {
        "a chunk, then its events read from the database": partial(
            chunk_and_read, from_write=False
        ),
        "a chunk, then its events from its own rows (EVENTS_FROM_WRITES)": partial(
            chunk_and_read, from_write=True
        ),
    }


async def session_reads_cpu_us(
    app: Callable[..., Awaitable[None]], token: str, runs: int, reads: int = 600
) -> dict[str, float]:
    """Best of `runs`: CPU per read of a session of 1,000 messages of 200-500 characters
    through the app, repeated (the session unchanged), and right after a write (the read's
    CPU alone)."""
    session_id = await session_of_1000(app, token)
    rename = json.dumps(
        {"query": RENAME, "variables": {"id": session_id, "input": {"title": "t"}}}
    ).encode()
    documents = {
        "GetSession": {"id": session_id},
        "ChatPage": {"id": session_id, "last": 50},
    }
    results: dict[str, float] = {}
    for name, variables in documents.items():
        body = json.dumps({"query": operation_text(name), "variables": variables}).encode()
        results[f"{name} of 1,000 messages, repeated"] = await best_cpu_us(
            partial(post, app, body, token), runs, reads
        )
        after = float("inf")
        for _ in range(runs):
            spent = 0.0
            for _ in range(reads // 10):
                await post(app, rename, token)
                start = time.process_time()
                await post(app, body, token)
                spent += time.process_time() - start
            after = min(after, spent / (reads // 10) * 1e6)
        results[f"{name} of 1,000 messages, right after a write"] = after
    return results


async def shared_event_cpu_us(runs: int, subscribers: int = 200, events: int = 200) -> float:
    """Best of `runs`: CPU per delivered result when `subscribers` subscriptions of one
    document each receive the same `events` objects."""
    from collections.abc import AsyncGenerator

    import strawberry

    from schema.build import ChatSchema
    from speed.documents import DocumentCache
    from speed.extension_hooks import HooksOnce
    from speed.fanout import SharedEvents

    @strawberry.type
    class Item:
        name: str
        count: int

    items = [Item(name=f"item {index}", count=index) for index in range(events)]

    @strawberry.type
    class Query:
        ok: bool = True

    @strawberry.type
    class Subscription:
        @strawberry.subscription
        async def items(self) -> AsyncGenerator[Item, None]:
            for item in items:
                yield item

    schema = ChatSchema(
        query=Query,
        subscription=Subscription,
        execution_context_class=SharedEvents,
        extensions=[DocumentCache],
    )
    schema.extensions_runner = HooksOnce

    async def subscriber() -> None:
        stream = await schema.subscribe("subscription { items { name count } }")
        async for _ in stream:
            pass

    best = float("inf")
    for _ in range(runs + 1):  # the first run warms up
        start = time.process_time()
        await asyncio.gather(*[subscriber() for _ in range(subscribers)])
        best = min(best, (time.process_time() - start) / (subscribers * events) * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--operations", type=int, default=1500)
    arguments = parser.parse_args()
    uvloop.run(run(arguments.runs, arguments.operations))


if __name__ == "__main__":
    main()
