"""IDLE_COMPRESSOR_SECONDS: a WebSocket idle that long lets go of its permessage-deflate
compressor, and what it sends next, compressed by a new one, reaches a client whose
decompressor kept its window, whole and in order (RFC 7692); the client is asked to compress
each of its own messages on its own."""

import asyncio
from pathlib import Path

import httpx
import pytest
from websockets.extensions.permessage_deflate import PerMessageDeflate

from speed.idle_compressors import ReleasableDeflate, releasable_extensions
from tests.clients import (
    SESSION_EVENTS,
    TRANSPORT_WS,
    WAIT,
    Api,
    append,
    create_session,
    events_until,
    new_user,
    subscribed,
    token_for,
)
from tests.servers import SPEED_LAYERS_ON, database_url, running_server


async def until_released(extension: ReleasableDeflate) -> None:
    """Polls (bounded) until `extension` has let go of its compressor."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while extension.holds_compressor:
        assert asyncio.get_running_loop().time() < deadline, "the compressor was kept"
        await asyncio.sleep(0.05)


@pytest.mark.speed_layer
async def test_an_idle_socket_lets_go_of_its_compressor_and_what_it_sends_next_arrives_whole(
    tmp_path: Path,
):
    async with database_url("sqlite", tmp_path) as url:
        settings = {**SPEED_LAYERS_ON, "database_url": url, "idle_compressor_seconds": 0.2}
        async with running_server(**settings) as server:
            token = token_for(new_user())
            async with httpx.AsyncClient(base_url=server.http_url, timeout=WAIT) as http:
                api = Api(http, token)
                session = await create_session(api)
                session_id = session["id"]
                before = set(releasable_extensions())
                variables = {"sessionId": session_id, "afterRevision": session["revision"]}
                async with subscribed(
                    server.ws_url, token, variables, TRANSPORT_WS, SESSION_EVENTS
                ) as subscriber:
                    (negotiated,) = subscriber.ws.protocol.extensions
                    assert isinstance(negotiated, PerMessageDeflate)
                    # Its messages each compressed on their own: the server keeps no
                    # decompressor between them.
                    assert negotiated.local_no_context_takeover
                    (ours,) = set(releasable_extensions()) - before
                    for round in range(3):
                        await until_released(ours)
                        # Alike, so that each compresses against the ones before it.
                        written = [
                            await append(
                                api, session_id, {"role": "USER", "content": f"{round}-{n} " * 50}
                            )
                            for n in range(3)
                        ]
                        events = await events_until(subscriber, written[-1]["revision"])
                        assert [
                            event["message"]["content"]
                            for event in events
                            if event["kind"] == "MESSAGE"
                        ] == [message["content"] for message in written]
