"""Root field plans (ROOT_FIELD_PLANS, speed/root_fields.py): a remembered query of one
root field is executed from that field, with the same answers, byte for byte and errors
included, as without the layer; its permission and resolver run once per request."""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import strawberry
from graphql import OperationDefinitionNode, OperationType, parse
from graphql.execution import Executor
from strawberry.permission import BasePermission

import resolvers.sessions
from compat.strawberry import graphql_core_schema, raw_info
from core.errors import NotFound
from core.settings import Settings
from db.sessions import SESSION_NOT_FOUND
from schema.build import build_schema
from schema.context import Info
from schema.root import Query
from schema.types import ChatSession
from speed import speed_layers
from speed.documents import CACHED_DOCUMENTS
from speed.fast_queries import FastQueries, ValidatedQueries, _left_to_full_path
from speed.root_fields import RootFieldPlan, _Execution, root_field_plan
from tests.clients import (
    Api,
    append_many,
    counted_statements,
    create_session,
    operation,
    token_for,
)
from tests.servers import SPEED_LAYERS_ON, RunningServer, running_server

SESSION = operation("GetSession")
ALIASED = "query($id: ID!) { s: session(id: $id) { id title } }"
FRAGMENT = "query($id: ID!) { session(id: $id) { ...F } } fragment F on ChatSession { id revision }"
INSIDE = "query($id: ID!, $t: Boolean!) { session(id: $id) { id title @include(if: $t) } }"


@pytest.fixture
async def servers(server: RunningServer) -> AsyncIterator[dict[bool, str]]:
    """Two servers on the same database, every speed layer on, with root field plans and
    without: their URLs, by whether they plan."""
    url = server.settings.database_url
    async with (
        running_server(database_url=url, **SPEED_LAYERS_ON) as planned,
        running_server(database_url=url, **{**SPEED_LAYERS_ON, "root_field_plans": False}) as not_,
    ):
        yield {True: planned.http_url, False: not_.http_url}


async def answer(url: str, token: str | None, query: str, variables: Any) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        response = await http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
    return response.status_code, response.content


# Queries whose answers must not change, as (query, variables, caller): None for the owner,
# "" for no token. "{session}" stands for the owner's session id.
QUERIES: dict[str, tuple[str, dict[str, Any], str | None]] = {
    "a session read": (SESSION, {"id": "{session}"}, None),
    "a chat page": (operation("ChatPage"), {"id": "{session}"}, None),
    "an aliased read": (ALIASED, {"id": "{session}"}, None),
    "a read with a fragment": (FRAGMENT, {"id": "{session}"}, None),
    "a read with a directive inside": (INSIDE, {"id": "{session}", "t": False}, None),
    "another user's session": (SESSION, {"id": "{session}"}, "stranger"),
    "a service's read": (SESSION, {"id": "{session}"}, "service"),
    "no token": (SESSION, {"id": "{session}"}, ""),
    "a missing session": (SESSION, {"id": "00000000-0000-0000-0000-000000000001"}, None),
    "an id that is no UUID": (SESSION, {"id": "nope"}, None),
    "a missing variable": (SESSION, {}, None),
    "a variable of the wrong type": (SESSION, {"id": {"no": "id"}}, None),
    "an error below the root field": (
        operation("SessionMessages"),
        {"id": "{session}", "first": 1, "last": 1},
        None,
    ),
    "a list": ("{ sessions { id } }", {}, None),
    "a non-null count": ("{ sessionCount }", {}, None),
    "a non-null count without a token": ("{ sessionCount }", {}, ""),
}


PLANNED = {
    SESSION: "session",
    operation("ChatPage"): "session",
    ALIASED: "s",
    INSIDE: "session",
    operation("SessionMessages"): "session",
}
NOT_PLANNED = [
    FRAGMENT,
    "{ sessions { id } }",
    "{ sessionCount }",
    '{ a: session(id: "x") { id } b: session(id: "y") { id } }',
    '{ session(id: "x") @include(if: true) { id } }',
    "{ ...Q } fragment Q on Query { sessionCount }",
    "{ ... on Query { sessionCount } }",
    "{ __typename }",
    "{ __schema { queryType { name } } }",
    "mutation { createSession { id } }",
]


def token(api: Api, caller: str | None) -> str | None:
    if caller is None:
        return api.token
    if caller == "service":
        return token_for("worker", role="service")
    return token_for(caller) if caller else None


@pytest.fixture
def planned(monkeypatch: pytest.MonkeyPatch) -> list[RootFieldPlan]:
    """The plans executed by the servers of this process."""
    plans: list[RootFieldPlan] = []
    execute = RootFieldPlan.execute

    def watched(self: RootFieldPlan, *args: Any, **kwargs: Any) -> Any:
        plans.append(self)
        return execute(self, *args, **kwargs)

    monkeypatch.setattr(RootFieldPlan, "execute", watched)
    return plans


async def test_answers_are_the_same_bytes_with_root_field_plans_or_without(
    api: Api, servers: dict[bool, str], planned: list[RootFieldPlan]
):
    session_id = (await create_session(api))["id"]
    await append_many(api, session_id, [{"role": "USER", "content": "question"}])
    for case, (query, variables, caller) in QUERIES.items():
        filled = json.loads(json.dumps(variables).replace("{session}", session_id))
        answers = {
            # The first request validates the text on the full path; the next two take the
            # fast path, the second of them answered from the response cache where it can.
            plans: [await answer(url, token(api, caller), query, filled) for _ in range(3)]
            for plans, url in servers.items()
        }
        assert answers[True] == answers[False], case
        assert answers[True][0] == answers[True][2], case
    # The planning server ran each request of a planned text from its plan, but the first
    # of each text, which validated it on the full path.
    cases = [query for query, _, _ in QUERIES.values() if query in PLANNED]
    assert len(planned) == 3 * len(cases) - len(set(cases))


class CountedPermission(BasePermission):
    """Counts its runs; refuses a service as if the session did not exist."""

    runs = 0

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        CountedPermission.runs += 1
        if info.context.caller.is_service:
            raise NotFound(SESSION_NOT_FOUND)
        return True


resolved: list[str] = []


async def counted_session(info: Info, id: strawberry.ID) -> ChatSession | None:
    resolved.append(id)
    return await resolvers.sessions.session(info, id)


@strawberry.type
class CountedQuery(Query):
    session: ChatSession | None = strawberry.field(
        resolver=counted_session,
        permission_classes=[CountedPermission],
        description="The caller's session, its permission and resolver counted.",
    )


@pytest.fixture
async def counted(server: RunningServer) -> AsyncIterator[RunningServer]:
    url = server.settings.database_url
    async with running_server(database_url=url, query=CountedQuery, **SPEED_LAYERS_ON) as running:
        yield running


@pytest.mark.speed_layer
async def test_a_planned_read_runs_its_permission_and_resolver_once(
    api: Api, counted: RunningServer, planned: list[RootFieldPlan]
):
    session_id = (await create_session(api))["id"]
    await append_many(api, session_id, [{"role": "USER", "content": "question"}])
    first = await answer(counted.http_url, api.token, SESSION, {"id": session_id})
    for _ in range(3):
        CountedPermission.runs, resolved[:] = 0, []
        with counted_statements(counted) as statements:
            again = await answer(counted.http_url, api.token, SESSION, {"id": session_id})
        assert again == first
        assert (CountedPermission.runs, resolved) == (1, [session_id])
        assert sum("FROM chat_session" in statement for statement in statements) == 1
    assert len(planned) == 3
    # The permission refuses a service on the plan's path as on the full path, which gives
    # the error its code; the resolver does not run.
    for _ in range(2):
        CountedPermission.runs, resolved[:] = 0, []
        status, body = await answer(
            counted.http_url, token_for("worker", role="service"), SESSION, {"id": session_id}
        )
        refused = json.loads(body)
        assert (status, refused["data"]) == (200, {"session": None})
        assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        assert (CountedPermission.runs, resolved) == (1, [])
    assert len(planned) == 3 + 2


@pytest.mark.speed_layer
def test_only_a_query_of_one_plain_root_field_is_planned():
    schema = graphql_core_schema(build_schema(Settings(**SPEED_LAYERS_ON)))
    for query, key in PLANNED.items():
        plan = root_field_plan(schema, parse(query), None)
        assert plan is not None and plan.key == key, query
    for query in NOT_PLANNED:
        assert root_field_plan(schema, parse(query), None) is None, query


# --- In process: the plan's results are graphql-core's, field errors included ---------

things: list[str] = []


@strawberry.type
class Thing:
    """Revisioned, as ChatSession is: the response cache keeps its completions."""

    name: str
    revision: int

    @property
    def key(self) -> str:
        return self.name


async def thing_of(info: strawberry.Info, kind: str) -> Thing | None:
    things.append(kind)
    if kind == "missing":
        return None
    if kind == "not found":
        raise NotFound("no such thing")
    if kind == "broken":
        raise ValueError("broken")
    if kind == "helpers":  # a resolver that awaits through graphql-core's helpers
        [name] = await raw_info(info).async_helpers.gather([_named(kind)])
        return Thing(name=name, revision=1)
    return Thing(name=kind, revision=1)


async def _named(kind: str) -> str:
    return kind


@strawberry.type
class ThingQuery:
    thing: Thing | None = strawberry.field(resolver=thing_of)
    required: Thing = strawberry.field(resolver=thing_of)


class Caller:
    identity = "someone"


THING_QUERIES: dict[str, list[Any]] = {
    "query($kind: String!) { thing(kind: $kind) { name revision } }": [
        "plain",
        "plain",
        "missing",
        "not found",
        "broken",
        "helpers",
        "helpers",
    ],
    "query($kind: String!) { required(kind: $kind) { name } }": [
        "plain",
        "plain",
        "missing",
        "not found",
    ],
    "query($kind: String!) { t: thing(kind: $kind) { name } }": [None, 7],
}


async def fast_answers(plans: bool) -> list[Any]:
    """What FastQueries answers, or hands to the full path, for each of THING_QUERIES."""
    layers = speed_layers(Settings(**SPEED_LAYERS_ON))
    schema = strawberry.Schema(ThingQuery, execution_context_class=layers.execution_context_class)
    validated = ValidatedQueries(frozenset({OperationType.QUERY}))
    fast = FastQueries(schema, validated, plans_root_fields=plans)
    answers: list[Any] = []
    for query, kinds in THING_QUERIES.items():
        document = parse(query)
        (operation,) = document.definitions
        assert isinstance(operation, OperationDefinitionNode)
        validated.remember(query, operation, document)
        for kind in kinds:
            things.clear()
            body = {"query": query, "variables": {"kind": kind}}
            answered = await fast.answer(body, Caller())  # type: ignore[arg-type]
            left = _left_to_full_path.get()
            _left_to_full_path.set(None)
            result = answered if left is None else left[2].formatted
            answers.append((query, kind, json.dumps(result, default=repr), list(things)))
    return answers


@pytest.mark.speed_layer
async def test_a_plan_answers_what_graphql_core_executes_and_resolves_once(
    planned: list[RootFieldPlan], monkeypatch: pytest.MonkeyPatch
):
    built: list[Executor] = []
    build = _Execution.built

    def watched(self: _Execution) -> Executor:
        if self.executor is None:
            built.append(build(self))
        return build(self)

    monkeypatch.setattr(_Execution, "built", watched)
    answers = await fast_answers(True)
    requests = sum(len(kinds) for kinds in THING_QUERIES.values())
    assert len(planned) == requests
    # The repeated plain read of each field is the response cache's, with no executor
    # (a resolver that used the executor's helpers has one, and completes through it),
    # and the variables that do not coerce need none.
    assert len(built) == requests - 2 - 2
    assert answers == await fast_answers(False)
    for query, kind, _, resolved_kinds in answers:
        # Each request resolves its field once; variables that do not coerce, never.
        assert resolved_kinds == ([] if kind in (None, 7) else [kind]), (query, kind)
    results = {(query, kind): json.loads(result) for query, kind, result, _ in answers}
    required = "query($kind: String!) { required(kind: $kind) { name } }"
    assert results[required, "not found"]["data"] is None
    assert results[required, "not found"]["errors"][0]["path"] == ["required"]


@pytest.mark.speed_layer
async def test_the_plans_hold_no_document_the_remembered_queries_let_go():
    layers = speed_layers(Settings(**SPEED_LAYERS_ON))
    schema = strawberry.Schema(ThingQuery, execution_context_class=layers.execution_context_class)
    validated = ValidatedQueries(frozenset({OperationType.QUERY}))
    fast = FastQueries(schema, validated, plans_root_fields=True)
    for n in range(CACHED_DOCUMENTS + 100):
        query = f"query Q{n}($kind: String!) {{ thing(kind: $kind) {{ name }} }}"
        document = parse(query)
        (operation,) = document.definitions
        assert isinstance(operation, OperationDefinitionNode)
        validated.remember(query, operation, document)
        body = {"query": query, "operationName": f"Q{n}", "variables": {"kind": "plain"}}
        assert await fast.answer(body, Caller()) == {  # type: ignore[arg-type]
            "data": {"thing": {"name": "plain"}}
        }
    assert len(fast._plans) <= CACHED_DOCUMENTS
    assert all(validated.get(key) is document for key, (document, _) in fast._plans.items())
