"""`sessionEvents`: every committed change of a session, over real WebSockets (both
subprotocols) and SSE, on SQLite and PostgreSQL.

Covers each kind of change (messages of every role created or changed, the session's own
fields, deletion), the replay from a cursor in commit order and in current state, the exact
resume within a revision, no gap and no duplicate when writes race the subscribe, live only
without a cursor, and who may subscribe.
"""

import asyncio
from typing import Any

import httpx
import pytest

from tests.clients import (
    LEGACY_WS,
    QUIET,
    TRANSPORT_WS,
    Api,
    append,
    append_many,
    assert_in_commit_order,
    complete,
    complete_tool,
    create_session,
    cursor,
    events_until,
    load_session,
    operation,
    sse,
    subscribed,
    token_for,
    tool,
    until_waiting,
)
from tests.servers import RunningServer

PROTOCOLS = pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
SESSION_EVENTS = operation("SessionEvents")
SSE_PATH = "/sse/session-events"


@PROTOCOLS
async def test_every_kind_of_change_arrives_live_in_commit_order(
    api: Api, server: RunningServer, protocol: str
):
    session_id = (await create_session(api))["id"]
    variables = {"sessionId": session_id}
    async with subscribed(server.ws_url, api.token, variables, protocol, SESSION_EVENTS) as sub:
        await until_waiting(server, session_id, 1)  # live only: from the first write
        reply = await append(api, session_id, {"role": "ASSISTANT", "content": "Hello!"})
        first = await events_until(sub, reply["revision"])
        assert [e["kind"] for e in first] == ["MESSAGE", "SESSION"]
        assert first[0]["message"] == complete(reply)
        assert first[1]["session"]["messageCount"] == 1
        batch = await append_many(
            api,
            session_id,
            [
                {"role": "USER", "content": "Build me an agent"},
                {"role": "ASSISTANT", "toolCalls": [{"id": "call-1", "type": "function"}]},
                tool("call-1", "pending"),
            ],
        )
        second = await events_until(sub, batch[0]["revision"])
        assert [e["message"] for e in second[:3]] == [complete(m) for m in batch]
        assert [e["sequence"] for e in second] == [1, 2, 3, None]
        done = await complete_tool(api, session_id, "call-1", "Agent ready")
        third = await events_until(sub, done["revision"])
        assert [e["kind"] for e in third] == ["MESSAGE", "SESSION"]
        assert third[0]["message"]["content"] == "Agent ready"
        renamed = await api.data(
            operation("UpdateSession"), {"id": session_id, "input": {"title": "Invoices"}}
        )
        fourth = await events_until(sub, renamed["updateSession"]["revision"])
        assert [e["kind"] for e in fourth] == ["SESSION"]
        assert fourth[0]["session"]["title"] == "Invoices"
        used = await api.data(
            operation("AddTokenUsage"),
            {"sessionId": session_id, "promptTokens": 5, "completionTokens": 7},
        )
        fifth = await events_until(sub, used["addTokenUsage"]["revision"])
        assert fifth[0]["session"]["totalPromptTokens"] == 5
        assert fifth[0]["session"]["totalCompletionTokens"] == 7
        assert_in_commit_order(first + second + third + fourth + fifth)
        assert await api.data(operation("DeleteSession"), {"id": session_id})
        deleted = await sub.next_session_event()
        assert deleted["kind"] == "DELETED" and deleted["sessionId"] == session_id
        end = await sub.receive()
        assert end["type"] == "complete", end


async def test_a_cursor_replays_each_change_once_in_its_current_state_then_goes_live(
    api: Api, server: RunningServer
):
    session_id = (await create_session(api, title="draft"))["id"]
    loaded = await load_session(api, session_id)
    await append_many(api, session_id, [{"role": "USER", "content": "q"}, tool("c1", "pending")])
    done = await complete_tool(api, session_id, "c1", "result")
    variables = {"sessionId": session_id, "afterRevision": loaded["revision"]}
    async with subscribed(server.ws_url, api.token, variables, TRANSPORT_WS, SESSION_EVENTS) as sub:
        replayed = await events_until(sub, done["revision"])
        # The USER message as stored; the TOOL message once, in its current state; the
        # session once, at its current revision.
        assert [(e["kind"], e["revision"]) for e in replayed] == [
            ("MESSAGE", done["revision"] - 1),
            ("MESSAGE", done["revision"]),
            ("SESSION", done["revision"]),
        ]
        assert replayed[1]["message"]["content"] == "result"
        reply = await append(api, session_id, {"role": "ASSISTANT", "content": "live"})
        live = await events_until(sub, reply["revision"])
        assert live[0]["message"] == complete(reply)


async def test_a_resume_within_a_revision_sends_only_the_rest_of_it(
    api: Api, server: RunningServer
):
    session_id = (await create_session(api))["id"]
    batch = await append_many(
        api, session_id, [{"role": "USER", "content": str(n)} for n in range(3)]
    )
    variables = {"sessionId": session_id, "afterRevision": batch[0]["revision"], "afterSequence": 0}
    async with subscribed(server.ws_url, api.token, variables, TRANSPORT_WS, SESSION_EVENTS) as sub:
        rest = await events_until(sub, batch[0]["revision"])
    assert [e["sequence"] for e in rest] == [1, 2, None]
    # Right after the session's event of a revision, that revision is done.
    after_all = {"sessionId": session_id, **cursor(rest[-1])}
    async with subscribed(server.ws_url, api.token, after_all, TRANSPORT_WS, SESSION_EVENTS) as sub:
        await sub.nothing_within(QUIET)


async def test_writes_racing_the_subscribe_arrive_once_with_no_gap(api: Api, server: RunningServer):
    session_id = (await create_session(api))["id"]
    loaded = await load_session(api, session_id)
    written: list[dict[str, Any]] = []

    async def writer() -> None:
        for n in range(30):
            written.append(await append(api, session_id, {"role": "USER", "content": str(n)}))

    variables = {"sessionId": session_id, "afterRevision": loaded["revision"]}
    writing = asyncio.create_task(writer())
    async with subscribed(server.ws_url, api.token, variables, TRANSPORT_WS, SESSION_EVENTS) as sub:
        await writing
        events = await events_until(sub, written[-1]["revision"])
    assert_in_commit_order(events)
    assert [e["message"] for e in events if e["kind"] == "MESSAGE"] == [
        complete(m) for m in written
    ]


async def test_only_the_owner_and_services_may_subscribe(api: Api, server: RunningServer):
    session_id = (await create_session(api))["id"]
    variables = {"sessionId": session_id, "afterRevision": 0}
    other = token_for("someone-else")
    async with subscribed(server.ws_url, other, variables, TRANSPORT_WS, SESSION_EVENTS) as sub:
        payload = await sub.next_payload()
    assert payload["errors"][0]["extensions"]["code"] == "NOT_FOUND", payload
    service = token_for("worker", role="service")
    reply = await append(api, session_id, {"role": "ASSISTANT", "content": "hi"})
    async with subscribed(server.ws_url, service, variables, TRANSPORT_WS, SESSION_EVENTS) as sub:
        events = await events_until(sub, reply["revision"])
    assert events[0]["message"] == complete(reply)


async def test_sse_streams_session_events_and_resumes_by_last_event_id(
    api: Api, http: httpx.AsyncClient
):
    session_id = (await create_session(api))["id"]
    batch = await append_many(
        api, session_id, [{"role": "USER", "content": "q"}, {"role": "ASSISTANT", "content": "a"}]
    )
    revision = batch[0]["revision"]
    async with sse(http, session_id, token=api.token, path=SSE_PATH, afterRevision=0) as stream:
        first = await stream.next_message()
        assert first["message"] == complete(batch[0])
    # The browser reconnects with the id of the last event it got: the rest, once.
    resumed_from = f"{first['revision']}-{first['sequence']}"
    async with sse(
        http, session_id, token=api.token, path=SSE_PATH, last_event_id=resumed_from
    ) as stream:
        rest = [await stream.next_message(), await stream.next_message()]
        assert [e["kind"] for e in rest] == ["MESSAGE", "SESSION"]
        assert rest[0]["message"] == complete(batch[1])
        assert rest[1]["revision"] == revision
    async with sse(
        http, session_id, token=api.token, path=SSE_PATH, last_event_id=str(revision)
    ) as stream:
        reply = await append(api, session_id, {"role": "ASSISTANT", "content": "live"})
        live = await stream.next_message()
        assert live["message"] == complete(reply)
        assert await api.data(operation("DeleteSession"), {"id": session_id})
        while (await stream.next_message())["kind"] != "DELETED":
            pass
        ended = await stream.next_event()
        assert ended is not None and ended.event == "complete", ended
