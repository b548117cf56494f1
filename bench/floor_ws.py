"""The fan-out floor: the least a server must do to tell subscribers a tool finished.

    python -m bench.floor_ws DSN PORT

A `websockets` server in its own process. Subscribers connect to `/<session id>` and get
"ready". The driver connects to `/control` and sends "<session id> <content>": the server
runs updateToolResult's transaction with raw asyncpg (the claim, then the UPDATE …
RETURNING of the TOOL message), builds the same `next` frame the GraphQL server sends,
broadcasts it to that session's sockets and answers "ok".
"""

import asyncio
import sys
from collections import defaultdict
from datetime import UTC, datetime

import asyncpg
from websockets.asyncio.server import ServerConnection, broadcast, serve

from bench.floors import CLAIM, _json_codecs, dumps, message_json
from bench.procs import raise_fd_limit
from bench.seed import TOOL_CALL_ID, USER

SET_RESULT = (
    "UPDATE chat_message SET content = $1, revision = $2, updated_at = $3 "
    "WHERE chat_message.session_id = $4 AND chat_message.role = 'TOOL' "
    "AND chat_message.tool_call_id = $5 RETURNING *"
)


async def main(dsn: str, port: int) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=10, init=_json_codecs)
    assert pool is not None
    sockets: dict[str, set[ServerConnection]] = defaultdict(set)

    async def fire(session_id: str, content: str) -> None:
        async with pool.acquire() as conn, conn.transaction():
            now = datetime.now(UTC)
            claim = await conn.fetchrow(CLAIM, 0, now, session_id, USER)
            row = await conn.fetchrow(
                SET_RESULT, content, claim["revision"], now, session_id, TOOL_CALL_ID
            )
        frame = {
            "id": "1",
            "type": "next",
            "payload": {"data": {"toolMessageUpdated": message_json(row)}},
        }
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
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
