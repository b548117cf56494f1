"""Messages, on SQLite and on PostgreSQL: sequences, appends, revisions, idempotent retries,
the one-TOOL-message-per-toolCallId rule, updateToolResult, message windows, the content and
batch size limits, concurrent appends, and the statement count of loading many sessions with
their messages (no N+1).
"""

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.clients import (
    Api,
    append,
    append_many,
    counted_statements,
    load_session,
    new_session_id,
    new_user,
    operation,
    token_for,
    tool,
)
from tests.servers import RunningServer, database_url, running_server

MiB = 1024 * 1024
INT_MAX = 2**31 - 1
INT_MIN = -(2**31)

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$")

APPEND_MESSAGE = operation("AppendMessage")
APPEND_MESSAGES = operation("AppendMessages")
UPDATE_TOOL_RESULT = operation("UpdateToolResult")
SESSION_MESSAGES = operation("SessionMessages")

# The session fields that tell whether a write happened.
SESSION_STATE = """
query SessionState($id: ID!) {
  session(id: $id) { revision messageCount updatedAt }
}
"""

SESSIONS_WITH_LATEST_MESSAGES = """
query SessionsWithLatestMessages {
  sessions(limit: 50) {
    id
    revision
    messages(last: 20) { id sessionId sequence content revision }
  }
}
"""

UPDATE_TITLE = """
mutation UpdateTitle($id: ID!, $title: String) {
  updateSession(id: $id, input: {title: $title}) { revision updatedAt }
}
"""

ADD_TOKEN_USAGE = """
mutation AddTokens($id: ID!) {
  addTokenUsage(sessionId: $id, promptTokens: 3, completionTokens: 4) { revision updatedAt }
}
"""


# --- helpers ---------------------------------------------------------------------------------


def at(value: str) -> datetime:
    """A DateTime from the API, checked to be UTC with microseconds."""
    assert TIMESTAMP.match(value), f"not a UTC timestamp with microseconds: {value!r}"
    return datetime.fromisoformat(value)


def assert_readable(error: dict[str, Any], code: str, *words: str) -> None:
    """The error has `code` and a message a person can act on, naming `words`."""
    assert error["extensions"]["code"] == code, error
    message = error["message"]
    assert isinstance(message, str) and len(message) > 10, error
    assert "Traceback" not in message and "sqlalchemy" not in message.lower(), error
    assert "Internal server error" not in message, error
    for word in words:
        assert word.lower() in message.lower(), f"{word!r} not in {message!r}"


async def state(api: Api, session_id: str) -> dict[str, Any]:
    data = await api.data(SESSION_STATE, {"id": session_id})
    assert data["session"] is not None
    return data["session"]


def user_messages(count: int, prefix: str = "m") -> list[dict[str, Any]]:
    return [{"role": "USER", "content": f"{prefix}{index}"} for index in range(count)]


# --- sequences and stored fields -------------------------------------------------------------


async def test_append_message_assigns_sequences_from_zero_and_returns_every_field_as_stored(
    api: Api,
) -> None:
    session_id = await new_session_id(api)
    tool_calls = [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "search", "arguments": '{"q": "café ☕", "n": 3}'},
        },
        {"id": "call_2", "type": "function", "function": {"name": "noop", "arguments": "{}"}},
    ]
    function_call = {
        "name": "lookup",
        "arguments": {"nested": {"list": [1, 2.5, True, None, "ü"]}, "empty": {}},
    }
    inputs: list[dict[str, Any]] = [
        {"role": "SYSTEM", "content": "You are helpful."},
        {"role": "USER", "content": "héllo wörld 👋\nline two", "name": "alice"},
        {
            "role": "ASSISTANT",
            "content": None,
            "refusal": "I can't do that.",
            "toolCalls": tool_calls,
            "functionCall": function_call,
        },
        {"role": "TOOL", "content": "", "toolCallId": "call_1", "name": "search"},
        {"role": "DEVELOPER", "content": "dev note"},
        {"role": "FUNCTION", "content": "result", "name": "lookup"},
    ]
    returned = []
    for expected_sequence, message in enumerate(inputs):
        result = await append(api, session_id, message)
        assert result["sequence"] == expected_sequence
        assert result["sessionId"] == session_id
        uuid.UUID(result["id"])
        for field in ("content", "name", "toolCallId", "refusal", "toolCalls", "functionCall"):
            assert result[field] == message.get(field), (field, result)
        assert result["role"] == message["role"]
        assert at(result["updatedAt"]) >= at(result["createdAt"])
        assert (await state(api, session_id))["messageCount"] == expected_sequence + 1
        returned.append(result)

    session = await load_session(api, session_id)
    assert session["messageCount"] == len(inputs)
    assert session["messages"] == returned
    # JSON lists stay lists, JSON objects stay objects, exactly.
    assert session["messages"][2]["toolCalls"] == tool_calls
    assert session["messages"][2]["functionCall"] == function_call
    assert session["messages"][3]["content"] == ""
    assert session["messages"][2]["content"] is None


async def test_client_chosen_message_id_is_kept(api: Api) -> None:
    session_id = await new_session_id(api)
    message_id = str(uuid.uuid4())
    result = await append(api, session_id, {"id": message_id, "role": "USER", "content": "hi"})
    assert result["id"] == message_id
    assert (await load_session(api, session_id))["messages"][0]["id"] == message_id


# --- appendMessages ----------------------------------------------------------------------------


async def test_append_messages_stores_all_in_order_with_contiguous_sequences_as_one_write(
    api: Api,
) -> None:
    session_id = await new_session_id(api)
    await append(api, session_id, {"role": "SYSTEM", "content": "first"})
    before = await state(api, session_id)
    assert before["revision"] == 1

    batch: list[dict[str, Any]] = [
        {"role": "USER", "content": "question"},
        {"role": "ASSISTANT", "toolCalls": [{"id": "c1", "type": "function"}]},
        tool("c1", "answer"),
        {"role": "ASSISTANT", "content": "done"},
    ]
    results = await append_many(api, session_id, batch)

    after = await state(api, session_id)
    assert after["revision"] == before["revision"] + 1
    assert after["messageCount"] == 5
    assert at(after["updatedAt"]) > at(before["updatedAt"])
    assert [m["sequence"] for m in results] == [1, 2, 3, 4]
    assert [m["revision"] for m in results] == [after["revision"]] * 4
    assert [m["content"] for m in results] == [m.get("content") for m in batch]
    assert [m["role"] for m in results] == [m["role"] for m in batch]
    assert len({m["id"] for m in results}) == 4
    assert (await load_session(api, session_id))["messages"][1:] == results


async def test_empty_append_messages_returns_empty_list_and_changes_nothing(api: Api) -> None:
    session_id = await new_session_id(api)
    await append(api, session_id, {"role": "USER", "content": "one"})
    before = await state(api, session_id)

    assert await append_many(api, session_id, []) == []

    assert await state(api, session_id) == before


INVALID_BATCH_MEMBERS = {
    "malformed-id": (
        {"id": "not-a-uuid", "role": "USER", "content": "x"},
        "BAD_USER_INPUT",
        ("uuid",),
    ),
    "tool-call-id-already-answered-in-session": (
        tool("call-taken", "pending"),
        "CONFLICT",
        ("call-taken",),
    ),
    "same-tool-call-id-twice-in-batch": (
        tool("call-twice", "pending"),
        "CONFLICT",
        ("toolcallid",),
    ),
}


@pytest.mark.parametrize("case", INVALID_BATCH_MEMBERS, ids=list(INVALID_BATCH_MEMBERS))
async def test_one_invalid_message_fails_the_whole_batch_and_stores_none(
    api: Api, case: str
) -> None:
    invalid, code, words = INVALID_BATCH_MEMBERS[case]
    session_id = await new_session_id(api)
    await append(api, session_id, tool("call-taken", "done"))
    before = await load_session(api, session_id)

    batch = [{"role": "USER", "content": "valid before"}, invalid]
    if case == "same-tool-call-id-twice-in-batch":
        batch.append(tool("call-twice", "pending"))
    batch.append({"role": "ASSISTANT", "content": "valid after"})
    error = await api.error(APPEND_MESSAGES, {"sessionId": session_id, "messages": batch})

    assert_readable(error, code, *words)
    assert await load_session(api, session_id) == before


async def test_two_messages_with_the_same_id_in_one_batch_are_refused(api: Api) -> None:
    session_id = await new_session_id(api)
    before = await state(api, session_id)
    message_id = str(uuid.uuid4())
    batch = [
        {"id": message_id, "role": "USER", "content": "a"},
        {"id": message_id, "role": "USER", "content": "b"},
    ]
    error = await api.error(APPEND_MESSAGES, {"sessionId": session_id, "messages": batch})

    assert_readable(error, "BAD_USER_INPUT", "id")
    assert await state(api, session_id) == before


async def test_default_batch_limit_accepts_1000_messages_and_refuses_1001(api: Api) -> None:
    session_id = await new_session_id(api)
    before = await state(api, session_id)
    error = await api.error(
        APPEND_MESSAGES, {"sessionId": session_id, "messages": user_messages(1001)}
    )
    assert_readable(error, "BAD_USER_INPUT", "1000")
    assert await state(api, session_id) == before

    results = await append_many(api, session_id, user_messages(1000))
    assert [m["sequence"] for m in results] == list(range(1000))
    after = await state(api, session_id)
    assert (after["revision"], after["messageCount"]) == (1, 1000)


# --- revisions ---------------------------------------------------------------------------------


async def test_every_write_adds_one_to_revision_and_moves_updated_at_forward(api: Api) -> None:
    session_id = await new_session_id(api)
    created = await state(api, session_id)
    assert created["revision"] == 0
    history = [created]

    async def wrote(expected_revision: int) -> dict[str, Any]:
        now = await state(api, session_id)
        assert now["revision"] == expected_revision
        assert at(now["updatedAt"]) > at(history[-1]["updatedAt"])
        history.append(now)
        return now

    first = await append(api, session_id, {"role": "USER", "content": "hi"})
    assert first["revision"] == 1
    await wrote(1)

    batch = await append_many(
        api, session_id, [{"role": "ASSISTANT", "toolCalls": [{"id": "t"}]}, tool("t", "pending")]
    )
    assert [m["revision"] for m in batch] == [2, 2]
    await wrote(2)

    updated = await api.data(
        UPDATE_TOOL_RESULT, {"sessionId": session_id, "toolCallId": "t", "content": "42"}
    )
    assert updated["updateToolResult"]["revision"] == 3
    await wrote(3)

    titled = await api.data(UPDATE_TITLE, {"id": session_id, "title": "named"})
    assert titled["updateSession"]["revision"] == 4
    await wrote(4)

    tokens = await api.data(ADD_TOKEN_USAGE, {"id": session_id})
    assert tokens["addTokenUsage"]["revision"] == 5
    await wrote(5)

    last = await append(api, session_id, {"role": "ASSISTANT", "content": "bye"})
    assert last["revision"] == 6
    await wrote(6)

    # Each message carries the revision of its own last change; the others keep theirs.
    messages = (await load_session(api, session_id))["messages"]
    assert [(m["sequence"], m["revision"]) for m in messages] == [(0, 1), (1, 2), (2, 3), (3, 6)]


# --- idempotent appends -------------------------------------------------------------------------


async def test_repeating_an_append_with_the_same_id_returns_the_stored_message_and_stores_nothing(
    api: Api,
) -> None:
    session_id = await new_session_id(api)
    await append(api, session_id, {"role": "SYSTEM", "content": "before"})
    message = {"id": str(uuid.uuid4()), "role": "USER", "content": "once"}
    first = await append(api, session_id, message)
    await append(api, session_id, {"role": "ASSISTANT", "content": "after"})
    before = await state(api, session_id)

    again = await append(api, session_id, message)

    assert again == first
    assert again["sequence"] == 1
    assert await state(api, session_id) == before
    assert [m["content"] for m in (await load_session(api, session_id))["messages"]] == [
        "before",
        "once",
        "after",
    ]


async def test_repeating_an_append_messages_batch_with_ids_returns_the_stored_batch(
    api: Api,
) -> None:
    session_id = await new_session_id(api)
    batch = [{"id": str(uuid.uuid4()), "role": "USER", "content": f"b{i}"} for i in range(3)]
    first = await append_many(api, session_id, batch)
    before = await state(api, session_id)

    again = await append_many(api, session_id, batch)

    assert again == first
    assert await state(api, session_id) == before
    assert before["messageCount"] == 3


async def test_same_message_id_in_another_session_of_the_same_user_is_conflict(api: Api) -> None:
    first_session = await new_session_id(api)
    other_session = await new_session_id(api)
    message = {"id": str(uuid.uuid4()), "role": "USER", "content": "mine"}
    await append(api, first_session, message)
    before = await state(api, other_session)

    error = await api.error(APPEND_MESSAGE, {"sessionId": other_session, "message": message})

    assert_readable(error, "CONFLICT", "id")
    assert await state(api, other_session) == before
    assert before["messageCount"] == 0


async def test_concurrent_retries_with_the_same_id_store_exactly_one_message(api: Api) -> None:
    session_id = await new_session_id(api)
    message = {"id": str(uuid.uuid4()), "role": "TOOL", "toolCallId": "c", "content": "r"}

    results = await asyncio.gather(*(append(api, session_id, message) for _ in range(10)))

    assert all(result == results[0] for result in results), results
    assert results[0]["sequence"] == 0
    assert results[0]["revision"] == 1
    session = await load_session(api, session_id)
    assert session["messageCount"] == 1
    assert session["revision"] == 1
    assert session["messages"] == [results[0]]


# --- one TOOL message per toolCallId -----------------------------------------------------------


async def test_second_tool_message_for_a_tool_call_id_is_conflict_and_changes_nothing(
    api: Api,
) -> None:
    session_id = await new_session_id(api)
    await append(api, session_id, tool("call-7", "first answer"))
    before = await load_session(api, session_id)

    error = await api.error(
        APPEND_MESSAGE,
        {"sessionId": session_id, "message": tool("call-7", "second answer")},
    )

    assert_readable(error, "CONFLICT", "call-7")
    assert await load_session(api, session_id) == before


async def test_tool_call_id_may_repeat_in_another_session_and_on_non_tool_messages(
    api: Api,
) -> None:
    session_id = await new_session_id(api)
    other_session = await new_session_id(api)
    await append(api, session_id, {"role": "ASSISTANT", "toolCallId": "call-9", "content": "ask"})
    await append(api, session_id, tool("call-9", "answer"))
    await append(api, session_id, {"role": "ASSISTANT", "toolCallId": "call-9", "content": "more"})
    await append(api, other_session, tool("call-9", "elsewhere"))

    messages = (await load_session(api, session_id))["messages"]
    assert [(m["role"], m["toolCallId"]) for m in messages] == [
        ("ASSISTANT", "call-9"),
        ("TOOL", "call-9"),
        ("ASSISTANT", "call-9"),
    ]
    assert (await load_session(api, other_session))["messages"][0]["content"] == "elsewhere"


# --- updateToolResult ---------------------------------------------------------------------------


async def test_update_tool_result_sets_content_with_new_revision_and_later_updated_at(
    api: Api,
) -> None:
    session_id = await new_session_id(api)
    await append(api, session_id, {"role": "ASSISTANT", "toolCalls": [{"id": "job"}]})
    running = await append(api, session_id, {**tool("job", "running…"), "name": "build"})
    await append(api, session_id, {"role": "USER", "content": "later message"})

    data = await api.data(
        UPDATE_TOOL_RESULT, {"sessionId": session_id, "toolCallId": "job", "content": "done ✓"}
    )
    updated = data["updateToolResult"]

    session = await load_session(api, session_id)
    assert updated["content"] == "done ✓"
    assert updated["revision"] == session["revision"] == 4
    assert at(updated["updatedAt"]) > at(running["updatedAt"])
    unchanged = ("id", "sessionId", "sequence", "role", "name", "toolCallId", "createdAt")
    assert {k: updated[k] for k in unchanged} == {k: running[k] for k in unchanged}
    assert session["messages"][1] == updated
    assert session["messageCount"] == 3


async def test_update_tool_result_without_a_tool_message_for_the_call_is_not_found(
    api: Api,
) -> None:
    session_id = await new_session_id(api)
    await append(api, session_id, {"role": "ASSISTANT", "toolCallId": "only-asked", "content": "?"})
    await append(api, session_id, tool("other-call", "pending"))
    before = await load_session(api, session_id)

    for tool_call_id in ("only-asked", "never-seen"):
        error = await api.error(
            UPDATE_TOOL_RESULT,
            {"sessionId": session_id, "toolCallId": tool_call_id, "content": "x"},
        )
        assert_readable(error, "NOT_FOUND", tool_call_id)

    assert await load_session(api, session_id) == before


async def test_update_tool_result_on_a_missing_or_foreign_session_is_not_found(api: Api) -> None:
    foreign_owner = api.as_user(new_user())
    foreign_session = await new_session_id(foreign_owner)
    await append(foreign_owner, foreign_session, tool("call", "pending"))
    before = await load_session(foreign_owner, foreign_session)

    for session_id in (str(uuid.uuid4()), foreign_session):
        error = await api.error(
            UPDATE_TOOL_RESULT, {"sessionId": session_id, "toolCallId": "call", "content": "x"}
        )
        assert_readable(error, "NOT_FOUND", "session")

    assert await load_session(foreign_owner, foreign_session) == before


# --- windows -----------------------------------------------------------------------------------

# Ten messages, sequences 0..9: arguments → the sequences returned.
WINDOWS: dict[str, tuple[dict[str, int], list[int]]] = {
    "neither-gives-whole-session": ({}, list(range(10))),
    "after-is-exclusive": ({"afterSequence": 3}, [4, 5, 6, 7, 8, 9]),
    "before-is-exclusive": ({"beforeSequence": 3}, [0, 1, 2]),
    "after-and-before": ({"afterSequence": 2, "beforeSequence": 7}, [3, 4, 5, 6]),
    "first-keeps-lowest": ({"first": 3}, [0, 1, 2]),
    "last-keeps-highest": ({"last": 3}, [7, 8, 9]),
    "first-within-window": ({"afterSequence": 2, "beforeSequence": 7, "first": 2}, [3, 4]),
    "last-within-window": ({"afterSequence": 2, "beforeSequence": 7, "last": 2}, [5, 6]),
    "last-page-before": ({"beforeSequence": 7, "last": 3}, [4, 5, 6]),
    "first-page-after": ({"afterSequence": 6, "first": 5}, [7, 8, 9]),
    "first-zero-is-empty": ({"first": 0}, []),
    "last-zero-is-empty": ({"last": 0}, []),
    "first-larger-than-window": ({"first": 100}, list(range(10))),
    "last-larger-than-window": ({"afterSequence": 7, "last": 100}, [8, 9]),
    "negative-after": ({"afterSequence": -5}, list(range(10))),
    "negative-before-is-empty": ({"beforeSequence": -1}, []),
    "before-zero-is-empty": ({"beforeSequence": 0}, []),
    "after-last-is-empty": ({"afterSequence": 9}, []),
    "int-max-after-is-empty": ({"afterSequence": INT_MAX}, []),
    "int-max-before-is-whole": ({"beforeSequence": INT_MAX}, list(range(10))),
    "int-min-after-is-whole": ({"afterSequence": INT_MIN, "last": INT_MAX}, list(range(10))),
    "int-min-before-is-empty": ({"beforeSequence": INT_MIN}, []),
    "equal-bounds-are-empty": ({"afterSequence": 5, "beforeSequence": 5}, []),
    "crossed-bounds-are-empty": ({"afterSequence": 6, "beforeSequence": 3}, []),
    "adjacent-bounds-are-empty": ({"afterSequence": 4, "beforeSequence": 5}, []),
}


@pytest.mark.parametrize("case", WINDOWS, ids=list(WINDOWS))
async def test_message_window_returns_the_expected_sequences_in_ascending_order(
    api: Api, case: str
) -> None:
    arguments, expected = WINDOWS[case]
    session_id = await new_session_id(api)
    await append_many(api, session_id, user_messages(10))

    data = await api.data(SESSION_MESSAGES, {"id": session_id, **arguments})

    messages = data["session"]["messages"]
    assert [m["sequence"] for m in messages] == expected
    assert [m["content"] for m in messages] == [f"m{s}" for s in expected]


BAD_WINDOWS = {
    "first-and-last": ({"first": 2, "last": 2}, ("first", "last")),
    "negative-first": ({"first": -1}, ("first",)),
    "negative-last": ({"last": -1}, ("last",)),
}


@pytest.mark.parametrize("case", BAD_WINDOWS, ids=list(BAD_WINDOWS))
async def test_bad_window_arguments_are_bad_user_input(api: Api, case: str) -> None:
    arguments, words = BAD_WINDOWS[case]
    session_id = await new_session_id(api)
    await append_many(api, session_id, user_messages(3))

    error = await api.error(SESSION_MESSAGES, {"id": session_id, **arguments})

    assert_readable(error, "BAD_USER_INPUT", *words)


# --- content and batch size limits --------------------------------------------------------------


@pytest.fixture(scope="module")
async def small_limits(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[httpx.AsyncClient]:
    """A dedicated server (SQLite) with 1,000 bytes of content and 5 messages per batch."""
    workdir: Path = tmp_path_factory.mktemp("small-limits")
    async with database_url("sqlite", workdir) as url:
        async with running_server(
            database_url=url, max_content_bytes=1000, max_batch_messages=5
        ) as running:
            async with httpx.AsyncClient(base_url=running.http_url, timeout=60) as client:
                yield client


@pytest.fixture
def limited(small_limits: httpx.AsyncClient) -> Api:
    return Api(small_limits, token_for(new_user()))


# (content, accepted): bytes of UTF-8 count, not characters.
CONTENT_SIZES = {
    "ascii-at-limit": ("a" * 1000, True),
    "ascii-over-limit": ("a" * 1001, False),
    "three-byte-chars-under-limit": ("€" * 333, True),  # 999 bytes
    "three-byte-chars-over-limit": ("€" * 334, False),  # 1002 bytes, 334 characters
    "four-byte-chars-at-limit": ("😀" * 250, True),  # 1000 bytes
    "four-byte-chars-over-limit": ("😀" * 251, False),  # 1004 bytes, 251 characters
    "two-byte-chars-over-limit": ("é" * 501, False),  # 1002 bytes, 501 characters
}


@pytest.mark.parametrize("case", CONTENT_SIZES, ids=list(CONTENT_SIZES))
async def test_content_size_limit_counts_utf8_bytes(limited: Api, case: str) -> None:
    content, accepted = CONTENT_SIZES[case]
    session_id = await new_session_id(limited)
    before = await state(limited, session_id)
    body = await limited.post(
        APPEND_MESSAGE, {"sessionId": session_id, "message": {"role": "USER", "content": content}}
    )

    if accepted:
        assert "errors" not in body, body
        assert body["data"]["appendMessage"]["content"] == content
        assert (await state(limited, session_id))["messageCount"] == 1
    else:
        assert len(body["errors"]) == 1, body
        assert_readable(body["errors"][0], "BAD_USER_INPUT", "content", "1000")
        assert await state(limited, session_id) == before


async def test_oversized_content_in_a_batch_stores_none_of_it(limited: Api) -> None:
    session_id = await new_session_id(limited)
    await append(limited, session_id, {"role": "USER", "content": "kept"})
    before = await load_session(limited, session_id)

    batch = [
        {"role": "USER", "content": "ok"},
        {"role": "ASSISTANT", "content": "x" * 1001},
        {"role": "USER", "content": "ok too"},
    ]
    error = await limited.error(APPEND_MESSAGES, {"sessionId": session_id, "messages": batch})

    assert_readable(error, "BAD_USER_INPUT", "content", "1000")
    assert await load_session(limited, session_id) == before


async def test_oversized_tool_result_is_refused_and_keeps_the_old_content(limited: Api) -> None:
    session_id = await new_session_id(limited)
    await append(limited, session_id, tool("call", "small"))
    before = await load_session(limited, session_id)

    error = await limited.error(
        UPDATE_TOOL_RESULT, {"sessionId": session_id, "toolCallId": "call", "content": "y" * 1001}
    )

    assert_readable(error, "BAD_USER_INPUT", "content", "1000")
    assert await load_session(limited, session_id) == before


async def test_batch_limit_setting_accepts_the_limit_and_refuses_one_more(limited: Api) -> None:
    session_id = await new_session_id(limited)
    before = await state(limited, session_id)
    error = await limited.error(
        APPEND_MESSAGES, {"sessionId": session_id, "messages": user_messages(6)}
    )
    assert_readable(error, "BAD_USER_INPUT", "5")
    assert await state(limited, session_id) == before

    results = await append_many(limited, session_id, user_messages(5))
    assert [m["sequence"] for m in results] == [0, 1, 2, 3, 4]


async def test_content_over_the_default_24_mib_is_bad_user_input_and_stores_nothing(
    api: Api,
) -> None:
    session_id = await new_session_id(api)
    before = await state(api, session_id)
    message = {"role": "USER", "content": "a" * (24 * MiB + 1)}

    error = await api.error(APPEND_MESSAGE, {"sessionId": session_id, "message": message})

    assert_readable(error, "BAD_USER_INPUT", "content")
    assert await state(api, session_id) == before


# --- concurrency -------------------------------------------------------------------------------


async def test_concurrent_appends_and_batches_get_distinct_gap_free_sequences(api: Api) -> None:
    session_id = await new_session_id(api)
    singles = [
        append(api, session_id, {"role": "USER", "content": f"single-{i}"}) for i in range(50)
    ]
    batches = [append_many(api, session_id, user_messages(5, f"batch-{b}-")) for b in range(10)]
    calls = [call for pair in zip(singles[::5], batches, strict=True) for call in pair]
    calls += [call for index, call in enumerate(singles) if index % 5]

    results: list[Any] = await asyncio.gather(*calls)

    writes = [result if isinstance(result, list) else [result] for result in results]
    sequences = sorted(m["sequence"] for write in writes for m in write)
    assert sequences == list(range(100))
    for write in writes:  # a batch is contiguous, in order, and one revision
        assert [m["sequence"] for m in write] == list(
            range(write[0]["sequence"], write[0]["sequence"] + len(write))
        )
        assert len({m["revision"] for m in write}) == 1
    assert sorted(write[0]["revision"] for write in writes) == list(range(1, 61))

    session = await load_session(api, session_id)
    assert session["revision"] == 60
    assert session["messageCount"] == 100
    assert [m["sequence"] for m in session["messages"]] == list(range(100))
    by_id = {m["id"]: m for write in writes for m in write}
    assert {m["id"]: m for m in session["messages"]} == by_id


# --- no N+1 ------------------------------------------------------------------------------------


async def _user_with_sessions(api: Api, count: int) -> tuple[Api, dict[str, list[str]]]:
    """A new user with `count` sessions of 3 + i % 4 messages each: id → contents."""
    owner = api.as_user(new_user())
    session_ids = await asyncio.gather(*(new_session_id(owner) for _ in range(count)))
    contents = {
        session_id: [f"{session_id[:8]}-{n}" for n in range(3 + index % 4)]
        for index, session_id in enumerate(session_ids)
    }
    await asyncio.gather(
        *(
            append_many(owner, session_id, [{"role": "USER", "content": c} for c in texts])
            for session_id, texts in contents.items()
        )
    )
    return owner, contents


async def test_loading_sessions_with_messages_runs_the_same_statements_for_5_or_50_sessions(
    server: RunningServer, api: Api
) -> None:
    counts = {}
    for count in (5, 50):
        owner, contents = await _user_with_sessions(api, count)
        with counted_statements(server) as statements:
            data = await owner.data(SESSIONS_WITH_LATEST_MESSAGES)
        counts[count] = len(statements)

        sessions = data["sessions"]
        assert {s["id"] for s in sessions} == set(contents)
        for session in sessions:
            assert [m["content"] for m in session["messages"]] == contents[session["id"]]
            assert [m["sequence"] for m in session["messages"]] == list(
                range(len(contents[session["id"]]))
            )
            assert {m["sessionId"] for m in session["messages"]} == {session["id"]}

    assert counts[5] == counts[50], counts
    assert 1 <= counts[50] <= 5, counts


@pytest.mark.speed_layer
@pytest.mark.parametrize(
    "message",
    [
        {"role": "USER", "content": "hello"},
        {"role": "TOOL", "toolCallId": "c1", "content": "result"},
        {"id": str(uuid.uuid4()), "role": "ASSISTANT", "content": "with a client id"},
    ],
)
async def test_one_message_on_postgresql_is_appended_by_one_statement(
    server: RunningServer, api: Api, message: dict[str, Any]
) -> None:
    """On PostgreSQL the claim and the insert are one statement, with no transaction around
    it; SQLite has no writes in WITH, so there it takes a transaction."""
    session_id = await new_session_id(api)
    with counted_statements(server) as statements:
        stored = await append(api, session_id, message)
    assert stored["sequence"] == 0 and stored["revision"] == 1, stored
    if server.settings.database_url.startswith("postgresql"):
        assert len(statements) == 1 and statements[0].startswith("WITH"), statements
    else:  # the UPDATE and the INSERT, after the checks of a client id or a toolCallId
        assert len(statements) >= 2, statements
    # A retry, or a second answer to the same tool call, takes the transaction: it tells.
    if "id" in message:
        assert await append(api, session_id, message) == stored
    if message["role"] == "TOOL":
        error = await api.error(
            operation("AppendMessage"), {"sessionId": session_id, "message": message}
        )
        assert error["extensions"]["code"] == "CONFLICT", error
    assert (await load_session(api, session_id))["messageCount"] == 1
