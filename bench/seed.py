"""The run's own data: sessions and messages written straight to PostgreSQL with COPY.

Rows look like what the server stores after `appendMessages` (same columns, JSONB tool
calls, one revision per write), so reads over HTTP and the raw floors see the same bytes.
"""

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from db.tables import STREAMING, messages, sessions
from db.text import utf16_units

USER = "bench"
LISTER = "lister"
TOOL_CALL_ID = "call-0"

SESSION_COLUMNS = [column.name for column in sessions.c]
MESSAGE_COLUMNS = [column.name for column in messages.c]

_WORDS = (
    "the agent reads the invoice folder, files each document by vendor and month, and "
    "reports what it could not match so a person can look at it before the books close "
)


def text(index: int, size: int) -> str:
    """Deterministic prose of about `size` characters."""
    prefix = f"#{index}: "
    body = (_WORDS * (size // len(_WORDS) + 1))[: max(size - len(prefix), 0)]
    return prefix + body


def message_input(index: int, *, tool_prefix: str = "call") -> dict[str, Any]:
    """The index-th message of a typical agent chat, as a GraphQL `MessageInput`.

    A cycle of four: the user's request, the assistant's tool call, the tool's result,
    the assistant's answer.
    """
    kind = index % 4
    if kind == 0:
        return {"role": "USER", "content": text(index, 200)}
    if kind == 1:
        arguments = json.dumps({"folder": f"/invoices/{index}", "month": "2026-11"})
        call = {
            "id": f"{tool_prefix}-{index}",
            "type": "function",
            "function": {"name": "file_invoices", "arguments": arguments},
        }
        return {"role": "ASSISTANT", "toolCalls": [call]}
    if kind == 2:
        return {
            "role": "TOOL",
            "toolCallId": f"{tool_prefix}-{index - 1}",
            "content": text(index, 300),
        }
    return {"role": "ASSISTANT", "content": text(index, 400)}


def message_row(
    session_id: uuid.UUID,
    sequence: int,
    message: dict[str, Any],
    now: datetime,
    revision: int,
    message_id: uuid.UUID | None = None,
) -> tuple[Any, ...]:
    """`message` (a `MessageInput`) as stored, in MESSAGE_COLUMNS order."""
    tool_calls = message.get("toolCalls")
    status = message.get("status", "COMPLETE")
    values = {
        "id": message_id or uuid.uuid4(),
        "session_id": session_id,
        "sequence": sequence,
        "role": message["role"],
        "content": message.get("content"),
        "tool_call_id": message.get("toolCallId"),
        "tool_calls": None if tool_calls is None else json.dumps(tool_calls),
        "status": status,
        # A streamed message's length in UTF-16 code units, as db.messages stores it.
        "content_units": utf16_units(message["content"]) if status == STREAMING else None,
        "created_at": now,
        "updated_at": now,
        "revision": revision,
    }
    return _record(MESSAGE_COLUMNS, values)


def session_row(
    session_id: uuid.UUID, user_id: str, now: datetime, message_count: int, revision: int
) -> tuple[Any, ...]:
    """A session as stored, in SESSION_COLUMNS order."""
    values = {
        "id": session_id,
        "user_id": user_id,
        "title": f"bench {session_id.hex[:8]}",
        "created_at": now,
        "updated_at": now,
        "credentials": "{}",
        "successful_agent_runs": "{}",
        "successful_agent_schedules": "{}",
        "total_prompt_tokens": 0,
        "total_completion_tokens": 0,
        "message_count": message_count,
        "revision": revision,
    }
    return _record(SESSION_COLUMNS, values)


def _record(columns: list[str], values: dict[str, Any]) -> tuple[Any, ...]:
    """`values` in the order of `columns`, for COPY or INSERT: null for a column left out."""
    return tuple(map(values.get, columns))


@dataclass(frozen=True)
class Stream:
    """A session whose one message is a STREAMING reply, empty so far (figure 9)."""

    session_id: uuid.UUID = field(default_factory=uuid.uuid4)
    message_id: uuid.UUID = field(default_factory=uuid.uuid4)


STREAMED_REPLY = {"role": "ASSISTANT", "content": "", "status": STREAMING}


@dataclass
class Data:
    """The ids of everything a run created, by what it is for."""

    history: uuid.UUID = field(default_factory=uuid.uuid4)
    big: uuid.UUID = field(default_factory=uuid.uuid4)
    fanout: uuid.UUID = field(default_factory=uuid.uuid4)
    appends: list[uuid.UUID] = field(default_factory=list)
    floor_appends: list[uuid.UUID] = field(default_factory=list)
    batches: list[uuid.UUID] = field(default_factory=list)
    floor_batches: list[uuid.UUID] = field(default_factory=list)
    listed: list[uuid.UUID] = field(default_factory=list)
    tools: list[uuid.UUID] = field(default_factory=list)
    streams: list[Stream] = field(default_factory=list)
    floor_streams: list[Stream] = field(default_factory=list)
    bytes_stream: Stream = field(default_factory=Stream)


async def seed(
    conn: asyncpg.Connection,
    *,
    history: int = 1,
    big: int = 1,
    append_sessions: int = 1,
    batch_reps: int = 1,
    listed: int = 1,
    listed_messages: int = 1,
    tool_sessions: int = 1,
    streams: int = 0,
) -> Data:
    """The bench's data, through COPY. Each size not given is the least a figure run alone
    needs of it (one of each, no streams)."""
    now = datetime.now(UTC)
    data = Data()
    data.streams = [Stream() for _ in range(streams)]
    data.floor_streams = [Stream() for _ in range(streams)]
    data.appends = [uuid.uuid4() for _ in range(append_sessions)]
    data.floor_appends = [uuid.uuid4() for _ in range(append_sessions)]
    data.batches = [uuid.uuid4() for _ in range(batch_reps)]
    data.floor_batches = [uuid.uuid4() for _ in range(2 * batch_reps)]
    data.listed = [uuid.uuid4() for _ in range(listed)]
    data.tools = [uuid.uuid4() for _ in range(tool_sessions)]

    sessions = [session_row(data.history, USER, now, history, 1)]
    sessions.append(session_row(data.big, USER, now, big, 1))
    sessions.append(session_row(data.fanout, USER, now, 1, 1))
    for session_id in data.appends + data.floor_appends + data.batches + data.floor_batches:
        sessions.append(session_row(session_id, USER, now, 0, 0))
    sessions += [session_row(s, LISTER, now, listed_messages, 1) for s in data.listed]
    sessions += [session_row(s, USER, now, 1, 1) for s in data.tools]
    replies = [*data.streams, *data.floor_streams, data.bytes_stream]
    sessions += [session_row(r.session_id, USER, now, 1, 1) for r in replies]
    await conn.copy_records_to_table("chat_session", records=sessions, columns=SESSION_COLUMNS)

    async def copy_chat(session_id: uuid.UUID, count: int) -> None:
        rows = [message_row(session_id, i, message_input(i), now, 1) for i in range(count)]
        await conn.copy_records_to_table("chat_message", records=rows, columns=MESSAGE_COLUMNS)

    await copy_chat(data.history, history)
    await copy_chat(data.big, big)
    for session_id in data.listed:
        await copy_chat(session_id, listed_messages)
    tool = {"role": "TOOL", "toolCallId": TOOL_CALL_ID, "content": "pending"}
    rows = [message_row(s, 0, tool, now, 1) for s in [data.fanout, *data.tools]]
    rows += [message_row(r.session_id, 0, STREAMED_REPLY, now, 1, r.message_id) for r in replies]
    await conn.copy_records_to_table("chat_message", records=rows, columns=MESSAGE_COLUMNS)
    await conn.execute("ANALYZE")
    return data
