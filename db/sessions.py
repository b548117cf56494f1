"""Queries on chat sessions. Each takes the caller's connection: the caller owns the transaction."""

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Update,
    bindparam,
    delete,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from core.errors import BadUserInput, Conflict, NotFound
from core.identity import Identity
from db.prepared import Connection, Prepared, PreparedRead, Statement
from db.tables import Row, sessions

MAX_TOKEN_TOTAL = 2**31 - 1  # GraphQL's Int is 32-bit

SESSION_NOT_FOUND = "No chat session with this id."


def accessible_by(caller: Identity) -> ColumnElement[bool]:
    """Sessions the caller may touch: its own, or any for a service."""
    return true() if caller.is_service else sessions.c.user_id == caller.user_id


class ForCaller:
    """A statement on sessions the caller may touch, built once in both forms: limited to
    the caller's own (its user id bound as `caller_id`), or not (a service).

    Building a statement and its cache key on every call costs about as much CPU as running
    it (`python -m bench.cpu` measures it). The hot statements are built this way, and
    run as `Prepared` statements; those whose shape depends on the call use `accessible_by`.
    """

    def __init__(self, build: Callable[[ColumnElement[bool]], Statement]) -> None:
        self._own = Prepared(build(sessions.c.user_id == bindparam("caller_id")))
        self._any = Prepared(build(true()))

    async def first(
        self, conn: Connection, caller: Identity, parameters: dict[str, Any]
    ) -> Row | None:
        """The statement's first row (its only one: these touch one session), or None."""
        if caller.is_service:
            return await self._any.first(conn, parameters)
        return await self._own.first(conn, {**parameters, "caller_id": caller.user_id})

    async def first_of_anyone(self, conn: Connection, parameters: dict[str, Any]) -> Row | None:
        """The statement's first row, whoever the session's owner (as for a service)."""
        return await self._any.first(conn, parameters)


_SESSION = ForCaller(
    lambda accessible: select(sessions).where(sessions.c.id == bindparam("key"), accessible)
)
_REVISION = ForCaller(
    lambda accessible: select(sessions.c.revision).where(
        sessions.c.id == bindparam("key"), accessible
    )
)


def claim_statement(*conditions: ColumnElement[bool], whole: bool = False) -> Update:
    """claim_revision's UPDATE of session `key` where `conditions` hold: revision + 1,
    `new_messages` sequences reserved, updated at `now` (all bound parameters). It returns
    the claim (the session's id, its new revision, message count and time), or with `whole`
    the session's every column as the write leaves it."""
    claimed = (
        sessions.c
        if whole
        else (sessions.c.id, sessions.c.revision, sessions.c.message_count, sessions.c.updated_at)
    )
    return (
        update(sessions)
        .where(sessions.c.id == bindparam("key"), *conditions)
        .values(
            revision=sessions.c.revision + 1,
            message_count=sessions.c.message_count + bindparam("new_messages"),
            updated_at=bindparam("now"),
        )
        .returning(*claimed)
    )


_CLAIM = ForCaller(claim_statement)
_CLAIM_WHOLE = ForCaller(partial(claim_statement, whole=True))


def utc_now() -> datetime:
    return datetime.now(UTC)


@PreparedRead
async def get_session(conn: Connection, *, session_id: uuid.UUID, caller: Identity) -> Row | None:
    return await _SESSION.first(conn, caller, {"key": session_id})


@PreparedRead
async def get_session_of_anyone(conn: Connection, *, session_id: uuid.UUID) -> Row | None:
    """The session, whoever owns it: for readers whose caller was checked already (a
    subscription, when it started)."""
    return await _SESSION.first_of_anyone(conn, {"key": session_id})


async def list_sessions_by_user(
    conn: AsyncConnection, *, user_id: str, limit: int, offset: int
) -> list[Row]:
    result = await conn.execute(
        select(sessions)
        .where(sessions.c.user_id == user_id)
        .order_by(sessions.c.updated_at.desc(), sessions.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(result.mappings())


async def count_sessions_by_user(conn: AsyncConnection, *, user_id: str) -> int:
    result = await conn.execute(
        select(func.count()).select_from(sessions).where(sessions.c.user_id == user_id)
    )
    return int(result.scalar_one())


async def create_session(
    conn: AsyncConnection, *, caller: Identity, session_id: uuid.UUID | None, title: str | None
) -> Row:
    """A new session owned by the caller; with a client id, a repeat returns the stored one."""
    if session_id is not None:
        stored = (
            (await conn.execute(select(sessions).where(sessions.c.id == session_id)))
            .mappings()
            .first()
        )
        if stored is not None:
            if stored["user_id"] != caller.user_id:
                raise Conflict("A chat session with this id already exists.")
            return stored
    now = utc_now()
    values: dict[str, Any] = {
        "id": session_id or uuid.uuid4(),
        "user_id": caller.user_id,
        "title": title,
        "created_at": now,
        "updated_at": now,
        "credentials": {},
        "successful_agent_runs": {},
        "successful_agent_schedules": {},
        "total_prompt_tokens": 0,
        "total_completion_tokens": 0,
        "message_count": 0,
        "revision": 0,
    }
    await conn.execute(insert(sessions).values(values))
    return values


async def update_session(
    conn: AsyncConnection, *, session_id: uuid.UUID, caller: Identity, changes: dict[str, Any]
) -> Row:
    """Apply `changes` (column → value) as one write: revision + 1, updatedAt now."""
    result = await conn.execute(
        update(sessions)
        .where(sessions.c.id == session_id, accessible_by(caller))
        .values(**changes, revision=sessions.c.revision + 1, updated_at=utc_now())
        .returning(*sessions.c)
    )
    row = result.mappings().first()
    if row is None:
        raise NotFound(SESSION_NOT_FOUND)
    return row


async def add_token_usage(
    conn: AsyncConnection,
    *,
    session_id: uuid.UUID,
    caller: Identity,
    prompt_tokens: int,
    completion_tokens: int,
) -> Row:
    """Add to the token totals in one atomic UPDATE, so concurrent calls never lose a count."""
    prompt, completion = sessions.c.total_prompt_tokens, sessions.c.total_completion_tokens
    result = await conn.execute(
        update(sessions)
        .where(
            sessions.c.id == session_id,
            accessible_by(caller),
            prompt + prompt_tokens <= MAX_TOKEN_TOTAL,
            completion + completion_tokens <= MAX_TOKEN_TOTAL,
        )
        .values(
            total_prompt_tokens=prompt + prompt_tokens,
            total_completion_tokens=completion + completion_tokens,
            revision=sessions.c.revision + 1,
            updated_at=utc_now(),
        )
        .returning(*sessions.c)
    )
    row = result.mappings().first()
    if row is not None:
        return row
    if await get_session(conn, session_id=session_id, caller=caller) is None:
        raise NotFound(SESSION_NOT_FOUND)
    raise BadUserInput(f"Token totals would exceed {MAX_TOKEN_TOTAL}.")


async def claim_revision(
    conn: AsyncConnection,
    *,
    session_id: uuid.UUID,
    caller: Identity,
    new_messages: int = 0,
    whole: bool = False,
) -> Row:
    """Start a write on a session: bump its revision, reserve `new_messages` sequences.

    The UPDATE locks the session row until the transaction ends, so concurrent writers
    to one session queue here and each gets its own revision and sequence range.
    Returns the new `revision` and `message_count` (the end of the reserved range), and
    with `whole` every column of the session as the write leaves it.
    """
    row = await (_CLAIM_WHOLE if whole else _CLAIM).first(
        conn, caller, {"key": session_id, "new_messages": new_messages, "now": utc_now()}
    )
    if row is None:
        raise NotFound(SESSION_NOT_FOUND)
    return row


async def delete_session(conn: AsyncConnection, *, session_id: uuid.UUID, caller: Identity) -> bool:
    """Delete the session and (by cascade) its messages; False when there was none to delete."""
    result = await conn.execute(
        delete(sessions).where(sessions.c.id == session_id, accessible_by(caller))
    )
    return bool(result.rowcount)


async def revisions_by_id(
    conn: AsyncConnection, *, session_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """The current revision of each of `session_ids` that exists (any owner)."""
    revisions: dict[uuid.UUID, int] = {}
    for start in range(0, len(session_ids), 1000):
        result = await conn.execute(
            select(sessions.c.id, sessions.c.revision).where(
                sessions.c.id.in_(session_ids[start : start + 1000])
            )
        )
        revisions.update({row.id: row.revision for row in result})
    return revisions


@PreparedRead
async def get_revision(conn: Connection, *, session_id: uuid.UUID, caller: Identity) -> int | None:
    """The session's revision, or None when it does not exist or the caller may not see it."""
    row = await _REVISION.first(conn, caller, {"key": session_id})
    return None if row is None else row["revision"]
