"""Objects of plain fields completed in one step, not field by field (COMPILED_READS).

graphql-core resolves and completes every field on its own, and a history of a thousand
messages has more than ten thousand of them: most of the time such an answer takes. Here
an object type whose selected fields are all plain (Strawberry fields without a resolver,
permission or extension, of a scalar or enum type, and `__typename`) is completed from a
plan made once per execution and selection: for each response key, the field's own
`get_result` and the schema's serializer of its type. A list of such objects is completed
item by item with the same plan.

Only that completion step changes. Every field that has a resolver, a permission or an
extension (`Query.session`, `ChatSession.messages`) runs through graphql-core and Strawberry
as always, so whatever rule they carry holds here too; and a value the plan cannot complete
as graphql-core would (a null in a non-null field, a serializer that fails) is completed by
graphql-core itself, which reports it as it always does.
"""

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from enum import Enum
from operator import attrgetter
from typing import Any

from graphql import (
    GRAPHQL_MAX_INT,
    GRAPHQL_MIN_INT,
    GraphQLEnumType,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLString,
    Undefined,
    get_named_type,
    is_leaf_type,
    is_non_null_type,
)
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.types.field import StrawberryField

from compat.strawberry import ExecutionContext, definition_of


class NotPlain(Exception):
    """graphql-core completes this value itself."""


@dataclass(frozen=True, slots=True)
class Leaf:
    """One response key of a plain object: how to read its value and serialize it.

    `as_is` says which values graphql-core's serializer of the field's type returns
    unchanged (a str for String and ID, an int in range for Int): those skip the call.
    `field` is the Strawberry field read, and `type` its type (None for `__typename`).
    """

    key: str
    read: Callable[[Any], Any]
    serialize: Callable[[Any], Any]
    nullable: bool
    as_is: Callable[[Any], bool]
    field: StrawberryField | None = None
    type: GraphQLLeafType | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    leaves: tuple[Leaf, ...]

    def complete(self, source: Any) -> dict[str, Any]:
        if source is None:
            raise NotPlain
        completed: dict[str, Any] = {}
        for leaf in self.leaves:
            value = leaf.read(source)
            if value is None or value is Undefined:
                if not leaf.nullable:
                    raise NotPlain
                completed[leaf.key] = None
            elif leaf.as_is(value):
                completed[leaf.key] = value
            else:
                completed[leaf.key] = _serialized(leaf, value)
        return completed


def _serialized(leaf: Leaf, value: Any) -> Any:
    try:
        serialized = leaf.serialize(value)
    except Exception as error:  # graphql-core reports it as a field error
        raise NotPlain from error
    if serialized is None or serialized is Undefined:
        raise NotPlain
    return serialized


# Plans shared by the executions of the same documents (see PlainObjects._shared_key), the
# oldest forgotten first beyond MAX_SHARED_PLANS.
MAX_SHARED_PLANS = 1024
_shared_plans: OrderedDict[Hashable, Plan | None] = OrderedDict()


class PlainObjects(ExecutionContext):
    """Strawberry's executor, completing plain objects from a plan."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per (type, selection): the plan, or None; the selection is kept alive with it so
        # that its id is not reused during this execution.
        self._plans: dict[tuple[str, int], tuple[object, Plan | None]] = {}

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: Any,
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        plan = self._plan(return_type, field_details_list)
        if plan is not None:
            try:
                return plan.complete(result)
            except NotPlain:
                pass
        return super().complete_object_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: Any,
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[list[Any]]:
        item_type = return_type.of_type
        if isinstance(result, list) and is_non_null_type(item_type):
            object_type = item_type.of_type
            plan = (
                self._plan(object_type, field_details_list)
                if isinstance(object_type, GraphQLObjectType)
                else None
            )
            if plan is not None:
                try:
                    return [plan.complete(item) for item in result]
                except NotPlain:
                    pass
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _plan(self, object_type: GraphQLObjectType, field_details_list: Any) -> Plan | None:
        key = (object_type.name, id(field_details_list))
        known = self._plans.get(key)
        if known is None:
            shared = self._shared_key(object_type, field_details_list)
            if shared is not None and shared in _shared_plans:
                plan = _shared_plans[shared]
            else:
                plan = self._make_plan(object_type, field_details_list)
                if shared is not None:
                    _shared_plans[shared] = plan
                    if len(_shared_plans) > MAX_SHARED_PLANS:
                        _shared_plans.popitem(last=False)
            known = self._plans[key] = (field_details_list, plan)
        return known[1]

    def _shared_key(self, object_type: GraphQLObjectType, field_details_list: Any) -> Hashable:
        """What a plan depends on, to share it with later executions of the same document:
        the schema, the type and where its selection stands in the document's text. None
        when the text has a directive, whose effect depends on each execution's variables."""
        locations = [details.node.loc for details in field_details_list]
        if any(location is None or "@" in location.source.body for location in locations):
            return None
        return (
            self.schema,
            object_type.name,
            locations[0].source.body,
            tuple(location.start for location in locations),
        )

    def _make_plan(self, object_type: GraphQLObjectType, field_details_list: Any) -> Plan | None:
        if (
            object_type.is_type_of is not None
            or (self.middleware_manager is not None and self.middleware_manager.middlewares)
            or any(details.node.directives for details in field_details_list)
        ):
            return None
        grouped, deferred, _ = self.collect_subfields(object_type, field_details_list)
        if deferred:
            return None
        leaves = []
        for key, details in grouped.items():
            leaf = _leaf(object_type, key, details[0].node.name.value)
            if leaf is None:
                return None
            leaves.append(leaf)
        return Plan(tuple(leaves))


def _leaf(object_type: GraphQLObjectType, key: str, name: str) -> Leaf | None:
    """The plain field `name` of `object_type` under `key`, or None if it is not plain."""
    if name == "__typename":
        return Leaf(key, lambda _: object_type.name, _same, nullable=False, as_is=_never)
    field = object_type.fields.get(name)
    if field is None or field.args:
        return None
    definition = definition_of(field)
    named = get_named_type(field.type)
    if (
        not isinstance(definition, StrawberryField)
        or not definition.is_basic_field
        or not is_leaf_type(named)
    ):
        return None
    assert isinstance(named, GraphQLLeafType)
    return Leaf(
        key=key,
        read=_reader(definition),
        serialize=(
            _per_member(named.coerce_output_value)
            if isinstance(named, GraphQLEnumType)
            else named.coerce_output_value
        ),
        nullable=not is_non_null_type(field.type),
        as_is=_UNCHANGED.get(named.name, _never),
        field=definition,
        type=named,
    )


def _per_member(serialize: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """An enum type's `serialize`, called once per member of a Python enum: Strawberry's
    serializer searches the type's values on every call, a large share of completing a
    long history's messages. Any other value is serialized each time."""
    serialized: dict[tuple[type, Any], Any] = {}

    def serialize_member(value: Any) -> Any:
        if not isinstance(value, Enum):
            return serialize(value)
        key = (type(value), value)
        known = serialized.get(key)
        if known is None:
            known = serialized[key] = serialize(value)
        return known

    return serialize_member


def _never(_: Any) -> bool:
    return False


# Values that graphql-core's serializers of these built-in types return as they are.
_UNCHANGED: dict[str, Callable[[Any], bool]] = {
    GraphQLString.name: lambda value: type(value) is str,
    GraphQLID.name: lambda value: type(value) is str,
    GraphQLInt.name: lambda value: (
        type(value) is int and GRAPHQL_MIN_INT <= value <= GRAPHQL_MAX_INT
    ),
}


def _reader(definition: StrawberryField) -> Callable[[Any], Any]:
    """What Strawberry's own resolution of the basic field `definition` returns."""
    if definition.default_resolver is getattr:
        return attrgetter(definition.python_name)
    return lambda source: definition.get_result(source, None, [], {})


def _same(value: Any) -> Any:
    return value
