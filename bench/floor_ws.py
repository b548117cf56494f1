"""The fan-out floor: the least a server must do to tell subscribers a tool finished.

    python -m bench.floor_ws DSN PORT [toolMessageUpdated|sessionEvents|sessionEvents:chunks]

A `websockets` server in its own process. Subscribers connect to `/<session id>` and get
"ready". A driver connects to `/control` (one socket or many, each taking one command at a
time) and sends "<session id> <content>": the server runs updateToolResult's transaction
with raw asyncpg (the claim, then the UPDATE … RETURNING of the TOOL message), builds the
same `next` frames the GraphQL server sends for the subscription named (default
toolMessageUpdated: the message; sessionEvents: a MESSAGE event, then a SESSION event whose
fields the claim returns), broadcasts them to that session's sockets and answers "ok".

With sessionEvents:chunks (figure 9) a command is "<session id> <message id> <text>" and
the transaction appendMessageContent's (bench.floors.append_chunk); the frames are the
APPENDED event of the chunk, then the SESSION event.
"""

import asyncio
import sys
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeAlias

import asyncpg
from websockets.asyncio.server import ServerConnection, broadcast, serve

from bench.floors import (
    CLAIM,
    SERVER_POOL,
    _json_codecs,
    _time,
    append_chunk,
    dumps,
    message_json,
    session_json,
)
from bench.procs import raise_fd_limit
from bench.seed import TOOL_CALL_ID, USER, Stream
from bench.subscribers import SESSION_EVENTS, STREAMED_CHUNKS, TOOL_MESSAGE_UPDATED

SET_RESULT = (
    "UPDATE chat_message SET content = $1, revision = $2, updated_at = $3 "
    "WHERE chat_message.session_id = $4 AND chat_message.role = 'TOOL' "
    "AND chat_message.tool_call_id = $5 RETURNING *"
)
# The same claim, returning the whole session row: a SESSION event's fields, without a read.
CLAIM_SESSION = CLAIM.split(" RETURNING ")[0] + " RETURNING *"
Row: TypeAlias = asyncpg.Record
EventData = list[dict[str, Any]]
# A write: (connection, claim statement, session id, the command's rest) -> the message's
# row and the claim's.
Write = Callable[[asyncpg.Connection, str, str, str], Awaitable[tuple[Row, Row]]]


async def set_tool_result(
    conn: asyncpg.Connection, claim_statement: str, session_id: str, content: str
) -> tuple[Row, Row]:
    async with conn.transaction():
        now = datetime.now(UTC)
        claim = await conn.fetchrow(claim_statement, 0, now, session_id, USER)
        row = await conn.fetchrow(
            SET_RESULT, content, claim["revision"], now, session_id, TOOL_CALL_ID
        )
    return row, claim


async def add_chunk(
    conn: asyncpg.Connection, claim_statement: str, session_id: str, rest: str
) -> tuple[Row, Row]:
    message_id, text = rest.split(" ", 1)
    stream = Stream(uuid.UUID(session_id), uuid.UUID(message_id))
    claim, row = await append_chunk(conn, stream, USER, text, claim_statement)
    return row, claim


def tool_message_updated(message: Row, session: Row) -> EventData:
    return [{"toolMessageUpdated": message_json(message)}]


def _event(kind: str, claimed: Row, **fields: Any) -> dict[str, Any]:
    """A sessionEvents event of the write that claimed `claimed` (the session's row), its
    fields in SessionEvents.graphql's order."""
    event = {"kind": kind, "sessionId": str(claimed["id"]), "revision": claimed["revision"]}
    event |= {"sequence": None, "message": None, "appended": None, "session": None}
    return {"sessionEvents": event | fields}


def session_events(message: Row, session: Row) -> EventData:
    """sessionEvents' two events of the write, in the order the server sends them."""
    return [
        _event(
            "MESSAGE",
            session,
            revision=message["revision"],
            sequence=message["sequence"],
            message=message_json(message),
        ),
        _event("SESSION", session, session=session_json(session)),
    ]


def appended_events(message: Row, session: Row) -> EventData:
    """sessionEvents' two events of a chunk: the chunk alone (APPENDED), then the session."""
    deadline = message["deadline"]
    appended = {
        "messageId": str(message["id"]),
        "offset": message["last_chunk_offset"],
        "text": message["last_chunk"],
        "status": message["status"],
        "deadline": None if deadline is None else _time(deadline),
        "updatedAt": _time(message["updated_at"]),
    }
    return [
        _event(
            "APPENDED",
            session,
            revision=message["revision"],
            sequence=message["sequence"],
            appended=appended,
        ),
        _event("SESSION", session, session=session_json(session)),
    ]


# What each subscription's write is and sends: its claim, the write, and each frame's data.
SHAPES: dict[str, tuple[str, Write, Callable[[Row, Row], EventData]]] = {
    TOOL_MESSAGE_UPDATED.key: (CLAIM, set_tool_result, tool_message_updated),
    SESSION_EVENTS.key: (CLAIM_SESSION, set_tool_result, session_events),
    STREAMED_CHUNKS.key: (CLAIM_SESSION, add_chunk, appended_events),
}


async def main(dsn: str, port: int, shape: str) -> None:
    claim_statement, write, events = SHAPES[shape]
    # As many connections as a server process may use at once (concurrent controls).
    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=SERVER_POOL, init=_json_codecs)
    assert pool is not None
    sockets: dict[str, set[ServerConnection]] = defaultdict(set)

    async def fire(session_id: str, rest: str) -> None:
        async with pool.acquire() as conn:
            row, claim = await write(conn, claim_statement, session_id, rest)
        for data in events(row, claim):
            frame = {"id": "1", "type": "next", "payload": {"data": data}}
            broadcast(sockets[session_id], dumps(frame).decode())

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        path = ws.request.path.strip("/")
        if path == "control":
            async for command in ws:
                session_id, rest = str(command).split(" ", 1)
                await fire(session_id, rest)
                await ws.send("ok")
            return
        sockets[path].add(ws)
        try:
            await ws.send("ready")
            await ws.wait_closed()
        finally:
            sockets[path].discard(ws)

    async with serve(handler, "127.0.0.1", port, max_size=None, ping_interval=None):
        print("listening", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    raise_fd_limit()
    shape = sys.argv[3] if len(sys.argv) > 3 else TOOL_MESSAGE_UPDATED.key
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), shape))
