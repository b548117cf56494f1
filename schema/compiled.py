"""Compiled one-session queries: the executor's answer without its per-field work.

graphql-core resolves and completes every field on its own, a few microseconds each, and a
history of 1,000 messages has 13,000 of them: most of the time such an answer takes. A
query whose only root field is `session(id: …)` and which selects plain fields of
ChatSession and ChatMessage (aliases, fragments, `__typename` and the arguments of
`messages` included; directives not) compiles once into a plan: the attribute each
response key reads and the schema's own serializer for it. The plan reads the rows the
resolvers would read, builds the same Strawberry objects from them and serializes each leaf
as graphql-core would, so its bytes are the executor's (tests/test_compiled.py compares
them). Whatever it does not cover, and anything that would answer with an error, raises
`NotCompiled` and takes the general executor, which gives the same answer the slow way.
"""

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    get_argument_values,
    get_named_type,
    get_variable_values,
    is_leaf_type,
    is_non_null_type,
)
from strawberry.types.field import StrawberryField

from core.errors import ClientError
from db.engine import Database
from db.messages import Window, list_windows
from db.tables import Row
from resolvers.windows import window_from_arguments
from schema.types import ChatMessage, ChatSession

# Where Strawberry keeps a GraphQL field's own definition (its Python name, its resolver).
STRAWBERRY_DEFINITION = "strawberry-definition"


class NotCompiled(Exception):
    """This request takes the general executor."""


@dataclass(frozen=True, slots=True)
class Leaf:
    """A scalar, enum or `__typename` under one response key."""

    key: str
    attribute: str | None  # None: `__typename`
    serialize: Callable[[Any], Any]
    nullable: bool

    def value(self, source: object) -> Any:
        if self.attribute is None:
            return self.serialize(None)
        value = getattr(source, self.attribute)
        if value is None:
            if self.nullable:
                return None
            raise NotCompiled
        try:
            serialized = self.serialize(value)
        except (GraphQLError, TypeError, ValueError) as error:
            raise NotCompiled from error  # graphql-core reports it as a field error
        if serialized is None or serialized is Undefined:
            raise NotCompiled  # and these
        return serialized


@dataclass(frozen=True, slots=True)
class MessagesField:
    """`messages(…)` under one response key, with the leaves selected on each message."""

    key: str
    definition: GraphQLField
    node: FieldNode
    python_names: Mapping[str, str]  # argument: graphql-core's key -> Python name
    leaves: tuple[Leaf, ...]

    def window(self, variables: Any) -> Window:
        arguments = get_argument_values(self.definition, self.node, variables)
        given = {self.python_names[name]: value for name, value in arguments.items()}
        try:
            return window_from_arguments(
                **{name: None for name in self.python_names.values()} | given
            )
        except ClientError as error:
            raise NotCompiled from error


@dataclass(frozen=True, slots=True)
class SessionPlan:
    """How to answer one compiled `session(id: …)` query."""

    schema: GraphQLSchema
    operation: OperationDefinitionNode
    key: str
    fields: tuple[Leaf | MessagesField, ...]

    async def answer(self, database: Database, session: Row, variables: dict[str, Any]) -> bytes:
        """The response body for `session` (a row the caller may see) and `variables`."""
        coerced = get_variable_values(
            self.schema, self.operation.variable_definitions or (), variables
        )
        if isinstance(coerced, list):
            raise NotCompiled  # the executor reports the variables' errors
        windows = {
            field.key: field.window(coerced)
            for field in self.fields
            if isinstance(field, MessagesField)
        }
        pages = await _read_pages(database, session["id"], set(windows.values()))
        source = ChatSession.from_row(session)
        answer: dict[str, Any] = {}
        for field in self.fields:
            if isinstance(field, Leaf):
                answer[field.key] = field.value(source)
            else:
                answer[field.key] = [
                    {leaf.key: leaf.value(message) for leaf in field.leaves}
                    for message in pages[windows[field.key]]
                ]
        # Strawberry's encoding of an HTTP result (strawberry.http.base.encode_json).
        return json.dumps({"data": {self.key: answer}}, separators=(",", ":")).encode()


async def _read_pages(
    database: Database, session_id: uuid.UUID, windows: set[Window]
) -> dict[Window, list[ChatMessage]]:
    pages: dict[Window, list[ChatMessage]] = {}
    for window in windows:
        rows = await database.read(list_windows, session_ids=[session_id], window=window)
        pages[window] = [ChatMessage.from_row(row) for row in rows[session_id]]
    return pages


def compile_session_query(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
) -> SessionPlan | None:
    """The plan for `operation` of a valid `document`, or None when it has none."""
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    query_type = schema.query_type
    assert query_type is not None
    try:
        roots = _collect(operation.selection_set, fragments)
        if len(roots) != 1 or operation.directives:
            return None
        [(key, nodes)] = roots.items()
        if nodes[0].name.value != "session":
            return None
        session_type = get_named_type(query_type.fields["session"].type)
        assert isinstance(session_type, GraphQLObjectType)
        fields = _session_fields(session_type, _merged(nodes, fragments), fragments)
    except NotCompiled:
        return None
    return SessionPlan(schema=schema, operation=operation, key=key, fields=fields)


def _session_fields(
    session_type: GraphQLObjectType,
    selected: dict[str, list[FieldNode]],
    fragments: Mapping[str, FragmentDefinitionNode],
) -> tuple[Leaf | MessagesField, ...]:
    fields: list[Leaf | MessagesField] = []
    for key, nodes in selected.items():
        if nodes[0].name.value != "messages":
            fields.append(_leaf(session_type, key, nodes[0]))
            continue
        definition = session_type.fields["messages"]
        message_type = get_named_type(definition.type)
        assert isinstance(message_type, GraphQLObjectType)
        leaves = tuple(
            _leaf(message_type, child_key, children[0])
            for child_key, children in _merged(nodes, fragments).items()
        )
        python_names = {
            argument.out_name or name: argument.extensions[STRAWBERRY_DEFINITION].python_name
            for name, argument in definition.args.items()
        }
        fields.append(MessagesField(key, definition, nodes[0], python_names, leaves))
    return tuple(fields)


def _leaf(object_type: GraphQLObjectType, key: str, node: FieldNode) -> Leaf:
    """A field that Strawberry answers with a plain attribute of the source object."""
    name = node.name.value
    if name == "__typename":
        return Leaf(key, None, lambda _: object_type.name, nullable=False)
    definition = object_type.fields[name]
    strawberry_field = definition.extensions[STRAWBERRY_DEFINITION]
    assert isinstance(strawberry_field, StrawberryField)
    named = get_named_type(definition.type)
    if not is_leaf_type(named) or definition.args or strawberry_field.base_resolver is not None:
        raise NotCompiled
    return Leaf(
        key=key,
        attribute=strawberry_field.python_name,
        serialize=named.serialize,  # type: ignore[union-attr]
        nullable=not is_non_null_type(definition.type),
    )


def _merged(
    nodes: Sequence[FieldNode], fragments: Mapping[str, FragmentDefinitionNode]
) -> dict[str, list[FieldNode]]:
    """The sub-selections of fields sharing a response key, merged as graphql-core does."""
    merged: dict[str, list[FieldNode]] = {}
    for node in nodes:
        if node.selection_set is None:
            raise NotCompiled
        for key, children in _collect(node.selection_set, fragments).items():
            merged.setdefault(key, []).extend(children)
    return merged


def _collect(
    selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> dict[str, list[FieldNode]]:
    """Fields by response key, in first-seen order, through fragments.

    Every type here is a concrete object type, so a fragment in a valid document always
    applies; a directive (`@skip`, `@include`) anywhere is left to the executor.
    """
    collected: dict[str, list[FieldNode]] = {}
    for selection in selection_set.selections:
        if selection.directives:
            raise NotCompiled
        if isinstance(selection, FieldNode):
            key = selection.alias.value if selection.alias else selection.name.value
            collected.setdefault(key, []).append(selection)
            continue
        if isinstance(selection, InlineFragmentNode):
            inner = selection.selection_set
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments[selection.name.value]
            if fragment.directives:
                raise NotCompiled
            inner = fragment.selection_set
        else:
            raise NotCompiled
        for key, nodes in _collect(inner, fragments).items():
            collected.setdefault(key, []).extend(nodes)
    return collected
