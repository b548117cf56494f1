"""The floors: the same work done with raw asyncpg in this process, nothing in between.

Each floor fetches or writes the same rows with the statements the server runs (see db/)
and, for reads, serializes them to the very JSON the GraphQL response has, so the ratio
server / floor is what the service layer costs.
"""

import asyncio
import contextlib
import json
import resource
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import strawberry
from graphql import FieldNode, OperationDefinitionNode, parse

from bench.seed import MESSAGE_COLUMNS, Stream, message_input, message_row
from bench.stats import Samples
from core.settings import Settings
from db.tables import STREAMING
from db.text import utf16_units
from schema.fields import graphql_name, value_fields
from schema.types import ChatMessage, ChatSession

try:
    import orjson

    SERIALIZER = "orjson"

    def dumps(value: Any) -> bytes:
        return orjson.dumps(value)

except ImportError:
    SERIALIZER = "json"

    def dumps(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()


MESSAGE_FIELDS = ", ".join(MESSAGE_COLUMNS)
INSERT_MESSAGE = (
    f"INSERT INTO chat_message ({MESSAGE_FIELDS}) "
    f"VALUES ({', '.join(f'${i + 1}' for i in range(len(MESSAGE_COLUMNS)))})"
)
# db.sessions.claim_revision, as SQLAlchemy renders it.
CLAIM = (
    "UPDATE chat_session SET revision = chat_session.revision + 1, "
    "message_count = chat_session.message_count + $1, updated_at = $2 "
    "WHERE chat_session.id = $3 AND chat_session.user_id = $4 "
    "RETURNING chat_session.revision, chat_session.message_count, chat_session.updated_at"
)
# db.streaming.append_content's check of the message and its change, as SQLAlchemy renders
# them (after the claim above).
CHUNK_CHECK = (
    "SELECT chat_message.status, octet_length(chat_message.content) AS octet_length_1 "
    "FROM chat_message WHERE chat_message.id = $1 AND chat_message.session_id = $2"
)
APPEND_CHUNK = (
    "UPDATE chat_message SET content = (coalesce(chat_message.content, $1) || $2), "
    "status = $3, deadline = chat_message.deadline, updated_at = $4, revision = $5, "
    "content_units = (chat_message.content_units + $6), last_chunk = $7, "
    "last_chunk_offset = chat_message.content_units, "
    "previous_revision = chat_message.revision "
    "WHERE chat_message.id = $8 RETURNING *"
)
_SETTINGS = Settings.model_fields
MAX_CONTENT_BYTES: int = _SETTINGS["max_content_bytes"].default
# The connections a server process may use at once: its pool and the overflow beyond it.
SERVER_POOL: int = (
    _SETTINGS["database_pool_size"].default + _SETTINGS["database_max_overflow"].default
)


async def connect(dsn: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn)
    await _json_codecs(conn)
    return conn


async def _json_codecs(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb", encoder=_encode, decoder=_decode, schema="pg_catalog", format="binary"
    )


def _encode(value: Any) -> bytes:
    # Rows from bench.seed carry their JSON already as text (as SQLAlchemy sends it);
    # binary JSONB is a version byte, then that text (COPY needs the binary format).
    text = value if isinstance(value, str) else json.dumps(value)
    return b"\x01" + text.encode()


def _decode(data: bytes) -> Any:
    return json.loads(data[1:])


def _time(value: datetime) -> str:
    return value.isoformat(timespec="microseconds")


# How the GraphQL response writes a value of these field types, others going as they are
# (types of non-null fields: no nullable field is an ID or a time).
_RESPONSE_FORMS: dict[object, Callable[[Any], Any]] = {strawberry.ID: str, datetime: _time}

Shape = tuple[tuple[str, str, Callable[[Any], Any] | None], ...]
"""(column, response key, how the response writes the value, if not as it is) per field."""


def _shape(type_: type) -> Shape:
    """The shape of the value fields of `type_`, each read from the column of its name."""
    return tuple(
        (column, graphql_name(field), _RESPONSE_FORMS.get(field.type))
        for column, field in value_fields(type_).items()
    )


_MESSAGE = _shape(ChatMessage)
_SESSION = _shape(ChatSession)

OPERATIONS = Path(__file__).resolve().parent.parent / "graphql" / "operations"


def _selected(operation: str) -> tuple[Shape, dict[str, Shape]]:
    """The shapes of the fields that `operation` (a query of `session(id:)` with its
    `messages`, once or more under aliases) selects: the session's, and its messages' by
    response key. The floor writes what the response holds."""
    document = parse((OPERATIONS / f"{operation}.graphql").read_text())
    definition = document.definitions[0]
    assert isinstance(definition, OperationDefinitionNode)
    (session,) = definition.selection_set.selections
    assert isinstance(session, FieldNode) and session.selection_set is not None
    fields = [field for field in session.selection_set.selections if isinstance(field, FieldNode)]
    lists = {}
    for field in fields:
        if field.name.value == "messages":
            assert field.selection_set is not None
            keys = {
                selected.name.value
                for selected in field.selection_set.selections
                if isinstance(selected, FieldNode)
            }
            lists[(field.alias or field.name).value] = tuple(
                shape for shape in _MESSAGE if shape[1] in keys
            )
    session_keys = {field.name.value for field in fields}
    return tuple(field for field in _SESSION if field[1] in session_keys), lists


_HISTORY_SESSION, _HISTORY_LISTS = _selected("GetSession")
_PAGE_SESSION, _PAGE_LISTS = _selected("ChatPage")


def message_json(row: asyncpg.Record) -> dict[str, Any]:
    return _response_object(row, _MESSAGE)


def session_json(row: asyncpg.Record) -> dict[str, Any]:
    return _response_object(row, _SESSION)


def _response_object(row: asyncpg.Record, shape: Shape) -> dict[str, Any]:
    """`row` as the GraphQL response has it: every value field, in the type's order."""
    return {
        key: row[column] if write is None else write(row[column]) for column, key, write in shape
    }


async def repeat(work: Callable[[], Awaitable[object]], *, count: int, seconds: float) -> Samples:
    """Run `work` one after another up to `count` times or `seconds`, after a warm-up."""
    for _ in range(3):
        await work()
    samples = Samples()
    deadline = time.perf_counter() + seconds
    while len(samples) < count and time.perf_counter() < deadline:
        start = time.perf_counter()
        await work()
        samples.add(time.perf_counter() - start)
    return samples


async def history(conn: asyncpg.Connection, session_id: uuid.UUID) -> bytes:
    """GetSession's response, from two raw queries."""
    session = await conn.fetchrow("SELECT * FROM chat_session WHERE id = $1", session_id)
    rows = await conn.fetch(
        "SELECT * FROM chat_message WHERE session_id = $1 ORDER BY sequence", session_id
    )
    body = _response_object(session, _HISTORY_SESSION)
    body["messages"] = [_response_object(row, _HISTORY_LISTS["messages"]) for row in rows]
    return dumps({"data": {"session": body}})


async def history_fetch(conn: asyncpg.Connection, session_id: uuid.UUID) -> None:
    """The history floor's two queries alone, without building or serializing JSON."""
    await conn.fetchrow("SELECT * FROM chat_session WHERE id = $1", session_id)
    await conn.fetch(
        "SELECT * FROM chat_message WHERE session_id = $1 ORDER BY sequence", session_id
    )


async def latest_page(conn: asyncpg.Connection, session_id: uuid.UUID, last: int) -> bytes:
    """ChatPage's response: the header, the first 5 messages (`opening`) and the last `last`
    messages, ascending, from three raw queries."""
    session = await conn.fetchrow("SELECT * FROM chat_session WHERE id = $1", session_id)
    opening = await conn.fetch(
        "SELECT * FROM chat_message WHERE session_id = $1 ORDER BY sequence LIMIT 5", session_id
    )
    rows = await conn.fetch(
        "SELECT * FROM chat_message WHERE session_id = $1 ORDER BY sequence DESC LIMIT $2",
        session_id,
        last,
    )
    body = _response_object(session, _PAGE_SESSION)
    body["opening"] = [_response_object(row, _PAGE_LISTS["opening"]) for row in opening]
    body["messages"] = [_response_object(row, _PAGE_LISTS["messages"]) for row in reversed(rows)]
    return dumps({"data": {"session": body}})


async def session_list(conn: asyncpg.Connection, user_id: str, limit: int, last: int) -> bytes:
    """The session list with each session's last `last` messages: three raw queries."""
    count = await conn.fetchval("SELECT count(*) FROM chat_session WHERE user_id = $1", user_id)
    sessions = await conn.fetch(
        "SELECT * FROM chat_session WHERE user_id = $1 ORDER BY updated_at DESC, id DESC LIMIT $2",
        user_id,
        limit,
    )
    rows = await conn.fetch(
        "SELECT m.* FROM unnest($1::uuid[]) AS s(id) CROSS JOIN LATERAL "
        "(SELECT * FROM chat_message WHERE session_id = s.id ORDER BY sequence DESC LIMIT $2) m",
        [session["id"] for session in sessions],
        last,
    )
    windows: dict[uuid.UUID, list[dict[str, Any]]] = {s["id"]: [] for s in sessions}
    for row in rows:
        windows[row["session_id"]].append(message_json(row))
    listed = []
    for session in sessions:
        body = session_json(session)
        body["messages"] = windows[session["id"]][::-1]
        listed.append(body)
    return dumps({"data": {"sessionCount": count, "sessions": listed}})


@dataclass
class RateResult:
    samples: Samples
    seconds: float
    client_cores: float

    @property
    def rate(self) -> float:
        return len(self.samples) / self.seconds


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


Transaction = Callable[[asyncpg.Connection, int], Awaitable[object]]


async def rate(
    dsn: str,
    transaction: Transaction,
    *,
    concurrency: int,
    seconds: float,
    pool_size: int | None = None,
) -> RateResult:
    """`transaction(conn, worker)` in `concurrency` worker loops for `seconds`, after a
    warm-up. Each worker keeps a connection of its own; or, with `pool_size`, the workers
    take turns on a pool of that many, as a server's requests do (waits for it are timed)."""
    size = pool_size or concurrency
    pool = await asyncpg.create_pool(dsn, min_size=size, max_size=size, init=_json_codecs)
    assert pool is not None
    samples = Samples()
    try:
        async with pool.acquire() as conn:
            for _ in range(20):
                await transaction(conn, 0)

        async def worker(index: int, deadline: float) -> None:
            async with contextlib.AsyncExitStack() as stack:
                own = None if pool_size else await stack.enter_async_context(pool.acquire())
                while time.perf_counter() < deadline:
                    start = time.perf_counter()
                    if own is not None:
                        await transaction(own, index)
                    else:
                        async with pool.acquire() as conn:
                            await transaction(conn, index)
                    samples.add(time.perf_counter() - start)

        cpu = _own_cpu()
        start = time.perf_counter()
        deadline = start + seconds
        await asyncio.gather(*(worker(index, deadline) for index in range(concurrency)))
        wall = time.perf_counter() - start
        cores = (_own_cpu() - cpu) / wall
    finally:
        await pool.close()
    return RateResult(samples=samples, seconds=wall, client_cores=cores)


async def append_rate(
    dsn: str, user_id: str, sessions: Sequence[uuid.UUID], *, concurrency: int, seconds: float
) -> RateResult:
    """appendMessage's transaction (claim_revision's UPDATE, then the INSERT) at `concurrency`."""
    turn = 0
    content = message_input(0)

    async def one(conn: asyncpg.Connection, _worker: int) -> None:
        nonlocal turn
        session_id = sessions[turn % len(sessions)]
        turn += 1
        async with conn.transaction():
            now = datetime.now(UTC)
            claim = await conn.fetchrow(CLAIM, 1, now, session_id, user_id)
            sequence = claim["message_count"] - 1
            row = message_row(session_id, sequence, content, now, claim["revision"])
            await conn.execute(INSERT_MESSAGE, *row)

    return await rate(dsn, one, concurrency=concurrency, seconds=seconds)


async def append_chunk(
    conn: asyncpg.Connection,
    stream: Stream,
    user_id: str,
    text: str,
    claim_statement: str = CLAIM,
) -> tuple[asyncpg.Record, asyncpg.Record]:
    """appendMessageContent's transaction: the claim, the message's check, its change.
    Returns the claim's row and the message's."""
    async with conn.transaction():
        now = datetime.now(UTC)
        claim = await conn.fetchrow(claim_statement, 0, now, stream.session_id, user_id)
        found = await conn.fetchrow(CHUNK_CHECK, stream.message_id, stream.session_id)
        if found is None or found["status"] != STREAMING:
            raise RuntimeError(f"not a STREAMING message: {found}")
        if (found[1] or 0) + len(text.encode()) > MAX_CONTENT_BYTES:
            raise RuntimeError("content would be larger than the limit")
        row = await conn.fetchrow(
            APPEND_CHUNK,
            "",
            text,
            STREAMING,
            now,
            claim["revision"],
            utf16_units(text),
            text,
            stream.message_id,
        )
    return claim, row


async def chunk_rate(
    dsn: str, user_id: str, streams: Sequence[Stream], text: Callable[[], str], *, seconds: float
) -> RateResult:
    """appendMessageContent's transaction in a worker loop per stream, each appending
    `text()` to its own message, on a pool the size of a server process's."""

    async def one(conn: asyncpg.Connection, worker: int) -> None:
        await append_chunk(conn, streams[worker], user_id, text())

    return await rate(dsn, one, concurrency=len(streams), seconds=seconds, pool_size=SERVER_POOL)


async def batch(
    conn: asyncpg.Connection, user_id: str, session_id: uuid.UUID, *, copy: bool
) -> None:
    """appendMessages of 1,000 as one transaction: the claim, then executemany or COPY."""
    inputs = [message_input(i) for i in range(1000)]
    async with conn.transaction():
        now = datetime.now(UTC)
        claim = await conn.fetchrow(CLAIM, len(inputs), now, session_id, user_id)
        first = claim["message_count"] - len(inputs)
        rows = [
            message_row(session_id, first + i, message, now, claim["revision"])
            for i, message in enumerate(inputs)
        ]
        if copy:
            await conn.copy_records_to_table("chat_message", records=rows, columns=MESSAGE_COLUMNS)
        else:
            await conn.executemany(INSERT_MESSAGE, rows)
