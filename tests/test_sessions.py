"""Chat sessions over real HTTP, on SQLite and PostgreSQL.

Covers the "Sessions" promises of the API contract (createSession, updateSession,
addTokenUsage, sessions/sessionCount, deleteSession) and the identity rules for every
operation that takes a session id: another user's session behaves exactly as a missing one,
a service token may act on any user's session, and listings always show the caller's own.
"""

import asyncio
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.clients import Api, append_many, create_session, new_user, operation, tool

CREATE = operation("CreateSession")
UPDATE = operation("UpdateSession")
ADD_TOKENS = operation("AddTokenUsage")
APPEND = operation("AppendMessage")
APPEND_MANY = operation("AppendMessages")
UPDATE_TOOL = operation("UpdateToolResult")
DELETE = operation("DeleteSession")
GET = operation("GetSession")
LIST = operation("ListSessions")

SESSION_COUNT = "query SessionCount { sessionCount }"
SESSION_IDS = """
query SessionIds($limit: Int! = 50, $offset: Int! = 0) {
  sessions(limit: $limit, offset: $offset) { id userId updatedAt }
}
"""

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$")

JSON_FIELDS = ["credentials", "successfulAgentRuns", "successfulAgentSchedules"]
TOKEN_FIELDS = ["totalPromptTokens", "totalCompletionTokens"]


def timestamp(value: str) -> datetime:
    """A contract timestamp: UTC, with microseconds, like 2026-01-28T05:09:34.123456+00:00."""
    assert TIMESTAMP.match(value), f"not a UTC timestamp with microseconds: {value!r}"
    parsed = datetime.fromisoformat(value)
    # UTC for real, not local time labelled UTC (a generous margin, never a speed check).
    assert abs(parsed - datetime.now(UTC)) < timedelta(hours=1), value
    return parsed


def assert_readable(error: dict[str, Any], code: str) -> None:
    assert error["extensions"]["code"] == code, error
    message = error["message"]
    assert isinstance(message, str) and len(message) > 5, error
    assert "Traceback" not in message and "SELECT" not in message.upper(), error


async def get(api: Api, session_id: str) -> dict[str, Any] | None:
    return (await api.data(GET, {"id": session_id}))["session"]


async def update(api: Api, session_id: str, **input: Any) -> dict[str, Any]:
    return (await api.data(UPDATE, {"id": session_id, "input": input}))["updateSession"]


async def session_count(api: Api) -> int:
    return (await api.data(SESSION_COUNT))["sessionCount"]


async def listed_ids(api: Api, limit: int = 100, offset: int = 0) -> list[str]:
    data = await api.data(SESSION_IDS, {"limit": limit, "offset": offset})
    return [session["id"] for session in data["sessions"]]


async def populated_session(api: Api) -> dict[str, Any]:
    """A session with metadata, token totals and messages (one of them a TOOL message)."""
    session = await create_session(api, title="Trip planning")
    await update(
        api,
        session["id"],
        credentials={"github": {"token": "abc"}},
        successfulAgentRuns={"run-1": True},
        successfulAgentSchedules={"daily": {"at": "09:00"}},
        totalPromptTokens=11,
        totalCompletionTokens=22,
    )
    await append_many(
        api,
        session["id"],
        [
            {"role": "USER", "content": "Find flights"},
            {"role": "ASSISTANT", "toolCalls": [{"id": "call-1", "type": "function"}]},
            tool("call-1", "pending"),
        ],
    )
    stored = await get(api, session["id"])
    assert stored is not None
    return stored


# --- createSession ------------------------------------------------------------------------


async def test_create_session_starts_empty_and_owned_by_the_caller(api: Api, user: str) -> None:
    created = await create_session(api)

    assert uuid.UUID(created["id"])
    assert created["userId"] == user
    assert created["title"] is None
    assert created["revision"] == 0
    assert created["messageCount"] == 0
    for field in JSON_FIELDS:
        assert created[field] == {}, field
    for field in TOKEN_FIELDS:
        assert created[field] == 0, field
    assert timestamp(created["createdAt"]) <= timestamp(created["updatedAt"])

    stored = await get(api, created["id"])
    assert stored is not None
    assert {key: value for key, value in stored.items() if key != "messages"} == created
    assert stored["messages"] == []
    assert await session_count(api) == 1


async def test_create_session_keeps_title_and_client_chosen_id(api: Api, user: str) -> None:
    session_id = str(uuid.uuid4())

    created = await create_session(api, id=session_id, title="Groceries")

    assert created["id"] == session_id
    assert created["title"] == "Groceries"
    assert created["userId"] == user
    assert (await get(api, session_id))["title"] == "Groceries"  # type: ignore[index]


async def test_create_session_without_input_argument_works(api: Api, user: str) -> None:
    data = await api.data("mutation { createSession { id userId revision messageCount } }")
    assert data["createSession"]["userId"] == user
    assert data["createSession"]["revision"] == 0
    assert data["createSession"]["messageCount"] == 0


async def test_repeated_create_with_same_id_by_owner_returns_stored_session_unchanged(
    api: Api,
) -> None:
    session_id = str(uuid.uuid4())
    first = await create_session(api, id=session_id, title="first")
    changed = await update(api, session_id, title="renamed", totalPromptTokens=5)

    repeat = await create_session(api, id=session_id, title="a retry with another title")

    assert repeat == changed  # the stored session, not a new one and not overwritten
    assert repeat["createdAt"] == first["createdAt"]
    assert repeat["title"] == "renamed"
    assert repeat["revision"] == 1
    assert await session_count(api) == 1
    stored = await get(api, session_id)
    assert {key: value for key, value in stored.items() if key != "messages"} == changed  # type: ignore[union-attr]


async def test_create_with_an_id_owned_by_another_user_is_conflict(api: Api) -> None:
    owner = api.as_user(new_user())
    owned = await populated_session(owner)

    error = await api.error(CREATE, {"input": {"id": owned["id"], "title": "mine now"}})

    assert_readable(error, "CONFLICT")
    assert await session_count(api) == 0
    assert await get(api, owned["id"]) is None
    assert await get(owner, owned["id"]) == owned


@pytest.mark.parametrize(
    "bad_id", ["not-a-uuid", "", "1234", "g" * 32, "00000000-0000-0000-0000-00000000000"]
)
async def test_create_with_malformed_id_is_bad_user_input(api: Api, bad_id: str) -> None:
    error = await api.error(CREATE, {"input": {"id": bad_id}})

    assert_readable(error, "BAD_USER_INPUT")
    assert await session_count(api) == 0


# --- updateSession ------------------------------------------------------------------------


async def test_update_session_sets_every_field(api: Api) -> None:
    session = await create_session(api, title="old")
    values = {
        "title": "new",
        "credentials": {"openai": {"key": "sk-1", "scopes": ["chat"]}},
        "successfulAgentRuns": {"agent-a": {"runs": 3, "last": None}},
        "successfulAgentSchedules": {"nightly": {"cron": "0 0 * * *", "enabled": True}},
        "totalPromptTokens": 1_000_000,
        "totalCompletionTokens": 0,
    }

    updated = await update(api, session["id"], **values)

    for field, value in values.items():
        assert updated[field] == value, field
    stored = await get(api, session["id"])
    for field, value in values.items():
        assert stored[field] == value, field  # type: ignore[index]


async def test_update_session_fields_left_out_keep_their_value(api: Api) -> None:
    before = await populated_session(api)

    updated = await update(api, before["id"], title="Only the title")

    assert updated["title"] == "Only the title"
    for field in JSON_FIELDS + TOKEN_FIELDS + ["createdAt", "userId", "messageCount"]:
        assert updated[field] == before[field], field

    updated = await update(api, before["id"], totalCompletionTokens=99)
    assert updated["title"] == "Only the title"
    assert updated["totalCompletionTokens"] == 99
    assert updated["totalPromptTokens"] == before["totalPromptTokens"]
    for field in JSON_FIELDS:
        assert updated[field] == before[field], field


async def test_update_session_explicit_null_clears_the_title(api: Api) -> None:
    session = await create_session(api, title="to be cleared")

    updated = await update(api, session["id"], title=None)

    assert updated["title"] is None
    assert (await get(api, session["id"]))["title"] is None  # type: ignore[index]


@pytest.mark.parametrize("field", JSON_FIELDS + TOKEN_FIELDS)
async def test_update_session_explicit_null_is_refused_for_fields_other_than_title(
    api: Api, field: str
) -> None:
    before = await populated_session(api)

    error = await api.error(UPDATE, {"id": before["id"], "input": {"title": "x", field: None}})

    assert_readable(error, "BAD_USER_INPUT")
    assert field in error["message"]
    assert await get(api, before["id"]) == before


@pytest.mark.parametrize("field", JSON_FIELDS)
@pytest.mark.parametrize("value", [[1, 2], "text", 42, True])
async def test_update_session_json_fields_refuse_non_objects(
    api: Api, field: str, value: Any
) -> None:
    before = await populated_session(api)

    error = await api.error(UPDATE, {"id": before["id"], "input": {"title": "x", field: value}})

    assert_readable(error, "BAD_USER_INPUT")
    assert await get(api, before["id"]) == before


async def test_update_session_json_fields_accept_empty_and_nested_objects(api: Api) -> None:
    before = await populated_session(api)
    nested = {"a": {"b": {"c": [1, {"d": None}], "e": "ü 🚀"}}, "f": 1.5}

    updated = await update(
        api, before["id"], credentials={}, successfulAgentRuns=nested, successfulAgentSchedules={}
    )

    assert updated["credentials"] == {}
    assert updated["successfulAgentRuns"] == nested
    assert updated["successfulAgentSchedules"] == {}
    stored = await get(api, before["id"])
    assert stored["successfulAgentRuns"] == nested  # type: ignore[index]


async def test_update_session_json_fields_keep_every_number_as_it_was_sent(api: Api) -> None:
    """Integers beyond 64 bits stay integers, and fractions keep every digit, whichever
    parser reads the column back (speed/json_text.py)."""
    before = await populated_session(api)
    numbers = {
        "beyond": 2**70,
        "below": -(2**64) - 1,
        "edge": 2**63,
        "nineteen": 1234567890123456789,
        "exact": 9007199254740993,
        "fraction": 0.1,
        "tiny": 5e-324,
        "list": [0, -1, 2.5, 10**30],
    }

    await update(api, before["id"], credentials=numbers)
    stored = await get(api, before["id"])

    assert stored is not None
    assert sorted(stored["credentials"].items()) == sorted(numbers.items())
    assert {k: repr(v) for k, v in stored["credentials"].items()} == {
        k: repr(v) for k, v in numbers.items()
    }


@pytest.mark.parametrize("field", TOKEN_FIELDS)
@pytest.mark.parametrize("value", [-1, 2.5, "7", 2**31])
async def test_update_session_token_totals_must_be_whole_numbers_not_below_zero(
    api: Api, field: str, value: Any
) -> None:
    before = await populated_session(api)

    error = await api.error(UPDATE, {"id": before["id"], "input": {"title": "x", field: value}})

    assert_readable(error, "BAD_USER_INPUT")
    assert await get(api, before["id"]) == before


async def test_update_session_bumps_revision_and_moves_updated_at_forward(api: Api) -> None:
    created = await create_session(api)

    first = await update(api, created["id"], title="one")
    second = await update(api, created["id"], credentials={"k": "v"})

    assert (created["revision"], first["revision"], second["revision"]) == (0, 1, 2)
    assert (
        timestamp(created["updatedAt"])
        < timestamp(first["updatedAt"])
        < timestamp(second["updatedAt"])
    )
    assert second["createdAt"] == created["createdAt"]
    stored = await get(api, created["id"])
    assert stored["revision"] == 2  # type: ignore[index]
    assert stored["updatedAt"] == second["updatedAt"]  # type: ignore[index]


# --- addTokenUsage ------------------------------------------------------------------------


async def test_add_token_usage_adds_counts_and_bumps_revision(api: Api) -> None:
    session = await update(api, (await create_session(api))["id"], totalPromptTokens=10)

    added = (
        await api.data(
            ADD_TOKENS, {"sessionId": session["id"], "promptTokens": 5, "completionTokens": 7}
        )
    )["addTokenUsage"]
    again = (
        await api.data(
            ADD_TOKENS, {"sessionId": session["id"], "promptTokens": 0, "completionTokens": 3}
        )
    )["addTokenUsage"]

    assert (added["totalPromptTokens"], added["totalCompletionTokens"]) == (15, 7)
    assert (again["totalPromptTokens"], again["totalCompletionTokens"]) == (15, 10)
    assert (session["revision"], added["revision"], again["revision"]) == (1, 2, 3)
    assert (
        timestamp(session["updatedAt"])
        < timestamp(added["updatedAt"])
        < timestamp(again["updatedAt"])
    )
    stored = await get(api, session["id"])
    assert (stored["totalPromptTokens"], stored["totalCompletionTokens"]) == (15, 10)  # type: ignore[index]
    assert stored["revision"] == 3  # type: ignore[index]


async def test_concurrent_add_token_usage_calls_add_up_exactly(api: Api) -> None:
    session = await create_session(api)
    calls = 20

    results = await asyncio.gather(
        *(
            api.data(
                ADD_TOKENS,
                {"sessionId": session["id"], "promptTokens": n, "completionTokens": 2 * n},
            )
            for n in range(1, calls + 1)
        )
    )

    expected = sum(range(1, calls + 1))
    stored = await get(api, session["id"])
    assert stored["totalPromptTokens"] == expected  # type: ignore[index]
    assert stored["totalCompletionTokens"] == 2 * expected  # type: ignore[index]
    assert stored["revision"] == calls  # type: ignore[index]
    # Each call was its own write: it saw its own revision.
    revisions = sorted(result["addTokenUsage"]["revision"] for result in results)
    assert revisions == list(range(1, calls + 1))


@pytest.mark.parametrize("prompt, completion", [(-1, 0), (0, -1), (5, -5), (-3, -3)])
async def test_add_token_usage_refuses_negative_counts_and_changes_nothing(
    api: Api, prompt: int, completion: int
) -> None:
    before = await populated_session(api)

    error = await api.error(
        ADD_TOKENS,
        {"sessionId": before["id"], "promptTokens": prompt, "completionTokens": completion},
    )

    assert_readable(error, "BAD_USER_INPUT")
    assert await get(api, before["id"]) == before


# --- sessions and sessionCount ------------------------------------------------------------


async def test_sessions_lists_only_the_callers_own_most_recently_updated_first(
    api: Api, user: str
) -> None:
    other = api.as_user(new_user())
    a = await create_session(api, title="a")
    foreign = await create_session(other, title="someone else's")
    b = await create_session(api, title="b")
    c = await create_session(api, title="c")

    assert await listed_ids(api) == [c["id"], b["id"], a["id"]]

    await update(api, a["id"], title="a, touched")
    assert await listed_ids(api) == [a["id"], c["id"], b["id"]]

    await api.data(ADD_TOKENS, {"sessionId": b["id"], "promptTokens": 1, "completionTokens": 1})
    assert await listed_ids(api) == [b["id"], a["id"], c["id"]]

    await api.data(APPEND, {"sessionId": c["id"], "message": {"role": "USER", "content": "hi"}})
    listing = await api.data(LIST)
    assert [s["id"] for s in listing["sessions"]] == [c["id"], b["id"], a["id"]]
    assert listing["sessionCount"] == 3
    assert {s["userId"] for s in listing["sessions"]} == {user}
    stamps = [timestamp(s["updatedAt"]) for s in listing["sessions"]]
    assert stamps == sorted(stamps, reverse=True)
    assert foreign["id"] not in [s["id"] for s in listing["sessions"]]
    assert await listed_ids(other) == [foreign["id"]]


async def test_session_count_counts_only_the_callers_sessions(api: Api) -> None:
    other = api.as_user(new_user())
    assert await session_count(api) == 0

    first = await create_session(api)
    await create_session(api)
    await create_session(other)

    assert await session_count(api) == 2
    assert await session_count(other) == 1
    assert await api.data(DELETE, {"id": first["id"]}) == {"deleteSession": True}
    assert await session_count(api) == 1


async def test_sessions_pages_with_limit_and_offset(api: Api) -> None:
    for n in range(5):
        await create_session(api, title=f"s{n}")
    everything = await listed_ids(api, limit=100)
    assert len(everything) == 5

    pages = [await listed_ids(api, limit=2, offset=offset) for offset in (0, 2, 4)]

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [session_id for page in pages for session_id in page] == everything
    assert await listed_ids(api, limit=3, offset=1) == everything[1:4]
    assert await listed_ids(api, limit=2, offset=5) == []
    assert await listed_ids(api, limit=2, offset=1000) == []
    assert await listed_ids(api, limit=0) == []
    default = await api.data("query { sessions { id } }")
    assert [s["id"] for s in default["sessions"]] == everything


async def test_sessions_limit_100_is_allowed(api: Api) -> None:
    await create_session(api)
    assert len(await listed_ids(api, limit=100)) == 1


@pytest.mark.parametrize(
    "variables", [{"limit": 101}, {"limit": -1}, {"limit": 1000}, {"offset": -1}]
)
async def test_sessions_refuses_limit_outside_0_to_100_and_negative_offset(
    api: Api, variables: dict[str, int]
) -> None:
    error = await api.error(SESSION_IDS, variables)

    assert_readable(error, "BAD_USER_INPUT")
    assert next(iter(variables)) in error["message"]


# --- deleteSession ------------------------------------------------------------------------


async def test_delete_session_removes_the_session_and_all_its_messages(api: Api) -> None:
    session_id = str(uuid.uuid4())
    await create_session(api, id=session_id, title="doomed")
    await api.data(
        APPEND_MANY,
        {
            "sessionId": session_id,
            "messages": [
                {"role": "USER", "content": "one"},
                {"role": "TOOL", "toolCallId": "call-1", "content": "two"},
            ],
        },
    )

    assert await api.data(DELETE, {"id": session_id}) == {"deleteSession": True}

    assert await get(api, session_id) is None
    assert await session_count(api) == 0
    assert await listed_ids(api) == []
    error = await api.error(
        UPDATE_TOOL, {"sessionId": session_id, "toolCallId": "call-1", "content": "late"}
    )
    assert_readable(error, "NOT_FOUND")

    # The same id again starts from nothing: no message of the deleted session survived.
    recreated = await create_session(api, id=session_id)
    assert recreated["messageCount"] == 0
    assert recreated["revision"] == 0
    assert recreated["title"] is None
    stored = await get(api, session_id)
    assert stored["messages"] == []  # type: ignore[index]
    appended = await api.data(
        APPEND, {"sessionId": session_id, "message": {"role": "USER", "content": "fresh"}}
    )
    assert appended["appendMessage"]["sequence"] == 0


async def test_delete_session_is_false_when_there_is_nothing_to_delete(api: Api) -> None:
    session = await create_session(api)

    assert await api.data(DELETE, {"id": str(uuid.uuid4())}) == {"deleteSession": False}
    assert await api.data(DELETE, {"id": session["id"]}) == {"deleteSession": True}
    assert await api.data(DELETE, {"id": session["id"]}) == {"deleteSession": False}


async def test_delete_of_another_users_session_is_false_and_leaves_it_intact(api: Api) -> None:
    owner = api.as_user(new_user())
    owned = await populated_session(owner)

    assert await api.data(DELETE, {"id": owned["id"]}) == {"deleteSession": False}

    assert await get(owner, owned["id"]) == owned
    assert await session_count(owner) == 1


# --- isolation: another user's session is a missing session -------------------------------


SessionOperation = tuple[str, Callable[[str], dict[str, Any]]]

SESSION_ID_OPERATIONS: dict[str, SessionOperation] = {
    "session": (GET, lambda sid: {"id": sid}),
    "updateSession": (UPDATE, lambda sid: {"id": sid, "input": {"title": "stolen"}}),
    "updateSession-null-title": (UPDATE, lambda sid: {"id": sid, "input": {"title": None}}),
    "addTokenUsage": (
        ADD_TOKENS,
        lambda sid: {"sessionId": sid, "promptTokens": 1, "completionTokens": 1},
    ),
    "appendMessage": (
        APPEND,
        lambda sid: {"sessionId": sid, "message": {"role": "USER", "content": "intruder"}},
    ),
    "appendMessage-tool": (
        APPEND,
        lambda sid: {
            "sessionId": sid,
            "message": {"role": "TOOL", "toolCallId": "call-1", "content": "x"},
        },
    ),
    "appendMessages": (
        APPEND_MANY,
        lambda sid: {"sessionId": sid, "messages": [{"role": "USER", "content": "intruder"}]},
    ),
    "appendMessages-empty": (APPEND_MANY, lambda sid: {"sessionId": sid, "messages": []}),
    "updateToolResult": (
        UPDATE_TOOL,
        lambda sid: {"sessionId": sid, "toolCallId": "call-1", "content": "hijacked"},
    ),
    "deleteSession": (DELETE, lambda sid: {"id": sid}),
}


@pytest.mark.parametrize("name", list(SESSION_ID_OPERATIONS))
async def test_another_users_session_behaves_exactly_as_a_missing_one(api: Api, name: str) -> None:
    document, variables = SESSION_ID_OPERATIONS[name]
    owner = api.as_user(new_user())
    owned = await populated_session(owner)

    on_foreign = await api.post(document, variables(owned["id"]))
    on_missing = await api.post(document, variables(str(uuid.uuid4())))

    assert on_foreign == on_missing  # same data, same error, same message: nothing reveals it
    if name == "session":
        assert on_foreign == {"data": {"session": None}}
    elif name == "deleteSession":
        assert on_foreign == {"data": {"deleteSession": False}}
    else:
        assert on_foreign.get("errors") and len(on_foreign["errors"]) == 1, on_foreign
        assert_readable(on_foreign["errors"][0], "NOT_FOUND")
    assert await get(owner, owned["id"]) == owned
    assert await session_count(api) == 0


@pytest.mark.parametrize("name", list(SESSION_ID_OPERATIONS))
async def test_malformed_session_id_is_bad_user_input(api: Api, name: str) -> None:
    document, variables = SESSION_ID_OPERATIONS[name]

    error = await api.error(document, variables("not-a-uuid"))

    assert_readable(error, "BAD_USER_INPUT")


@pytest.mark.parametrize("name", list(SESSION_ID_OPERATIONS))
async def test_session_operations_without_a_token_are_unauthenticated(
    http: httpx.AsyncClient, api: Api, name: str
) -> None:
    document, variables = SESSION_ID_OPERATIONS[name]
    owned = await populated_session(api)

    error = await Api(http, None).error(document, variables(owned["id"]))

    assert_readable(error, "UNAUTHENTICATED")
    assert await get(api, owned["id"]) == owned


# --- the service role ---------------------------------------------------------------------


async def test_service_reads_and_writes_any_users_session(api: Api, user: str) -> None:
    service = api.as_user(new_user(), role="service")
    owned = await populated_session(api)
    sid = owned["id"]

    read = await get(service, sid)
    assert read == owned
    assert read["userId"] == user  # type: ignore[index]

    updated = await update(service, sid, title="Renamed by worker", credentials={"k": 1})
    assert updated["userId"] == user
    tokens = (
        await service.data(ADD_TOKENS, {"sessionId": sid, "promptTokens": 4, "completionTokens": 6})
    )["addTokenUsage"]
    one = (
        await service.data(
            APPEND,
            {
                "sessionId": sid,
                "message": {"role": "ASSISTANT", "toolCalls": [{"id": "call-2"}]},
            },
        )
    )["appendMessage"]
    many = (
        await service.data(
            APPEND_MANY,
            {
                "sessionId": sid,
                "messages": [
                    {"role": "TOOL", "toolCallId": "call-2", "content": "pending"},
                    {"role": "ASSISTANT", "content": "working on it"},
                ],
            },
        )
    )["appendMessages"]
    completed = (
        await service.data(
            UPDATE_TOOL, {"sessionId": sid, "toolCallId": "call-1", "content": "3 flights found"}
        )
    )["updateToolResult"]

    assert (tokens["totalPromptTokens"], tokens["totalCompletionTokens"]) == (15, 28)
    assert [one["sequence"]] + [m["sequence"] for m in many] == [3, 4, 5]
    assert completed["content"] == "3 flights found"
    after = await get(api, sid)  # the owner sees every change, still owns the session
    assert after["userId"] == user  # type: ignore[index]
    assert after["title"] == "Renamed by worker"  # type: ignore[index]
    assert after["credentials"] == {"k": 1}  # type: ignore[index]
    assert after["totalPromptTokens"] == 15  # type: ignore[index]
    assert after["messageCount"] == 6  # type: ignore[index]
    assert after["revision"] == owned["revision"] + 5  # type: ignore[index]
    assert [m["content"] for m in after["messages"]][2:] == [  # type: ignore[index]
        "3 flights found",
        None,
        "pending",
        "working on it",
    ]
    assert await session_count(service) == 0


async def test_service_deletes_any_users_session(api: Api) -> None:
    service = api.as_user(new_user(), role="service")
    owned = await populated_session(api)

    assert await service.data(DELETE, {"id": owned["id"]}) == {"deleteSession": True}

    assert await get(api, owned["id"]) is None
    assert await get(service, owned["id"]) is None
    assert await session_count(api) == 0
    assert await service.data(DELETE, {"id": owned["id"]}) == {"deleteSession": False}


async def test_service_sessions_and_session_count_list_only_its_own(api: Api) -> None:
    service_user = new_user()
    service = api.as_user(service_user, role="service")
    await create_session(api)
    await create_session(api.as_user(new_user()))

    assert await service.data(LIST) == {"sessionCount": 0, "sessions": []}

    own = await create_session(service, title="worker's own")
    assert own["userId"] == service_user
    listing = await service.data(LIST)
    assert listing["sessionCount"] == 1
    assert [s["id"] for s in listing["sessions"]] == [own["id"]]
    assert await session_count(api) == 1


async def test_service_sees_a_missing_session_as_null_and_not_found(api: Api) -> None:
    service = api.as_user(new_user(), role="service")
    missing = str(uuid.uuid4())

    assert await get(service, missing) is None
    error = await service.error(UPDATE, {"id": missing, "input": {"title": "x"}})
    assert_readable(error, "NOT_FOUND")
