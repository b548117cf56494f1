"""One log line and one count per GraphQL operation, whatever carries it.

Each transport opens an `Operation` when a request or a WebSocket operation starts and
finishes it when it ends: the line says the operation's name and type, the caller (a user
id, never a token), the outcome code (OK, or the first error's `extensions.code`), the
duration and the transport; the request id comes with every line (core/logs.py). Counting
happens here, not in a schema extension, so that the fast path (speed/fast_queries.py),
which skips those, is counted too.
"""

import logging
from collections.abc import Iterable, Mapping
from functools import cache, lru_cache
from pathlib import Path
from time import perf_counter
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError, Lexer, Source, TokenKind

from core.identity import Identity
from core.metrics import OPERATION_SECONDS, OPERATIONS

logger = logging.getLogger("chatstore.operations")

OK = "OK"
ANONYMOUS = "anonymous"
UNKNOWN = "unknown"
OTHER = "other"  # the metrics' name for operations not in graphql/operations/
ROOT_TYPES = frozenset(("query", "mutation", "subscription"))
# Documents up to this length are described once; longer ones each time (they are rare,
# and are not kept alive by the cache).
CACHED_LENGTH = 8192
# How far into a document to look for a named operation.
MAX_TOKENS = 10_000


def operation_names(directory: Path) -> frozenset[str]:
    """The operations of our own documents: the only names the metrics label."""
    return frozenset(path.stem for path in directory.glob("*.graphql"))


def describe(query: object, operation_name: object) -> tuple[str, str | None]:
    """(type, name) of the operation a request runs, by reading the document only as far as
    its header: "unknown" when the document does not tell (it does not lex, or has no such
    operation)."""
    if not isinstance(query, str):
        return UNKNOWN, None
    name = operation_name if isinstance(operation_name, str) else None
    if len(query) <= CACHED_LENGTH:
        return _describe_cached(query, name)
    return _describe(query, name)


@lru_cache(maxsize=1024)
def _describe_cached(query: str, name: str | None) -> tuple[str, str | None]:
    return _describe(query, name)


def _describe(query: str, wanted: str | None) -> tuple[str, str | None]:
    lexer = Lexer(Source(query))
    braces = parens = 0
    header: str | None = None  # the keyword of the definition being read
    try:
        token = lexer.advance()
        for _ in range(MAX_TOKENS):
            kind = token.kind
            if kind is TokenKind.EOF:
                break
            if kind is TokenKind.BRACE_L:
                if braces == 0 and parens == 0 and header is None and wanted is None:
                    return "query", None  # the `{ … }` shorthand
                braces += 1
            elif kind is TokenKind.BRACE_R:
                braces -= 1
                if braces == 0 and parens == 0:
                    header = None
            elif kind is TokenKind.PAREN_L:
                parens += 1
            elif kind is TokenKind.PAREN_R:
                parens -= 1
            elif kind is TokenKind.NAME and braces == 0 and parens == 0 and header is None:
                header = token.value
                if header in ROOT_TYPES:
                    following = lexer.lookahead()
                    name = following.value if following.kind is TokenKind.NAME else None
                    if wanted is None or name == wanted:
                        return header, name
            token = lexer.advance()
    except GraphQLSyntaxError:
        pass
    return UNKNOWN, None


def first_code(errors: Iterable[GraphQLError | Mapping[str, Any]] | None) -> str | None:
    """The `extensions.code` of the first error (GraphQLErrors, or errors as sent)."""
    for error in errors or ():
        extensions = (
            error.extensions if isinstance(error, GraphQLError) else error.get("extensions")
        )
        code = extensions.get("code") if isinstance(extensions, Mapping) else None
        return code if isinstance(code, str) else "INTERNAL_SERVER_ERROR"
    return None


class Operation:
    """One operation being answered; `finish` logs and counts it, once."""

    __slots__ = ("caller", "code", "known", "name", "started", "transport", "type")

    def __init__(self, transport: str, known: frozenset[str]) -> None:
        self.transport = transport
        self.known = known
        self.started = perf_counter()
        self.type = UNKNOWN
        self.name: str | None = None
        self.caller = ANONYMOUS
        self.code = OK

    def document(self, query: object, operation_name: object) -> None:
        self.type, self.name = describe(query, operation_name)

    def identify(self, identity: Identity | None) -> None:
        self.caller = ANONYMOUS if identity is None else identity.user_id

    def failed(self, code: str | None) -> None:
        """Records `code` as the outcome, unless an earlier one was."""
        if code is not None and self.code == OK:
            self.code = code

    def errors(self, errors: Iterable[GraphQLError | Mapping[str, Any]] | None) -> None:
        self.failed(first_code(errors))

    def finish(self) -> None:
        seconds = perf_counter() - self.started
        name = self.name if self.name in self.known else OTHER
        _counted(name, self.type, self.code).inc()
        if self.type in ("query", "mutation"):
            _timed(name, self.type).observe(seconds)
        if logger.isEnabledFor(logging.INFO):
            milliseconds = round(seconds * 1000, 2)
            logger.info(
                "operation=%s type=%s caller=%s code=%s duration_ms=%s transport=%s",
                self.name or "-",
                self.type,
                self.caller,
                self.code,
                milliseconds,
                self.transport,
                extra={
                    "operation": self.name,
                    "operation_type": self.type,
                    "caller": self.caller,
                    "code": self.code,
                    "duration_ms": milliseconds,
                    "transport": self.transport,
                },
            )


# The series of each label set, looked up once: `labels` checks and converts the values and
# takes a lock on every call. Every label takes a bounded set of values (core/metrics.py).
@cache
def _counted(name: str, type_: str, code: str) -> Any:
    return OPERATIONS.labels(name, type_, code)


@cache
def _timed(name: str, type_: str) -> Any:
    return OPERATION_SECONDS.labels(name, type_)


def refused_early(transport: str, code: str) -> None:
    """Logs and counts a request refused before anything read it (the drain's 503): its
    document and caller unknown."""
    operation = Operation(transport, frozenset())
    operation.failed(code)
    operation.finish()
