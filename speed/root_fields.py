"""A remembered query of one root field, executed from that field (ROOT_FIELD_PLANS; needs
FAST_QUERIES and the response cache).

graphql-core executes every operation the same long way: it builds its executor from the
document (finding the operation, coercing the variables), collects the root selection,
executes the root fields as a set of fields, and builds the response. For a query whose
root selection is one plain field, as GetSession's `session(id: …)` is, all but the
coercion of the variables and the execution of that field come out the same for every
request of the same text. Here they are worked out once per text (a RootFieldPlan: the
operation, the root type, the field's collected selection), and each request builds the
executor and executes that one field through graphql-core's own `execute_field`: the
field's arguments, its Strawberry resolver with the permission and the field extensions,
the completion of its value (from the response cache, for a session read before at its
revision), and any error, located and collected as graphql-core collects it. The field runs
once, where the full path would run it; its result then goes where any fast answer goes
(speed/fast_queries.py), errors included.
"""

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    OperationType,
    get_operation_ast,
    get_variable_values,
)
from graphql.execution import Executor
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.execution import optimized_is_awaitable

from compat.graphql_core import collected_root_fields


@dataclass(frozen=True, slots=True)
class RootFieldPlan:
    """What executing one remembered query of one root field needs beyond its request."""

    document: DocumentNode
    operation_name: str | None
    root_type: GraphQLObjectType
    # The root field's response key, its collected selection (graphql-core's
    # FieldDetailsList) and its path.
    key: str
    fields: Any
    path: Path

    def execute(
        self,
        schema: GraphQLSchema,
        executor_class: type[Executor],
        variables: dict[str, Any] | None,
        context: Any,
        extensions: dict[str, Any] | None,
    ) -> AwaitableOrValue[ExecutionResult]:
        """What graphql-core's `execute` answers for this plan's query, by the same
        executor, with one field executed instead of the root selection."""
        executor = executor_class.build(
            schema,
            self.document,
            None,
            context,
            variables,
            self.operation_name,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
            operation_extensions=extensions,
        )
        if isinstance(executor, list):  # the variables did not coerce: nothing ran
            return ExecutionResult(None, errors=executor)
        # As Executor.execute_operation: a field error that reaches the root nulls the data.
        try:
            value = executor.execute_field(
                self.root_type, executor.root_value, self.fields, self.path, None
            )
        except GraphQLError as error:
            return _errored(executor, error)
        if executor.is_awaitable(value):
            return self._completed(executor, value)
        return _response(executor, {self.key: value})

    async def _completed(self, executor: Executor, value: Awaitable[Any]) -> ExecutionResult:
        try:
            data = {self.key: await value}
        except GraphQLError as error:
            return _errored(executor, error)
        return _response(executor, data)


def _errored(executor: Executor, error: GraphQLError) -> ExecutionResult:
    executor.collected_errors.add(error, None)
    return _response(executor, None)


def _response(executor: Executor, data: dict[str, Any] | None) -> ExecutionResult:
    response = executor.build_response(data)
    # No @defer or @stream in the schema (root_field_plan): no incremental results.
    assert isinstance(response, ExecutionResult)
    return response


def root_field_plan(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None
) -> RootFieldPlan | None:
    """The plan of `document`'s operation `operation_name`, if it is a query whose root
    selection is one field of the query type, itself without a directive (whose effect
    could depend on the variables), in an operation without one; else None. The field's
    own selection may hold anything: the executor collects it, as always."""
    operation = get_operation_ast(document, operation_name)
    query_type = schema.query_type
    if (
        operation is None
        or operation.operation is not OperationType.QUERY
        or operation.directives
        or query_type is None
        or schema.get_directive("defer")
        or schema.get_directive("stream")
    ):
        return None
    selections = operation.selection_set.selections
    if len(selections) != 1:
        return None
    (selection,) = selections
    if (
        not isinstance(selection, FieldNode)
        or selection.directives
        or selection.name.value not in query_type.fields
    ):
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
        root_type=query_type,
        key=key,
        fields=fields,
        path=Path(None, key, query_type.name),
    )
