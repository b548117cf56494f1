"""Errors, limits and the HTTP surface, through real HTTP on both databases.

Covers CONTRACT.md "Errors" (codes and actionable messages, UNAUTHENTICATED for every kind of
bad credential, malformed ids, variables that fail coercion, documents that do not parse or
validate, query limits, body size, malformed bodies, masking of unexpected failures, failed
mutations changing nothing), the HTTP parts of "Running" (GET queries, no mutations over GET,
GraphiQL, /healthz, /readyz, settings, dev mode) and of "Who is calling" (the bearer token).
"""

import asyncio
import gc
import logging
import sqlite3
import uuid
import warnings
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
from graphql import get_introspection_query
from jwt.warnings import InsecureKeyLengthWarning
from pydantic import ValidationError

from app import create_app
from core.identity import issue_token
from core.settings import Settings
from tests.clients import Api, create_session, new_user, operation, token_for
from tests.servers import JWT_SECRET, POSTGRES_ADMIN_URL, database_url, running_server
from transports import browser, sse

MiB = 1024 * 1024
BODY_LIMIT = 40 * MiB
OTHER_SECRET = "another-secret-that-is-long-enough-for-hs256-9876543210"

# What a masked response must never show.
INTERNALS = ("Traceback", 'File "', "SELECT", "chat_message", "asyncpg", "aiosqlite", "sqlalchemy")

CREATE_SESSION = 'mutation { createSession(input: {title: "t"}) { id } }'
SESSION_STATE = "query ($id: ID!) { session(id: $id) { id title revision messageCount } }"


# Helpers ------------------------------------------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def api_headers(api: Api) -> dict[str, str]:
    assert api.token is not None
    return bearer(api.token)


def assert_actionable(message: object, *mentions: str) -> None:
    """A sentence a person can act on, naming what it is about, with no internals."""
    assert isinstance(message, str), message
    assert len(message.split()) >= 3, message
    for internal in INTERNALS:
        assert internal not in message, message
    for mention in mentions:
        assert mention.lower() in message.lower(), (mention, message)


def coded_errors(response: httpx.Response) -> list[dict[str, Any]]:
    """The errors of a GraphQL response, each checked for a code and a readable message."""
    assert response.status_code < 500, (response.status_code, response.text[:500])
    body = response.json()
    errors = body.get("errors")
    assert errors, str(body)[:500]
    for error in errors:
        assert isinstance(error.get("extensions", {}).get("code"), str), error
        assert_actionable(error["message"])
    return errors


def only_error(response: httpx.Response, code: str, *mentions: str) -> dict[str, Any]:
    errors = coded_errors(response)
    assert len(errors) == 1, errors
    [error] = errors
    assert error["extensions"]["code"] == code, error
    assert_actionable(error["message"], *mentions)
    return error


async def post(
    http: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {}
    )


async def kept_session_id(api: Api) -> str:
    """The id of a new session titled "kept" (what assert_untouched expects)."""
    return (await create_session(api, title="kept"))["id"]


async def session_state(api: Api, session_id: str) -> dict[str, Any]:
    data = await api.data(SESSION_STATE, {"id": session_id})
    assert data["session"] is not None
    return data["session"]


def assert_untouched(state: dict[str, Any]) -> None:
    assert state["title"] == "kept", state
    assert state["revision"] == 0, state
    assert state["messageCount"] == 0, state


async def session_count(api: Api) -> int:
    return (await api.data("{ sessionCount }"))["sessionCount"]


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


# Who is calling --------------------------------------------------------------------------------


def _signed(claims: dict[str, Any], secret: str = JWT_SECRET, algorithm: str = "HS256") -> str:
    now = datetime.now(UTC)
    return "Bearer " + jwt.encode(
        {"iat": now, "exp": now + timedelta(minutes=5), **claims}, secret, algorithm=algorithm
    )


def _signed_with_hs512(user: str) -> str:
    """The right key with an algorithm the server does not accept."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return _signed({"sub": user}, algorithm="HS512")


BAD_CREDENTIALS: dict[str, tuple[Callable[[str], str | None], str]] = {
    "no_authorization_header": (lambda user: None, "Authorization"),
    "basic_scheme": (lambda user: "Basic dXNlcjpwYXNzd29yZA==", "Bearer"),
    "token_scheme_with_a_valid_jwt": (lambda user: f"Token {token_for(user)}", "Bearer"),
    "bearer_without_token": (lambda user: "Bearer", "Bearer"),
    "garbage_token": (lambda user: "Bearer not.a-jwt.at-all", "token"),
    "signed_with_another_key": (
        lambda user: "Bearer " + issue_token(OTHER_SECRET, user),
        "token",
    ),
    "expired": (lambda user: "Bearer " + token_for(user, ttl=timedelta(minutes=-5)), "expired"),
    "without_sub": (lambda user: _signed({"name": user}), "sub"),
    "empty_sub": (lambda user: _signed({"sub": ""}), "sub"),
    "unsigned_alg_none": (
        lambda user: "Bearer " + jwt.encode({"sub": user}, "", algorithm="none"),
        "token",
    ),
    "another_algorithm": (_signed_with_hs512, "token"),
}


@pytest.mark.parametrize("kind", BAD_CREDENTIALS)
async def test_bad_credentials_are_unauthenticated_and_change_nothing(
    kind: str, http: httpx.AsyncClient, api: Api, user: str
):
    make_header, mention = BAD_CREDENTIALS[kind]
    session_id = await kept_session_id(api)
    header = make_header(user)
    headers = {"Authorization": header} if header is not None else {}

    for query, variables in (
        ("{ sessionCount }", None),
        ("query { sessions { id } }", None),
        (SESSION_STATE, {"id": session_id}),
        (CREATE_SESSION, None),
        (operation("UpdateSession"), {"id": session_id, "input": {"title": "stolen"}}),
        (
            operation("AppendMessage"),
            {"sessionId": session_id, "message": {"role": "USER", "content": "hi"}},
        ),
        (operation("DeleteSession"), {"id": session_id}),
    ):
        response = await post(http, query, variables, headers=headers)
        only_error(response, "UNAUTHENTICATED", mention)
        data = response.json().get("data")
        assert not data or all(value is None for value in data.values()), response.text

    assert await session_count(api) == 1
    assert_untouched(await session_state(api, session_id))


async def test_a_valid_token_is_accepted_on_queries_and_mutations(
    http: httpx.AsyncClient, user: str
):
    """The control for the UNAUTHENTICATED cases: the same requests with a good token."""
    headers = bearer(token_for(user, ttl=timedelta(minutes=5)))
    response = await post(http, CREATE_SESSION, headers=headers)
    assert response.status_code == 200
    assert "errors" not in response.json(), response.text
    response = await post(http, "{ sessionCount }", headers=headers)
    assert response.json() == {"data": {"sessionCount": 1}}


async def test_a_token_accepted_before_its_expiry_is_refused_after_it(
    http: httpx.AsyncClient, user: str
):
    """Tokens are verified once and remembered: expiry must still be checked on every use."""
    token = token_for(user, ttl=timedelta(seconds=2))
    response = await post(http, "{ sessionCount }", headers=bearer(token))
    assert response.json() == {"data": {"sessionCount": 0}}, response.text
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    await asyncio.sleep(max(0.0, expires - datetime.now(UTC).timestamp()) + 0.05)
    response = await post(http, "{ sessionCount }", headers=bearer(token))
    only_error(response, "UNAUTHENTICATED", "expired")


# Malformed ids -------------------------------------------------------------------------------

MALFORMED_IDS: list[Any] = [
    "not-a-uuid",
    "",
    "12345678-1234-1234-1234-12345678901z",
    "'; DROP TABLE chat_session; --",
    "x" * 5000,
    12345,
]

# Each id argument: (document, variables for (session id, malformed id), what the error names).
ID_ARGUMENTS: dict[str, tuple[str, Callable[[str, Any], dict[str, Any]], str]] = {
    "session_id": (operation("GetSession"), lambda s, bad: {"id": bad}, "id"),
    "updateSession_id": (
        operation("UpdateSession"),
        lambda s, bad: {"id": bad, "input": {"title": "changed"}},
        "id",
    ),
    "addTokenUsage_sessionId": (
        operation("AddTokenUsage"),
        lambda s, bad: {"sessionId": bad, "promptTokens": 1, "completionTokens": 1},
        "sessionId",
    ),
    "appendMessage_sessionId": (
        operation("AppendMessage"),
        lambda s, bad: {"sessionId": bad, "message": {"role": "USER", "content": "hi"}},
        "sessionId",
    ),
    "appendMessage_message_id": (
        operation("AppendMessage"),
        lambda s, bad: {"sessionId": s, "message": {"id": bad, "role": "USER", "content": "hi"}},
        "message.id",
    ),
    "appendMessages_sessionId": (
        operation("AppendMessages"),
        lambda s, bad: {"sessionId": bad, "messages": [{"role": "USER", "content": "hi"}]},
        "sessionId",
    ),
    "appendMessages_second_message_id": (
        operation("AppendMessages"),
        lambda s, bad: {
            "sessionId": s,
            "messages": [
                {"id": str(uuid.uuid4()), "role": "USER", "content": "fine"},
                {"id": bad, "role": "USER", "content": "broken"},
            ],
        },
        "messages[1].id",
    ),
    "updateToolResult_sessionId": (
        operation("UpdateToolResult"),
        lambda s, bad: {"sessionId": bad, "toolCallId": "call-1", "content": "done"},
        "sessionId",
    ),
    "deleteSession_id": (operation("DeleteSession"), lambda s, bad: {"id": bad}, "id"),
    "createSession_input_id": (
        operation("CreateSession"),
        lambda s, bad: {"input": {"id": bad, "title": "new"}},
        "id",
    ),
}


@pytest.mark.parametrize("argument", ID_ARGUMENTS)
async def test_malformed_id_is_bad_user_input_and_changes_nothing(
    argument: str, http: httpx.AsyncClient, api: Api
):
    document, make_variables, mention = ID_ARGUMENTS[argument]
    session_id = await kept_session_id(api)
    for bad in MALFORMED_IDS:
        response = await post(
            http, document, make_variables(session_id, bad), headers=api_headers(api)
        )
        only_error(response, "BAD_USER_INPUT", mention, "UUID")

    assert await session_count(api) == 1
    assert_untouched(await session_state(api, session_id))


# Variables and documents ---------------------------------------------------------------------

# (document, variables for a session id, what the error names)
BAD_VARIABLES: dict[str, tuple[str, Callable[[str], dict[str, Any]], str]] = {
    "string_for_int": (
        operation("AddTokenUsage"),
        lambda s: {"sessionId": s, "promptTokens": "ten", "completionTokens": 1},
        "promptTokens",
    ),
    "float_for_int": (
        operation("AddTokenUsage"),
        lambda s: {"sessionId": s, "promptTokens": 1, "completionTokens": 1.5},
        "completionTokens",
    ),
    "int_beyond_32_bits": (
        operation("AddTokenUsage"),
        lambda s: {"sessionId": s, "promptTokens": 2**40, "completionTokens": 1},
        "promptTokens",
    ),
    "unknown_enum_value_for_role": (
        operation("AppendMessage"),
        lambda s: {"sessionId": s, "message": {"role": "ROBOT", "content": "beep"}},
        "ROBOT",
    ),
    "lowercase_enum_value_for_role": (
        operation("AppendMessage"),
        lambda s: {"sessionId": s, "message": {"role": "user", "content": "hi"}},
        "role",
    ),
    "missing_required_variable": (
        operation("AppendMessage"),
        lambda s: {"sessionId": s},
        "$message",
    ),
    "missing_required_input_field": (
        operation("AppendMessage"),
        lambda s: {"sessionId": s, "message": {"content": "no role"}},
        "role",
    ),
    "null_for_non_null_variable": (operation("DeleteSession"), lambda s: {"id": None}, "$id"),
    "null_in_non_null_list": (
        operation("AppendMessages"),
        lambda s: {"sessionId": s, "messages": [{"role": "USER", "content": "a"}, None]},
        "$messages",
    ),
    "object_for_string": (
        operation("UpdateSession"),
        lambda s: {"id": s, "input": {"title": {"not": "a string"}}},
        "title",
    ),
    "unknown_input_field": (
        operation("UpdateSession"),
        lambda s: {"id": s, "input": {"title": "x", "owner": "someone-else"}},
        "owner",
    ),
}


@pytest.mark.parametrize("case", BAD_VARIABLES)
async def test_variables_failing_coercion_are_bad_user_input_and_change_nothing(
    case: str, http: httpx.AsyncClient, api: Api
):
    document, make_variables, mention = BAD_VARIABLES[case]
    session_id = await kept_session_id(api)
    response = await post(http, document, make_variables(session_id), headers=api_headers(api))
    only_error(response, "BAD_USER_INPUT", mention)
    assert response.json().get("data") is None
    assert_untouched(await session_state(api, session_id))


NUL = "before\u0000after"

# (document, variables for a session id, what the error names): a NUL character anywhere
# in stored text or JSON, which PostgreSQL cannot store.
NUL_INPUTS: dict[str, tuple[str, Callable[[str], dict[str, Any]], str]] = {
    **{
        f"message_{field}": (
            operation("AppendMessage"),
            lambda s, field=field, value=value: {  # type: ignore[misc]
                "sessionId": s,
                "message": {"role": "TOOL", "toolCallId": "c1", field: value},
            },
            f"message.{field}",
        )
        for field, value in (
            ("content", NUL),
            ("name", NUL),
            ("toolCallId", NUL),
            ("refusal", NUL),
            ("toolCalls", [{"function": {"arguments": NUL}}]),
            ("functionCall", {NUL: "a key"}),
        )
    },
    "batch_content": (
        operation("AppendMessages"),
        lambda s: {
            "sessionId": s,
            "messages": [{"role": "USER", "content": "fine"}, {"role": "USER", "content": NUL}],
        },
        "messages[1].content",
    ),
    "tool_result": (
        operation("UpdateToolResult"),
        lambda s: {"sessionId": s, "toolCallId": "c1", "content": NUL},
        "content",
    ),
    "session_title": (
        operation("UpdateSession"),
        lambda s: {"id": s, "input": {"title": NUL}},
        "title",
    ),
    "session_credentials": (
        operation("UpdateSession"),
        lambda s: {"id": s, "input": {"credentials": {"nested": [[NUL]]}}},
        "credentials",
    ),
}


@pytest.mark.parametrize("case", NUL_INPUTS)
async def test_a_nul_character_is_bad_user_input_on_every_database_and_changes_nothing(
    case: str, http: httpx.AsyncClient, api: Api
):
    document, make_variables, mention = NUL_INPUTS[case]
    session_id = await kept_session_id(api)
    response = await post(http, document, make_variables(session_id), headers=api_headers(api))
    only_error(response, "BAD_USER_INPUT", mention, "NUL")
    assert_untouched(await session_state(api, session_id))


async def test_a_nul_character_in_a_new_sessions_title_creates_nothing(
    http: httpx.AsyncClient, api: Api
):
    response = await post(
        http, operation("CreateSession"), {"input": {"title": NUL}}, headers=api_headers(api)
    )
    only_error(response, "BAD_USER_INPUT", "input.title", "NUL")
    assert await session_count(api) == 0


UNPARSABLE = {
    "unclosed_selection": "{ sessionCount",
    "lone_brace": "{",
    "unclosed_object": 'mutation { createSession(input: {title: "x") { id } }',
    "stray_token": "query { sessionCount } }",
    "not_graphql": "hello, world",
    "empty_document": "",
}


@pytest.mark.parametrize("case", UNPARSABLE)
async def test_documents_that_do_not_parse_are_graphql_parse_failed(
    case: str, http: httpx.AsyncClient, api: Api
):
    response = await post(http, UNPARSABLE[case], headers=api_headers(api))
    if case == "empty_document" and response.status_code == 400:
        # An empty query is "no query in the request": a 4xx with a clear text is fine too.
        assert "query" in response.text.lower()
        return
    error = only_error(response, "GRAPHQL_PARSE_FAILED")
    assert error["message"].startswith("Syntax Error"), error
    assert await session_count(api) == 0


INVALID = {
    "unknown_field": ("{ sessionCount nope }", "nope"),
    "unknown_field_on_session": ('{ session(id: "x") { id owner } }', "owner"),
    "string_literal_for_int": ('{ sessions(limit: "ten") { id } }', "Int"),
    "int_literal_for_enum": (
        'mutation { appendMessage(sessionId: "x", message: {role: 3}) { id } }',
        "MessageRole",
    ),
    "missing_required_argument": ("mutation { deleteSession }", "id"),
    "unknown_argument": ('{ sessionCount(userId: "someone") }', "userId"),
    "leaf_with_selection": ("{ sessionCount { id } }", "sessionCount"),
    "undefined_variable": ("query { session(id: $id) { id } }", "$id"),
    "mutation_with_unknown_field": (
        'mutation { createSession(input: {title: "t"}) { id nope } }',
        "nope",
    ),
    # Found by tests/test_fuzz.py: a scalar literal its parser refuses was masked as an
    # INTERNAL_SERVER_ERROR.
    "datetime_literal_not_iso": (
        'mutation { appendMessageContent(sessionId: "x", messageId: "y", text: "t",'
        ' deadline: "tomorrow") { id } }',
        "ISO 8601",
    ),
    "datetime_literal_without_offset": (
        'mutation { appendMessageContent(sessionId: "x", messageId: "y", text: "t",'
        ' deadline: "2026-01-28T05:09:34") { id } }',
        "UTC offset",
    ),
}


@pytest.mark.parametrize("case", INVALID)
async def test_documents_that_do_not_validate_are_graphql_validation_failed_and_run_nothing(
    case: str, http: httpx.AsyncClient, api: Api
):
    document, mention = INVALID[case]
    response = await post(http, document, headers=api_headers(api))
    errors = coded_errors(response)
    assert {error["extensions"]["code"] for error in errors} == {"GRAPHQL_VALIDATION_FAILED"}
    assert any(mention in error["message"] for error in errors), errors
    assert response.json().get("data") is None
    assert await session_count(api) == 0


# Query limits --------------------------------------------------------------------------------

LIMIT_CODES = {"GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED"}


def nested_introspection(of_types: int) -> str:
    """__schema > types > fields > type > ofType (n times) > name: depth n + 5."""
    return (
        "{ __schema { types { fields { type "
        + "{ ofType " * of_types
        + "{ name }"
        + " }" * of_types
        + " } } } }"
    )


async def test_query_deeper_than_60_is_refused_even_through_introspection(
    http: httpx.AsyncClient, api: Api
):
    for headers in (api_headers(api), {}):
        response = await post(http, nested_introspection(70), headers=headers)
        errors = coded_errors(response)
        assert {error["extensions"]["code"] for error in errors} <= LIMIT_CODES, errors
        assert any("depth" in error["message"].lower() for error in errors), errors
        assert response.json().get("data") is None


async def test_more_than_2000_aliases_are_refused(http: httpx.AsyncClient, api: Api):
    document = "{ " + " ".join(f"a{index}: sessionCount" for index in range(2_001)) + " }"
    response = await post(http, document, headers=api_headers(api))
    error = only_error(response, "GRAPHQL_VALIDATION_FAILED", "alias")
    assert error["extensions"]["code"] in LIMIT_CODES
    assert response.json().get("data") is None


async def test_more_than_100000_tokens_are_refused(http: httpx.AsyncClient, api: Api):
    document = "{ " + "__typename " * 100_001 + "}"
    response = await post(http, document, headers=api_headers(api))
    errors = coded_errors(response)
    assert {error["extensions"]["code"] for error in errors} <= LIMIT_CODES, errors
    assert any("token" in error["message"].lower() for error in errors), errors
    assert response.json().get("data") is None


@pytest.mark.parametrize("with_token", [True, False], ids=["with_token", "without_token"])
async def test_graphiql_introspection_query_passes_the_limits(
    with_token: bool, http: httpx.AsyncClient, api: Api
):
    """Introspection reads only the schema, so it needs no identity (schema/root.py guards
    only the root fields of Query, Mutation and Subscription)."""
    headers = api_headers(api) if with_token else {}
    response = await post(http, get_introspection_query(descriptions=True), headers=headers)
    assert response.status_code == 200, response.text[:500]
    body = response.json()
    assert "errors" not in body, body.get("errors")
    schema = body["data"]["__schema"]
    assert schema["queryType"]["name"] == "Query"
    assert schema["mutationType"]["name"] == "Mutation"
    assert schema["subscriptionType"]["name"] == "Subscription"
    names = {type_["name"] for type_ in schema["types"]}
    assert {"ChatSession", "ChatMessage", "MessageRole", "DateTime", "JSON"} <= names


# Body size -----------------------------------------------------------------------------------


def assert_body_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413, (response.status_code, response.text[:300])
    assert_actionable(response.text, "limit")
    assert str(BODY_LIMIT) in response.text or "40 MiB" in response.text, response.text


async def test_body_over_40_mib_with_content_length_gets_413(http: httpx.AsyncClient, api: Api):
    body = b'{"query": "{ sessionCount }", "pad": "' + b"x" * BODY_LIMIT + b'"}'
    response = await http.post(
        "/graphql",
        content=body,
        headers={**api_headers(api), "Content-Type": "application/json"},
    )
    assert_body_too_large(response)


async def test_streamed_body_over_40_mib_gets_413(http: httpx.AsyncClient, api: Api):
    chunk = b" " * MiB

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ sessionCount }",'
        for _ in range(41):
            yield chunk
        yield b"}"

    response = await http.post(
        "/graphql",
        content=chunks(),
        headers={**api_headers(api), "Content-Type": "application/json"},
    )
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.request.headers
    assert_body_too_large(response)


@pytest.mark.parametrize("streamed", [False, True], ids=["content_length", "chunked"])
async def test_body_just_under_40_mib_is_served(streamed: bool, http: httpx.AsyncClient, api: Api):
    head, tail = b'{"query": "{ sessionCount }", "variables": {}', b"}"
    size = BODY_LIMIT - 1024
    padding = b" " * (size - len(head) - len(tail))
    body = head + padding + tail
    assert len(body) == size

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), MiB):
            yield body[start : start + MiB]

    response = await http.post(
        "/graphql",
        content=chunks() if streamed else body,
        headers={**api_headers(api), "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text[:300]
    assert response.json() == {"data": {"sessionCount": 0}}


# Malformed bodies ----------------------------------------------------------------------------

DEEP_JSON = "[" * 100_000 + "]" * 100_000

MALFORMED_BODIES: dict[str, tuple[bytes, str | None]] = {
    "invalid_json": (b'{"query": "{ sessionCount }"', "application/json"),
    "json_nested_100000_deep": (DEEP_JSON.encode(), "application/json"),
    "variables_nested_100000_deep": (
        ('{"query": "{ sessionCount }", "variables": ' + DEEP_JSON + "}").encode(),
        "application/json",
    ),
    "objects_nested_100000_deep": (
        ('{"a":' * 100_000 + "1" + "}" * 100_000).encode(),
        "application/json",
    ),
    "json_array": (b'[{"query": "{ sessionCount }"}]', "application/json"),
    "empty_json_array": (b"[]", "application/json"),
    "array_of_numbers": (b"[1, 2]", "application/json"),
    "json_string": (b'"{ sessionCount }"', "application/json"),
    "json_number": (b"42", "application/json"),
    "json_true": (b"true", "application/json"),
    "json_null": (b"null", "application/json"),
    "invalid_utf8": (b'{"query": "{ sessionCount \xff\xfe }"}', "application/json"),
    "only_invalid_utf8": (b"\xff\xfe\xfa\xc3\x28", "application/json"),
    "missing_query": (b'{"variables": {}}', "application/json"),
    "null_query": (b'{"query": null}', "application/json"),
    "query_not_a_string": (b'{"query": 42}', "application/json"),
    "query_an_object": (b'{"query": {"sessionCount": true}}', "application/json"),
    "variables_a_list": (b'{"query": "{ sessionCount }", "variables": [1]}', "application/json"),
    "variables_a_string": (
        b'{"query": "{ sessionCount }", "variables": "{}"}',
        "application/json",
    ),
    "operation_name_not_a_string": (
        b'{"query": "{ sessionCount }", "operationName": 5}',
        "application/json",
    ),
    "extensions_not_an_object": (
        b'{"query": "{ sessionCount }", "extensions": 5}',
        "application/json",
    ),
    "unknown_content_type": (b'{"query": "{ sessionCount }"}', "application/x-unknown"),
    "form_content_type": (b"query=%7B+sessionCount+%7D", "application/x-www-form-urlencoded"),
    "no_content_type": (b'{"query": "{ sessionCount }"}', None),
    "empty_body": (b"", "application/json"),
    "whitespace_body": (b"   \n ", "application/json"),
    "graphql_nested_50000_deep": (
        ('{"query": "' + "{" * 50_000 + '"}').encode(),
        "application/json",
    ),
    "graphql_fields_nested_50000_deep": (
        ('{"query": "' + "{ a " * 50_000 + "}" * 50_000 + '"}').encode(),
        "application/json",
    ),
    "graphql_list_literal_nested_50000_deep": (
        ('{"query": "{ sessions(limit: ' + "[" * 50_000 + "]" * 50_000 + ') { id } }"}').encode(),
        "application/json",
    ),
}


@pytest.mark.parametrize("case", MALFORMED_BODIES)
async def test_malformed_body_is_a_4xx_or_coded_error_never_a_500(
    case: str, http: httpx.AsyncClient, api: Api
):
    content, content_type = MALFORMED_BODIES[case]
    headers = api_headers(api)
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = await http.post("/graphql", content=content, headers=headers)

    assert response.status_code < 500, (response.status_code, response.text[:300])
    for internal in INTERNALS:
        assert internal not in response.text, response.text[:500]
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        if isinstance(body, dict) and body.get("errors"):
            coded_errors(response)
        else:
            # Only a well-formed request may be served.
            assert case in {"no_content_type", "json_array"}, body
    else:
        assert 400 <= response.status_code < 500, response.status_code
        assert_actionable(response.text)
    if case.startswith("graphql_"):
        assert response.status_code == 200
        for error in coded_errors(response):
            assert error["extensions"]["code"] in LIMIT_CODES, error
    assert await session_count(api) == 0


async def test_malformed_get_requests_are_never_a_500(http: httpx.AsyncClient, api: Api):
    # A client asking for JSON, not a browser (which gets GraphiQL without a query).
    headers = {**api_headers(api), "Accept": "application/json"}
    for params in (
        {},
        {"query": ""},
        {"query": "{ sessionCount }", "variables": "{not json"},
        {"query": "{ sessionCount }", "variables": "[" * 2_000 + "]" * 2_000},
        {"query": "{ sessionCount }", "variables": "5"},
        {"query": "{" * 2_000},
    ):
        response = await http.get("/graphql", params=params, headers=headers)
        assert response.status_code < 500, (params, response.status_code, response.text[:300])
        assert "Traceback" not in response.text
        if response.headers.get("content-type", "").startswith("application/json"):
            coded_errors(response)
        else:
            assert 400 <= response.status_code < 500, (params, response.status_code)
            assert_actionable(response.text)


# Masking -------------------------------------------------------------------------------------


async def _rename_messages_table(kind: str, url: str) -> None:
    """Break the database from outside the app, as an operator's mistake would."""
    statement = "ALTER TABLE chat_message RENAME TO chat_message_gone"
    if kind == "postgres":
        connection = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await connection.execute(statement)
        finally:
            await connection.close()
        return

    def rename() -> None:
        connection = sqlite3.connect(url.removeprefix("sqlite+aiosqlite:///"))
        try:
            connection.execute(statement)
            connection.commit()
        finally:
            connection.close()

    await asyncio.to_thread(rename)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_unexpected_failures_are_masked_in_the_response_and_logged_in_full(
    kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.ERROR, logger="chatstore")
    async with (
        database_url(kind, tmp_path) as url,
        running_server(database_url=url) as server,
        httpx.AsyncClient(base_url=server.http_url, timeout=60) as http,
    ):
        api = Api(http, token_for(new_user()))
        session_id = await kept_session_id(api)
        await api.data(
            operation("AppendMessage"),
            {"sessionId": session_id, "message": {"role": "USER", "content": "hello"}},
        )
        await _rename_messages_table(kind, url)

        for document, variables in (
            (operation("SessionMessages"), {"id": session_id}),
            (
                operation("AppendMessage"),
                {"sessionId": session_id, "message": {"role": "USER", "content": "again"}},
            ),
        ):
            response = await post(http, document, variables, headers=api_headers(api))
            assert response.status_code == 200, response.text[:500]
            only_error(response, "INTERNAL_SERVER_ERROR")
            for internal in (*INTERNALS, "UndefinedTable", "no such table", "Error:"):
                assert internal.lower() not in response.text.lower(), response.text

        # The session itself still reads: only the broken part failed.
        assert (await api.data("{ sessionCount }"))["sessionCount"] == 1

    logged = [record for record in caplog.records if record.exc_info]
    assert logged, "an unexpected failure must be logged with its traceback"
    assert any("chat_message" in str(record.exc_info[1]) for record in logged if record.exc_info)


# Running -------------------------------------------------------------------------------------


async def test_get_serves_queries_with_the_bearer_token(http: httpx.AsyncClient, api: Api):
    await kept_session_id(api)
    response = await http.get(
        "/graphql", params={"query": "{ sessionCount }"}, headers=api_headers(api)
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"sessionCount": 1}}

    response = await http.get(
        "/graphql",
        params={"query": SESSION_STATE, "variables": '{"id": "not-a-uuid"}'},
        headers=api_headers(api),
    )
    only_error(response, "BAD_USER_INPUT", "UUID")

    response = await http.get("/graphql", params={"query": "{ sessionCount }"})
    only_error(response, "UNAUTHENTICATED", "Authorization")


async def test_mutation_over_get_is_refused_and_writes_nothing(http: httpx.AsyncClient, api: Api):
    session_id = await kept_session_id(api)
    for document, variables in (
        (CREATE_SESSION, None),
        ('mutation Named { createSession(input: {title: "via GET"}) { id } }', None),
        (operation("DeleteSession"), f'{{"id": "{session_id}"}}'),
    ):
        params = {"query": document}
        if variables is not None:
            params["variables"] = variables
        response = await http.get("/graphql", params=params, headers=api_headers(api))
        assert 400 <= response.status_code < 500, (response.status_code, response.text)
        assert "mutation" in response.text.lower(), response.text
    assert await session_count(api) == 1
    assert_untouched(await session_state(api, session_id))


async def test_browser_asking_for_html_gets_graphiql(http: httpx.AsyncClient):
    response = await http.get(
        "/graphql", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_healthz_and_readyz_answer_200_while_everything_is_reachable(
    http: httpx.AsyncClient,
):
    assert (await http.get("/healthz")).status_code == 200
    assert (await http.get("/readyz")).status_code == 200


async def test_readyz_answers_503_when_the_database_is_gone(tmp_path: Path):
    async with database_url("postgres", tmp_path) as url:
        name = url.rsplit("/", 1)[1]
        async with (
            running_server(database_url=url) as server,
            httpx.AsyncClient(base_url=server.http_url, timeout=60) as http,
        ):
            api = Api(http, token_for(new_user()))
            await kept_session_id(api)
            assert (await http.get("/readyz")).status_code == 200

            admin = await asyncpg.connect(asyncpg_dsn(POSTGRES_ADMIN_URL))
            try:
                await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            finally:
                await admin.close()

            response = await http.get("/readyz")
            assert response.status_code == 503, response.text
            assert (await http.get("/healthz")).status_code == 200
            # Queries fail, masked, while the database is gone.
            response = await post(http, "{ sessionCount }", headers=api_headers(api))
            only_error(response, "INTERNAL_SERVER_ERROR")
            assert "does not exist" not in response.text
        # database_url's own DROP DATABASE IF EXISTS runs on exit and must not fail.


# Settings and dev mode -----------------------------------------------------------------------


def test_short_jwt_secret_is_refused_naming_jwt_secret():
    with pytest.raises(ValidationError) as raised:
        Settings(jwt_secret="short")
    assert "jwt_secret" in str(raised.value).lower()
    assert "32 bytes" in str(raised.value)


@pytest.mark.parametrize(
    "url",
    [
        "mysql://user:pass@localhost/db",
        "postgresql://user:pass@localhost/db",
        "sqlite:///./chatstore.db",
        "not a url",
    ],
)
def test_unsupported_database_url_is_refused_naming_database_url(url: str):
    with pytest.raises(ValidationError) as raised:
        Settings(jwt_secret=JWT_SECRET, database_url=url)
    assert "DATABASE_URL" in str(raised.value)


def test_unsupported_database_url_from_the_environment_is_refused(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("DATABASE_URL", "mysql+aiomysql://user:pass@localhost/db")
    with pytest.raises(ValidationError) as raised:
        Settings(jwt_secret=JWT_SECRET)
    assert "DATABASE_URL" in str(raised.value)


@pytest.mark.parametrize(
    ("module", "name"), [(browser, "WEB_DIST"), (sse, "OPERATIONS")], ids=["web", "sse"]
)
def test_start_up_names_a_file_missing_from_the_checkout(
    module: ModuleType, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    missing = tmp_path / "missing"
    monkeypatch.setattr(module, name, missing)
    settings = Settings(jwt_secret=JWT_SECRET, database_url=f"sqlite+aiosqlite:///{tmp_path}/db")
    with pytest.raises(RuntimeError) as raised:
        create_app(settings)
    assert str(missing) in str(raised.value) and "checkout" in str(raised.value)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_dev_mode_logs_a_working_token_for_user_dev(
    kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.WARNING, logger="chatstore")
    async with (
        database_url(kind, tmp_path) as url,
        running_server(jwt_secret=None, database_url=url) as server,
        httpx.AsyncClient(base_url=server.http_url, timeout=60) as http,
    ):
        assert server.settings.jwt_secret is None
        warnings = [
            record
            for record in caplog.records
            if record.name == "chatstore" and record.levelno == logging.WARNING
        ]
        assert len(warnings) == 1, [record.getMessage() for record in caplog.records]
        message = warnings[0].getMessage()
        assert "JWT_SECRET" in message
        dev_token = message.strip().splitlines()[-1].strip()
        assert jwt.decode(dev_token, options={"verify_signature": False})["sub"] == "dev"

        response = await post(http, "{ sessionCount }", headers=bearer(dev_token))
        assert response.json() == {"data": {"sessionCount": 0}}, response.text
        created = await Api(http, dev_token).data(CREATE_SESSION.replace("{ id }", "{ userId }"))
        assert created["createSession"]["userId"] == "dev"

        for other in (issue_token(OTHER_SECRET, "dev"), issue_token(JWT_SECRET, "dev")):
            response = await post(http, "{ sessionCount }", headers=bearer(other))
            only_error(response, "UNAUTHENTICATED", "token")


async def test_a_mutation_with_more_root_fields_than_the_limit_is_refused_before_it_runs(
    api: Api,
) -> None:
    session_id = (await api.data("mutation { createSession { id } }"))["createSession"]["id"]

    def touches(count: int) -> str:
        fields = "\n".join(
            f'a{i}: addTokenUsage(sessionId: "{session_id}", promptTokens: 1, '
            "completionTokens: 0) { revision }"
            for i in range(count)
        )
        return f"mutation {{\n{fields}\n}}"

    # A thousand aliases are under the alias limit but would exhaust graphql-core's stack.
    error = await api.error(touches(1000))
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "at most 100 root fields" in error["message"]
    after = await api.data(f'{{ session(id: "{session_id}") {{ revision totalPromptTokens }} }}')
    assert after["session"] == {"revision": 0, "totalPromptTokens": 0}
    assert len(await api.data(touches(100))) == 100


async def test_a_failure_that_escapes_execution_is_still_coded_and_masked(tmp_path: Path) -> None:
    """With the mutation-field limit lifted, a thousand serial root fields exhaust the stack
    inside graphql-core, outside any resolver: the client still gets a coded, masked error."""
    async with database_url("sqlite", tmp_path) as url:
        async with running_server(database_url=url, max_mutation_fields=5000) as server:
            async with httpx.AsyncClient(base_url=server.http_url, timeout=60) as http:
                api = Api(http, token_for(new_user()))
                session = await api.data("mutation { createSession { id } }")
                session_id = session["createSession"]["id"]
                fields = "\n".join(
                    f'a{i}: addTokenUsage(sessionId: "{session_id}", promptTokens: 1, '
                    "completionTokens: 0) { revision }"
                    for i in range(1500)
                )
                body = await api.post(f"mutation {{\n{fields}\n}}")
    [error] = body["errors"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "recursion" not in error["message"].lower()


async def test_a_session_read_cancelled_by_a_failing_sibling_gives_its_connection_back(
    api: Api,
):
    """The read of `session(id:)` runs on a pooled connection without SQLAlchemy's
    Connection around it (db/prepared.PreparedRead) and without a task of its own: when a
    sibling non-null root field fails, graphql-core cancels it, and its connection must go
    back to the pool fit for the reads after it."""
    session_id = (await create_session(api))["id"]
    both = "query ($id: ID!) { session(id: $id) { id } sessions(limit: -1) { id } }"
    for _ in range(20):
        error = await api.error(both, {"id": session_id})
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    assert [str(w.message) for w in caught if "non-checked-in" in str(w.message)] == []
    reads = await asyncio.gather(
        *[api.data(operation("GetSession"), {"id": session_id}) for _ in range(30)]
    )
    assert all(read["session"]["id"] == session_id for read in reads)


async def test_a_failing_root_field_leaves_no_database_connection_behind(api: Api):
    """Found by tests/test_fuzz.py: when a non-null root field fails, graphql-core cancels
    its siblings; a sibling cancelled amid its database read never returned its
    connection to the pool (the garbage collector terminated it, warning)."""
    for _ in range(20):
        error = await api.error("{ sessionCount sessions(limit: -1) { id } }")
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    assert [str(w.message) for w in caught if "non-checked-in" in str(w.message)] == []
