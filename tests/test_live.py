"""Live updates over real WebSockets, on SQLite and PostgreSQL.

Covers `toolMessageUpdated`: delivery on graphql-transport-ws and legacy graphql-ws, only TOOL
messages streamed, the resume-after-disconnect story (`afterRevision`), replay order, no gap
and no duplicate when writes race the subscribe (with and without `afterRevision`), ascending
live order, who may subscribe (tokens at `connection_init`, other users, services, bad ids),
`deleteSession` completing open subscriptions, and several subscribers on one session.
"""

import asyncio
import contextlib
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from core.identity import issue_token
from tests.clients import (
    LEGACY_WS,
    QUIET,
    TRANSPORT_WS,
    Api,
    Subscriber,
    append,
    append_many,
    assert_gap_free,
    collect_until,
    complete_tool,
    counted_statements,
    create_session,
    go_live,
    load_session,
    new_user,
    operation,
    subscribe_amid_writes,
    subscribed,
    token_for,
    tool,
    until_waiting,
    websocket,
)
from tests.servers import RunningServer

PROTOCOLS = pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])


# --- WebSocket helpers --------------------------------------------------------------------


async def next_event(sub: Subscriber, operation_id: str) -> dict[str, Any]:
    """The next `toolMessageUpdated` of the operation `operation_id`."""
    message = await sub.receive()
    assert message["type"] in ("next", "data"), message
    assert message["id"] == operation_id, message
    assert "errors" not in message["payload"], message
    return message["payload"]["data"]["toolMessageUpdated"]


async def subscription_error(sub: Subscriber) -> dict[str, Any]:
    """The one error a subscription failed with; the operation must have ended."""
    message = await sub.receive()
    if message["type"] == "error":
        payload = message["payload"]
        errors = payload if isinstance(payload, list) else [payload]
    else:
        assert message["type"] in ("next", "data"), message
        assert message["payload"].get("data") is None, message
        errors = message["payload"]["errors"]
        end = await sub.receive()
        assert end["type"] == "complete", end
    assert len(errors) == 1, errors
    error = errors[0]
    assert isinstance(error["message"], str) and len(error["message"]) > 10, error
    return error


async def no_events(sub: Subscriber, seconds: float = QUIET) -> None:
    """Nothing is delivered on this socket for `seconds` (it may close meanwhile)."""
    try:
        while True:
            message = await sub.receive(seconds)
            assert message["type"] not in ("next", "data"), message
    except (TimeoutError, ConnectionClosed):
        return


# --- Delivery -----------------------------------------------------------------------------


@PROTOCOLS
async def test_appended_and_completed_tool_messages_arrive_as_the_full_message(
    server: RunningServer, api: Api, protocol: str
):
    session = await create_session(api)
    await append(api, session["id"], tool("call_earlier", "answered before subscribing"))
    variables = {"sessionId": session["id"]}
    async with subscribed(server.ws_url, api.token, variables, protocol) as sub:
        # Live only: nothing from before the subscription, only the probes written after it.
        for event in await go_live(api, session["id"], sub):
            assert event["toolCallId"].startswith("probe-"), event

        pending = await append(api, session["id"], tool("call_weather"))
        assert pending["content"] is None
        assert await sub.next_tool_message() == pending

        completed = await complete_tool(api, session["id"], "call_weather", '{"temp": 21}')
        assert completed["revision"] == pending["revision"] + 1
        received = await sub.next_tool_message()
        assert received == completed
        assert received["content"] == '{"temp": 21}'
        await sub.nothing_within(QUIET)


async def test_only_tool_messages_are_streamed(server: RunningServer, api: Api):
    session = await create_session(api)
    sid = session["id"]
    variables = {"sessionId": sid, "afterRevision": session["revision"]}
    async with subscribed(server.ws_url, api.token, variables) as sub:
        # Before the subscription is surely live: these fall in the replay.
        await append(api, sid, {"role": "USER", "content": "what is the weather?"})
        await append(api, sid, {"role": "ASSISTANT", "content": "let me check"})
        first = await append(api, sid, tool("call_1", "sunny"))
        assert await sub.next_tool_message() == first

        # Live: non-TOOL writes, one at a time and as a batch, send nothing.
        await append(api, sid, {"role": "USER", "content": "and tomorrow?"})
        await append(api, sid, {"role": "ASSISTANT", "content": "checking again"})
        await append_many(
            api,
            sid,
            [{"role": "USER", "content": "thanks"}, {"role": "ASSISTANT", "content": "welcome"}],
        )
        second = await append(api, sid, tool("call_2", "rain"))
        assert await sub.next_tool_message() == second
        await sub.nothing_within(QUIET)


# --- Resuming -----------------------------------------------------------------------------


@PROTOCOLS
async def test_a_tab_reopened_with_the_loaded_revision_receives_the_result_it_missed_once(
    server: RunningServer, api: Api, user: str, protocol: str
):
    worker = api.as_user(new_user(), role="service")
    session = await create_session(api)
    sid = session["id"]
    await append(api, sid, {"role": "USER", "content": "build the quarterly report"})
    await append(
        api,
        sid,
        {
            "role": "ASSISTANT",
            "toolCalls": [
                {"id": "call_report", "type": "function", "function": {"name": "report"}}
            ],
        },
    )
    loaded = await load_session(api, sid)
    revision = loaded["revision"]
    assert loaded["userId"] == user

    # The tab is open, then closed before the tool finishes.
    variables = {"sessionId": sid, "afterRevision": revision}
    async with subscribed(server.ws_url, api.token, variables, protocol) as sub:
        await sub.nothing_within(0.1)

    pending = await append(worker, sid, tool("call_report"))
    assert pending["revision"] == revision + 1
    completed = await complete_tool(worker, sid, "call_report", "report.pdf is ready")
    assert completed["id"] == pending["id"]

    async with subscribed(server.ws_url, api.token, variables, protocol) as sub:
        received = await sub.next_tool_message()
        assert received == completed
        assert received["content"] == "report.pdf is ready"
        current = await load_session(api, sid)
        assert received["revision"] == current["revision"]
        await sub.nothing_within(QUIET)

        later = await append(worker, sid, tool("call_followup", "done"))
        assert await sub.next_tool_message() == later
        await sub.nothing_within(QUIET)


async def test_replay_sends_each_changed_tool_message_once_in_revision_then_sequence_order(
    server: RunningServer, api: Api
):
    session = await create_session(api)
    sid = session["id"]
    await append(api, sid, tool("call_old", "unchanged, before r"))
    await append(api, sid, tool("call_rework"))
    await append(api, sid, {"role": "USER", "content": "go"})
    after = (await load_session(api, sid))["revision"]

    batch = await append_many(
        api,
        sid,
        [
            tool("call_b"),
            {"role": "ASSISTANT", "content": "between the two tools"},
            tool("call_c", "c done"),
        ],
    )
    assert batch[0]["revision"] == batch[2]["revision"]
    await complete_tool(api, sid, "call_rework", "first attempt")
    await append(api, sid, tool("call_d", "d done"))
    await complete_tool(api, sid, "call_rework", "second attempt")
    await append(api, sid, {"role": "USER", "content": "not a tool"})
    await complete_tool(api, sid, "call_b", "b done")
    final_rework = await complete_tool(api, sid, "call_rework", "third attempt")

    current = await load_session(api, sid)
    by_call = {m["toolCallId"]: m for m in current["messages"] if m["role"] == "TOOL"}
    expected = [by_call["call_c"], by_call["call_d"], by_call["call_b"], by_call["call_rework"]]
    assert [m["revision"] for m in expected] == sorted(m["revision"] for m in expected)
    assert by_call["call_rework"] == final_rework

    variables = {"sessionId": sid, "afterRevision": after}
    async with subscribed(server.ws_url, api.token, variables) as sub:
        received = [await sub.next_tool_message() for _ in expected]
        assert received == expected
        await sub.nothing_within(QUIET)


async def test_replay_of_one_batch_sends_its_tool_messages_in_sequence_order(
    server: RunningServer, api: Api
):
    session = await create_session(api)
    sid = session["id"]
    batch = await append_many(
        api,
        sid,
        [tool(f"call_{index}", f"result {index}") for index in range(5)]
        + [{"role": "ASSISTANT", "content": "all five done"}],
    )
    variables = {"sessionId": sid, "afterRevision": session["revision"]}
    async with subscribed(server.ws_url, api.token, variables) as sub:
        received = [await sub.next_tool_message() for _ in range(5)]
        assert received == batch[:5]
        assert [m["sequence"] for m in received] == [0, 1, 2, 3, 4]
        await sub.nothing_within(QUIET)


# --- Races --------------------------------------------------------------------------------


async def prepare_race(api: Api) -> tuple[str, list[str], int]:
    session = await create_session(api)
    sid = session["id"]
    calls = [f"call_pending_{index}" for index in range(4)]
    await append_many(api, sid, [tool(call) for call in calls])
    await append(api, sid, tool("call_static", "answered before the race, never changed"))
    await append(api, sid, {"role": "USER", "content": "waiting for the tools"})
    revision = (await load_session(api, sid))["revision"]
    return sid, calls, revision


@pytest.mark.parametrize("subscribe_at", [0, 15])
async def test_writes_racing_a_resubscribe_are_neither_missed_nor_repeated(
    server: RunningServer, api: Api, subscribe_at: int
):
    sid, calls, before = await prepare_race(api)
    async with websocket(server.ws_url) as sub:
        assert (await sub.init(api.token))["type"] == "connection_ack"
        variables = {"sessionId": sid, "afterRevision": before}
        writes = await subscribe_amid_writes(
            sub, api, sid, calls, subscribe_at, operation("ToolMessageUpdated"), variables
        )

        tool_writes = [write for write in writes if write["role"] == "TOOL"]
        events = await collect_until(sub, writes[-1]["revision"])
        assert_gap_free(events, tool_writes, before)
        # Every message touched after `before` is received in its final state.
        final = {write["id"]: write for write in tool_writes}
        assert {event["id"]: event for event in events} == final


@pytest.mark.parametrize("subscribe_at", [0, 15])
async def test_a_live_only_subscription_racing_writes_sends_nothing_older_and_misses_nothing(
    server: RunningServer, api: Api, subscribe_at: int
):
    sid, calls, before = await prepare_race(api)
    await complete_tool(api, sid, calls[0], "before anyone subscribed")
    before += 1
    async with websocket(server.ws_url) as sub:
        assert (await sub.init(api.token))["type"] == "connection_ack"
        variables = {"sessionId": sid}
        writes = await subscribe_amid_writes(
            sub, api, sid, calls, subscribe_at, operation("ToolMessageUpdated"), variables
        )

        # The subscription may have started after the last write: probes prove it is live.
        events = await go_live(api, sid, sub)
        await sub.nothing_within(QUIET)
        current = await load_session(api, sid)
        tool_writes = [write for write in writes if write["role"] == "TOOL"]
        probes = [
            m
            for m in current["messages"]
            if m["role"] == "TOOL" and m["toolCallId"].startswith("probe-")
        ]
        # The subscription started at some revision s >= `before`; whatever it sent must be
        # every TOOL change after its first event (or a later state of that message).
        first = events[0]["revision"]
        assert_gap_free(events, tool_writes + probes, first - 1)
        assert all(event["revision"] > before for event in events)


async def test_live_events_of_concurrent_writes_arrive_in_ascending_revision_order(
    server: RunningServer, api: Api
):
    session = await create_session(api)
    sid = session["id"]
    calls = [f"call_slow_{index}" for index in range(8)]
    await append_many(api, sid, [tool(call) for call in calls])
    async with subscribed(server.ws_url, api.token, {"sessionId": sid}) as sub:
        await go_live(api, sid, sub)
        writes = await asyncio.gather(
            *[append(api, sid, tool(f"call_fast_{index}", "quick")) for index in range(12)],
            *[complete_tool(api, sid, call, f"slow {call}") for call in calls],
        )
        # Each write touches a different message once: every one must arrive.
        received = [await sub.next_tool_message() for _ in writes]
        revisions = [event["revision"] for event in received]
        assert revisions == sorted(revisions)
        assert sorted(received, key=lambda m: m["revision"]) == sorted(
            writes, key=lambda m: m["revision"]
        )
        await sub.nothing_within(QUIET)


# --- Who may subscribe --------------------------------------------------------------------


def refused_payload(kind: str, user_id: str) -> dict[str, str] | None:
    """A `connection_init` payload that identifies no one, of the given kind."""
    tokens = {
        "bad-signature": issue_token("another-secret-that-is-also-long-enough-0123456789", user_id),
        "malformed-token": "not-a-jwt",
        "expired": token_for(user_id, ttl=timedelta(seconds=-30)),
    }
    if kind == "missing":
        return {}
    if kind == "null-payload":
        return None
    if kind == "not-bearer":
        return {"Authorization": f"Basic {token_for(user_id)}"}
    return {"Authorization": f"Bearer {tokens[kind]}"}


# Each kind of refusal: what the close reason (graphql-transport-ws) and the
# `connection_error`'s extensions.reason (graphql-ws) say.
REFUSALS = {
    "missing": "missing token",
    "null-payload": "missing token",
    "bad-signature": "invalid token",
    "malformed-token": "invalid token",
    "not-bearer": "invalid token",
    "expired": "token expired",
}


@PROTOCOLS
@pytest.mark.parametrize("kind", REFUSALS)
async def test_a_bad_token_at_connection_init_is_refused_and_subscribes_nothing(
    server: RunningServer, api: Api, user: str, protocol: str, kind: str
):
    session = await create_session(api)
    async with websocket(server.ws_url, protocol) as sub:
        payload = refused_payload(kind, user)
        await sub.ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        if protocol == TRANSPORT_WS:
            with pytest.raises(ConnectionClosed):
                await sub.receive()
            assert sub.ws.close_code == 4403
            assert sub.ws.close_reason == f"Forbidden: {REFUSALS[kind]}"
        else:
            refusal = await sub.receive()
            assert refusal["type"] == "connection_error", refusal
            assert refusal["payload"]["extensions"] == {
                "code": "UNAUTHENTICATED",
                "reason": REFUSALS[kind],
            }, refusal
            assert len(refusal["payload"]["message"]) > 10, refusal

        try:
            await sub.subscribe(operation("ToolMessageUpdated"), {"sessionId": session["id"]})
        except ConnectionClosed:
            pass
        await append(api, session["id"], tool("call_1", "not for strangers"))
        await no_events(sub)


@PROTOCOLS
async def test_a_valid_token_at_connection_init_is_acknowledged(
    server: RunningServer, api: Api, protocol: str
):
    session = await create_session(api)
    async with websocket(server.ws_url, protocol) as sub:
        ack = await sub.init(api.token)
        assert ack["type"] == "connection_ack", ack
        variables = {"sessionId": session["id"], "afterRevision": 0}
        await sub.subscribe(operation("ToolMessageUpdated"), variables)
        written = await append(api, session["id"], tool("call_1", "hello"))
        assert await sub.next_tool_message() == written


@PROTOCOLS
async def test_another_users_session_is_not_found_like_a_missing_one(
    server: RunningServer, api: Api, protocol: str
):
    session = await create_session(api)
    stranger = token_for(new_user())
    variables = {"sessionId": session["id"], "afterRevision": 0}
    async with subscribed(server.ws_url, stranger, variables, protocol) as sub:
        error = await subscription_error(sub)
        assert error["extensions"]["code"] == "NOT_FOUND"
        await append(api, session["id"], tool("call_1", "private result"))
        await no_events(sub)

    missing = {"sessionId": str(uuid.uuid4()), "afterRevision": 0}
    async with subscribed(server.ws_url, stranger, missing, protocol) as sub:
        missing_error = await subscription_error(sub)
        assert missing_error["extensions"]["code"] == "NOT_FOUND"
    assert missing_error == error


@PROTOCOLS
async def test_a_malformed_session_id_is_bad_user_input(
    server: RunningServer, api: Api, protocol: str
):
    variables = {"sessionId": "not-a-uuid"}
    async with subscribed(server.ws_url, api.token, variables, protocol) as sub:
        error = await subscription_error(sub)
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "UUID" in error["message"]


async def test_a_service_may_subscribe_to_any_users_session(server: RunningServer, api: Api):
    session = await create_session(api)
    service = token_for(new_user(), role="service")
    variables = {"sessionId": session["id"], "afterRevision": session["revision"]}
    async with subscribed(server.ws_url, service, variables) as sub:
        pending = await append(api, session["id"], tool("call_1"))
        assert await sub.next_tool_message() == pending
        completed = await complete_tool(api, session["id"], "call_1", "finished")
        assert await sub.next_tool_message() == completed
        await sub.nothing_within(QUIET)


# --- Deletion and several subscribers -----------------------------------------------------


@PROTOCOLS
async def test_deleting_a_session_completes_its_subscriptions_and_the_socket_stays_usable(
    server: RunningServer, api: Api, protocol: str
):
    doomed = await create_session(api)
    kept = await create_session(api)
    variables = {"sessionId": doomed["id"], "afterRevision": doomed["revision"]}
    async with subscribed(server.ws_url, api.token, variables, protocol) as sub:
        first = await append(api, doomed["id"], tool("call_1", "before the end"))
        assert await next_event(sub, "1") == first

        assert (await api.data(operation("DeleteSession"), {"id": doomed["id"]})) == {
            "deleteSession": True
        }
        assert await sub.receive() == {"type": "complete", "id": "1"}

        query = operation("ToolMessageUpdated")
        await sub.subscribe(query, {"sessionId": kept["id"], "afterRevision": 0}, "2")
        written = await append(api, kept["id"], tool("call_2", "still here"))
        assert await next_event(sub, "2") == written
        await sub.nothing_within(QUIET)


async def test_two_tabs_on_one_session_each_receive_each_event_once(
    server: RunningServer, api: Api
):
    session = await create_session(api)
    sid = session["id"]
    variables = {"sessionId": sid, "afterRevision": session["revision"]}
    async with (
        subscribed(server.ws_url, api.token, variables) as tab1,
        subscribed(server.ws_url, api.token, variables, LEGACY_WS) as tab2,
    ):
        pending = await append(api, sid, tool("call_1"))
        assert await tab1.next_tool_message() == pending
        assert await tab2.next_tool_message() == pending
        completed = await complete_tool(api, sid, "call_1", "done")
        another = await append(api, sid, tool("call_2", "also done"))
        for tab in (tab1, tab2):
            assert [await tab.next_tool_message() for _ in range(2)] == [completed, another]
            await tab.nothing_within(QUIET)


@pytest.mark.speed_layer
async def test_tabs_of_one_session_woken_by_one_write_share_one_read(
    api: Api, user: str, server: RunningServer
):
    session = await create_session(api)
    session_id = session["id"]
    # From the revision it was created at: a tab whose subscribe the server takes after the
    # append replays it rather than starting past it.
    variables = {"sessionId": session_id, "afterRevision": session["revision"]}
    async with contextlib.AsyncExitStack() as stack:
        tabs = [
            await stack.enter_async_context(subscribed(server.ws_url, token_for(user), variables))
            for _ in range(5)
        ]
        await append(api, session_id, tool("c1", "pending"))
        for tab in tabs:  # every tab is live, with the same cursor
            assert (await tab.next_tool_message())["content"] == "pending"
        # And waits: a tab's client can have the event before the server's task is back from
        # sending it, and news that finds a tab busy is read when it returns, maybe after the
        # others' read is over.
        await until_waiting(server, session_id, len(tabs))
        with counted_statements(server) as statements:
            await complete_tool(api, session_id, "c1", "done")
            for tab in tabs:
                assert (await tab.next_tool_message())["content"] == "done"
    reads = [s for s in statements if "FROM chat_message" in s and "revision >" in s]
    assert len(reads) == 1, statements


# --- Documents a WebSocket cannot run -------------------------------------------------------


async def test_a_query_over_legacy_graphql_ws_is_a_coded_refusal_not_a_server_error(
    server: RunningServer, user: str
):
    """Found by tests/test_caller_limits.py: Strawberry's legacy graphql-ws handler runs
    subscriptions alone, and its refusal of a query was masked as INTERNAL_SERVER_ERROR."""
    async with websocket(server.ws_url, LEGACY_WS) as sub:
        assert (await sub.init(token_for(user)))["type"] == "connection_ack"
        for operation_id, document in (("1", "{ sessionCount }"), ("2", "mutation { __typename }")):
            await sub.ws.send(
                json.dumps({"type": "start", "id": operation_id, "payload": {"query": document}})
            )
            refused = await sub.receive()
            assert refused["type"] == "error" and refused["id"] == operation_id, refused
            assert refused["payload"]["extensions"] == {"code": "BAD_REQUEST"}, refused
            assert "graphql-transport-ws" in refused["payload"]["message"], refused


@PROTOCOLS
async def test_an_operation_name_missing_from_the_document_is_operation_resolution_failure(
    server: RunningServer, user: str, protocol: str
):
    async with websocket(server.ws_url, protocol) as sub:
        assert (await sub.init(token_for(user)))["type"] == "connection_ack"
        kind = "subscribe" if protocol == TRANSPORT_WS else "start"
        payload = {"query": operation("ToolMessageUpdated"), "operationName": "Nope"}
        await sub.ws.send(json.dumps({"type": kind, "id": "1", "payload": payload}))
        refused = await sub.receive()
        assert refused["type"] == "error", refused
        [error] = refused["payload"] if protocol == TRANSPORT_WS else [refused["payload"]]
        assert error["extensions"] == {"code": "OPERATION_RESOLUTION_FAILURE"}, error
        assert error["message"] == 'Unknown operation named "Nope".', error
