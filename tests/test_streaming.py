"""Work in progress: streamed replies and operations that end, on SQLite and PostgreSQL.

A STREAMING message grows by `appendMessageContent`; sessionEvents carries each chunk as the
added text alone (APPENDED, with its UTF-16 offset) to a subscriber that had the message
just before it, and the whole message to one that did not (a page opened mid-stream, a
resume from an older cursor). PENDING tool messages complete by `updateToolResult`, fail by
`failMessage`, or expire when their deadline passes. Every refusal changes nothing.
"""

import asyncio
from typing import Any

import pytest

from tests.clients import (
    QUIET,
    SESSION_EVENTS,
    TRANSPORT_WS,
    Api,
    Reader,
    append,
    chunk,
    counted_statements,
    create_session,
    in_future,
    load_session,
    operation,
    streaming_reply,
    subscribed,
    tool,
)
from tests.servers import RunningServer

# Text a JavaScript client and a Python one count differently: emoji and other characters
# outside the Basic Multilingual Plane are two UTF-16 code units and one code point.
CHUNKS = ["Hel", "lo, 😀", " wörld ", "\U0001d518\U0001d52b\U0001d526", " ", "✓ done", "🇵🇹"]


async def chunk_error(
    api: Api, session_id: str, message_id: str, text: str, **more: Any
) -> dict[str, Any]:
    variables = {"sessionId": session_id, "messageId": message_id, "text": text, **more}
    return await api.error(operation("AppendMessageContent"), variables)


async def test_a_live_subscriber_gets_each_chunk_alone_and_rebuilds_the_exact_content(
    api: Api, server: RunningServer
):
    session_id = (await create_session(api))["id"]
    loaded = await load_session(api, session_id)
    variables = {"sessionId": session_id, "afterRevision": loaded["revision"]}
    async with subscribed(server.ws_url, api.token, variables, TRANSPORT_WS, SESSION_EVENTS) as sub:
        reader = Reader()
        reply = await streaming_reply(api, session_id)
        await reader.read_through(sub.next_session_event, reply["revision"])
        # One chunk at a time, each read before the next is sent: the subscriber is always
        # caught up, so each chunk comes alone (one that fell behind would get the message).
        for index, text in enumerate(CHUNKS):
            acknowledged = await chunk(
                api, session_id, reply["id"], text, done=index == len(CHUNKS) - 1
            )
            assert acknowledged["revision"] == reply["revision"] + index + 1
            await reader.read_through(sub.next_session_event, acknowledged["revision"])
        assert reader.messages[reply["sequence"]]["status"] == "COMPLETE"
    assert reader.messages[reply["sequence"]]["content"] == "".join(CHUNKS)
    assert reader.deltas == len(CHUNKS)
    stored = (await load_session(api, session_id))["messages"][0]
    assert stored["content"] == "".join(CHUNKS)


async def test_a_page_opened_mid_stream_gets_the_content_so_far_then_the_rest_once(
    api: Api, server: RunningServer
):
    session_id = (await create_session(api))["id"]
    reply = await streaming_reply(api, session_id, "Once ")
    for text in CHUNKS[:3]:
        await chunk(api, session_id, reply["id"], text)
    # A page loaded before the reply began resumes from there: the whole message, once.
    variables = {"sessionId": session_id, "afterRevision": reply["revision"] - 1}
    async with subscribed(server.ws_url, api.token, variables, TRANSPORT_WS, SESSION_EVENTS) as sub:
        first = await sub.next_session_event()
        assert first["kind"] == "MESSAGE"
        assert first["message"]["content"] == "Once " + "".join(CHUNKS[:3])
        reader = Reader()
        reader.apply(first)
        # Each chunk read before the next is sent, as in the test above: a subscriber that
        # fell behind would rightly get the message whole.
        for index, text in enumerate(CHUNKS[3:]):
            acknowledged = await chunk(
                api, session_id, reply["id"], text, done=index == len(CHUNKS) - 4
            )
            await reader.read_through(sub.next_session_event, acknowledged["revision"])
        await reader.read_until(sub.next_session_event, reply["sequence"], "COMPLETE")
    assert reader.messages[reply["sequence"]]["content"] == "Once " + "".join(CHUNKS)
    assert reader.deltas == len(CHUNKS) - 3


async def test_a_subscriber_resuming_right_after_a_chunk_gets_only_the_later_ones(
    api: Api, server: RunningServer
):
    session_id = (await create_session(api))["id"]
    reply = await streaming_reply(api, session_id, "a")
    middle = await chunk(api, session_id, reply["id"], "b")
    await chunk(api, session_id, reply["id"], "😀", done=True)
    variables = {
        "sessionId": session_id,
        "afterRevision": middle["revision"],
        "afterSequence": middle["sequence"],
    }
    async with subscribed(server.ws_url, api.token, variables, TRANSPORT_WS, SESSION_EVENTS) as sub:
        event = await sub.next_session_event()
    assert event["kind"] == "APPENDED"
    assert event["appended"] == {
        "messageId": reply["id"],
        "offset": 2,
        "text": "😀",
        "status": "COMPLETE",
        "deadline": None,
        "updatedAt": event["appended"]["updatedAt"],
    }


async def test_a_pending_tool_completes_by_its_result_and_fails_by_failmessage(api: Api):
    session_id = (await create_session(api))["id"]
    running = await append(api, session_id, {**tool("c1", "pending"), "status": "PENDING"})
    done = (
        await api.data(
            operation("UpdateToolResult"),
            {"sessionId": session_id, "toolCallId": "c1", "content": "result"},
        )
    )["updateToolResult"]
    assert done["revision"] == running["revision"] + 1
    second = await append(
        api, session_id, {**tool("c2"), "status": "PENDING", "deadline": in_future(600)}
    )
    variables = {"sessionId": session_id, "messageId": second["id"], "reason": "worker crashed"}
    failed = (await api.data(operation("FailMessage"), variables))["failMessage"]
    assert failed["status"] == "FAILED" and failed["failureReason"] == "worker crashed"
    again = await api.error(operation("FailMessage"), variables)
    assert again["extensions"]["code"] == "CONFLICT"
    late = await api.error(
        operation("UpdateToolResult"),
        {"sessionId": session_id, "toolCallId": "c2", "content": "too late"},
    )
    assert late["extensions"]["code"] == "CONFLICT"
    page = await api.data(operation("SessionMessages"), {"id": session_id})
    stored = [(m["status"], m["failureReason"]) for m in page["session"]["messages"]]
    assert stored == [("COMPLETE", None), ("FAILED", "worker crashed")]


async def test_an_operation_past_its_deadline_fails_once_with_a_new_revision(
    api: Api, server: RunningServer
):
    session_id = (await create_session(api))["id"]
    loaded = await load_session(api, session_id)
    variables = {"sessionId": session_id, "afterRevision": loaded["revision"]}
    async with subscribed(server.ws_url, api.token, variables, TRANSPORT_WS, SESSION_EVENTS) as sub:
        running = await append(
            api,
            session_id,
            {**tool("c1", "pending"), "status": "PENDING", "deadline": in_future(1)},
        )
        reader = Reader()
        await reader.read_until(sub.next_session_event, running["sequence"], "FAILED")
        failed = reader.messages[running["sequence"]]
        assert failed["revision"] == running["revision"] + 1
        assert failed["failureReason"] == "The deadline passed before the operation ended."
        assert failed["deadline"] is None
        session = await sub.next_session_event()
        assert session["kind"] == "SESSION" and session["revision"] == failed["revision"]
        await sub.nothing_within(QUIET)


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"role": "ASSISTANT", "content": "x", "status": "FAILED"}, "BAD_USER_INPUT"),
        ({"role": "ASSISTANT", "content": "half an emoji: \ud83d"}, "BAD_USER_INPUT"),
        ({"role": "ASSISTANT", "content": "x", "status": "PENDING"}, "BAD_USER_INPUT"),
        (
            {"role": "USER", "content": "x", "deadline": "2030-01-01T00:00:00+00:00"},
            "BAD_USER_INPUT",
        ),
        (
            {"role": "ASSISTANT", "status": "STREAMING", "deadline": "2001-01-01T00:00:00+00:00"},
            "BAD_USER_INPUT",
        ),
    ],
)
async def test_an_append_with_a_status_it_cannot_have_is_refused_and_changes_nothing(
    api: Api, message: dict[str, Any], code: str
):
    session_id = (await create_session(api))["id"]
    before = await load_session(api, session_id)
    error = await api.error(
        operation("AppendMessage"), {"sessionId": session_id, "message": message}
    )
    assert error["extensions"]["code"] == code, error
    assert await load_session(api, session_id) == before


async def test_chunks_that_cannot_be_taken_are_refused_and_change_nothing(
    api: Api, server: RunningServer
):
    session_id = (await create_session(api))["id"]
    reply = await streaming_reply(api, session_id, "so far")
    finished = await append(api, session_id, {"role": "ASSISTANT", "content": "whole"})
    before = await load_session(api, session_id)
    missing = "00000000-0000-4000-8000-000000000000"
    cases = [
        (
            api,
            reply["id"],
            {"text": "x", "deadline": "2001-01-01T00:00:00+00:00"},
            "BAD_USER_INPUT",
        ),
        (api, missing, {"text": "x"}, "NOT_FOUND"),
        # Half an emoji, as a JavaScript worker slicing by UTF-16 index may send it.
        (api, reply["id"], {"text": "\ud83d"}, "BAD_USER_INPUT"),
        (api, finished["id"], {"text": "x"}, "CONFLICT"),
        (api.as_user("someone-else"), reply["id"], {"text": "x"}, "NOT_FOUND"),
        (
            api,
            reply["id"],
            {"text": "x" * (server.settings.max_content_bytes - len("so far") + 1)},
            "BAD_USER_INPUT",
        ),
    ]
    for caller, message_id, more, code in cases:
        error = await chunk_error(caller, session_id, message_id, **more)
        assert error["extensions"]["code"] == code, (more.get("text", "")[:20], error)
    assert await load_session(api, session_id) == before
    # The content limit counts the content so far: exactly up to it is taken.
    room = server.settings.max_content_bytes - len("so far")
    assert (await chunk(api, session_id, reply["id"], "y" * room))["status"] == "STREAMING"


async def test_each_refused_chunk_says_why_as_the_transaction_does_and_changes_nothing(
    api: Api, server: RunningServer
):
    session_id = (await create_session(api))["id"]
    other_id = (await create_session(api))["id"]
    reply = await streaming_reply(api, session_id, "so far")
    finished = await append(api, session_id, {"role": "ASSISTANT", "content": "whole"})
    before = [await load_session(api, key) for key in (session_id, other_id)]
    limit = server.settings.max_content_bytes
    cases = [
        (other_id, reply["id"], "x", "NOT_FOUND", "The session has no message with this id."),
        (
            "00000000-0000-4000-8000-000000000000",
            reply["id"],
            "x",
            "NOT_FOUND",
            "No chat session with this id.",
        ),
        (
            session_id,
            finished["id"],
            "x",
            "CONFLICT",
            "The message is COMPLETE: only a STREAMING message takes content.",
        ),
        (
            session_id,
            reply["id"],
            "x" * (limit - len("so far") + 1),
            "BAD_USER_INPUT",
            f"content would be larger than the limit of {limit} bytes.",
        ),
    ]
    for target, message_id, text, code, message in cases:
        error = await chunk_error(api, target, message_id, text)
        assert (error["extensions"]["code"], error["message"]) == (code, message), error
    assert [await load_session(api, key) for key in (session_id, other_id)] == before
    # A service's chunk goes into any user's session.
    service = api.as_user("worker", role="service")
    taken = await chunk(service, session_id, reply["id"], "!")
    assert taken["revision"] == before[0]["revision"] + 1


@pytest.mark.speed_layer
async def test_a_chunk_on_postgresql_is_one_statement(api: Api, server: RunningServer):
    """On PostgreSQL the claim, the message's checks and its update are one statement, with
    no transaction around it; SQLite has no writes in WITH, so there it takes a transaction.
    A chunk the statement refuses takes the transaction too, which says why."""
    session_id = (await create_session(api))["id"]
    reply = await streaming_reply(api, session_id, "a")
    on_postgresql = server.settings.database_url.startswith("postgresql")
    chunks: list[dict[str, Any]] = [{"deadline": in_future(60)}, {}, {"done": True}]
    for index, more in enumerate(chunks):
        with counted_statements(server) as statements:
            taken = await chunk(api, session_id, reply["id"], "b", **more)
        assert taken["revision"] == reply["revision"] + index + 1, taken
        if on_postgresql:
            assert len(statements) == 1 and statements[0].startswith("WITH"), statements
        else:  # the claim, the check of the message and its update
            assert len(statements) == 3, statements
    with counted_statements(server) as statements:
        error = await chunk_error(api, session_id, reply["id"], "c")
    assert error["extensions"]["code"] == "CONFLICT", error
    if on_postgresql:  # then the transaction's claim and check of the message
        assert statements[0].startswith("WITH"), statements
        assert any(statement.startswith("UPDATE chat_session") for statement in statements)
    assert taken["status"] == "COMPLETE"
    stored = (await load_session(api, session_id))["messages"][0]
    assert (stored["content"], stored["revision"]) == ("abbb", taken["revision"])


async def test_a_chunk_keeps_moves_or_clears_the_deadline_as_it_says(api: Api):
    session_id = (await create_session(api))["id"]
    reply = await streaming_reply(api, session_id, deadline=in_future(60))
    first = await chunk(api, session_id, reply["id"], "a", deadline=in_future(600))
    assert (await chunk(api, session_id, reply["id"], "b"))["deadline"] == first["deadline"]
    moved = await chunk(api, session_id, reply["id"], "c", deadline=in_future(1200))
    assert moved["deadline"] not in (None, first["deadline"])
    assert (await chunk(api, session_id, reply["id"], "d"))["deadline"] == moved["deadline"]
    done = await chunk(api, session_id, reply["id"], "e", done=True, deadline=in_future(60))
    assert (done["status"], done["deadline"]) == ("COMPLETE", None)
    assert (await load_session(api, session_id))["messages"][0]["content"] == "abcde"


async def test_concurrent_chunks_keep_the_order_they_were_acknowledged_in(api: Api):
    session_id = (await create_session(api))["id"]
    reply = await streaming_reply(api, session_id)
    texts = [f"<{n}>" for n in range(40)]
    acknowledged = await asyncio.gather(
        *(chunk(api, session_id, reply["id"], text) for text in texts)
    )
    in_order = [
        text for _, text in sorted(zip((a["revision"] for a in acknowledged), texts, strict=True))
    ]
    stored = (await load_session(api, session_id))["messages"][0]["content"]
    assert stored == "".join(in_order)


async def test_another_users_token_cannot_fail_a_message(api: Api):
    session_id = (await create_session(api))["id"]
    running = await append(api, session_id, {**tool("c1"), "status": "PENDING"})
    other = api.as_user("someone-else")
    error = await other.error(
        operation("FailMessage"),
        {"sessionId": session_id, "messageId": running["id"], "reason": "no"},
    )
    assert error["extensions"]["code"] == "NOT_FOUND"
    service = api.as_user("worker", role="service")
    failed = (
        await service.data(
            operation("FailMessage"),
            {"sessionId": session_id, "messageId": running["id"], "reason": "stopped"},
        )
    )["failMessage"]
    assert failed["status"] == "FAILED"
