"""Parse and validate each distinct small document once per process (DOCUMENT_CACHE).

Strawberry parses and validates every request anew; for a small mutation that is about
half of the server's CPU. Its own ParserCache and ValidationCache would keep any document,
however large (a mutation with 24 MiB of content inline), so this caches only documents of
up to MAX_CACHED_CHARS; larger ones take the ordinary path. The cache is keyed on what the
operation is parsed and validated with (schema/limits.py sets both before parsing), so a
cached answer is the one the ordinary path would give.
"""

from collections.abc import Hashable, Iterator
from contextlib import suppress
from functools import lru_cache
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, OperationDefinitionNode, parse
from strawberry.extensions import SchemaExtension

from compat.strawberry import graphql_core_schema, validation_errors

MAX_CACHED_CHARS = 16_384
CACHED_DOCUMENTS = 512


@lru_cache(maxsize=CACHED_DOCUMENTS)
def cached_parse(query: str, **options: Any) -> DocumentNode:
    """`graphql.parse`, remembered: only for documents of up to MAX_CACHED_CHARS."""
    return parse(query, **options)


@lru_cache(maxsize=CACHED_DOCUMENTS)
def cached_validation(
    schema: GraphQLSchema, query: str, options: tuple[Any, ...], rules: tuple[Any, ...]
) -> list[GraphQLError]:
    """Strawberry's validation (`rules` plus its own) of `query` parsed with `options`,
    remembered. Keyed by the text, whose hash Python keeps, not by the document, whose hash
    graphql-core computes anew over every node."""
    return validation_errors(schema, cached_parse(query, **dict(options)), rules)


class DocumentCache(SchemaExtension):
    """Hands Strawberry the remembered parse and validation of small documents."""

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
                graphql_core_schema(context.schema),
                context.query,
                tuple(context.parse_options.items()),
                tuple(context.validation_rules),
            )
        yield


def operation_source(operation: OperationDefinitionNode) -> Hashable:
    """The operation's document text and position: equal for equal operations, however
    many times the text was parsed."""
    location = operation.loc
    if location is None:
        return id(operation)
    return location.source.body, location.start
