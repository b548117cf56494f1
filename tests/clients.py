"""Clients as users have them: GraphQL over real HTTP, subscriptions over real WebSockets."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from core.identity import issue_token
from tests.servers import JWT_SECRET

OPERATIONS = Path(__file__).resolve().parent.parent / "graphql" / "operations"

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"

# Long enough for a slow CI machine; a hang guard, never a speed check.
WAIT = 10.0


def token_for(user_id: str, *, role: str | None = None, ttl: timedelta | None = None) -> str:
    return issue_token(JWT_SECRET, user_id, role=role, ttl=ttl)


def operation(name: str) -> str:
    """The text of graphql/operations/<name>.graphql, the documents clients use."""
    return (OPERATIONS / f"{name}.graphql").read_text()


def new_user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


class Api:
    """POSTs GraphQL documents over real HTTP as one caller."""

    def __init__(self, http: httpx.AsyncClient, token: str | None) -> None:
        self.http = http
        self.token = token

    def as_user(self, user_id: str, *, role: str | None = None) -> "Api":
        return Api(self.http, token_for(user_id, role=role))

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The JSON response body; the HTTP status must be 200."""
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.token}"} if self.token else {},
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The `data` of a response that must have no errors."""
        body = await self.post(query, variables)
        assert "errors" not in body, body
        return body["data"]

    async def error(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The single error of a response that must fail."""
        body = await self.post(query, variables)
        assert body.get("errors"), body
        assert len(body["errors"]) == 1, body
        return body["errors"][0]


class Subscriber:
    """A graphql-transport-ws or legacy graphql-ws connection with one subscription."""

    def __init__(self, ws: ClientConnection, protocol: str) -> None:
        self.ws = ws
        self.protocol = protocol

    async def receive(self, seconds: float = WAIT) -> dict[str, Any]:
        """The next protocol message, answering pings on the way."""
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), seconds))
            if message["type"] == "ping":
                await self.ws.send(json.dumps({"type": "pong"}))
                continue
            if message["type"] == "ka":
                continue
            return message

    async def init(self, token: str | None) -> dict[str, Any]:
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await self.ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        return await self.receive()

    async def subscribe(
        self, query: str, variables: dict[str, Any], operation_id: str = "1"
    ) -> None:
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        await self.ws.send(
            json.dumps(
                {
                    "id": operation_id,
                    "type": kind,
                    "payload": {"query": query, "variables": variables},
                }
            )
        )

    async def next_payload(self, seconds: float = WAIT) -> dict[str, Any]:
        """The payload of the next `next`/`data` message (fails on anything else)."""
        message = await self.receive(seconds)
        assert message["type"] in ("next", "data"), message
        return message["payload"]

    async def next_tool_message(self, seconds: float = WAIT) -> dict[str, Any]:
        payload = await self.next_payload(seconds)
        assert "errors" not in payload, payload
        return payload["data"]["toolMessageUpdated"]

    async def nothing_within(self, seconds: float) -> None:
        """Assert that no message but keep-alives arrives for `seconds` (no duplicate)."""
        try:
            message = await self.receive(seconds)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected message: {message!r}")


@asynccontextmanager
async def websocket(ws_url: str, protocol: str = TRANSPORT_WS) -> AsyncIterator[Subscriber]:
    async with connect(ws_url, subprotocols=[protocol]) as ws:  # type: ignore[list-item]
        yield Subscriber(ws, protocol)


@asynccontextmanager
async def subscribed(
    ws_url: str,
    token: str | None,
    variables: dict[str, Any],
    protocol: str = TRANSPORT_WS,
    query: str | None = None,
) -> AsyncIterator[Subscriber]:
    """A connection, acknowledged, with `toolMessageUpdated` subscribed."""
    async with websocket(ws_url, protocol) as subscriber:
        ack = await subscriber.init(token)
        assert ack["type"] == "connection_ack", ack
        await subscriber.subscribe(query or operation("ToolMessageUpdated"), variables)
        yield subscriber
