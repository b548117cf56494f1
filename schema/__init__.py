"""The GraphQL schema: types, root fields, scalars, error codes and request limits."""

from functools import partial

from strawberry import Schema
from strawberry.extensions import AddValidationRules, MaxTokensLimiter
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from core.settings import Settings
from graphql import GraphQLError
from schema.caches import DocumentCache
from schema.depth import max_depth_rule
from schema.errors import ErrorCodes, log_unexpected
from schema.root import Mutation, Query, Subscription
from schema.scalars import SCALAR_MAP


class ChatSchema(Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Client errors are answers, not incidents: log only what gets masked.
        log_unexpected(errors)


def build_schema(settings: Settings) -> Schema:
    limits = [max_depth_rule(settings.max_query_depth), max_aliases_rule(settings.max_aliases)]
    return ChatSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        extensions=[
            # Factories, not instances: each operation gets extensions of its own. The rules
            # themselves are built once, so that DocumentCache can key validations on them.
            partial(MaxTokensLimiter, max_token_count=settings.max_tokens),
            partial(AddValidationRules, limits),
            DocumentCache,
            ErrorCodes,
        ],
    )
