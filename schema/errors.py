"""Every error leaves with an `extensions.code`; unexpected ones leave masked.

Codes: the client errors of core.errors (BAD_USER_INPUT, NOT_FOUND, CONFLICT,
UNAUTHENTICATED), Apollo's GRAPHQL_PARSE_FAILED / GRAPHQL_VALIDATION_FAILED for documents
that do not parse or validate, BAD_USER_INPUT for variables that fail coercion, and
INTERNAL_SERVER_ERROR, with a generic message, for anything else (logged in full).
"""

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from compat.strawberry import CannotGetOperationTypeError, InvalidOperationTypeError
from core.errors import ClientError
from schema.operations import OPERATION_RESOLUTION_FAILURE

logger = logging.getLogger("chatstore.errors")

INTERNAL_MESSAGE = "Internal server error. It has been logged."
COERCION_MESSAGES = ("Variable '$", "Expected value of type ")


def refused_operation(original: Exception | None) -> tuple[str, str] | None:
    """The code and message of Strawberry's refusal to run a document over a WebSocket:
    no operation of that name, or a query or mutation over legacy graphql-ws, which runs
    subscriptions alone (HTTP answers these itself, transports/view.py)."""
    if isinstance(original, CannotGetOperationTypeError):
        return OPERATION_RESOLUTION_FAILURE, original.as_http_error_reason()
    if isinstance(original, InvalidOperationTypeError):
        return "BAD_REQUEST", (
            "Only subscriptions run over the legacy graphql-ws protocol: send queries and "
            "mutations over HTTP or graphql-transport-ws."
        )
    return None


def is_unexpected(error: GraphQLError) -> bool:
    """True for a failure no client caused: it is masked and logged."""
    original = error.original_error
    if isinstance(original, ClientError) or (error.extensions or {}).get("code"):
        return False
    if refused_operation(original) is not None:
        return False
    if error.path is not None:  # a resolver raised
        return True
    # Without a path: parsing, validation and the coercion of variables and literals (a
    # scalar's parse_value raising; graphql-core words those "Variable '$…" and "Expected
    # value of type …"), or an exception escaping a subscription's event stream.
    return (
        original is not None
        and not isinstance(original, GraphQLError)
        and not error.message.startswith(COERCION_MESSAGES)
    )


def with_code(error: GraphQLError, pre_execution_code: str) -> GraphQLError:
    original = error.original_error
    if isinstance(original, ClientError):
        code, message = original.code, original.message
    elif (error.extensions or {}).get("code"):
        return error
    elif (refused := refused_operation(original)) is not None:
        code, message = refused
    elif is_unexpected(error):
        code, message = "INTERNAL_SERVER_ERROR", INTERNAL_MESSAGE
    else:
        code, message = pre_execution_code, error.message
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={**(error.extensions or {}), "code": code},
    )


class ErrorCodes(SchemaExtension):
    """Rewrites each result's errors with codes, for HTTP and WebSocket results alike."""

    def __init__(self) -> None:
        self._pre_execution_code = "BAD_USER_INPUT"

    def on_parse(self) -> Iterator[None]:
        yield
        if self.execution_context.pre_execution_errors:
            self._pre_execution_code = "GRAPHQL_PARSE_FAILED"

    def on_validate(self) -> Iterator[None]:
        yield
        if self.execution_context.pre_execution_errors:
            self._pre_execution_code = "GRAPHQL_VALIDATION_FAILED"

    def on_operation(self) -> Iterator[None]:
        self._pre_execution_code = "BAD_USER_INPUT"
        yield
        self._rewrite(self.execution_context.result)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        self._rewrite(result)
        yield

    def _rewrite(self, result: Any) -> None:
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [with_code(error, self._pre_execution_code) for error in errors]


def log_unexpected(errors: list[GraphQLError]) -> None:
    """Log, with their tracebacks, the errors that reach the client masked."""
    for error in errors:
        if is_unexpected(error):
            logger.error("unexpected error at %s", error.path, exc_info=error.original_error)
