"""Strawberry's names that its public API does not export, reached from here alone.

When one of them is gone, the import of this module says so with the installed Strawberry
version; tests/test_compat.py does when one of them changes.
"""

from importlib.metadata import version
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
)
from strawberry import Schema

try:
    from strawberry.extensions.max_aliases import create_validator
    from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
    from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext, validate_document
    from strawberry.schema.schema_converter import GraphQLCoreConverter

    # Where Strawberry keeps, on a graphql-core field or argument, its own definition of it.
    DEFINITION_KEY = GraphQLCoreConverter.DEFINITION_BACKREF
except (ImportError, AttributeError) as error:
    raise ImportError(
        f"strawberry-graphql {version('strawberry-graphql')} no longer has a name that "
        f"compat/strawberry.py reaches: {error}"
    ) from error

__all__ = [
    "DEFINITION_KEY",
    "CannotGetOperationTypeError",
    "ExecutionContext",
    "InvalidOperationTypeError",
    "definition_of",
    "graphql_core_schema",
    "max_aliases_rule",
    "raw_info",
    "validation_errors",
]

# Strawberry's graphql-core execution context: its resolvers get Strawberry's Info from it.
ExecutionContext = StrawberryGraphQLCoreExecutionContext


def graphql_core_schema(schema: Schema) -> GraphQLSchema:
    """The graphql-core schema Strawberry built and executes with."""
    return schema._schema


def definition_of(element: Any) -> Any:
    """Strawberry's own definition (a StrawberryField, say) of a graphql-core element."""
    return (getattr(element, "extensions", None) or {}).get(DEFINITION_KEY)


def validation_errors(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    """Strawberry's validation: `rules` plus the rules Strawberry adds itself (MaybeNull,
    OneOf)."""
    return validate_document(schema, document, rules)


def max_aliases_rule(max_aliases: int) -> type[ASTValidationRule]:
    """The validation rule of Strawberry's MaxAliasesLimiter, without its extension hooks."""
    return create_validator(max_aliases)


def raw_info(info: Any) -> GraphQLResolveInfo:
    """graphql-core's info that Strawberry's `info` wraps: what the executor built for this
    field (speed/database_json.py adds to it)."""
    return info._raw_info
