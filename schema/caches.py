"""Parse and validate each distinct small document once per process.

Strawberry parses and validates every request anew; for a small mutation that is about
half of the server's CPU. Its own ParserCache and ValidationCache would keep any document,
however large (a mutation with 24 MiB of content inline), so this caches only documents of
up to MAX_CACHED_CHARS; larger ones take the ordinary path. Cached validation is sound
because the rules (including the limits) are built once per schema and depend only on the
document.
"""

from collections.abc import Iterator, Sequence
from contextlib import suppress
from functools import lru_cache
from typing import Any

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, parse
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

MAX_CACHED_CHARS = 16_384
CACHED_DOCUMENTS = 512


@lru_cache(maxsize=CACHED_DOCUMENTS)
def cached_parse(query: str, **options: Any) -> DocumentNode:
    """`graphql.parse`, remembered: only for documents of up to MAX_CACHED_CHARS."""
    return parse(query, **options)


@lru_cache(maxsize=CACHED_DOCUMENTS)
def cached_validation(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[Any, ...]
) -> list[GraphQLError]:
    """Strawberry's validation of `document` (`rules` plus its own), remembered."""
    return validate_document(schema, document, rules)


class DocumentCache(SchemaExtension):
    """Parses and validates with the service's limits: at most `max_tokens` lexical tokens,
    and the `limits` rules beside graphql-core's (Strawberry's MaxTokensLimiter and
    AddValidationRules do the same in extensions of their own, each of which costs hooks on
    every operation)."""

    def __init__(
        self, *, max_tokens: int | None = None, limits: Sequence[type[ASTValidationRule]] = ()
    ) -> None:
        self.max_tokens = max_tokens
        self.limits = tuple(limits)

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        if self.max_tokens is not None:
            context.parse_options["max_tokens"] = self.max_tokens
        context.validation_rules = context.validation_rules + self.limits
        yield

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None and len(context.query) <= MAX_CACHED_CHARS:
            # A document that does not parse is parsed again by Strawberry, which reports it.
            with suppress(GraphQLError):
                context.graphql_document = cached_parse(context.query, **context.parse_options)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if (
            context.graphql_document is not None
            and context.query is not None
            and len(context.query) <= MAX_CACHED_CHARS
        ):
            context.pre_execution_errors = cached_validation(
                context.schema._schema, context.graphql_document, tuple(context.validation_rules)
            )
        yield
