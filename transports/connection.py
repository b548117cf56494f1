"""What a WebSocket connection does besides answering: pings, and ending with its token."""

import asyncio
from datetime import UTC, datetime

from starlette.websockets import WebSocket

from core.errors import ExpiredToken, Unauthenticated

FORBIDDEN = 4403


def refusal_reason(problem: Unauthenticated) -> str:
    """The close reason of a connection without a valid token, e.g. "Forbidden: token
    expired" (a close reason holds at most 123 bytes)."""
    return f"Forbidden: {problem.reason}"


class ConnectionDuties:
    """Background tasks of one WebSocket connection, all stopped when it ends.

    Pings: Strawberry answers a client's graphql-transport-ws pings but sends none, so a
    browser could not tell a dead connection from a quiet one. Expiry: when the token's
    `exp` passes the socket is closed with 4403, so the client reconnects with a fresh token
    and resumes by revision.
    """

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []

    def start(
        self,
        websocket: WebSocket,
        *,
        ping_seconds: float | None,
        expires_at: datetime | None,
    ) -> None:
        if ping_seconds is not None:
            self._tasks.append(asyncio.create_task(_ping(websocket, ping_seconds)))
        if expires_at is not None:
            self._tasks.append(asyncio.create_task(_close_at(websocket, expires_at)))

    def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()


async def _ping(websocket: WebSocket, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        await websocket.send_json({"type": "ping"})


async def _close_at(websocket: WebSocket, expires_at: datetime) -> None:
    await asyncio.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()))
    await websocket.close(code=FORBIDDEN, reason=refusal_reason(ExpiredToken("")))
