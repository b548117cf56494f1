"""A subscription event that many subscribers receive is executed once (SHARED_FANOUT).

Every live tab of a session subscribes with the same document, and subscribers woken by
the same news share one read, so they are handed the very same ChatMessage objects
(resolvers/subscriptions.py). graphql-core would still execute the selection set once per
subscriber and event: for 1,000 tabs, 1,000 equal results. Here the first subscriber's
result is remembered, for as long as the event object lives, for the others whose
execution would be the same: same schema, same operation of the same document text, equal
values of the variables an event's execution reads (not the resume cursor, say: see
`read_by_events`), same event object.

That holds only if nothing else enters the execution: no middleware, and below each
subscription field only fields that read an attribute of their parent (no resolver, no
permission reading the context); `depends_on_event_only` checks the schema for that once.
A result with errors is never remembered: each subscriber gets its own. The data of a
shared result is a SharedData, encoded once for all (speed/shared_data.py), so nothing
may change a result's data after execution (our extensions only rewrite errors).
"""

import weakref
from collections.abc import Hashable, Mapping
from functools import cached_property, lru_cache
from typing import Any, cast

from graphql import (
    ExecutionResult,
    ExperimentalIncrementalExecutionResults,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    Visitor,
    get_named_type,
    visit,
)
from graphql.execution import Executor
from graphql.pyutils import AwaitableOrValue
from strawberry.types.field import StrawberryField

from compat.strawberry import ExecutionContext, definition_of
from speed.documents import operation_source
from speed.json_text import standard_dumps
from speed.shared_data import SharedData

# Distinct operations (or variables) remembered per event; others just execute.
MAX_RESULTS_PER_EVENT = 16

Remembered = tuple[GraphQLSchema, OperationDefinitionNode, "_Answered"]


class EventResults:
    """Results per event object, forgotten when the object is collected.

    Keyed by identity, through weak references: the events (Strawberry types) cannot be
    hashed, and must not be kept alive by what was remembered for them.
    """

    def __init__(self) -> None:
        self._by_event: dict[int, tuple[weakref.ref[Any], dict[Hashable, Remembered]]] = {}

    def of(self, event: object) -> dict[Hashable, Remembered] | None:
        """What is remembered for `event`; None if it cannot be weakly referenced."""
        key = id(event)
        entry = self._by_event.get(key)
        if entry is not None and entry[0]() is event:
            return entry[1]
        try:
            ref = weakref.ref(event, lambda dead: self._forget(key, dead))
        except TypeError:
            return None
        results: dict[Hashable, Remembered] = {}
        self._by_event[key] = (ref, results)
        return results

    def _forget(self, key: int, dead: weakref.ref[Any]) -> None:
        entry = self._by_event.get(key)
        if entry is not None and entry[0] is dead:
            del self._by_event[key]

    def __len__(self) -> int:
        return len(self._by_event)


event_results = EventResults()


class SharedEvents(ExecutionContext):
    """Strawberry's executor, but a subscription event's result is shared as above.

    `speed.speed_layers` replaces `dumps` with the encoder of the other responses.
    """

    @staticmethod
    def dumps(value: object) -> str:
        return standard_dumps(value)

    @cached_property
    def event_key(self) -> Hashable | None:
        """What an event's execution depends on besides the event; None if more. Worked out
        once per subscription, by its first event (build_per_event_executor), before
        graphql-core executes it on a shallow copy, which then holds it too; never for a
        query or a mutation."""
        return self._event_key()

    def build_per_event_executor(self, payload: Any) -> Executor:
        # graphql-core executes each event on a copy of this executor; a remembered result
        # needs none.
        remembered = self._remembered(payload)
        if remembered is not None:
            return cast(Executor, remembered)
        return super().build_per_event_executor(payload)

    def execute_operation(
        self, serially: bool | None = None
    ) -> AwaitableOrValue[ExecutionResult | ExperimentalIncrementalExecutionResults]:
        # The per-event copies are the ones executed with serially=False.
        key = self.event_key if serially is False else None
        results = None if key is None else event_results.of(self.root_value)
        if results is None:
            return super().execute_operation(serially)
        # The first subscriber's execution of this event (build_per_event_executor answers
        # the others).
        result = super().execute_operation(serially)
        if (
            isinstance(result, ExecutionResult)
            and result.data is not None
            and not result.errors
            and len(results) < MAX_RESULTS_PER_EVENT
        ):
            answered = _Answered(SharedData(result.data, self.dumps))
            results[key] = (self.schema, self.operation, answered)
            result = answered.execute_operation()
        return result

    def _remembered(self, event: object) -> "_Answered | None":
        """What answers for `event` and this executor's key, if it is remembered."""
        results = None if self.event_key is None else event_results.of(event)
        remembered = None if results is None else results.get(self.event_key)
        # The key holds the schema's id: its identity makes sure it still names this schema.
        if remembered is not None and remembered[0] is self.schema:
            return remembered[2]
        return None

    def _event_key(self) -> Hashable | None:
        """What an event's execution depends on besides the event; None if more."""
        if (
            self.operation.operation is not OperationType.SUBSCRIPTION
            or (self.middleware_manager is not None and self.middleware_manager.middlewares)
            or self.hooks is not None
            or self.abort_signal is not None
            or not depends_on_event_only(self.schema)
        ):
            return None
        coerced = self.variable_values.coerced
        names = read_by_events(self.operation, self.fragment_definitions)
        try:
            # Only those given: an omitted variable and a null one may mean different things.
            variables = frozenset((name, coerced[name]) for name in names if name in coerced)
        except TypeError:  # a list or an input object: unhashable, so not shared
            return None
        return id(self.schema), operation_source(self.operation), variables


class _Answered:
    """Stands in for the per-event executor of a remembered event, for every subscriber:
    graphql-core only asks it to execute the operation."""

    __slots__ = ("_data",)

    def __init__(self, data: SharedData) -> None:
        self._data = data

    def execute_operation(self, serially: bool | None = None) -> ExecutionResult:
        return ExecutionResult(self._data)


def read_by_events(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> set[str]:
    """The variables that executing an event can read: all those of the document except
    the ones used only in arguments of the subscription field itself. Those arguments
    matter when subscribing; for each event, Strawberry's resolver of the field returns
    the event and ignores them. So tabs resuming from different revisions share events.
    """
    names: set[str] = set()
    collect = _VariableNames(names)

    def walk(selection_set: SelectionSetNode, at_root: bool) -> None:
        for selection in selection_set.selections:
            for directive in selection.directives or ():
                visit(directive, collect)
            if isinstance(selection, FieldNode):
                if not at_root:
                    for argument in selection.arguments or ():
                        visit(argument, collect)
                if selection.selection_set is not None:
                    walk(selection.selection_set, at_root=False)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set, at_root)
            elif isinstance(selection, FragmentSpreadNode):
                for fragment_argument in selection.arguments or ():  # experimental
                    visit(fragment_argument, collect)
                fragment = fragments[selection.name.value]
                for directive in fragment.directives or ():
                    visit(directive, collect)
                walk(fragment.selection_set, at_root)

    for directive in operation.directives or ():
        visit(directive, collect)
    walk(operation.selection_set, at_root=True)
    return names


class _VariableNames(Visitor):
    def __init__(self, names: set[str]) -> None:
        super().__init__()
        self.names = names

    def enter_variable(self, node: VariableNode, *_: Any) -> None:
        self.names.add(node.name.value)


@lru_cache(maxsize=16)
def depends_on_event_only(schema: GraphQLSchema) -> bool:
    """True if each subscription field is Strawberry's (its resolver returns the event)
    and, below it, every field reads an attribute of its parent: executing an event then
    depends on the event and the document alone."""
    if schema.subscription_type is None:
        return False
    seen: set[str] = set()
    return all(
        isinstance(definition := definition_of(field), StrawberryField)
        and definition.is_subscription
        and _plain(get_named_type(field.type), seen)
        for field in schema.subscription_type.fields.values()
    )


def _plain(named: GraphQLNamedType, seen: set[str]) -> bool:
    if isinstance(named, GraphQLScalarType | GraphQLEnumType):
        return True
    # Interfaces and unions resolve the concrete type at run time: not shared.
    if not isinstance(named, GraphQLObjectType):
        return False
    if named.name in seen:
        return True
    seen.add(named.name)
    for field in named.fields.values():
        definition = definition_of(field)
        if not isinstance(definition, StrawberryField) or not definition.is_basic_field:
            return False
        if not _plain(get_named_type(field.type), seen):
            return False
    return True
