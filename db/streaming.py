"""Messages whose work is still running: content streamed in chunks, operations that end.

A message is COMPLETE (what every message appended without a status is), PENDING (a tool
operation started, no result yet), STREAMING (its content is being written) or FAILED
(it ended without a result; `failure_reason` says why). Each change here is one write with
its own revision, like every other: claim the session's next revision, then change the
message, in one transaction.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Integer,
    LargeBinary,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from core.errors import BadUserInput, Conflict, NotFound
from core.identity import Identity
from db.engine import Database
from db.prepared import Prepared
from db.sessions import claim_revision
from db.tables import COMPLETE, FAILED, OPEN, STREAMING, Row, messages
from db.text import utf16_units

MESSAGE_NOT_FOUND = "The session has no message with this id."
EXPIRY_STATEMENT = "chatstore: overdue operations"
DEADLINE_PASSED = "The deadline passed before the operation ended."

# Who expires overdue operations: the server itself, on any user's session.
SERVER = Identity(user_id="chatstore", is_service=True)


async def append_content(
    conn: AsyncConnection,
    *,
    session_id: uuid.UUID,
    caller: Identity,
    message_id: uuid.UUID,
    text: str,
    done: bool,
    deadline: datetime | None,
    max_content_bytes: int,
) -> Row:
    """Add `text` to the end of a STREAMING message; `done` makes it COMPLETE. The chunk,
    where it starts and the message's revision before it are kept with the message, so a
    subscriber that had that revision gets the chunk alone (resolvers/subscriptions.py)."""
    claim = await claim_revision(conn, session_id=session_id, caller=caller)
    found = await _STREAMED_SIZE[conn.dialect.name].first(
        conn, {"message_id": message_id, "session_id": session_id}
    )
    if found is None:
        raise NotFound(MESSAGE_NOT_FOUND)
    if found["status"] != STREAMING:
        raise Conflict(f"The message is {found['status']}: only a STREAMING message takes content.")
    if (found["content_bytes"] or 0) + len(text.encode()) > max_content_bytes:
        raise BadUserInput(f"content would be larger than the limit of {max_content_bytes} bytes.")
    row = await _ADD_CHUNK.first(
        conn,
        {
            "message_id": message_id,
            "text": text,
            "units": utf16_units(text),
            "status": COMPLETE if done else STREAMING,
            "keep_deadline": not done and deadline is None,
            "deadline": None if done else deadline,
            "revision": claim["revision"],
            "updated_at": claim["updated_at"],
        },
    )
    assert row is not None  # found above, and the session's row lock keeps it
    return row


def _streamed_size(content_bytes: ColumnElement[Any]) -> Prepared:
    """A message's status and its content's UTF-8 size."""
    return Prepared(
        select(messages.c.status, content_bytes.label("content_bytes")).where(
            messages.c.id == bindparam("message_id"),
            messages.c.session_id == bindparam("session_id"),
        )
    )


# Built once, so that a chunk (the most frequent write there is) costs SQLAlchemy no
# statement building or cache key of its own; by dialect, for the content's size.
_STREAMED_SIZE = {
    "postgresql": _streamed_size(func.octet_length(messages.c.content)),
    "sqlite": _streamed_size(func.length(cast(messages.c.content, LargeBinary))),
}
_ADD_CHUNK = Prepared(
    update(messages)
    .where(messages.c.id == bindparam("message_id"))
    .values(
        content=func.coalesce(messages.c.content, "") + bindparam("text", type_=String),
        content_units=messages.c.content_units + bindparam("units", type_=Integer),
        last_chunk=bindparam("text", type_=String),
        last_chunk_offset=messages.c.content_units,
        previous_revision=messages.c.revision,
        status=bindparam("status", type_=String),
        deadline=case(
            (bindparam("keep_deadline", type_=Boolean), messages.c.deadline),
            else_=bindparam("deadline", type_=messages.c.deadline.type),
        ),
        revision=bindparam("revision", type_=Integer),
        updated_at=bindparam("updated_at", type_=messages.c.updated_at.type),
    )
    .returning(*messages.c)
)


async def fail(
    conn: AsyncConnection,
    *,
    session_id: uuid.UUID,
    caller: Identity,
    message_id: uuid.UUID,
    reason: str,
) -> Row:
    """End a PENDING or STREAMING message as FAILED, with `reason`."""
    claim = await claim_revision(conn, session_id=session_id, caller=caller)
    row = await _change(conn, message_id, claim, _failed(reason), messages.c.status.in_(OPEN))
    if row is not None:
        return row
    status = (
        await conn.execute(
            select(messages.c.status).where(
                messages.c.id == message_id, messages.c.session_id == session_id
            )
        )
    ).scalar()
    if status is None:
        raise NotFound(MESSAGE_NOT_FOUND)
    raise Conflict(f"The message is {status}: only a PENDING or STREAMING message can fail.")


async def expire_overdue(database: Database, *, now: datetime, limit: int = 100) -> list[Row]:
    """Mark FAILED the open messages whose deadline has passed, each in a write of its own
    with a new revision; return them. Several processes may run this at once: each message
    expires once, in the first write that finds it still open (the others change nothing)."""
    overdue = await database.read(_overdue, now=now, limit=limit)
    expired = []
    for message_id, session_id in overdue:
        try:
            expired.append(
                await database.write(_expire, message_id=message_id, session_id=session_id, now=now)
            )
        except (_NotOverdue, NotFound):  # ended, or its session deleted, meanwhile
            continue
    return expired


async def _overdue(conn: AsyncConnection, *, now: datetime, limit: int) -> list[Any]:
    result = await conn.execute(
        select(messages.c.id, messages.c.session_id)
        # Names the statement in the server's logs, and for tests counting a request's own.
        .prefix_with(f"/* {EXPIRY_STATEMENT} */")
        .where(_open_past(now))
        .order_by(messages.c.deadline)
        .limit(limit)
    )
    return list(result)


class _NotOverdue(Exception):
    """The message was ended meanwhile: its write is rolled back, claim included."""


async def _expire(
    conn: AsyncConnection, *, message_id: uuid.UUID, session_id: uuid.UUID, now: datetime
) -> Row:
    claim = await claim_revision(conn, session_id=session_id, caller=SERVER)
    row = await _change(conn, message_id, claim, _failed(DEADLINE_PASSED), _open_past(now))
    if row is None:
        raise _NotOverdue
    return row


def _open_past(now: datetime) -> ColumnElement[bool]:
    return and_(messages.c.status.in_(OPEN), messages.c.deadline <= now)


def _failed(reason: str) -> dict[str, Any]:
    return {"status": FAILED, "failure_reason": reason, "deadline": None, "last_chunk": None}


async def _change(
    conn: AsyncConnection,
    message_id: uuid.UUID,
    claim: Row,
    changes: dict[str, Any],
    *conditions: ColumnElement[bool],
) -> Row | None:
    """Apply `changes` to the message at the claimed revision; None if `conditions` fail."""
    result = await conn.execute(
        update(messages)
        .where(messages.c.id == message_id, *conditions)
        .values(**changes, revision=claim["revision"], updated_at=claim["updated_at"])
        .returning(*messages.c)
    )
    return result.mappings().first()
