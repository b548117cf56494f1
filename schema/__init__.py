"""The GraphQL schema: types, root fields, scalars, error codes and request limits."""

from collections.abc import Sequence
from functools import partial
from typing import Any

from graphql import ASTValidationRule, DocumentNode, GraphQLError, specified_rules
from strawberry import Schema
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, ExecutionResult

from core.settings import Settings
from schema.caches import DocumentCache, cached_validation
from schema.errors import ErrorCodes, log_unexpected, with_code
from schema.fanout import SharedEventExecutor
from schema.limits import max_depth_rule, max_mutation_fields_rule
from schema.root import Mutation, Query, Subscription
from schema.scalars import SCALAR_MAP


class ChatSchema(Schema):
    def __init__(self, *, limits: Sequence[type[ASTValidationRule]], **options: Any) -> None:
        super().__init__(**options)
        # What every operation is validated with: graphql-core's rules and our limits.
        self.validation_rules = (*specified_rules, *limits)

    def validation_errors(self, document: DocumentNode) -> list[GraphQLError]:
        """The errors the executor would report for `document` (validated once, cached)."""
        return cached_validation(self._schema, document, self.validation_rules)

    async def execute(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        # An exception that escapes execution (it cannot escape a resolver) skips the
        # ErrorCodes extension: it must still leave with a code, masked.
        result = await super().execute(*args, **kwargs)
        if result.errors:
            result.errors = [with_code(error, "BAD_USER_INPUT") for error in result.errors]
        return result

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Client errors are answers, not incidents: log only what gets masked.
        log_unexpected(errors)


def build_schema(settings: Settings) -> Schema:
    limits = [
        max_depth_rule(settings.max_query_depth),
        max_aliases_rule(settings.max_aliases),
        max_mutation_fields_rule(settings.max_mutation_fields),
    ]
    return ChatSchema(
        limits=limits,
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        execution_context_class=SharedEventExecutor,
        extensions=[
            # Factories, not instances: each operation gets extensions of its own. The rules
            # themselves are built once, so that DocumentCache can key validations on them.
            partial(DocumentCache, max_tokens=settings.max_tokens, limits=limits),
            ErrorCodes,
        ],
    )
