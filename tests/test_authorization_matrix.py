"""Who may call what, for every root field of the schema: the authorization matrix.

`ROWS` has a row per root field of Query, Mutation and Subscription, and the first test
reads the fields from the built schema itself: a field without its row fails it, so no
operation can be added without saying who may call it. Each row is run by every kind of
caller of `CALLERS` against a real server (one SQLite database is enough: authorization is
decided before any statement differs), and must answer as the contract says: the owner
and a service are served, another user sees the session as missing (null, NOT_FOUND,
CONFLICT for a taken id, its own empty lists), and every token that is not valid is
UNAUTHENTICATED. A caller who is refused changes nothing and sees nothing of the owner's:
the owner's session reads the same afterwards, and the answer never holds its title.

The server checks an issuer and an audience (JWT_ISSUER, JWT_AUDIENCE), and every valid
token carries both; the `wrong issuer` and `wrong audience` columns are tokens signed with
the right key but another `iss` or `aud` claim.
"""

import base64
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from graphql import build_client_schema
from websockets.exceptions import ConnectionClosed

from core.identity import issue_token
from core.settings import Settings
from schema.build import build_schema
from tests.clients import TRANSPORT_WS, WAIT, Api, operation, websocket
from tests.servers import JWT_SECRET, RunningServer, database_url, running_server

SECRET_TITLE = "the owner's secret title"

# --- The callers -----------------------------------------------------------------------------

CALLERS = (
    "owner",
    "another user",
    "service",
    "no token",
    "expired",
    "bad signature",
    "alg none",
    "wrong issuer",
    "wrong audience",
    "malformed header",
)
REFUSED_TOKENS = (
    "no token",
    "expired",
    "bad signature",
    "alg none",
    "wrong issuer",
    "wrong audience",
    "malformed header",
)
ISSUER = "https://identity.chatstore.test"
AUDIENCE = "chatstore"


def token_for(user_id: str, *, role: str | None = None, ttl: timedelta = timedelta(hours=1)) -> str:
    """A token the matrix's server accepts: signed with its key, for its issuer and audience."""
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": user_id,
        "iat": now,
        "exp": now + ttl,
        "iss": ISSUER,
        "aud": AUDIENCE,
    }
    if role is not None:
        claims["role"] = role
    return jwt.encode(claims, JWT_SECRET)


def unsigned_token(claims: dict[str, Any]) -> str:
    """A JWT with `alg: none` and no signature, as an attacker would forge one."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def authorization(caller: str, owner: str) -> str | None:
    """The Authorization value `caller` sends (None: no header)."""
    signed = {"sub": owner, "iat": datetime.now(UTC), "iss": ISSUER, "aud": AUDIENCE}
    tokens = {
        "owner": token_for(owner),
        "another user": token_for(f"user-{uuid.uuid4().hex[:12]}"),
        "service": token_for(f"worker-{uuid.uuid4().hex[:12]}", role="service"),
        "expired": token_for(owner, ttl=timedelta(seconds=-30)),
        "bad signature": issue_token("another-secret-that-is-long-enough-0123456789", owner),
        "alg none": unsigned_token({"sub": owner, "role": "service"}),
        "wrong issuer": jwt.encode({**signed, "iss": "https://elsewhere.example"}, JWT_SECRET),
        "wrong audience": jwt.encode({**signed, "aud": "another-api"}, JWT_SECRET),
    }
    if caller == "no token":
        return None
    if caller == "malformed header":
        return f"Basic {token_for(owner)}"
    return f"Bearer {tokens[caller]}"


# --- What each caller gets -------------------------------------------------------------------

SERVED = "served"  # the owner's answer, no error
NULL = "null"  # null, no error: the session is missing to the caller
OWN_ONLY = "own only"  # the caller's own, of which there are none: empty, 0, false
NOT_FOUND = "NOT_FOUND"
CONFLICT = "CONFLICT"
UNAUTHENTICATED = "UNAUTHENTICATED"


@dataclass(frozen=True)
class Row:
    """A root field called on the owner's session (`$sid`; `$call` its pending tool call,
    `$message` its STREAMING reply) and what each caller gets. Callers with a token that
    is not valid always get UNAUTHENTICATED."""

    document: str
    owner: str = SERVED
    another_user: str = NOT_FOUND
    service: str = SERVED

    def outcome(self, caller: str) -> str:
        if caller in REFUSED_TOKENS:
            return UNAUTHENTICATED
        return {"owner": self.owner, "another user": self.another_user, "service": self.service}[
            caller
        ]


ROWS: dict[str, dict[str, Row]] = {
    "Query": {
        "session": Row("query($sid: ID!) { session(id: $sid) { id title } }", another_user=NULL),
        "sessions": Row("{ sessions { id title } }", another_user=OWN_ONLY, service=OWN_ONLY),
        "sessionCount": Row("{ sessionCount }", another_user=OWN_ONLY, service=OWN_ONLY),
    },
    "Mutation": {
        # Another caller's id is the one place where an id's existence shows (CONFLICT).
        "createSession": Row(
            "mutation($sid: ID!) { createSession(input: {id: $sid}) { id title } }",
            another_user=CONFLICT,
            service=CONFLICT,
        ),
        "updateSession": Row(
            'mutation($sid: ID!) { updateSession(id: $sid, input: {title: "x"}) { id } }'
        ),
        "addTokenUsage": Row(
            "mutation($sid: ID!) { addTokenUsage(sessionId: $sid, promptTokens: 1,"
            " completionTokens: 1) { id } }"
        ),
        "appendMessage": Row(
            "mutation($sid: ID!) { appendMessage(sessionId: $sid,"
            ' message: {role: USER, content: "x"}) { id } }'
        ),
        "appendMessages": Row(
            "mutation($sid: ID!) { appendMessages(sessionId: $sid,"
            ' messages: [{role: USER, content: "x"}]) { id } }'
        ),
        "updateToolResult": Row(
            "mutation($sid: ID!, $call: String!) { updateToolResult(sessionId: $sid,"
            ' toolCallId: $call, content: "done") { id } }'
        ),
        "appendMessageContent": Row(
            "mutation($sid: ID!, $message: ID!) { appendMessageContent(sessionId: $sid,"
            ' messageId: $message, text: "x") { id } }'
        ),
        "failMessage": Row(
            "mutation($sid: ID!, $message: ID!) { failMessage(sessionId: $sid,"
            ' messageId: $message, reason: "x") { id } }'
        ),
        # Nothing of the caller's to delete: false, as for a missing session.
        "deleteSession": Row(
            "mutation($sid: ID!) { deleteSession(id: $sid) }", another_user=OWN_ONLY
        ),
    },
    "Subscription": {
        "toolMessageUpdated": Row(
            "subscription($sid: ID!) { toolMessageUpdated(sessionId: $sid, afterRevision: 0)"
            " { id sessionId } }"
        ),
        "sessionEvents": Row(
            "subscription($sid: ID!) { sessionEvents(sessionId: $sid, afterRevision: 0)"
            " { kind session { id title } } }"
        ),
    },
}


def test_every_root_field_of_the_schema_has_a_row():
    """Read from the built schema: a new operation fails here until it has its row."""
    schema = build_client_schema(build_schema(Settings(jwt_secret=JWT_SECRET)).introspect())
    fields = {
        root.name: set(root.fields)
        for root in (schema.query_type, schema.mutation_type, schema.subscription_type)
        if root is not None
    }
    assert fields == {root: set(rows) for root, rows in ROWS.items()}


CASES = [
    pytest.param(root, field, caller, id=f"{field}-{caller.replace(' ', '-')}")
    for root, rows in ROWS.items()
    for field in rows
    for caller in CALLERS
]


# --- The server and the owner's session ------------------------------------------------------


@pytest.fixture(scope="module")
async def matrix_server(workdir: Path) -> AsyncIterator[RunningServer]:
    """A server of its own that checks an issuer and an audience, with no request rate limit
    (every caller here comes from one address, a few hundred requests a second)."""
    async with database_url("sqlite", workdir) as url:
        async with running_server(
            database_url=url, rate_limit_per_second=0, jwt_issuer=ISSUER, jwt_audience=AUDIENCE
        ) as server:
            yield server


@pytest.fixture(scope="module")
async def http(matrix_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=matrix_server.http_url, timeout=WAIT) as client:
        yield client


@dataclass
class Scene:
    """The owner's session with a pending tool call and a STREAMING reply."""

    owner: str
    variables: dict[str, Any]

    async def state(self, http: httpx.AsyncClient) -> dict[str, Any]:
        """What the owner reads of the session: it must not move for a refused caller."""
        owner = Api(http, token_for(self.owner))
        session = await owner.data(operation("GetSession"), {"id": self.variables["sid"]})
        return dict(session["session"])


async def new_scene(http: httpx.AsyncClient) -> Scene:
    owner_id = f"owner-{uuid.uuid4().hex[:12]}"
    owner = Api(http, token_for(owner_id))
    create = "mutation($t: String) { createSession(input: {title: $t}) { id } }"
    sid = (await owner.data(create, {"t": SECRET_TITLE}))["createSession"]["id"]
    messages = [
        {"role": "TOOL", "toolCallId": "call-1", "status": "PENDING"},
        {"role": "ASSISTANT", "content": "", "status": "STREAMING"},
    ]
    appended = await owner.data(
        "mutation($sid: ID!, $m: [MessageInput!]!) {"
        " appendMessages(sessionId: $sid, messages: $m) { id } }",
        {"sid": sid, "m": messages},
    )
    reply = appended["appendMessages"][1]["id"]
    return Scene(owner_id, {"sid": sid, "call": "call-1", "message": reply})


@pytest.fixture(scope="module")
def refused_scenes() -> dict[str, Scene]:
    """A scene per field for the callers it refuses: none of them may change it, so they
    share it (and each checks that it reads the same afterwards)."""
    return {}


async def scene_for(
    http: httpx.AsyncClient, refused_scenes: dict[str, Scene], field: str, outcome: str
) -> Scene:
    """A fresh scene for a caller who is served (and may change or delete it), else the
    field's shared one."""
    if outcome == SERVED:
        return await new_scene(http)
    if field not in refused_scenes:
        refused_scenes[field] = await new_scene(http)
    return refused_scenes[field]


def used_variables(document: str, variables: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in variables.items() if f"${name}" in document}


# --- Queries and mutations over HTTP ---------------------------------------------------------


def assert_answer(outcome: str, field: str, body: dict[str, Any]) -> None:
    """`body` (a response to `field`) is what `outcome` promises."""
    if outcome in (NOT_FOUND, CONFLICT, UNAUTHENTICATED):
        # A nullable field is null, a non-null one nulls the whole `data`.
        assert body.get("data") in (None, {field: None}), body
        assert [error["extensions"]["code"] for error in body["errors"]] == [outcome], body
        return
    assert "errors" not in body, body
    value = body["data"][field]
    if outcome == NULL:
        assert value is None, body
    elif outcome == OWN_ONLY:
        assert value in ([], 0, False), body
    else:
        assert value not in (None, [], 0, False), body


@pytest.mark.parametrize(
    ("root", "field", "caller"), [c for c in CASES if c.values[0] != "Subscription"]
)
async def test_a_query_or_mutation_answers_each_caller_as_the_contract_says(
    http: httpx.AsyncClient, refused_scenes: dict[str, Scene], root: str, field: str, caller: str
):
    row = ROWS[root][field]
    outcome = row.outcome(caller)
    scene = await scene_for(http, refused_scenes, field, outcome)
    before = await scene.state(http)
    header = authorization(caller, scene.owner)
    response = await http.post(
        "/graphql",
        json={"query": row.document, "variables": used_variables(row.document, scene.variables)},
        headers={"Authorization": header} if header else {},
    )
    assert response.status_code == 200, response.text
    assert_answer(outcome, field, response.json())
    if outcome != SERVED:
        assert SECRET_TITLE not in response.text
        assert await scene.state(http) == before, "a refused caller changed the owner's session"
    if field == "session" and outcome == SERVED:
        assert response.json()["data"]["session"]["id"] == scene.variables["sid"]
    if field == "sessions" and outcome == SERVED:
        listed = [session["id"] for session in response.json()["data"]["sessions"]]
        assert listed == [scene.variables["sid"]]


# --- Subscriptions over WebSocket ------------------------------------------------------------


@pytest.mark.parametrize(
    ("root", "field", "caller"), [c for c in CASES if c.values[0] == "Subscription"]
)
async def test_a_subscription_answers_each_caller_as_the_contract_says(
    matrix_server: RunningServer,
    http: httpx.AsyncClient,
    refused_scenes: dict[str, Scene],
    root: str,
    field: str,
    caller: str,
):
    row = ROWS[root][field]
    outcome = row.outcome(caller)
    scene = await scene_for(http, refused_scenes, field, outcome)
    header = authorization(caller, scene.owner)
    async with websocket(matrix_server.ws_url, TRANSPORT_WS) as sub:
        payload = {"Authorization": header} if header else {}
        await sub.ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        if outcome == UNAUTHENTICATED:
            with pytest.raises(ConnectionClosed):
                await sub.receive()
            assert sub.ws.close_code == 4403
            return
        assert (await sub.receive())["type"] == "connection_ack"
        variables = used_variables(row.document, scene.variables)
        await sub.subscribe(row.document, variables)
        message = await sub.receive()
        if outcome == NOT_FOUND:
            assert SECRET_TITLE not in json.dumps(message)
            errors = (
                message["payload"] if message["type"] == "error" else message["payload"]["errors"]
            )
            assert [error["extensions"]["code"] for error in errors] == [NOT_FOUND], message
            return
        assert outcome == SERVED
        assert message["type"] == "next" and "errors" not in message["payload"], message
        assert message["payload"]["data"][field] is not None
