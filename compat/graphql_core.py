"""The graphql-core executor methods our speed layers override: internal to graphql-core
("For internal use only", ":meta private:"), so their names and parameters are listed here
and tests/test_compat.py names the installed version when one of them changes.
"""

from graphql.execution import Executor

# Each method a speed layer overrides, with its parameters (after self) as graphql-core
# 3.3 declares them.
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
}


def error_count(executor: Executor) -> int:
    """How many field errors `executor` has collected so far."""
    return len(executor.collected_errors.errors)


def release_async_helpers(executor: Executor) -> None:
    """Let go of the helpers `executor` hands its resolvers (`info.async_helpers`), which
    hold two of its own bound methods: a reference cycle that only the garbage collector
    would free, with everything the execution touched (its context, variables, errors)."""
    executor.async_helpers = None  # type: ignore[assignment]
