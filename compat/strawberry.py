"""Strawberry's names that its public API does not export, reached from here alone.

When one of them is gone, the import of this module says so with the installed Strawberry
version; tests/test_compat.py does when one of them changes.
"""

from collections.abc import Callable, Mapping
from dataclasses import MISSING
from functools import partial, reduce
from importlib.metadata import version
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLResolveInfoHelpers,
    GraphQLSchema,
    OperationDefinitionNode,
)
from graphql.pyutils import Path
from strawberry import Schema
from strawberry.extensions.field_extension import build_field_extension_resolvers
from strawberry.relay.types import GlobalID
from strawberry.schema.config import StrawberryConfig
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryOptional,
    has_object_definition,
)
from strawberry.types.enum import has_enum_definition
from strawberry.types.lazy_type import LazyType
from strawberry.types.unset import UNSET
from strawberry.utils.await_maybe import await_maybe

try:
    from strawberry.extensions.context import StreamResultContextManager, WrappedHook
    from strawberry.extensions.max_aliases import create_validator
    from strawberry.extensions.runner import SchemaExtensionsRunner
    from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
    from strawberry.schema.schema import (
        StrawberryGraphQLCoreExecutionContext,
        _OperationContextAwareGraphQLResolveInfo,
        validate_document,
    )
    from strawberry.schema.schema_converter import GraphQLCoreConverter
    from strawberry.types.arguments import (
        _is_leaf_type,
        _is_optional_leaf_type,
        convert_argument,
    )

    # Where Strawberry keeps, on a graphql-core field or argument, its own definition of it.
    DEFINITION_KEY = GraphQLCoreConverter.DEFINITION_BACKREF
except (ImportError, AttributeError) as error:
    raise ImportError(
        f"strawberry-graphql {version('strawberry-graphql')} no longer has a name that "
        f"compat/strawberry.py reaches: {error}"
    ) from error

__all__ = [
    "DEFINITION_KEY",
    "CannotGetOperationTypeError",
    "ExecutionContext",
    "InvalidOperationTypeError",
    "SchemaExtensionsRunner",
    "StreamResultContextManager",
    "WrappedHook",
    "compiled_arguments",
    "compiled_resolver",
    "definition_of",
    "graphql_core_schema",
    "max_aliases_rule",
    "raw_info",
    "root_info",
    "validation_errors",
]

# Strawberry's graphql-core execution context: its resolvers get Strawberry's Info from it.
ExecutionContext = StrawberryGraphQLCoreExecutionContext


def graphql_core_schema(schema: Schema) -> GraphQLSchema:
    """The graphql-core schema Strawberry built and executes with."""
    return schema._schema


def definition_of(element: Any) -> Any:
    """Strawberry's own definition (a StrawberryField, say) of a graphql-core element."""
    return (getattr(element, "extensions", None) or {}).get(DEFINITION_KEY)


def validation_errors(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    """Strawberry's validation: `rules` plus the rules Strawberry adds itself (MaybeNull,
    OneOf)."""
    return validate_document(schema, document, rules)


def max_aliases_rule(max_aliases: int) -> type[ASTValidationRule]:
    """The validation rule of Strawberry's MaxAliasesLimiter, without its extension hooks."""
    return create_validator(max_aliases)


# --- A field's resolver with its arguments converted by a plan (COMPILED_ARGUMENTS) --------
#
# Strawberry converts a field's arguments on every call by walking their types anew
# (convert_argument): every field of an input type has its name converted and its type
# annotation resolved again. `compiled_resolver` makes that walk once per field, and builds
# the resolver Strawberry's GraphQLCoreConverter.from_resolver builds around it (the
# permission and other field extensions, then the resolver itself), for the fields whose
# resolver is async and has no exception handler. Any type the plan does not know (Maybe,
# a lazy type, a GlobalID, an input that builds its own value) is converted by Strawberry's
# own convert_argument, with the same path.

Convert = Callable[[object, Any, tuple[str | int, ...]], object]


def _unchanged(value: object, info: Any, path: tuple[str | int, ...]) -> object:
    return value


def _converter(type_: Any, registry: Mapping[object, Any], config: StrawberryConfig) -> Convert:
    """What convert_argument does with a value of `type_`, decided once."""
    if isinstance(type_, StrawberryMaybe):
        pass
    elif isinstance(type_, StrawberryOptional):
        # convert_argument passes an optional value on to its type, which keeps None.
        return _converter(type_.of_type, registry, config)
    elif isinstance(type_, StrawberryList):
        leaves = _is_leaf_type(type_.of_type, registry, skip_classes=(GlobalID,))
        if leaves or _is_optional_leaf_type(type_.of_type, registry, skip_classes=(GlobalID,)):
            return _copied_list
        return _list_of(_converter(type_.of_type, registry, config))
    elif type_ is not GlobalID and _is_leaf_type(type_, registry):
        return _unchanged
    elif isinstance(type_, LazyType):
        pass
    elif has_enum_definition(type_):
        return _converter(type_.__strawberry_definition__, registry, config)
    elif has_object_definition(type_):
        definition = type_.__strawberry_definition__
        if definition.is_input and definition.from_input is None:
            return _input_of(type_, definition, registry, config)

    def strawberrys(value: object, info: Any, path: tuple[str | int, ...]) -> object:
        return convert_argument(value, type_, registry, config, info, path=path)

    return strawberrys


def _copied_list(value: Any, info: Any, path: tuple[str | int, ...]) -> object:
    # Copied: graphql-core gives the same default list to every request that omits it.
    if value is None or value is UNSET:
        return value
    return list(value)


def _list_of(item: Convert) -> Convert:
    def convert(value: Any, info: Any, path: tuple[str | int, ...]) -> object:
        if value is None or value is UNSET:
            return value
        return [item(x, info, (*path, index)) for index, x in enumerate(value)]

    return convert


def _input_of(
    cls: type, definition: Any, registry: Mapping[object, Any], config: StrawberryConfig
) -> Convert:
    # Fields without a default are None unless given (graphql-core has refused a missing
    # required one already), as convert_argument sets them.
    implicit = {
        field.python_name: None
        for field in definition.fields
        if field.default_value is MISSING and field.default_factory is MISSING
    }
    fields = [
        (
            config.name_converter.from_field(field),
            field.python_name,
            _converter(field.resolve_type(type_definition=definition), registry, config),
        )
        for field in definition.fields
    ]

    def convert(value: Any, info: Any, path: tuple[str | int, ...]) -> object:
        if value is None or value is UNSET:
            return value
        kwargs = dict(implicit)
        for name, python_name, field_converter in fields:
            if name in value:
                kwargs[python_name] = field_converter(value[name], info, (*path, name))
        return cls(**kwargs)

    return convert


def compiled_arguments(
    schema: Schema, field: Any
) -> Callable[[Mapping[str, Any], Any], dict[str, Any]]:
    """convert_arguments for `field` (a StrawberryField of `schema`): its arguments, as
    graphql-core hands them to the resolver, converted, given the resolver's Info."""
    converter = schema.schema_converter
    registry, config = converter.scalar_registry, converter.config
    arguments = [
        (
            config.name_converter.from_argument(argument),
            argument.python_name,
            _converter(argument.type, registry, config),
        )
        for argument in field.arguments
    ]

    def convert_arguments(values: Mapping[str, Any], info: Any) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        for name, python_name, convert in arguments:
            if name in values:
                kwargs[python_name] = convert(values[name], info, (name,))
        return kwargs

    return convert_arguments


def compiled_resolver(schema: Schema, field: Any) -> Callable[..., Any] | None:
    """The resolver of `field` (a StrawberryField of `schema`) that Strawberry builds, with
    its arguments converted by a plan made here; None for a field it would build otherwise
    (no resolver of its own, a sync one, exception handlers, a subscription)."""
    converter = schema.schema_converter
    if (
        field.base_resolver is None
        or not field.is_async
        or field.is_subscription
        or converter._get_field_exception_handlers(field)
    ):
        return None
    convert_arguments = compiled_arguments(schema, field)
    extensions = build_field_extension_resolvers(field)
    resolver = field.base_resolver
    info_class = converter.config.info_class
    # The resolver's parameters that take the source and the Info, by name.
    passes_self = resolver.self_parameter is not None
    sources = [
        parameter.name
        for parameter in (resolver.parent_parameter, resolver.root_parameter)
        if parameter is not None
    ]
    info_parameter = resolver.info_parameter

    async def resolve(source: Any, raw_info: Any, **values: Any) -> Any:
        info = info_class(_raw_info=raw_info, _field=field)
        # get_arguments: converted, reshaped by the field's extensions, then the resolver's
        # self, parent, root and info parameters.
        kwargs = convert_arguments(values, info)
        for extension in field.extensions:
            kwargs = extension.map_arguments(kwargs)
        args = [source] if passes_self else []
        for name in sources:
            kwargs[name] = source
        if info_parameter is not None:
            kwargs[info_parameter.name] = info
        wants_info = "info" in kwargs
        if wants_info:
            kwargs.pop("info")

        def get_result(source: Any, info: Any, **kwargs: Any) -> Any:
            if wants_info:
                kwargs["info"] = info
            return field.get_result(source, info=info, args=args, kwargs=kwargs)

        chain = reduce(lambda chained, next_: partial(next_, chained), extensions, get_result)
        return await await_maybe(chain(source, info, **kwargs))

    resolve._is_default = False  # type: ignore[attr-defined]
    return resolve


def raw_info(info: Any) -> GraphQLResolveInfo:
    """graphql-core's info that Strawberry's `info` wraps: what the executor built for this
    field (speed/database_json.py adds to it)."""
    return info._raw_info


def root_info(
    schema: GraphQLSchema,
    field: GraphQLField,
    field_nodes: list[FieldNode],
    root_type: GraphQLObjectType,
    path: Path,
    operation: OperationDefinitionNode,
    variables: dict[str, Any],
    context: Any,
    is_awaitable: Callable[[Any], bool],
    helpers: GraphQLResolveInfoHelpers,
    operation_extensions: dict[str, Any] | None,
) -> GraphQLResolveInfo:
    """The info that Strawberry's executor (ExecutionContext.build_resolve_info) builds
    for a root field of an operation without fragments, given the coerced `variables`,
    with no root value, abort signal or middleware, for speed/root_fields.py, which
    resolves such a field before it builds an executor, if it builds one."""
    return _OperationContextAwareGraphQLResolveInfo(  # type: ignore[return-value]
        field_nodes[0].name.value,
        field_nodes,
        field.type,
        root_type,
        path,
        schema,
        {},
        None,
        operation,
        variables,
        context,
        is_awaitable,
        None,
        helpers,
        operation_extensions,  # type: ignore[arg-type]  # None when the request has none
    )
