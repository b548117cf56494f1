"""The fan-out floor: the least a server must do to tell subscribers a tool finished.

    python -m bench.floor_ws DSN PORT [toolMessageUpdated|sessionEvents]

A `websockets` server in its own process. Subscribers connect to `/<session id>` and get
"ready". The driver connects to `/control` and sends "<session id> <content>": the server
runs updateToolResult's transaction with raw asyncpg (the claim, then the UPDATE …
RETURNING of the TOOL message), builds the same `next` frames the GraphQL server sends for
the subscription named (default toolMessageUpdated: the message; sessionEvents: a MESSAGE
event, then a SESSION event whose fields the claim returns), broadcasts them to that
session's sockets and answers "ok".
"""

import asyncio
import sys
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeAlias

import asyncpg
from websockets.asyncio.server import ServerConnection, broadcast, serve

from bench.floors import CLAIM, _json_codecs, dumps, message_json, session_json
from bench.procs import raise_fd_limit
from bench.seed import TOOL_CALL_ID, USER
from bench.subscribers import SESSION_EVENTS, TOOL_MESSAGE_UPDATED

SET_RESULT = (
    "UPDATE chat_message SET content = $1, revision = $2, updated_at = $3 "
    "WHERE chat_message.session_id = $4 AND chat_message.role = 'TOOL' "
    "AND chat_message.tool_call_id = $5 RETURNING *"
)
# The same claim, returning the whole session row: a SESSION event's fields, without a read.
CLAIM_SESSION = CLAIM.split(" RETURNING ")[0] + " RETURNING *"
Row: TypeAlias = asyncpg.Record
EventData = list[dict[str, Any]]


def tool_message_updated(message: Row, session: Row) -> EventData:
    return [{"toolMessageUpdated": message_json(message)}]


def session_events(message: Row, session: Row) -> EventData:
    """sessionEvents' two events of the write, in the order the server sends them."""
    session_id = str(session["id"])
    return [
        {
            "sessionEvents": {
                "kind": "MESSAGE",
                "sessionId": session_id,
                "revision": message["revision"],
                "sequence": message["sequence"],
                "message": message_json(message),
                "session": None,
            }
        },
        {
            "sessionEvents": {
                "kind": "SESSION",
                "sessionId": session_id,
                "revision": session["revision"],
                "sequence": None,
                "message": None,
                "session": session_json(session),
            }
        },
    ]


# What each subscription sends for one write: its claim, and the data of each frame.
SHAPES: dict[str, tuple[str, Callable[[Row, Row], EventData]]] = {
    TOOL_MESSAGE_UPDATED.field: (CLAIM, tool_message_updated),
    SESSION_EVENTS.field: (CLAIM_SESSION, session_events),
}


async def main(dsn: str, port: int, shape: str) -> None:
    claim_statement, events = SHAPES[shape]
    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=10, init=_json_codecs)
    assert pool is not None
    sockets: dict[str, set[ServerConnection]] = defaultdict(set)

    async def fire(session_id: str, content: str) -> None:
        async with pool.acquire() as conn, conn.transaction():
            now = datetime.now(UTC)
            claim = await conn.fetchrow(claim_statement, 0, now, session_id, USER)
            row = await conn.fetchrow(
                SET_RESULT, content, claim["revision"], now, session_id, TOOL_CALL_ID
            )
        for data in events(row, claim):
            frame = {"id": "1", "type": "next", "payload": {"data": data}}
            broadcast(sockets[session_id], dumps(frame).decode())

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        path = ws.request.path.strip("/")
        if path == "control":
            async for command in ws:
                session_id, content = str(command).split(" ", 1)
                await fire(session_id, content)
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
    shape = sys.argv[3] if len(sys.argv) > 3 else TOOL_MESSAGE_UPDATED.field
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), shape))
