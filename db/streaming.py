"""Messages whose work is still running: content streamed in chunks, operations that end.

A message is COMPLETE (what every message appended without a status is), PENDING (a tool
operation started, no result yet), STREAMING (its content is being written) or FAILED
(it ended without a result; `failure_reason` says why). Each change here is one write with
its own revision, like every other: claim the session's next revision, then change the
message, in one transaction; on PostgreSQL a chunk does both in one statement
(SINGLE_STATEMENT_CHUNK), which relies on that order: a message changes only in a write
that claimed its session's revision first.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Integer,
    LargeBinary,
    String,
    Update,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from core.errors import BadUserInput, Conflict, NotFound
from core.identity import Identity
from db.engine import Database
from db.prepared import Connection, Prepared, PreparedWrite
from db.sessions import ForCaller, claim_revision, claim_statement, utc_now
from db.tables import COMPLETE, FAILED, OPEN, STREAMING, Row, messages, sessions
from db.text import utf16_units

MESSAGE_NOT_FOUND = "The session has no message with this id."
EXPIRY_STATEMENT = "chatstore: overdue operations"
DEADLINE_PASSED = "The deadline passed before the operation ended."

# Who expires overdue operations: the server itself, on any user's session.
SERVER = Identity(user_id="chatstore", is_service=True)


@dataclass(frozen=True, slots=True)
class Chunked:
    """What a chunk's write returns: the message as it changed, and, when asked for, the
    session's row (every column) as the same write left it."""

    message: Row
    session: Row | None


async def append_chunk(
    database: Database,
    *,
    session_id: uuid.UUID,
    caller: Identity,
    message_id: uuid.UUID,
    text: str,
    done: bool,
    deadline: datetime | None,
    max_content_bytes: int,
    with_session: bool = False,
) -> Chunked:
    """`append_content` as one write. On PostgreSQL it is tried first as a single
    statement, without BEGIN and COMMIT round trips. With `with_session`, the write returns
    the session's row too."""
    chunk: dict[str, Any] = {
        "session_id": session_id,
        "caller": caller,
        "message_id": message_id,
        "text": text,
        "done": done,
        "deadline": deadline,
        "max_content_bytes": max_content_bytes,
        "with_session": with_session,
    }
    if database.chunks_in_with:
        chunked = await database.write_at_once(append_content_at_once, **chunk)
        if chunked is not None:
            return chunked
    return await database.write(append_content, **chunk)


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
    with_session: bool = False,
) -> Chunked:
    """Add `text` to the end of a STREAMING message; `done` makes it COMPLETE. The chunk,
    where it starts and the message's revision before it are kept with the message, so a
    subscriber that had that revision gets the chunk alone (resolvers/subscriptions.py).
    The claim is the write's only change to the session's row: with `with_session`, the
    row it returns is the session as the write leaves it."""
    claim = await claim_revision(conn, session_id=session_id, caller=caller, whole=with_session)
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
            **_chunk_parameters(message_id, text, done, deadline),
            "revision": claim["revision"],
            "updated_at": claim["updated_at"],
        },
    )
    assert row is not None  # found above, and the session's row lock keeps it
    return Chunked(row, claim if with_session else None)


@PreparedWrite
async def append_content_at_once(
    conn: Connection,
    *,
    session_id: uuid.UUID,
    caller: Identity,
    message_id: uuid.UUID,
    text: str,
    done: bool,
    deadline: datetime | None,
    max_content_bytes: int,
    with_session: bool = False,
) -> Chunked | None:
    """`append_content` with one statement, on an autocommit connection (PostgreSQL only:
    SQLite has no writes in WITH). None when that statement wrote nothing: `append_content`
    then answers as it would have (NOT_FOUND, CONFLICT, BAD_USER_INPUT), or takes the chunk
    if a concurrent write was all that stood in the way."""
    row = await (_CHUNK_AT_ONCE_WITH_SESSION if with_session else _CHUNK_AT_ONCE).first(
        conn,
        caller,
        {
            **_chunk_parameters(message_id, text, done, deadline),
            "key": session_id,
            "text_bytes": len(text.encode()),
            "max_content_bytes": max_content_bytes,
            "new_messages": 0,
            "now": utc_now(),
        },
    )
    if row is None:
        return None
    if not with_session:
        return Chunked(row, None)
    return Chunked(
        {column: row[column] for column in _MESSAGE_COLUMNS},
        {column: row[label] for column, label in _SESSION_LABELS.items()},
    )


def _chunk_parameters(
    message_id: uuid.UUID, text: str, done: bool, deadline: datetime | None
) -> dict[str, Any]:
    """The parameters of `_added_chunk` but the revision and the time."""
    return {
        "message_id": message_id,
        "text": text,
        "units": utf16_units(text),
        "status": COMPLETE if done else STREAMING,
        "keep_deadline": not done and deadline is None,
        "deadline": None if done else deadline,
    }


def _streamed_size(content_bytes: ColumnElement[Any]) -> Prepared:
    """A message's status and its content's UTF-8 size."""
    return Prepared(
        select(messages.c.status, content_bytes.label("content_bytes")).where(
            messages.c.id == bindparam("message_id"),
            messages.c.session_id == bindparam("session_id"),
        )
    )


def _added_chunk(revision: ColumnElement[Any], updated_at: ColumnElement[Any]) -> Update:
    """The message `message_id` with the chunk `text` added, at `revision`."""
    return (
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
            revision=revision,
            updated_at=updated_at,
        )
        .returning(*messages.c)
    )


def _content_bytes(dialect: str) -> ColumnElement[Any]:
    """The UTF-8 size of a message's content, as `dialect` computes it."""
    if dialect == "postgresql":
        return func.octet_length(messages.c.content)
    return func.length(cast(messages.c.content, LargeBinary))


# Built once, so that a chunk (the most frequent write there is) costs SQLAlchemy no
# statement building or cache key of its own; by dialect, for the content's size.
_STREAMED_SIZE = {
    dialect: _streamed_size(_content_bytes(dialect)) for dialect in ("postgresql", "sqlite")
}
_ADD_CHUNK = Prepared(
    _added_chunk(
        bindparam("revision", type_=Integer),
        bindparam("updated_at", type_=messages.c.updated_at.type),
    )
)


def _chunk_added_at_once(accessible: ColumnElement[bool], *, with_session: bool = False) -> Update:
    """A chunk as one statement: the claim of db.sessions.claim_revision and the message's
    update, which commit together or not at all. The claim matches nothing, and so nothing
    is written, when the statement cannot decide alone: the session is not the caller's,
    the message is not a STREAMING one of the session, the chunk would take its content
    past `max_content_bytes`, or the session changed after the statement began.

    That last condition keeps the checks true. The statement checks the message as it was
    when the statement began, and a write holding the session's row lock then may change
    the message before it commits and hands the lock over (a chunk with `done`, a failure).
    Every change to a message claims its session's revision first, so the revision the
    statement began with, still the session's once the lock is its own, says the message
    is as the statement checked it.

    With `with_session`, the claim returns the session's every column and the statement
    returns them after the message's, each under its `_SESSION_LABELS` name.
    """
    began = sessions.alias("began")
    revision_read = select(began.c.revision).where(began.c.id == bindparam("key")).scalar_subquery()
    size = func.coalesce(_content_bytes("postgresql"), 0)
    takes_chunk = exists().where(
        messages.c.id == bindparam("message_id"),
        messages.c.session_id == bindparam("key"),
        messages.c.status == STREAMING,
        size + bindparam("text_bytes", type_=Integer) <= bindparam("max_content_bytes"),
    )
    claim = claim_statement(
        accessible, takes_chunk, sessions.c.revision == revision_read, whole=with_session
    ).cte("claim")
    # The claim's columns make it the update's FROM: no claim, no row to update.
    added = _added_chunk(claim.c.revision, claim.c.updated_at).where(
        messages.c.session_id == claim.c.id
    )
    if not with_session:
        return added
    return added.returning(
        *(claim.c[column].label(label) for column, label in _SESSION_LABELS.items())
    )


# The message's columns, and the session's under names of their own beside them.
_MESSAGE_COLUMNS = tuple(column.key for column in messages.c)
_SESSION_LABELS = {column.key: f"session.{column.key}" for column in sessions.c}
_CHUNK_AT_ONCE = ForCaller(_chunk_added_at_once)
_CHUNK_AT_ONCE_WITH_SESSION = ForCaller(partial(_chunk_added_at_once, with_session=True))


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
