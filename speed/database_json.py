"""Lists of plain objects written as JSON text by PostgreSQL (DATABASE_JSON; needs
COMPILED_READS and FAST_JSON).

Read with nothing cached, a history of a thousand messages is mostly Python's work per
message, even when its objects are completed from a plan (speed/completion.py): each row's
values processed, a ChatMessage built from it, completed, its timestamps formatted. Here,
when a list field's items are completed from a plan whose every leaf PostgreSQL writes as
the response's encoder would write it (db/message_json.py), the executor asks the field's
resolver for the items' JSON text (schema/encoded.py), and puts that text in the response
as an `orjson.Fragment`: orjson, the encoder FAST_JSON sets, writes it as it is, in a
response and in the response cache's SharedData alike.

Only the completion of each item moves. The field and its parents resolve as always, through
their permissions and resolvers, and the items are those of the field's own statement,
which the JSON statement wraps. A selection with a leaf PostgreSQL does not write (a Float,
say) stays on the plan, and a window holding a value it would not write exactly (a JSON
number with a fraction, say) is read as rows (db/message_json.py).
"""

from collections import OrderedDict
from datetime import UTC, datetime
from enum import Enum
from typing import Any, cast

import orjson
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLString,
    is_non_null_type,
)
from graphql.language import FieldNode
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.types.base import StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition

from db.message_json import JsonMember, JsonMembers, Kind
from schema.encoded import EncodedList, asking_for_json
from speed.completion import MAX_SHARED_PLANS, Leaf, PlainObjects, Plan

# Two instants and how isoformat(timespec="microseconds") writes them: a DateTime scalar
# whose serializer writes them so is written by PostgreSQL (db/message_json.py).
_DATETIMES = {
    datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC): "2001-02-03T04:05:06.000000+00:00",
    datetime(999, 12, 31, 23, 59, 58, 7, tzinfo=UTC): "0999-12-31T23:59:58.000007+00:00",
}

# A JSON value: a scalar whose serializer returns it as it is (JSON) is written by
# PostgreSQL as the client sent it (db/message_json.py).
_JSON_VALUE = {"a": [1, "b", None, True, {"c": -2}], "d": {}}

# The members of each plan's objects, or None (see _json_members).
_members: OrderedDict[int, tuple[Plan, JsonMembers | None]] = OrderedDict()


class DatabaseJson(PlainObjects):
    """PlainObjects' executor, asking list fields of plain objects for their JSON text."""

    # The field being executed, for build_resolve_info, which execute_field calls. A class
    # attribute until then: one __init__ fewer for every execution.
    _executing: Any = None

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any,
    ) -> Any:
        self._executing = field_details_list
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def build_resolve_info(
        self,
        field_def: GraphQLField,
        field_nodes: list[FieldNode],
        parent_type: GraphQLObjectType,
        path: Path,
    ) -> GraphQLResolveInfo:
        info = super().build_resolve_info(field_def, field_nodes, parent_type, path)
        details = self._executing
        self._executing = None
        item_type = _plain_item_type(field_def.type)
        if item_type is None or details is None or details[0].node is not field_nodes[0]:
            return info
        plan = self._plan(item_type, details)
        members = None if plan is None else _json_members(plan)
        if members is None:
            return info
        return asking_for_json(info, members)

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: Any,
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> AwaitableOrValue[list[Any]]:
        if type(result) is EncodedList:
            return cast(list[Any], orjson.Fragment(result.json))
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )


def _plain_item_type(field_type: GraphQLOutputType) -> GraphQLObjectType | None:
    """The object type of the items of a list field whose items are never null."""
    if is_non_null_type(field_type):
        field_type = field_type.of_type  # type: ignore[attr-defined]
    if not isinstance(field_type, GraphQLList) or not is_non_null_type(field_type.of_type):
        return None
    item_type = field_type.of_type.of_type
    return item_type if isinstance(item_type, GraphQLObjectType) else None


def _json_members(plan: Plan) -> JsonMembers | None:
    """The members of the JSON object of each item `plan` completes, when PostgreSQL writes
    each leaf; else None. Kept per plan, the oldest forgotten first beyond
    MAX_SHARED_PLANS."""
    known = _members.get(id(plan))
    if known is None:
        known = _members[id(plan)] = (plan, _members_of(plan))
        if len(_members) > MAX_SHARED_PLANS:
            _members.popitem(last=False)
    return known[1]


def _members_of(plan: Plan) -> JsonMembers | None:
    members = []
    for leaf in plan.leaves:
        key = orjson.dumps(leaf.key).decode()
        if leaf.field is None:  # __typename
            text = orjson.dumps(leaf.read(None)).decode()
            members.append(JsonMember(key, "constant", text=text))
            continue
        kind, values = _kind(leaf)
        if kind is None:
            return None
        members.append(
            JsonMember(
                key, kind, column=leaf.field.python_name, nullable=leaf.nullable, values=values
            )
        )
    return tuple(members)


def _kind(leaf: Leaf) -> tuple[Kind | None, tuple[str, ...]]:
    """How PostgreSQL writes the leaf's values, and an enum's stored values."""
    named = leaf.type
    if named is None:
        return None, ()
    if named.name in (GraphQLString.name, GraphQLID.name):
        return "string", ()
    if named.name == GraphQLInt.name:
        return "int", ()
    if isinstance(named, GraphQLEnumType):
        # The field holds a member of its Python enum; the column, the member's value.
        python_enum = _python_enum(leaf)
        if python_enum is not None and all(
            isinstance(member.value, str) and _writes(leaf, member, member.value)
            for member in python_enum
        ):
            return "enum", tuple(member.value for member in python_enum)
    elif all(_writes(leaf, value, text) for value, text in _DATETIMES.items()):
        return "datetime", ()
    elif _writes(leaf, _JSON_VALUE, _JSON_VALUE):
        return "json", ()
    # Any other value is the plan's to complete: PostgreSQL writes only a null.
    return ("null" if leaf.nullable else None), ()


def _python_enum(leaf: Leaf) -> type[Enum] | None:
    """The Python enum of the leaf's Strawberry field, or None."""
    assert leaf.field is not None
    field_type = leaf.field.type
    if isinstance(field_type, StrawberryOptional):
        field_type = field_type.of_type
    if isinstance(field_type, StrawberryEnumDefinition):
        return cast(type[Enum], field_type.wrapped_cls)
    return None


def _writes(leaf: Leaf, value: Any, text: object) -> bool:
    """True when the leaf's serializer writes `value` as `text`."""
    try:
        return bool(leaf.serialize(value) == text)
    except Exception:  # a serializer of another type refuses a datetime
        return False
