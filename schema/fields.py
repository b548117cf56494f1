"""The fields of the schema's types that hold a value rather than resolve one.

By convention such a field is named in Python as the column it is read from or written to:
`ChatMessage.tool_call_id` is column `tool_call_id`, and so is `MessageInput.tool_call_id`.
"""

from collections.abc import Mapping
from functools import cache

from strawberry.schema.name_converter import NameConverter
from strawberry.types import get_object_definition
from strawberry.types.field import StrawberryField

# schema/build.py keeps Strawberry's default naming: tool_call_id is toolCallId.
_NAMES = NameConverter()


@cache
def value_fields(cls: type) -> Mapping[str, StrawberryField]:
    """The fields of the Strawberry type or input `cls` without a resolver, by Python name,
    in declaration order (private fields are not fields of the schema)."""
    definition = get_object_definition(cls, strict=True)
    return {field.python_name: field for field in definition.fields if field.base_resolver is None}


def graphql_name(field: StrawberryField) -> str:
    """The field's name in the schema."""
    return _NAMES.from_field(field)
