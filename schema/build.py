"""The schema, assembled: root types, scalars, error codes and request limits."""

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from graphql import GraphQLError
from graphql.execution import Executor
from strawberry import Schema
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, ExecutionResult

from compat.strawberry import SchemaExtensionsRunner
from core.settings import Settings
from schema.errors import ErrorCodes, log_unexpected, with_code
from schema.limits import RequestLimits, limit_rules
from schema.operations import NamedOperation
from schema.root import Mutation, Query, Subscription
from schema.scalars import SCALAR_MAP

Extension = type[SchemaExtension] | Callable[[], SchemaExtension]


class ChatSchema(Schema):
    # What runs an operation's extensions (a speed layer's); None: Strawberry's runner.
    extensions_runner: type[SchemaExtensionsRunner] | None = None

    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        if self.extensions_runner is None:
            return super().create_extensions_runner(execution_context, extensions)
        return self.extensions_runner(execution_context, extensions)

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


def build_schema(
    settings: Settings,
    *,
    query: type = Query,
    execution_context_class: type[Executor] | None = None,
    extensions: Sequence[Extension] = (),
    extensions_runner: type[SchemaExtensionsRunner] | None = None,
) -> Schema:
    """The service's schema with the settings' limits. `execution_context_class`,
    `extensions` and `extensions_runner` are the speed layers app.py plugs in (speed/);
    `query` lets a test add a rule to a root field and check that every path obeys it."""
    schema = ChatSchema(
        query=query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        execution_context_class=execution_context_class,
        extensions=[
            # Factories, not instances: each operation gets extensions of its own. The rules
            # themselves are built once, so that a cache can key validations on them.
            partial(RequestLimits, max_tokens=settings.max_tokens, rules=limit_rules(settings)),
            NamedOperation,
            *extensions,
            ErrorCodes,
        ],
    )
    schema.extensions_runner = extensions_runner
    return schema
