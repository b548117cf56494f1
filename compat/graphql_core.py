"""The graphql-core executor methods our speed layers override: internal to graphql-core
("For internal use only", ":meta private:"), so their names and parameters are listed here
and tests/test_compat.py names the installed version when one of them changes.
"""

from typing import Any

from graphql import GraphQLObjectType, GraphQLSchema, OperationDefinitionNode
from graphql.execution import Executor
from graphql.execution.collect_fields import collect_fields
from graphql.execution.values import VariableValues

# Each method a speed layer overrides or calls, with its parameters (after self) as
# graphql-core 3.3 declares them; speed/root_fields.py calls complete_value,
# handle_field_error and build_response.
COMPLETION = ("return_type", "field_details_list", "info", "path", "result", "position_context")
OVERRIDDEN: dict[str, tuple[str, ...]] = {
    "build_per_event_executor": ("payload",),
    "execute_operation": ("serially",),
    "complete_object_value": COMPLETION,
    "complete_list_value": COMPLETION,
    "collect_subfields": ("return_type", "field_details_list"),
    "execute_field": ("parent_type", "source", "field_details_list", "path", "position_context"),
    "build_resolve_info": ("field_def", "field_nodes", "parent_type", "path"),
    "build_response": ("data",),
    "complete_value": COMPLETION,
    "handle_field_error": ("raw_error", "return_type", "field_details_list", "path"),
}


def error_count(executor: Executor) -> int:
    """How many field errors `executor` has collected so far."""
    return len(executor.collected_errors.errors)


def release_async_helpers(executor: Executor) -> None:
    """Let go of the helpers `executor` hands its resolvers (`info.async_helpers`), which
    hold two of its own bound methods: a reference cycle that only the garbage collector
    would free, with everything the execution touched (its context, variables, errors)."""
    executor.async_helpers = None  # type: ignore[assignment]


def collected_root_fields(
    schema: GraphQLSchema,
    variable_values: VariableValues,
    root_type: GraphQLObjectType,
    operation: OperationDefinitionNode,
) -> dict[str, Any] | None:
    """The root selection of `operation` grouped by response key, as
    Executor.execute_operation collects it (graphql-core's FieldDetailsList for each key);
    None when a part of it is deferred."""
    grouped, defer_usages, _ = collect_fields(schema, {}, variable_values, root_type, operation)
    return None if defer_usages else dict(grouped)
