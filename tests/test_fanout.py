"""Fan-out: one event executed once for the subscribers that would get the same result.

Over real WebSockets: tabs of one session that share a read, but subscribed with different
selections, aliases or variables, each receive their own payload. In process, on small
schemas of their own: the sharing itself, and where it must not happen (errors, resolvers).
"""

import contextlib
import gc
import json
from collections.abc import AsyncGenerator
from typing import Any

import pytest
import strawberry
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse
from strawberry.permission import BasePermission

from compat.strawberry import graphql_core_schema
from core.settings import Settings
from schema.build import build_schema
from speed.documents import DocumentCache
from speed.fanout import (
    EventResults,
    SharedEvents,
    depends_on_event_only,
    read_by_events,
)
from speed.json_text import fast_dumps, standard_dumps
from speed.shared_data import SharedData, encode_shared
from tests.clients import (
    LEGACY_WS,
    QUIET,
    TRANSPORT_WS,
    Api,
    Subscriber,
    append,
    complete_tool,
    create_session,
    operation,
    subscribed,
    tool,
    websocket,
)
from tests.servers import RunningServer

ALIASED = """
subscription Aliased($sessionId: ID!, $afterRevision: Int) {
  update: toolMessageUpdated(sessionId: $sessionId, afterRevision: $afterRevision) {
    key: id
    text: content
    revision
  }
}
"""

OPTIONAL_CONTENT = """
subscription Optional($sessionId: ID!, $afterRevision: Int, $withContent: Boolean!) {
  toolMessageUpdated(sessionId: $sessionId, afterRevision: $afterRevision) {
    id
    content @include(if: $withContent)
  }
}
"""


async def test_tabs_sharing_a_read_each_get_their_own_selection_aliases_and_variables(
    server: RunningServer, api: Api
):
    session = await create_session(api)
    sid = session["id"]
    pending = await append(api, sid, tool("call_1"))
    # Every tab replays `pending`, so all have the same cursor when the result lands: they
    # share one read, and so the very same event objects.
    cursor = {"sessionId": sid, "afterRevision": session["revision"]}
    standard = operation("ToolMessageUpdated")
    earlier = {**cursor, "afterRevision": session["revision"] - 1}  # replays the same
    tabs = [
        (standard, cursor, TRANSPORT_WS),
        (standard, earlier, TRANSPORT_WS),
        (standard, cursor, LEGACY_WS),
        (ALIASED, cursor, TRANSPORT_WS),
        (ALIASED, cursor, LEGACY_WS),
        (OPTIONAL_CONTENT, {**cursor, "withContent": True}, TRANSPORT_WS),
        (OPTIONAL_CONTENT, {**cursor, "withContent": False}, TRANSPORT_WS),
    ]
    async with contextlib.AsyncExitStack() as stack:
        subs = [
            await stack.enter_async_context(
                subscribed(server.ws_url, api.token, variables, protocol, query)
            )
            for query, variables, protocol in tabs
        ]
        for sub in subs:
            await sub.next_payload()  # the replay of `pending`
        completed = await complete_tool(api, sid, "call_1", "done")
        received = [await sub.next_payload() for sub in subs]
        for sub in subs:
            await sub.nothing_within(QUIET)

    aliased = {"key": pending["id"], "text": "done", "revision": completed["revision"]}
    assert received == [
        {"data": {"toolMessageUpdated": completed}},
        {"data": {"toolMessageUpdated": completed}},
        {"data": {"toolMessageUpdated": completed}},
        {"data": {"update": aliased}},
        {"data": {"update": aliased}},
        {"data": {"toolMessageUpdated": {"id": pending["id"], "content": "done"}}},
        {"data": {"toolMessageUpdated": {"id": pending["id"]}}},
    ]


async def next_frame(sub: Subscriber) -> str:
    """The text of the next message that is not a keep-alive, as it came over the wire."""
    while True:
        text = await sub.ws.recv()
        assert isinstance(text, str)
        kind = json.loads(text)["type"]
        if kind == "ping":
            await sub.ws.send(json.dumps({"type": "pong"}))
        elif kind != "ka":
            return text


async def test_a_shared_event_goes_out_in_the_bytes_strawberry_would_send_with_each_id(
    server: RunningServer, api: Api
):
    session = await create_session(api)
    sid = session["id"]
    await append(api, sid, tool("call_1"))
    variables = {"sessionId": sid, "afterRevision": session["revision"]}
    query = operation("ToolMessageUpdated")
    # Operation ids that JSON must escape: the envelope is encoded per subscriber.
    tabs = [(TRANSPORT_WS, "1"), (TRANSPORT_WS, 'tab "2" \u00e9'), (LEGACY_WS, "t\u00e9l\u00e9")]
    async with contextlib.AsyncExitStack() as stack:
        subs = []
        for protocol, operation_id in tabs:
            sub = await stack.enter_async_context(websocket(server.ws_url, protocol))
            assert (await sub.init(api.token))["type"] == "connection_ack"
            await sub.subscribe(query, variables, operation_id)
            subs.append(sub)
        for sub in subs:
            await next_frame(sub)  # the replay
        completed = await complete_tool(api, sid, "call_1", 'd\u00f6ne "quoted"')
        frames = [await next_frame(sub) for sub in subs]

    for (protocol, operation_id), frame in zip(tabs, frames, strict=True):
        data = json.loads(frame)["payload"]["data"]
        assert data == {"toolMessageUpdated": completed}
        envelope = (
            {"id": operation_id, "type": "next", "payload": {"data": data}}
            if protocol == TRANSPORT_WS
            else {"type": "data", "id": operation_id, "payload": {"data": data}}
        )
        # Strawberry's json.dumps, or orjson with FAST_JSON on (speed/json_text.py).
        dumps = fast_dumps if server.settings.fast_json else standard_dumps
        assert frame == dumps(envelope)


# --- In process, on schemas of their own ----------------------------------------------------


@strawberry.type
class Item:
    name: str
    count: int


@strawberry.type
class Query:
    ok: bool = True


def schema_yielding(*events: Any, payload: type = Item) -> strawberry.Schema:
    """A schema whose one subscription yields `events`, the same objects to every subscriber."""

    @strawberry.type
    class Subscription:
        @strawberry.subscription
        async def items(self, tag: str) -> AsyncGenerator[payload, None]:  # type: ignore[valid-type]
            for event in events:
                yield event

    return strawberry.Schema(
        query=Query,
        subscription=Subscription,
        execution_context_class=SharedEvents,
        extensions=[DocumentCache],
    )


async def results_of(
    schema: strawberry.Schema, query: str, tag: str = "a", **variables: Any
) -> list[Any]:
    stream = await schema.subscribe(query, variable_values={"tag": tag, **variables})
    return [result async for result in stream]


ITEMS = "subscription Items($tag: String!) { items(tag: $tag) { name count } }"


async def test_subscribers_of_one_event_share_its_data_unless_their_selection_differs():
    event = Item(name="one", count=1)
    schema = schema_yielding(event)
    [first] = await results_of(schema, ITEMS)
    [second] = await results_of(schema, ITEMS)
    # `tag` only reaches the subscription field: it does not change what an event executes.
    [other_tag] = await results_of(schema, ITEMS, tag="b")
    [other_document] = await results_of(
        schema, "subscription ($tag: String!) { items(tag: $tag) { name } }"
    )
    assert first.data == {"items": {"name": "one", "count": 1}}
    assert second.data is first.data
    assert other_tag.data is first.data
    assert other_document.data == {"items": {"name": "one"}}

    with_count = """
        subscription ($tag: String!, $c: Boolean!) {
          items(tag: $tag) { name count @include(if: $c) }
        }
    """
    [counted] = await results_of(schema, with_count, c=True)
    [uncounted] = await results_of(schema, with_count, c=False)
    assert counted.data == first.data and counted.data is not first.data
    assert uncounted.data == {"items": {"name": "one"}}


def test_the_variables_an_event_reads_leave_out_those_only_passed_to_the_subscription():
    document = parse(
        """
        subscription S($session: ID!, $after: Int, $live: Boolean!, $full: Boolean!, $n: Int) {
          tool: toolMessageUpdated(sessionId: $session, afterRevision: $after)
            @include(if: $live) {
            ...Fields
          }
        }
        fragment Fields on ChatMessage {
          id
          content @skip(if: $full)
          nested(first: $n) { id }
        }
        """
    )
    operation, fragment = document.definitions
    assert isinstance(operation, OperationDefinitionNode)
    assert isinstance(fragment, FragmentDefinitionNode)
    assert read_by_events(operation, {"Fields": fragment}) == {"live", "full", "n"}


async def test_a_result_with_errors_is_never_shared():
    event = Item(name="broken", count="not a number")  # type: ignore[arg-type]
    schema = schema_yielding(event)
    [first] = await results_of(schema, ITEMS)
    [second] = await results_of(schema, ITEMS)
    assert first.errors and second.errors
    assert first.errors[0] is not second.errors[0]


def test_payloads_with_resolvers_or_permissions_are_not_shared() -> None:
    class Never(BasePermission):
        message = "no"

        def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
            return False

    @strawberry.type
    class Resolved:
        @strawberry.field
        def name(self, info: strawberry.Info) -> str:
            return str(info.context)

    @strawberry.type
    class Guarded:
        name: str = strawberry.field(permission_classes=[Never])

    assert depends_on_event_only(schema_yielding()._schema)
    assert not depends_on_event_only(schema_yielding(payload=Resolved)._schema)
    assert not depends_on_event_only(schema_yielding(payload=Guarded)._schema)


def test_what_is_remembered_for_an_event_is_forgotten_with_it():
    results = EventResults()
    event = Item(name="short-lived", count=0)
    remembered = results.of(event)
    assert remembered is not None and results.of(event) is remembered
    assert len(results) == 1
    del event
    gc.collect()
    assert len(results) == 0
    assert results.of("a str cannot be weakly referenced") is None


def test_every_subscription_of_the_service_shares_its_events() -> None:
    """toolMessageUpdated and sessionEvents deliver types whose fields only read their parent:
    a field with a resolver or a permission under them would make every subscriber execute
    every event again."""
    schema = build_schema(Settings.model_construct())
    assert depends_on_event_only(graphql_core_schema(schema))


@pytest.mark.parametrize("dumps", [standard_dumps, fast_dumps])
@pytest.mark.parametrize(
    "envelope",
    [
        {"id": "1", "type": "next"},
        {"type": "data", "id": 't\u00e9l "\u00e9"'},
        {"id": "x" * 1000, "type": "next"},  # too long to remember: encoded as it comes
        {},
    ],
    ids=["transport-ws", "legacy", "long id", "bare"],
)
def test_a_message_around_shared_data_is_encoded_as_the_data_alone_would_be(
    dumps: Any, envelope: dict[str, Any]
):
    data = {"toolMessageUpdated": {"id": "m1", "content": 'd\u00f6ne "quoted"', "n": [1, None]}}
    shared = SharedData(data, dumps)
    for _ in range(2):  # the second time, the head remembered
        encoded = encode_shared({**envelope, "payload": {"data": shared}}, dumps)
        assert encoded == dumps({**envelope, "payload": {"data": data}})
    with_errors = {**envelope, "payload": {"data": shared, "errors": [{"message": "x"}]}}
    assert encode_shared(with_errors, dumps) == dumps(
        {**envelope, "payload": {"data": data, "errors": [{"message": "x"}]}}
    )
