"""Speed layers: each is plugged in by app.py alone, has a setting that turns it off, and
holds no rule of its own (permissions, limits and validation stay where they are).

- DOCUMENT_CACHE: small documents parsed and validated once (speed/documents.py).
- FAST_QUERIES: a query the full path has validated before is executed by graphql-core
  alone, without Strawberry's steps around it (speed/fast_queries.py; needs DOCUMENT_CACHE).
- FAST_MUTATIONS: the same for a mutation (an append, a chunk, a tool result) whose text
  the full path has validated before (speed/fast_queries.py; needs FAST_QUERIES).
- ROOT_FIELD_PLANS: a remembered query of one root object field resolved from a plan
  made once per text, its cached completion answered without building an executor
  (speed/root_fields.py; needs FAST_QUERIES and RESPONSE_CACHE_BYTES).
- COMPILED_ARGUMENTS: a root field's arguments (a query's or a mutation's) converted to
  their input types by a plan made once per field (speed/arguments.py).
- COMPILED_READS: objects of plain fields completed in one step (speed/completion.py).
- RESPONSE_CACHE_BYTES (0: off): session reads kept by revision (speed/response_cache.py).
- SHARED_FANOUT: one read, one execution and one encoding of an event for all of its
  subscribers (speed/fanout.py, speed/shared_data.py, Database.read_shared_into).
- EVENTS_FROM_WRITES: a streamed chunk's rows, returned by its write, answer the shared
  read of the sessionEvents subscribers it wakes here (Database.offer_answer,
  resolvers/subscriptions.py's answer_from_write; needs SHARED_FANOUT).
- EXTENSION_HOOKS_ONCE: the schema extensions' hooks for each result of a subscription
  looked up once per operation, not once per result (speed/extension_hooks.py).
- PREPARED_STATEMENTS: the hot statements run by asyncpg itself (db/prepared.py).
- SINGLE_STATEMENT_APPEND: a one-message append on PostgreSQL as one statement
  (db/messages.py).
- SINGLE_STATEMENT_CHUNK: a streamed chunk on PostgreSQL as one statement
  (db/streaming.py).
- GC_FREEZE: garbage collection tuned once start-up is done, and each query's and
  mutation's executor freed as its request ends, not left to the collector (speed/gc.py).
- FAST_JSON: responses written, and JSON columns, request bodies and WebSocket messages
  read, by orjson instead of the standard library (speed/json_text.py).
- IDLE_COMPRESSOR_SECONDS (0: off): a WebSocket idle that long lets go of its
  permessage-deflate compressor (speed/idle_compressors.py, compat/uvicorn.py).
- DATABASE_JSON: on PostgreSQL, with COMPILED_READS and FAST_JSON, a list of plain messages
  written as JSON text by the database and spliced into the response
  (speed/database_json.py, db/message_json.py).
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from graphql import OperationType
from graphql.execution import Executor
from strawberry import Schema
from strawberry.extensions import SchemaExtension

from compat.strawberry import ExecutionContext, SchemaExtensionsRunner
from compat.uvicorn import deflate_factory
from core.settings import Settings
from schema.context import Context
from speed.arguments import compile_root_fields
from speed.completion import PlainObjects
from speed.database_json import DatabaseJson
from speed.documents import DocumentCache
from speed.extension_hooks import HooksOnce
from speed.fanout import SharedEvents
from speed.fast_queries import FastQueries, KnownQueries, ValidatedQueries
from speed.gc import FreedExecutors
from speed.idle_compressors import ReleasableDeflateFactory, release_idle_compressors_forever
from speed.json_text import fast_dumps, fast_dumps_utf8, fast_loads, standard_dumps
from speed.response_cache import CachedReads, LruData
from speed.shared_data import encode_shared, encode_shared_body


@dataclass(frozen=True, slots=True)
class SpeedLayers:
    """What app.py hands the schema and the transports."""

    execution_context_class: type[Executor] | None
    extensions: tuple[type[SchemaExtension], ...]
    # Runs an operation's schema extensions; None: Strawberry's runner.
    extensions_runner: type[SchemaExtensionsRunner] | None
    # Encodes a message holding shared data; None: the message is encoded as usual.
    encode: Callable[[object], str | None] | None
    # An HTTP response's body as UTF-8 bytes: a message holding shared data as `encode`
    # does, and with FAST_JSON any other; None: the body is encoded as usual.
    encode_body: Callable[[object], bytes | None] | None
    # Encodes any other response; None: as Strawberry does.
    dumps: Callable[[object], str] | None
    # Reads a JSON column's text, a request body, a WebSocket message; None: as the
    # standard library does.
    loads: Callable[[str | bytes], Any] | None
    # The queries that passed validation, for the fast path; None: no fast path.
    validated: ValidatedQueries | None
    # Convert the root fields' arguments by plans made once (COMPILED_ARGUMENTS).
    compiled_arguments: bool
    # Execute a remembered query of one root field from that field (ROOT_FIELD_PLANS).
    root_field_plans: bool
    # How long a WebSocket sends nothing before it lets go of its compressor; 0: never.
    idle_compressor_seconds: float

    @asynccontextmanager
    async def idle_compressors(self) -> AsyncIterator[None]:
        """While open, WebSockets idle for IDLE_COMPRESSOR_SECONDS let go of their
        compressors (speed/idle_compressors.py)."""
        if not self.idle_compressor_seconds:
            yield
            return
        with deflate_factory(ReleasableDeflateFactory):
            sweep = asyncio.create_task(
                release_idle_compressors_forever(self.idle_compressor_seconds)
            )
            try:
                yield
            finally:
                sweep.cancel()

    def compile_arguments(self, schema: Schema) -> None:
        """Convert the arguments of `schema`'s root queries and mutations by plans made
        once (speed/arguments.py), when COMPILED_ARGUMENTS is on."""
        if self.compiled_arguments:
            compile_root_fields(schema)

    def fast_queries(
        self, schema: Schema
    ) -> Callable[[Mapping[str, Any], Context], Awaitable[dict[str, Any] | None]] | None:
        """What answers a remembered query of `schema` (FastQueries.answer), or None."""
        if self.validated is None:
            return None
        fast = FastQueries.for_schema(
            schema, self.validated, plans_root_fields=self.root_field_plans
        )
        return None if fast is None else fast.answer


def writes_json_in_database(settings: Settings) -> bool:
    """DATABASE_JSON, where it can be on: PostgreSQL writes the JSON, the plans of
    COMPILED_READS say what to write, and orjson (FAST_JSON) splices it in."""
    return (
        settings.database_json
        and settings.compiled_reads
        and settings.fast_json
        and settings.database_url.startswith("postgresql")
    )


def _body_encoder(
    dumps: Callable[[object], str], *, shares: bool, fast_json: bool
) -> Callable[[object], bytes | None] | None:
    """What writes an HTTP body as UTF-8 bytes (`SpeedLayers.encode_body`)."""
    if not shares:
        return fast_dumps_utf8 if fast_json else None
    if not fast_json:
        return partial(encode_shared_body, dumps=dumps)

    def encode_body(message: object) -> bytes:
        shared = encode_shared_body(message, dumps)
        return fast_dumps_utf8(message) if shared is None else shared

    return encode_body


def speed_layers(settings: Settings) -> SpeedLayers:
    """The speed layers the settings leave on."""
    executors: list[type[ExecutionContext]] = []
    if settings.response_cache_bytes:
        responses = LruData(settings.response_cache_bytes)
        executors.append(type("CachedReads", (CachedReads,), {"responses": responses}))
    if settings.compiled_reads:
        executors.append(DatabaseJson if writes_json_in_database(settings) else PlainObjects)
    if settings.shared_fanout:
        executors.append(SharedEvents)
    if settings.gc_freeze:
        executors.append(FreedExecutors)
    dumps = fast_dumps if settings.fast_json else standard_dumps
    executor = (
        type("Executor", tuple(executors), {"dumps": staticmethod(dumps)}) if executors else None
    )
    fast = {OperationType.QUERY} | ({OperationType.MUTATION} if settings.fast_mutations else set())
    validated = (
        ValidatedQueries(frozenset(fast))
        if settings.fast_queries and settings.document_cache
        else None
    )
    documents: type[DocumentCache] = (
        DocumentCache
        if validated is None
        else type("KnownQueries", (KnownQueries,), {"validated": validated})
    )
    shares = bool(settings.response_cache_bytes or settings.shared_fanout)
    return SpeedLayers(
        execution_context_class=executor,
        extensions=(documents,) if settings.document_cache else (),
        extensions_runner=HooksOnce if settings.extension_hooks_once else None,
        encode=partial(encode_shared, dumps=dumps) if shares else None,
        encode_body=_body_encoder(dumps, shares=shares, fast_json=settings.fast_json),
        dumps=fast_dumps if settings.fast_json else None,
        loads=fast_loads if settings.fast_json else None,
        validated=validated,
        compiled_arguments=settings.compiled_arguments,
        root_field_plans=(
            validated is not None
            and settings.root_field_plans
            and bool(settings.response_cache_bytes)
        ),
        idle_compressor_seconds=settings.idle_compressor_seconds,
    )
