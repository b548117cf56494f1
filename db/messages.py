"""Queries on chat messages: appends, tool results, windows and revision replays."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Insert,
    Select,
    String,
    and_,
    bindparam,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from core.errors import BadUserInput, Conflict, NotFound
from core.identity import Identity
from db.engine import Database
from db.message_json import JsonMembers, json_window
from db.prepared import Connection, Prepared, PreparedWrite
from db.sessions import (
    SESSION_NOT_FOUND,
    ForCaller,
    claim_revision,
    claim_statement,
    get_session,
    utc_now,
)
from db.tables import COMPLETE, PENDING, STREAMING, Row, messages
from db.text import utf16_units

TOOL = "TOOL"

# The JSON statements kept (one per shape of window and selection of fields).
MAX_JSON_STATEMENTS = 256

SERVER_COLUMNS = frozenset(
    {
        "session_id",
        "sequence",
        "created_at",
        "updated_at",
        "revision",
        "failure_reason",
        "content_units",
        "last_chunk",
        "last_chunk_offset",
        "previous_revision",
    }
)
"""The columns of a new message that the server fills in."""

CLIENT_COLUMNS = tuple(
    column.name for column in messages.c if column.name not in SERVER_COLUMNS | {"id"}
)
"""The columns of a new message that the client gives, besides its optional `id`."""


# The defaults the table declares for a new message's columns (status: COMPLETE).
_COLUMN_DEFAULTS = {
    column.name: column.default.arg
    for column in messages.c
    if column.default is not None and column.default.is_scalar
}


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A validated message to append: its `columns` (CLIENT_COLUMNS; one left out is null)
    and `id`, the client's, when it chose one."""

    columns: Mapping[str, Any]
    id: uuid.UUID | None = None

    @property
    def role(self) -> str:
        return self.columns["role"]

    @property
    def tool_call_id(self) -> str | None:
        return self.columns.get("tool_call_id")

    def client_values(self) -> dict[str, Any]:
        """A value for each of CLIENT_COLUMNS (one left out takes the column's default, else
        null), and the content's length when it is streamed."""
        values = {
            column: self.columns.get(column, _COLUMN_DEFAULTS.get(column))
            for column in CLIENT_COLUMNS
        }
        streamed = values["status"] == STREAMING
        values["content_units"] = utf16_units(values["content"] or "") if streamed else None
        return values


@dataclass(frozen=True, slots=True)
class Window:
    """Which messages of a session to return (bounds exclusive; at most one of first/last)."""

    after_sequence: int | None = None
    before_sequence: int | None = None
    first: int | None = None
    last: int | None = None

    def __post_init__(self) -> None:
        if self.first is not None and self.last is not None:
            raise BadUserInput("Pass either first or last, not both.")
        for name, value in (("first", self.first), ("last", self.last)):
            if value is not None and value < 0:
                raise BadUserInput(f"{name} must be ≥ 0, got {value}.")


async def append(
    database: Database, *, session_id: uuid.UUID, caller: Identity, new: Sequence[NewMessage]
) -> list[Row]:
    """Append `new` in order as one write (see `append_messages`). One message on
    PostgreSQL is tried first as a single statement, without BEGIN and COMMIT round trips."""
    if len(new) == 1 and database.writes_in_with:
        row = await database.write_at_once(
            append_message_at_once, session_id=session_id, caller=caller, new=new[0]
        )
        if row is not None:
            return [row]
    return await database.write(append_messages, session_id=session_id, caller=caller, new=new)


async def append_messages(
    conn: AsyncConnection,
    *,
    session_id: uuid.UUID,
    caller: Identity,
    new: Sequence[NewMessage],
) -> list[Row]:
    """Append `new` in order as one write, and return them as stored.

    Messages whose client id is already stored in this session are returned as stored
    (a retry); the others get contiguous sequences and the session's next revision.
    """
    stored = await _stored_by_client_id(conn, session_id=session_id, new=new)
    fresh = [message for message in new if message.id not in stored]
    if not fresh:  # nothing to write: an empty batch, or a retry of stored messages
        await _require_session(conn, session_id=session_id, caller=caller)
        return [stored[message.id] for message in new if message.id is not None]

    claim = await claim_revision(
        conn, session_id=session_id, caller=caller, new_messages=len(fresh)
    )
    await _refuse_second_tool_message(conn, session_id=session_id, fresh=fresh)
    first_sequence = claim["message_count"] - len(fresh)
    now = claim["updated_at"]
    rows = [
        {
            **_UNSET_COLUMNS,
            "id": message.id or uuid.uuid4(),
            **message.client_values(),
            "session_id": session_id,
            "sequence": first_sequence + offset,
            "created_at": now,
            "updated_at": now,
            "revision": claim["revision"],
        }
        for offset, message in enumerate(fresh)
    ]
    await conn.execute(_INSERT, rows)
    appended = iter(rows)
    return [stored[message.id] if message.id in stored else next(appended) for message in new]


# A new row starts with every column null, until the client's values and the claim's fill it.
_UNSET_COLUMNS = dict.fromkeys(column.name for column in messages.c)

# The hot statements, built once (see db.sessions.ForCaller for why).
_INSERT = insert(messages)
_TOOL_MESSAGE = and_(
    messages.c.session_id == bindparam("key"),
    messages.c.role == TOOL,
    messages.c.tool_call_id == bindparam("call_id"),
)
_SET_TOOL_RESULT = (
    update(messages)
    .where(_TOOL_MESSAGE, messages.c.status.in_((COMPLETE, PENDING)))
    .values(
        content=bindparam("result"),
        status=COMPLETE,
        deadline=None,
        last_chunk=None,
        revision=bindparam("claimed"),
        updated_at=bindparam("now"),
    )
    .returning(*messages.c)
)


def _appended_at_once(accessible: ColumnElement[bool]) -> Insert:
    """One message's append as one statement: the claim of db.sessions.claim_revision and
    the insert, which commit together or not at all. The claim matches nothing, and so
    nothing is written, when the statement cannot decide alone: a message with this id is
    stored already (a retry), the session has a TOOL message for this toolCallId, or the
    session is not the caller's."""
    tool_call_taken = exists().where(
        messages.c.session_id == bindparam("key"),
        messages.c.role == TOOL,
        messages.c.tool_call_id == bindparam("new_tool_call_id"),
    )
    claim = claim_statement(
        accessible,
        ~exists().where(messages.c.id == bindparam("new_id")),
        ~and_(bindparam("new_role", type_=String) == TOOL, tool_call_taken),
    ).cte("claim")
    given = {
        name: bindparam(f"new_{name}", type_=messages.c[name].type)
        for name in ("id", *CLIENT_COLUMNS, "content_units")
    }
    assigned = {
        "session_id": bindparam("key", type_=messages.c.session_id.type),
        "sequence": claim.c.message_count - 1,
        "created_at": claim.c.updated_at,
        "updated_at": claim.c.updated_at,
        "revision": claim.c.revision,
    }
    values = {**given, **assigned}
    row = select(*values.values()).select_from(claim)
    return insert(messages).from_select(list(values), row).returning(*messages.c)


_APPEND_AT_ONCE = ForCaller(_appended_at_once)


@PreparedWrite
async def append_message_at_once(
    conn: Connection, *, session_id: uuid.UUID, caller: Identity, new: NewMessage
) -> Row | None:
    """Append `new` with one statement, on an autocommit connection (PostgreSQL only: SQLite
    has no writes in WITH). None when that statement wrote nothing: `append_messages` then
    answers as it would have (a retry, CONFLICT, NOT_FOUND)."""
    return await _APPEND_AT_ONCE.first(
        conn,
        caller,
        {
            **{f"new_{name}": value for name, value in new.client_values().items()},
            "new_id": new.id or uuid.uuid4(),
            "key": session_id,
            "new_messages": 1,
            "now": utc_now(),
        },
    )


async def _stored_by_client_id(
    conn: AsyncConnection, *, session_id: uuid.UUID, new: Sequence[NewMessage]
) -> dict[uuid.UUID, Row]:
    ids = [message.id for message in new if message.id is not None]
    if not ids:
        return {}
    result = await conn.execute(select(messages).where(messages.c.id.in_(ids)))
    stored: dict[uuid.UUID, Row] = {row["id"]: row for row in result.mappings()}
    if any(row["session_id"] != session_id for row in stored.values()):
        raise Conflict("A message with this id already exists in another session.")
    return stored


async def _require_session(
    conn: AsyncConnection, *, session_id: uuid.UUID, caller: Identity
) -> None:
    if await get_session(conn, session_id=session_id, caller=caller) is None:
        raise NotFound(SESSION_NOT_FOUND)


async def _refuse_second_tool_message(
    conn: AsyncConnection, *, session_id: uuid.UUID, fresh: Sequence[NewMessage]
) -> None:
    """At most one TOOL message per toolCallId in a session (the index is the backstop)."""
    tool_call_ids = [m.tool_call_id for m in fresh if m.role == TOOL and m.tool_call_id]
    if len(set(tool_call_ids)) < len(tool_call_ids):
        raise Conflict("Two TOOL messages in this call answer the same toolCallId.")
    if not tool_call_ids:
        return
    # A message with one of our own client ids is a concurrent retry that committed first:
    # the insert's primary key violation sends the whole call round again as a retry.
    own_ids = [message.id for message in fresh if message.id is not None]
    taken = await conn.execute(
        select(messages.c.tool_call_id).where(
            messages.c.session_id == session_id,
            messages.c.role == TOOL,
            messages.c.tool_call_id.in_(tool_call_ids),
            messages.c.id.not_in(own_ids),
        )
    )
    duplicate = taken.scalars().first()
    if duplicate is not None:
        raise Conflict(f"The session already has a TOOL message for toolCallId {duplicate!r}.")


async def set_tool_result(
    conn: AsyncConnection,
    *,
    session_id: uuid.UUID,
    caller: Identity,
    tool_call_id: str,
    content: str,
) -> Row:
    """Set the content of the session's TOOL message for `tool_call_id`, as one write."""
    claim = await claim_revision(conn, session_id=session_id, caller=caller)
    parameters = {
        "key": session_id,
        "call_id": tool_call_id,
        "result": content,
        "claimed": claim["revision"],
        "now": claim["updated_at"],
    }
    result = await conn.execute(_SET_TOOL_RESULT, parameters)
    row = result.mappings().first()
    if row is not None:
        return row
    status = (
        await conn.execute(select(messages.c.status).where(_TOOL_MESSAGE), parameters)
    ).scalar()
    if status is None:
        raise NotFound(f"The session has no TOOL message for toolCallId {tool_call_id!r}.")
    raise Conflict(
        f"The TOOL message for toolCallId {tool_call_id!r} is {status}: "
        + (
            "send its content with appendMessageContent."
            if status == STREAMING
            else "it has ended."
        )
    )


async def list_windows(
    conn: AsyncConnection, *, session_ids: Sequence[uuid.UUID], window: Window
) -> dict[uuid.UUID, list[Row]]:
    """The window of messages of each session, in ascending sequence, in one query."""
    statement = _window_statement(**_shape(window, session_ids))
    parameters = _parameters(window)
    if isinstance(statement, Prepared):
        (session_id,) = session_ids
        return {session_id: await statement.rows(conn, {"key": session_id, **parameters})}
    result = await conn.execute(statement, {"keys": list(session_ids), **parameters})
    windows: dict[uuid.UUID, list[Row]] = {session_id: [] for session_id in session_ids}
    for row in result.mappings():
        windows[row["session_id"]].append(row)
    return windows


async def list_windows_json(
    conn: AsyncConnection,
    *,
    session_ids: Sequence[uuid.UUID],
    window: Window,
    members: JsonMembers,
) -> dict[uuid.UUID, str | list[Row]]:
    """The window of messages of each session as the JSON text of an array of `members`
    objects (db/message_json.py), in one query on PostgreSQL; as rows (`list_windows`) where
    that text would not be exact, and on other databases."""
    statement = (
        _json_window_statement(members=members, **_shape(window, session_ids))
        if conn.dialect.name == "postgresql"
        else None
    )
    if statement is None:
        return dict(await list_windows(conn, session_ids=session_ids, window=window))
    parameters = {**_parameters(window), "key": session_ids[0], "keys": list(session_ids)}
    if isinstance(statement, Prepared):
        written = await statement.rows(conn, parameters)
    else:
        written = list((await conn.execute(statement, parameters)).mappings())
    windows: dict[uuid.UUID, str | list[Row]] = dict.fromkeys(session_ids, "[]")
    inexact = []
    for row in written:
        if row["exact"]:
            windows[row["session_id"]] = row["json"]
        else:
            inexact.append(row["session_id"])
    if inexact:
        windows.update(await list_windows(conn, session_ids=inexact, window=window))
    return windows


WindowRequest = tuple[Window, JsonMembers | None]
"""A window, and the members of its messages' JSON objects (None: their rows)."""


async def list_windows_by_window(
    conn: AsyncConnection, *, by_window: Mapping[WindowRequest, Sequence[uuid.UUID]]
) -> dict[WindowRequest, Mapping[uuid.UUID, str | list[Row]]]:
    """`list_windows`, or `list_windows_json` when members are given, for several windows:
    one query per distinct request."""
    loaded: dict[WindowRequest, Mapping[uuid.UUID, str | list[Row]]] = {}
    for (window, members), session_ids in by_window.items():
        loaded[window, members] = (
            await list_windows(conn, session_ids=session_ids, window=window)
            if members is None
            else await list_windows_json(
                conn, session_ids=session_ids, window=window, members=members
            )
        )
    return loaded


def _shape(window: Window, session_ids: Sequence[uuid.UUID]) -> dict[str, Any]:
    """The shape of `window`'s statement for `session_ids` (see `_window_statement`)."""
    take = "first" if window.first is not None else "last" if window.last is not None else None
    return {
        "after": window.after_sequence is not None,
        "before": window.before_sequence is not None,
        "take": take,
        "one_session": len(session_ids) == 1,
    }


def _parameters(window: Window) -> dict[str, Any]:
    return {
        "after": window.after_sequence,
        "before": window.before_sequence,
        "limit": window.first if window.first is not None else window.last,
    }


@lru_cache(maxsize=MAX_JSON_STATEMENTS)
def _json_window_statement(
    *, after: bool, before: bool, take: str | None, one_session: bool, members: JsonMembers
) -> Select[Any] | Prepared | None:
    """The window's own statement (`_window_statement`) wrapped by db.message_json, or
    None when `members` cannot be written there; a prepared statement for one session."""
    window = _window_statement(after=after, before=before, take=take, one_session=one_session)
    inner = window.statement if isinstance(window, Prepared) else window
    assert isinstance(inner, Select)
    statement = json_window(inner, members)
    if statement is None or not one_session:
        return statement
    return Prepared(statement)


@cache  # one statement per shape of window: 24 at most
def _window_statement(
    *, after: bool, before: bool, take: str | None, one_session: bool
) -> Select[Any] | Prepared:
    """The statement for windows of this shape, built once (see db.sessions.ForCaller).

    `take` keeps the lowest ("first") or highest ("last") `limit` of each session. For one
    session a LIMIT on the (session_id, sequence) index reads only the page, however long
    the session; for several, a rank per session keeps it to one statement. One session's
    window (the history a page loads) is a prepared statement: its rows are most of a
    session read's database work.
    """
    if one_session:
        conditions = [messages.c.session_id == bindparam("key")]
    else:
        conditions = [messages.c.session_id.in_(bindparam("keys", expanding=True))]
    if after:
        conditions.append(messages.c.sequence > bindparam("after"))
    if before:
        conditions.append(messages.c.sequence < bindparam("before"))
    query = select(messages).where(*conditions)
    order = messages.c.sequence.asc() if take != "last" else messages.c.sequence.desc()
    if one_session:
        if take is None:
            return Prepared(query.order_by(order))
        page = query.order_by(order).limit(bindparam("limit")).subquery()
        return Prepared(select(*page.c).order_by(page.c.sequence))
    if take is None:
        return query.order_by(messages.c.session_id, messages.c.sequence)
    rank = func.row_number().over(partition_by=messages.c.session_id, order_by=order).label("rank")
    ranked = query.add_columns(rank).subquery()
    return (
        select(*[ranked.c[column.name] for column in messages.c])
        .where(ranked.c.rank <= bindparam("limit"))
        .order_by(ranked.c.session_id, ranked.c.sequence)
    )


async def list_tool_messages_after(
    conn: Connection, *, session_id: uuid.UUID, revision: int, sequence: int | None = None
) -> list[Row]:
    """The session's TOOL messages past the cursor, in (revision, sequence) order (see
    `list_messages_after`)."""
    return await _messages_after(tool_only=True, exact=sequence is not None).rows(
        conn, {"key": session_id, "revision": revision, "sequence": sequence}
    )


async def list_messages_after(
    conn: Connection, *, session_id: uuid.UUID, revision: int, sequence: int | None = None
) -> list[Row]:
    """The session's messages past the cursor, in (revision, sequence) order.

    The cursor is (`revision`, `sequence`): without a sequence, every message changed after
    `revision`; with one, also the messages of `revision` itself after that sequence.
    """
    return await _messages_after(tool_only=False, exact=sequence is not None).rows(
        conn, {"key": session_id, "revision": revision, "sequence": sequence}
    )


@cache  # four statements: all messages or TOOL ones, past a revision or an exact cursor
def _messages_after(*, tool_only: bool, exact: bool) -> Prepared:
    conditions = [messages.c.session_id == bindparam("key")]
    if tool_only:
        conditions.append(messages.c.role == TOOL)
    past = messages.c.revision > bindparam("revision")
    if exact:
        past = or_(
            past,
            and_(
                messages.c.revision == bindparam("revision"),
                messages.c.sequence > bindparam("sequence"),
            ),
        )
    return Prepared(
        select(messages).where(*conditions, past).order_by(messages.c.revision, messages.c.sequence)
    )
