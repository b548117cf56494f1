"""GraphQL over HTTP, to the letter, on a real uvicorn.

The media types a client may ask for and the statuses each answers with; every request
refused before execution answered as a GraphQL error with a code, changing nothing and
logging nothing; the default limits on both sides of where they fall; and graphql-http's own
server audit (npm `graphql-http`, `serverAudits`), run by node against the server.
"""

import asyncio
import json
import logging
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query

from core.settings import MiB
from tests.clients import Api, create_session, new_user, token_for
from tests.servers import REQUIRED_IN_CI, RunningServer, database_url, running_server

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
WEB = Path(__file__).resolve().parent.parent / "web"
AUDIT = WEB / "tests" / "http" / "audit.mjs"
# A hang guard for the audit run (about 60 requests), never a speed check.
AUDIT_TIMEOUT = 60


def headers(api: Api, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.token}", "Content-Type": "application/json", **more}


async def post(api: Api, body: object, accept: str | None = None, **more: str) -> httpx.Response:
    extra = {"Accept": accept} if accept else {}
    return await api.http.post(
        "/graphql", content=json.dumps(body).encode(), headers=headers(api, **extra, **more)
    )


def refusal(response: httpx.Response, status: int, code: str) -> str:
    """The message of a response that must be one coded error, with no `data`."""
    assert response.status_code == status, (response.status_code, response.text[:300])
    body = response.json()
    assert "data" not in body, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == code, error
    assert len(error["message"]) > 10, error
    return str(error["message"])


# --- Media types --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        ("application/json", "application/json"),
        ("*/*", "application/json"),
        (None, "application/json"),
        (f"application/json;q=0.9, {GRAPHQL_RESPONSE_JSON}", GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=0.5, application/json", "application/json"),
        (f"text/html, {GRAPHQL_RESPONSE_JSON};q=0, */*;q=0.1", "application/json"),
    ],
)
async def test_the_response_has_the_media_type_the_client_prefers(
    api: Api, accept: str | None, media_type: str
):
    response = await post(api, {"query": "{ sessionCount }"}, accept)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == media_type
    assert response.json() == {"data": {"sessionCount": 0}}


# (document, variables, code) of requests that fail before execution: nothing ran.
REQUEST_ERRORS = {
    "parse": ("{ sessionCount", None, "GRAPHQL_PARSE_FAILED"),
    "validation": ("{ noSuchField }", None, "GRAPHQL_VALIDATION_FAILED"),
    "variable-coercion": (
        "query($n: Int!) { sessions(limit: $n) { id } }",
        {"n": None},
        "BAD_USER_INPUT",
    ),
}


@pytest.mark.parametrize("case", REQUEST_ERRORS)
async def test_a_request_error_is_400_without_data_as_graphql_response_json_and_200_as_json(
    api: Api, case: str
):
    query, variables, code = REQUEST_ERRORS[case]
    body = {"query": query, "variables": variables}
    for accept, status in [(GRAPHQL_RESPONSE_JSON, 400), ("application/json", 200)]:
        response = await post(api, body, accept)
        assert response.headers["content-type"] == accept
        refusal(response, status, code)


async def test_a_field_error_keeps_200_and_data_as_graphql_response_json(api: Api):
    response = await post(
        api, {"query": '{ sessionCount session(id: "not-a-uuid") { id } }'}, GRAPHQL_RESPONSE_JSON
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] == {"sessionCount": 0, "session": None}
    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]


async def test_an_unauthenticated_operation_is_a_field_error_with_data(http: httpx.AsyncClient):
    response = await http.post(
        "/graphql",
        json={"query": "{ sessionCount }"},
        headers={"Accept": GRAPHQL_RESPONSE_JSON},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["UNAUTHENTICATED"]


# --- Refusals before execution ------------------------------------------------------------

CREATE = 'mutation { createSession(input: {title: "refused"}) { id } }'
SUBSCRIPTION = (
    'subscription { toolMessageUpdated(sessionId: "00000000-0000-4000-8000-000000000000")'
    " { status } }"
)

# name: (method, body or query params, extra headers, status as JSON, code)
REFUSALS: dict[str, tuple[str, Any, dict[str, str], int, str]] = {
    "malformed-json": ("POST", b'{"query": "{ sessionCount }"', {}, 400, "BAD_REQUEST"),
    "empty-body": ("POST", b"", {}, 400, "BAD_REQUEST"),
    "body-not-an-object": ("POST", b'"{ sessionCount }"', {}, 400, "BAD_REQUEST"),
    "missing-query": ("POST", {"qeury": "{ sessionCount }"}, {}, 400, "BAD_REQUEST"),
    "query-not-a-string": ("POST", {"query": {"obj": "ect"}}, {}, 400, "BAD_REQUEST"),
    "variables-not-an-object": (
        "POST",
        {"query": CREATE, "variables": ["a"]},
        {},
        400,
        "BAD_REQUEST",
    ),
    "variables-a-string": ("POST", {"query": CREATE, "variables": "{}"}, {}, 400, "BAD_REQUEST"),
    "extensions-not-an-object": (
        "POST",
        {"query": CREATE, "extensions": 0},
        {},
        400,
        "BAD_REQUEST",
    ),
    "operation-name-not-a-string": (
        "POST",
        {"query": CREATE, "operationName": False},
        {},
        400,
        "BAD_REQUEST",
    ),
    "batch": ("POST", [{"query": CREATE}, {"query": CREATE}], {}, 400, "BAD_REQUEST"),
    "get-variables-not-json": (
        "GET",
        {"query": "query($n: Int!) { sessions(limit: $n) { id } }", "variables": "{n: 1"},
        {},
        400,
        "BAD_REQUEST",
    ),
    "mutation-over-get": ("GET", {"query": CREATE}, {}, 405, "METHOD_NOT_ALLOWED"),
    "other-method": ("PUT", {"query": CREATE}, {}, 405, "METHOD_NOT_ALLOWED"),
    "unknown-operation-name": (
        "POST",
        {"query": f"mutation Create {CREATE[len('mutation ') :]}", "operationName": "Other"},
        {},
        200,
        "OPERATION_RESOLUTION_FAILURE",
    ),
    "several-operations-without-a-name": (
        "POST",
        {"query": f"mutation A {CREATE[9:]} mutation B {CREATE[9:]}"},
        {},
        200,
        "OPERATION_RESOLUTION_FAILURE",
    ),
    "no-operation": (
        "POST",
        {"query": "fragment F on Query { sessionCount }"},
        {},
        200,
        "OPERATION_RESOLUTION_FAILURE",
    ),
    "subscription-over-post": (
        "POST",
        {"query": SUBSCRIPTION},
        {},
        200,
        "SUBSCRIPTION_NOT_SUPPORTED",
    ),
    "subscription-over-get": (
        "GET",
        {"query": SUBSCRIPTION},
        {},
        200,
        "SUBSCRIPTION_NOT_SUPPORTED",
    ),
    "wrong-content-type": (
        "POST",
        {"query": CREATE},
        {"Content-Type": "text/plain"},
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    ),
    "no-content-type": (
        "POST",
        {"query": CREATE},
        {"Content-Type": ""},
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    ),
    "form-body": (
        "POST",
        b"query=mutation+%7B+createSession+%7B+id+%7D+%7D",
        {"Content-Type": "application/x-www-form-urlencoded"},
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    ),
    "unsupported-accept": (
        "POST",
        {"query": CREATE},
        {"Accept": "text/plain"},
        406,
        "NOT_ACCEPTABLE",
    ),
    "accept-refusing-json": (
        "POST",
        {"query": CREATE},
        {"Accept": "application/json;q=0, text/csv"},
        406,
        "NOT_ACCEPTABLE",
    ),
}


async def send(api: Api, method: str, body: Any, extra: dict[str, str]) -> httpx.Response:
    request_headers = {k: v for k, v in headers(api, **extra).items() if v}
    if method == "GET":
        return await api.http.get("/graphql", params=body, headers=request_headers)
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await api.http.request(method, "/graphql", content=content, headers=request_headers)


@pytest.mark.parametrize("name", REFUSALS)
async def test_a_request_refused_before_execution_is_a_coded_graphql_error_that_changes_nothing(
    api: Api, name: str, caplog: pytest.LogCaptureFixture
):
    method, body, extra, status, code = REFUSALS[name]
    with caplog.at_level(logging.ERROR):
        response = await send(api, method, body, extra)
    refusal(response, status, code)
    assert response.headers["content-type"] == "application/json"
    if status == 405:
        assert response.headers["allow"] in ("POST", "GET, POST"), response.headers
    assert await api.data("{ sessionCount }") == {"sessionCount": 0}
    incidents = [record.getMessage() for record in caplog.records]
    assert incidents == [], incidents


@pytest.mark.parametrize(
    "name",
    [name for name, (*_, status, _code) in REFUSALS.items() if status != 406],
)
async def test_a_refusal_as_graphql_response_json_has_its_status(api: Api, name: str):
    """As application/graphql-response+json, the request errors answered 200 as JSON
    (an unknown operation, a subscription over plain HTTP) answer 400; the others keep
    their status."""
    method, body, extra, status, code = REFUSALS[name]
    response = await send(api, method, body, {"Accept": GRAPHQL_RESPONSE_JSON, **extra})
    refusal(response, 400 if status == 200 else status, code)
    assert response.headers["content-type"] == GRAPHQL_RESPONSE_JSON


async def test_graphiql_is_still_served_to_a_browser(http: httpx.AsyncClient):
    response = await http.get("/graphql", headers={"Accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


async def test_a_query_over_get_answers_in_the_media_type_asked_for(api: Api):
    response = await api.http.get(
        "/graphql",
        params={"query": "query($n: Int!) { sessions(limit: $n) { id } }", "variables": '{"n": 1}'},
        headers={"Authorization": f"Bearer {api.token}", "Accept": GRAPHQL_RESPONSE_JSON},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == GRAPHQL_RESPONSE_JSON
    assert response.json() == {"data": {"sessions": []}}


# --- The default limits, on both sides of where each falls ------------------------------


def aliases(count: int) -> str:
    return "{ " + " ".join(f"a{index}: sessionCount" for index in range(count)) + " }"


def tokens(count: int) -> str:
    """A document of `count` lexical tokens: `{`, spreads of one fragment (2 tokens each),
    `}`, and the fragment (7 tokens, or 8 to make `count` even). Repeating one field
    instead would cost graphql-core's overlapping-fields check a comparison per pair."""
    fields = "__typename" if count % 2 else "__typename __typename"
    spreads = (count - (9 if count % 2 else 10)) // 2
    return "{ " + "...F " * spreads + "} fragment F on Query { " + fields + " }"


def depth(fields: int) -> str:
    """__schema > types > fields > type > ofType … > name: `fields` fields deep."""
    of_types = fields - 5
    return (
        "{ __schema { types { fields { type "
        + "{ ofType " * of_types
        + "{ name }"
        + " }" * of_types
        + " } } } }"
    )


# limit: (document builder, refused at, the word its message has)
DOCUMENT_LIMITS = {
    "aliases": (aliases, 2_000, "alias"),
    "tokens": (tokens, 100_000, "token"),
    "depth": (depth, 60, "depth"),
}


@pytest.mark.parametrize("limit", DOCUMENT_LIMITS)
async def test_the_default_document_limits_refuse_the_contract_value_and_pass_one_under(
    api: Api, limit: str
):
    build, refused_at, word = DOCUMENT_LIMITS[limit]
    accepted = await post(api, {"query": build(refused_at - 1)})
    assert accepted.status_code == 200, accepted.text[:300]
    assert "errors" not in accepted.json(), accepted.text[:300]

    refused = await post(api, {"query": build(refused_at)}, GRAPHQL_RESPONSE_JSON)
    code = "GRAPHQL_PARSE_FAILED" if limit == "tokens" else "GRAPHQL_VALIDATION_FAILED"
    assert word in refusal(refused, 400, code).lower()


APPEND = """
mutation($sessionId: ID!, $content: String!) {
  appendMessage(sessionId: $sessionId, message: {role: USER, content: $content}) { sequence }
}
"""


async def test_the_default_content_limit_stores_one_byte_under_24_mib_and_refuses_24_mib(
    api: Api,
):
    session = await create_session(api)
    variables = {"sessionId": session["id"], "content": "€" + "x" * (24 * MiB - 4)}
    assert len(variables["content"].encode()) == 24 * MiB - 1
    stored = await api.data(APPEND, variables)
    assert stored == {"appendMessage": {"sequence": 0}}

    variables["content"] += "x"
    response = await post(api, {"query": APPEND, "variables": variables})
    refused = refusal_with_data(response, "BAD_USER_INPUT")
    assert "limit" in refused and str(24 * MiB - 1) in refused, refused
    count = await api.data(
        "query($id: ID!) { session(id: $id) { messageCount } }", {"id": session["id"]}
    )
    assert count == {"session": {"messageCount": 1}}


def refusal_with_data(response: httpx.Response, code: str) -> str:
    """The message of a field error (the mutation ran and refused): 200, `data` null."""
    assert response.status_code == 200, response.text[:300]
    body = response.json()
    assert body["data"] is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == code, error
    return str(error["message"])


@pytest.fixture(scope="module")
async def small_body(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningServer]:
    """A server (SQLite) whose bodies may hold at most 1,000 bytes."""
    async with database_url("sqlite", tmp_path_factory.mktemp("small-body")) as url:
        async with running_server(database_url=url, max_body_bytes=1000) as running:
            yield running


@pytest.mark.parametrize("streamed", [False, True], ids=["content_length", "chunked"])
async def test_the_body_limit_serves_max_body_bytes_and_refuses_one_more_with_a_code(
    small_body: RunningServer, streamed: bool
):
    token = token_for(new_user())
    head, tail = b'{"query": "{ sessionCount }"', b"}"

    async def sent(size: int) -> httpx.Response:
        body = head + b" " * (size - len(head) - len(tail)) + tail

        async def chunks() -> AsyncIterator[bytes]:
            yield body[:500]
            yield body[500:]

        async with httpx.AsyncClient(base_url=small_body.http_url) as http:
            return await http.post(
                "/graphql",
                content=chunks() if streamed else body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )

    served = await sent(1000)
    assert served.status_code == 200, served.text
    assert served.json() == {"data": {"sessionCount": 0}}
    refused = await sent(1001)
    assert refused.headers["content-type"] == "application/json"
    assert "1001 bytes or more" in refusal(refused, 413, "PAYLOAD_TOO_LARGE")


async def test_graphiql_introspection_passes_the_default_limits_as_graphql_response_json(
    api: Api,
):
    response = await post(
        api, {"query": get_introspection_query(descriptions=True)}, GRAPHQL_RESPONSE_JSON
    )
    assert response.status_code == 200, response.text[:300]
    assert "errors" not in response.json()


# --- graphql-http's audit -----------------------------------------------------------------


def audit_tools_or_skip() -> str:
    """node, and graphql-http in web/node_modules; a visible skip without them (a failure
    under CI=true)."""
    node = shutil.which("node")
    missing = [
        what
        for what, present in [
            ("node (Node.js 20+)", node),
            (
                "web/node_modules/graphql-http (cd web && npm ci)",
                (WEB / "node_modules" / "graphql-http").is_dir(),
            ),
        ]
        if not present
    ]
    if missing or node is None:
        reason = f"the graphql-http audit needs {', '.join(missing)}"
        if REQUIRED_IN_CI:
            pytest.fail(f"CI=true requires the graphql-http audit: {reason}")
        pytest.skip(reason)
    return node


async def test_every_graphql_http_server_audit_passes(server: RunningServer, user: str):
    node = audit_tools_or_skip()
    process = await asyncio.create_subprocess_exec(
        node,
        str(AUDIT),
        f"{server.http_url}/graphql",
        token_for(user),
        cwd=WEB,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), AUDIT_TIMEOUT)
    assert stdout, stderr.decode()
    report = json.loads(stdout)
    print(f"graphql-http audit: {report['counts']}")
    failed = [result for result in report["results"] if result["status"] != "ok"]
    assert failed == [], json.dumps(failed, indent=2)
    assert report["counts"] == {"ok": len(report["results"]), "warn": 0, "error": 0}
    assert len(report["results"]) >= 61, report["counts"]
    assert process.returncode == 0, stderr.decode()
