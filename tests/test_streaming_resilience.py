"""Streamed replies and operations that end, through what real clients and servers go through.

Every test applies the events as a client must (tests.clients.Reader: a MESSAGE replaces, an
APPENDED adds its text where the content is `offset` UTF-16 code units long, every event after
the one before it) and compares the content it rebuilt with what the chunks' senders wrote and
what the database holds. The text is cut where a careless server would miscount it: emoji and
other characters outside the Basic Multilingual Plane (two UTF-16 code units, one code point),
a combining mark in a chunk apart from its letter, a flag's two regional indicators in two
chunks, a ZWJ sequence, line breaks (an SSE frame ends at one).

Covers, on SQLite and PostgreSQL unless it says otherwise:
- an SSE subscriber, live and resuming by `Last-Event-ID` (after a SESSION event, after an
  APPENDED one, and after missing several chunks).
"""

from typing import Any

import httpx
import pytest

from tests.clients import (
    QUIET,
    Api,
    EventStream,
    Reader,
    chunk,
    create_session,
    sse,
    streaming_reply,
)

SSE_SESSION_EVENTS = "/sse/session-events"

# Each item one chunk, cut where counting goes wrong (see the module's docstring).
TRICKY = [
    "Olá 😀",
    " cafe",
    "\u0301 ",  # the acute of "café", apart from its e
    "\U0001d518\U0001d52b\U0001d526",  # mathematical fraktur, outside the BMP
    " 🇵",
    "🇹 ",  # the flag of Portugal, one regional indicator per chunk
    "👩\u200d👩\u200d👧 ",  # a family: three emoji joined by ZWJ
    "𠀋𡈽 ",  # CJK extension B
    "line\nbreak\r\n",
    "\u2028👍🏽",  # a line separator, a thumb with a skin tone
    " n\u0303o ✓",
    " 🦀",
]


STORED = """
query Stored($id: ID!) {
  session(id: $id) {
    revision
    messages { sequence content revision status deadline failureReason }
  }
}
"""


async def stored_messages(api: Api, session_id: str) -> tuple[int, dict[int, dict[str, Any]]]:
    """The session's revision, and its messages as stored (with their status) by sequence."""
    session = (await api.data(STORED, {"id": session_id}))["session"]
    return session["revision"], {message["sequence"]: message for message in session["messages"]}


async def stored_message(api: Api, session_id: str, sequence: int) -> dict[str, Any]:
    """The message at `sequence` as stored, with the session's revision as `sessionRevision`."""
    revision, messages = await stored_messages(api, session_id)
    return {**messages[sequence], "sessionRevision": revision}


async def nothing_more(stream: EventStream) -> None:
    """No SSE event within QUIET (the stream is not usable afterwards)."""
    with pytest.raises(TimeoutError):
        event = await stream.next_event(QUIET)
        raise AssertionError(f"unexpected event: {event}")


# --- SSE: live, and resumed by Last-Event-ID ------------------------------------------------


async def test_an_sse_subscriber_rebuilds_the_exact_content_live_and_across_resumes(
    api: Api, http: httpx.AsyncClient
):
    session = await create_session(api)
    sid = session["id"]
    reader = Reader()
    written: list[str] = []

    async def write(text: str, **more: Any) -> dict[str, Any]:
        acknowledged = await chunk(api, sid, reply["id"], text, **more)
        written.append(text)
        return acknowledged

    def resumed() -> Any:
        assert reader.last_event_id is not None
        return sse(
            http, sid, token=api.token, path=SSE_SESSION_EVENTS, last_event_id=reader.last_event_id
        )

    async with sse(
        http, sid, token=api.token, path=SSE_SESSION_EVENTS, afterRevision=session["revision"]
    ) as stream:
        reply = await streaming_reply(api, sid)
        sequence = reply["sequence"]
        await reader.read_through(stream.next_message, reply["revision"])
        # Live, one chunk at a time: each arrives as the added text alone.
        for text in TRICKY[:4]:
            acknowledged = await write(text)
            await reader.read_through(stream.next_message, acknowledged["revision"])
        assert (reader.wholes, reader.deltas) == (1, 4)

    # Gone after a SESSION event (Last-Event-ID "<revision>"), one chunk missed: the resume
    # still has the message as it was just before, so it gets that chunk alone.
    assert "-" not in (reader.last_event_id or "")
    await write(TRICKY[4])
    async with resumed() as stream:
        first = await stream.next_message()
        assert first["kind"] == "APPENDED", first
        reader.apply(first)
        # Gone right after an APPENDED event (Last-Event-ID "<revision>-<sequence>"), before
        # the SESSION event of its revision.
        acknowledged = await write(TRICKY[5])
        while reader.last_event_id != f"{acknowledged['revision']}-{sequence}":
            reader.apply(await stream.next_message())
    await write(TRICKY[6])
    async with resumed() as stream:
        first = await stream.next_message()
        assert first["kind"] == "APPENDED", first
        reader.apply(first)
        await reader.read_through(stream.next_message, first["revision"])
    assert (reader.wholes, reader.deltas) == (1, 7)

    # Several chunks missed: the content so far, whole, once; then the rest as chunks.
    for text in TRICKY[7:10]:
        await write(text)
    async with resumed() as stream:
        first = await stream.next_message()
        assert first["kind"] == "MESSAGE", first
        assert first["message"]["content"] == "".join(written)
        reader.apply(first)
        rest = TRICKY[10:]
        for index, text in enumerate(rest):
            acknowledged = await write(text, done=index == len(rest) - 1)
            await reader.read_through(stream.next_message, acknowledged["revision"])
        await nothing_more(stream)

    assert written == TRICKY
    rebuilt = reader.messages[sequence]
    assert rebuilt["content"] == "".join(TRICKY)
    assert (reader.wholes, reader.deltas) == (2, 7 + len(TRICKY[10:]))
    stored = await stored_message(api, sid, sequence)
    assert stored["content"] == rebuilt["content"]
    assert stored["revision"] == rebuilt["revision"] == reply["revision"] + len(TRICKY)
    assert stored["status"] == "COMPLETE"
