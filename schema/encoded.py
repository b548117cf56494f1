"""A list field's items written as JSON text by the database, when the executor asks.

An executor (speed/database_json.py) that completes each item of a list field from the
item's values alone can ask the field's resolver for the items' JSON text instead of the
items: it hands the resolver an info `asking_for_json`, naming the members of each item's
JSON object (db/message_json.py says how each is written). The resolver runs as always
(its arguments, its permission, its reads) and returns either the items or, when the
database wrote them, an `EncodedList`, which that executor splices into the response as
it is.
"""

from typing import Any

from graphql import GraphQLResolveInfo

from compat.strawberry import raw_info
from db.message_json import JsonMembers

# Per class of info (graphql-core's, or the one Strawberry's executor builds): a subclass
# whose instances hold an attribute of their own, `json_members`.
_ASKING: dict[type, type] = {}


def asking_for_json(info: GraphQLResolveInfo, members: JsonMembers) -> GraphQLResolveInfo:
    """`info`, asking its field's resolver for the JSON text of objects of `members`."""
    kind = type(info)
    asking = _ASKING.get(kind)
    if asking is None:
        asking = _ASKING[kind] = type(f"AskingForJson{kind.__name__}", (kind,), {})
    asked = asking._make(info)  # type: ignore[attr-defined]
    asked.json_members = members
    return asked  # type: ignore[no-any-return]


class EncodedList(list[Any]):
    """A list whose items are not here: `json`, their JSON text, stands for them."""

    __slots__ = ("json",)

    def __init__(self, json: str) -> None:
        super().__init__()
        self.json = json


def json_members(info: Any) -> JsonMembers | None:
    """The members the executor asks of the items of the field `info` is for, or None."""
    return getattr(raw_info(info), "json_members", None)
