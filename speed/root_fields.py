"""A remembered query of one root field, executed from that field (ROOT_FIELD_PLANS; needs
FAST_QUERIES and the response cache).

graphql-core executes every operation the same long way: it builds its executor from the
document (finding the operation, coercing the variables), collects the root selection,
executes the root fields as a set of fields, completes each value, and builds the
response. For a query whose root selection is one field of an object type, as
GetSession's `session(id: …)` is, the operation, the root type and the collected field
come out the same for every request of the same text: they are worked out once per text
(a RootFieldPlan). Each request then coerces its variables with graphql-core's
`get_variable_values`, the field's arguments with `get_argument_values`, and calls the
field's resolver (Strawberry's: the permission, the field extensions, the argument
conversion, the resolver) with the info Strawberry's executor would build for it
(compat/strawberry.py, root_info). Its resolver runs once, here.

- A revisioned value whose completion the response cache holds (CachedReads.cached: the
  key complete_object_value would look up) is the answer, and no executor is built.
- Any other value (a miss, None, an object of no revision) is completed by the app's own
  executor, built then, through its complete_value, as graphql-core completes a resolved
  value (Executor.complete_awaitable_value), so every speed layer's completion runs.
- An error (a permission's refusal, a bad id, NotFound, or arguments that do not coerce)
  is located and collected by that executor's handle_field_error, and the response built
  by its build_response: the result graphql-core's `execute` would return, which the fast
  path then hands to the full path for its codes, masks and logs (speed/fast_queries.py).
- Variables that do not coerce answer graphql-core's errors for them: nothing ran.

The resolver's `info.async_helpers` build the executor when a resolver first uses them,
and hand the call to the executor's own helpers; the executor then completes the value
too, whatever it is. The info is the one Strawberry's executor builds: a speed layer that
changed the info of a root object field would need its change made here too (the only one
that changes an info, speed/database_json.py, changes a list field's, never planned).
"""

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLResolveInfoHelpers,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    default_field_resolver,
    get_argument_values,
    get_nullable_type,
    get_operation_ast,
    get_variable_values,
)
from graphql.execution import Executor
from graphql.pyutils import Path
from strawberry.execution import optimized_is_awaitable

from compat.graphql_core import collected_root_fields
from compat.strawberry import root_info
from speed.response_cache import CachedReads

# What execute() coerces the variables with, as FastQueries calls it.
MAX_COERCION_ERRORS = 50


@dataclass(frozen=True, slots=True)
class RootFieldPlan:
    """What executing one remembered query of one root field needs beyond its request."""

    document: DocumentNode
    operation_name: str | None
    operation: OperationDefinitionNode
    root_type: GraphQLObjectType
    field: GraphQLField
    # The root field's response key, its collected selection (graphql-core's
    # FieldDetailsList), its nodes and its path.
    key: str
    fields: Any
    nodes: list[FieldNode]
    path: Path

    async def execute(
        self,
        schema: GraphQLSchema,
        executor_class: type[Executor],
        variables: dict[str, Any] | None,
        context: Any,
        extensions: dict[str, Any] | None,
    ) -> ExecutionResult:
        """What graphql-core's `execute` answers for this plan's query with
        `executor_class`, its one root field resolved once."""
        coerced = get_variable_values(
            schema,
            self.operation.variable_definitions or (),
            variables or {},
            max_errors=MAX_COERCION_ERRORS,
        )
        if isinstance(coerced, list):  # nothing ran
            return ExecutionResult(None, errors=coerced)
        execution = _Execution(self, schema, executor_class, variables, context, extensions)
        info = root_info(
            schema,
            self.field,
            list(self.nodes),  # a list of its own, as the executor gives each field
            self.root_type,
            self.path,
            self.operation,
            coerced.coerced,
            context,
            optimized_is_awaitable,
            GraphQLResolveInfoHelpers(gather=execution.gather, track=execution.track),
            extensions,
        )
        # As Executor.execute_field and complete_awaitable_value resolve a field.
        try:
            arguments = (
                get_argument_values(self.field, self.nodes[0], coerced)
                if self.field.args or self.nodes[0].arguments
                else {}
            )
            value = (self.field.resolve or default_field_resolver)(None, info, **arguments)
            if optimized_is_awaitable(value):
                value = await value
        except Exception as error:
            return execution.errored(error)
        if execution.executor is None and issubclass(executor_class, CachedReads):
            cached = executor_class.cached(
                schema, self.operation, self.nodes[0], coerced.coerced, context, value
            )
            if cached is not None:
                return ExecutionResult({self.key: cached}, None)
        return await execution.completed(info, value)


class _Execution:
    """One request's execution of a plan: the app's executor, built when it is needed."""

    __slots__ = (
        "context",
        "executor",
        "executor_class",
        "extensions",
        "plan",
        "schema",
        "variables",
    )

    def __init__(
        self,
        plan: RootFieldPlan,
        schema: GraphQLSchema,
        executor_class: type[Executor],
        variables: dict[str, Any] | None,
        context: Any,
        extensions: dict[str, Any] | None,
    ) -> None:
        self.plan = plan
        self.schema = schema
        self.executor_class = executor_class
        self.variables = variables
        self.context = context
        self.extensions = extensions
        self.executor: Executor | None = None

    def built(self) -> Executor:
        """The executor graphql-core's `execute` builds for this request (its variables
        coerced before, so this cannot fail)."""
        if self.executor is None:
            executor = self.executor_class.build(
                self.schema,
                self.plan.document,
                None,
                self.context,
                self.variables,
                self.plan.operation_name,
                max_coercion_errors=MAX_COERCION_ERRORS,
                is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
                operation_extensions=self.extensions,
            )
            assert not isinstance(executor, list), executor
            self.executor = executor
        return self.executor

    def gather(self, values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
        return self.built().async_helpers.gather(values)

    def track(self, values: Sequence[Any]) -> None:
        self.built().async_helpers.track(values)

    def errored(self, raw_error: Exception) -> ExecutionResult:
        """The result of a field error (Executor.handle_field_error): located and
        collected, or, for a non-null field, the data nulled (execute_operation)."""
        executor = self.built()
        plan = self.plan
        try:
            executor.handle_field_error(raw_error, plan.field.type, plan.fields, plan.path)
        except GraphQLError as error:
            executor.collected_errors.add(error, None)
            return _response(executor, None)
        return _response(executor, {plan.key: None})

    async def completed(self, info: GraphQLResolveInfo, value: Any) -> ExecutionResult:
        """The result of `value` completed by the executor, as complete_awaitable_value
        completes a resolved value."""
        executor = self.built()
        plan = self.plan
        try:
            completed = executor.complete_value(
                plan.field.type, plan.fields, info, plan.path, value, None
            )
            if executor.is_awaitable(completed):
                completed = await completed
        except Exception as error:
            return self.errored(error)
        return _response(executor, {plan.key: completed})


def _response(executor: Executor, data: dict[str, Any] | None) -> ExecutionResult:
    response = executor.build_response(data)
    # No @defer or @stream in the schema (root_field_plan): no incremental results.
    assert isinstance(response, ExecutionResult)
    return response


def root_field_plan(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None
) -> RootFieldPlan | None:
    """The plan of `document`'s operation `operation_name`, if it is a query whose root
    selection is one field of the query type, of an object type (not a list), itself without a
    directive (whose effect could depend on the variables), in an operation without one
    and a document without fragments; else None."""
    operation = get_operation_ast(document, operation_name)
    query_type = schema.query_type
    if (
        operation is None
        or operation.operation is not OperationType.QUERY
        or operation.directives
        or query_type is None
        or schema.get_directive("defer")
        or schema.get_directive("stream")
        or len(document.definitions) != 1
    ):
        return None
    selections = operation.selection_set.selections
    if len(selections) != 1:
        return None
    (selection,) = selections
    if not isinstance(selection, FieldNode) or selection.directives:
        return None
    field = query_type.fields.get(selection.name.value)
    # An object, not a list of them: the info of a list field may be Strawberry's own
    # or not (speed/database_json.py asks some for their JSON).
    if field is None or not isinstance(get_nullable_type(field.type), GraphQLObjectType):
        return None
    no_variables = get_variable_values(schema, (), {})
    assert not isinstance(no_variables, list)
    grouped = collected_root_fields(schema, no_variables, query_type, operation)
    if grouped is None or len(grouped) != 1:
        return None
    ((key, fields),) = grouped.items()
    return RootFieldPlan(
        document=document,
        operation_name=operation_name,
        operation=operation,
        root_type=query_type,
        field=field,
        key=key,
        fields=fields,
        nodes=[details.node for details in fields],
        path=Path(None, key, query_type.name),
    )
