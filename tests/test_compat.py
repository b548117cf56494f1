"""The private names compat/ reaches still mean what compat/ takes them to mean. A failure
names the library and its installed version: compat/ is the place to adapt. (A name that is
gone fails the import of compat/strawberry.py, with the version too.)
"""

import asyncio
import gc
import inspect
from collections.abc import AsyncGenerator, Iterator
from contextlib import contextmanager
from enum import Enum
from importlib.metadata import version
from typing import Any

import pytest
import strawberry
from graphql import (
    GraphQLResolveInfo,
    GraphQLSchema,
    build_schema,
    parse,
    specified_rules,
    validate,
)
from graphql.execution import Executor
from graphql.pyutils import Path
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy.pool import Pool
from strawberry.extensions import FieldExtension, SchemaExtension
from strawberry.permission import BasePermission
from strawberry.types.field import StrawberryField
from strawberry.types.graphql import OperationType
from uvicorn.protocols.websockets import websockets_sansio_impl
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

from compat.graphql_core import (
    OVERRIDDEN,
    collected_root_fields,
    error_count,
    release_async_helpers,
)
from compat.prometheus_client import CounterChild, HistogramChild
from compat.sqlalchemy import greenlet_spawn
from compat.strawberry import (
    DEFINITION_KEY,
    CannotGetOperationTypeError,
    ExecutionContext,
    InvalidOperationTypeError,
    SchemaExtensionsRunner,
    StreamResultContextManager,
    WrappedHook,
    compiled_resolver,
    definition_of,
    graphql_core_schema,
    max_aliases_rule,
    raw_info,
    root_info,
    validation_errors,
)
from compat.uvicorn import FACTORY_NAME, deflate_factory
from speed.idle_compressors import ReleasableDeflateFactory


@contextmanager
def fenced(distribution: str) -> Iterator[None]:
    """Any error inside becomes a failure naming `distribution` and its installed version."""
    try:
        yield
    except Exception as error:
        raise pytest.fail.Exception(
            f"{distribution} {version(distribution)} changed a private name compat/ reaches: "
            f"{type(error).__name__}: {error}",
            pytrace=False,
        ) from None


@strawberry.input(one_of=True)
class Choice:
    a: int | None = strawberry.UNSET
    b: int | None = strawberry.UNSET


@strawberry.type
class Query:
    greeting: str = "hello"

    @strawberry.field
    def pick(self, choice: Choice) -> int:
        return 0


SCHEMA = strawberry.Schema(Query)


@strawberry.type
class InfoQuery:
    @strawberry.field
    def raw_field_name(self, info: strawberry.Info) -> str:
        raw = raw_info(info)
        # A named tuple of graphql-core's fields (Strawberry's own class, or graphql-core's):
        # schema/encoded.py makes a subclass of its class.
        fields = getattr(type(raw), "_fields", ())
        assert isinstance(raw, tuple) and set(GraphQLResolveInfo._fields) <= set(fields), (
            f"Info._raw_info is a {type(raw)}"
        )
        return raw.field_name


@pytest.mark.parametrize("name", OVERRIDDEN)
def test_graphql_core_executor_methods_keep_their_parameters(name: str) -> None:
    with fenced("graphql-core"):
        parameters = tuple(inspect.signature(getattr(Executor, name)).parameters)[1:]
        assert parameters == OVERRIDDEN[name], (
            f"Executor.{name} takes {parameters}, compat/graphql_core.py lists {OVERRIDDEN[name]}"
        )


def test_graphql_core_executor_counts_the_errors_it_collected() -> None:
    class Root:
        @property
        def greeting(self) -> str:
            raise ValueError("no greeting")

    with fenced("graphql-core"):
        schema = build_schema("type Query { greeting: String }")
        executor = Executor.build(schema, parse("{ greeting }"), Root())
        assert isinstance(executor, Executor), executor
        assert error_count(executor) == 0
        executor.execute_operation()
        assert error_count(executor) == 1, "collected_errors.errors misses the field error"


def test_root_fields_are_collected_and_their_info_built_as_the_executors() -> None:
    """speed/root_fields.py collects a root selection once, and builds its field's info
    as Strawberry's executor does (but for the helpers, which it hands to the executor's)."""
    with fenced("graphql-core"), fenced("strawberry-graphql"):
        core = graphql_core_schema(SCHEMA)
        document = parse("query($c: Choice!) { p: pick(choice: $c) }")
        executor = ExecutionContext.build(
            core, document, None, "context", {"c": {"a": 1}}, operation_extensions={"x": 1}
        )
        assert isinstance(executor, ExecutionContext), executor
        query = core.query_type
        assert query is not None
        grouped = collected_root_fields(core, executor.variable_values, query, executor.operation)
        assert grouped is not None and list(grouped) == ["p"]
        nodes = [details.node for details in grouped["p"]]
        path = Path(None, "p", query.name)
        field = query.fields["pick"]
        built = executor.build_resolve_info(field, nodes, query, path)
        ours = root_info(
            core,
            field,
            nodes,
            query,
            path,
            executor.operation,
            executor.variable_values.coerced,
            "context",
            executor.is_awaitable,
            executor.async_helpers,
            {"x": 1},
        )
        assert type(ours) is type(built) and ours == built


def test_graphql_core_executor_helpers_hold_it_until_released() -> None:
    with fenced("graphql-core"):
        schema = build_schema("type Query { greeting: String }")
        executor = Executor.build(schema, parse("{ greeting }"), {"greeting": "hi"})
        assert isinstance(executor, Executor), executor
        held = gc.get_referents(*executor.async_helpers)
        assert executor in held, "async_helpers no longer holds the executor: no cycle to break"
        release_async_helpers(executor)
        assert executor.async_helpers is None, "async_helpers is not an attribute to let go of"


def test_strawberry_execution_context_is_a_graphql_core_executor() -> None:
    with fenced("strawberry-graphql"):
        assert issubclass(ExecutionContext, Executor), (
            "StrawberryGraphQLCoreExecutionContext is no graphql-core Executor: "
            "the speed layers override Executor's methods in a subclass of it"
        )


def test_strawberry_schema_holds_the_graphql_core_schema_it_executes() -> None:
    with fenced("strawberry-graphql"):
        schema = graphql_core_schema(SCHEMA)
        assert isinstance(schema, GraphQLSchema), f"Schema._schema is a {type(schema)}"
        assert schema.query_type is not None and "greeting" in schema.query_type.fields


def test_strawberry_info_wraps_graphql_core_info() -> None:
    with fenced("strawberry-graphql"):
        result = strawberry.Schema(InfoQuery).execute_sync("{ rawFieldName }")
        assert result.errors is None, result.errors
        assert result.data == {"rawFieldName": "rawFieldName"}


def test_strawberry_keeps_its_definition_on_each_graphql_core_field() -> None:
    with fenced("strawberry-graphql"):
        query_type = graphql_core_schema(SCHEMA).query_type
        assert query_type is not None
        field = query_type.fields["greeting"]
        assert DEFINITION_KEY in (field.extensions or {}), (
            f"GraphQLCoreConverter.DEFINITION_BACKREF is {DEFINITION_KEY!r}, "
            f"a field's extensions hold {list(field.extensions or {})}"
        )
        definition = definition_of(field)
        assert isinstance(definition, StrawberryField), definition
        assert definition.python_name == "greeting", definition


def test_strawberry_validation_runs_the_rules_given_and_its_own() -> None:
    with fenced("strawberry-graphql"):
        schema = graphql_core_schema(SCHEMA)
        rules = tuple(specified_rules)
        assert validation_errors(schema, parse("{ greeting }"), rules) == []
        unknown = validation_errors(schema, parse("{ nope }"), rules)
        assert ["nope" in error.message for error in unknown] == [True], unknown
        both = validation_errors(schema, parse("{ pick(choice: {a: 1, b: 2}) }"), ())
        assert len(both) == 1, f"Strawberry's OneOf rule did not run: {both}"


def test_strawberry_max_aliases_rule_counts_aliases() -> None:
    with fenced("strawberry-graphql"):
        schema = graphql_core_schema(SCHEMA)
        document = parse("{ a: greeting b: greeting }")
        assert validate(schema, document, [max_aliases_rule(2)]) == []
        assert len(validate(schema, document, [max_aliases_rule(1)])) == 1


async def test_strawberry_execute_raises_what_the_http_view_codes() -> None:
    """transports/view.py turns these into OPERATION_RESOLUTION_FAILURE, and a
    subscription or a mutation it may not run over HTTP into its refusal."""
    with fenced("strawberry-graphql"):
        with pytest.raises(CannotGetOperationTypeError):
            await SCHEMA.execute("query A { greeting }", operation_name="B")
        with pytest.raises(InvalidOperationTypeError) as refused:
            await SCHEMA.execute(
                "query { greeting }", allowed_operation_types={OperationType.MUTATION}
            )
        assert refused.value.operation_type is OperationType.QUERY, refused.value


@strawberry.type
class Counting:
    @strawberry.subscription
    async def counts(self) -> AsyncGenerator[int, None]:
        for count in range(2):
            yield count


async def test_strawberry_streams_each_result_through_the_runner_the_schema_creates() -> None:
    """speed/extension_hooks.py: Strawberry asks `create_extensions_runner` for the runner
    of an operation, then for each streamed result calls its `get_extensions_results` and
    enters its `on_stream_result`; StreamResultContextManager looks the hooks up as
    WrappedHooks."""
    calls: list[str] = []

    class CountingRunner(SchemaExtensionsRunner):
        def on_stream_result(self, result: Any) -> StreamResultContextManager:
            calls.append("on_stream_result")
            return super().on_stream_result(result)

        async def get_extensions_results(self, ctx: Any) -> dict[str, Any]:
            calls.append("get_extensions_results")
            return await super().get_extensions_results(ctx)

    class Counted(strawberry.Schema):
        def create_extensions_runner(
            self, execution_context: Any, extensions: list[SchemaExtension]
        ) -> SchemaExtensionsRunner:
            return CountingRunner(execution_context, extensions)

    class Hooked(SchemaExtension):
        def on_stream_result(self, result: Any) -> Iterator[None]:
            yield

    with fenced("strawberry-graphql"):
        stream = await Counted(query=Query, subscription=Counting).subscribe(
            "subscription { counts }"
        )
        assert [result.data async for result in stream] == [{"counts": 0}, {"counts": 1}]
        assert calls == ["get_extensions_results", "on_stream_result"] * 2, calls
        hooks = StreamResultContextManager([Hooked(), SchemaExtension()], None).hooks  # type: ignore[arg-type]
        assert [type(hook) for hook in hooks] == [WrappedHook], hooks
        assert hooks[0].is_async is False, hooks
        with hooks[0].hook(None):  # type: ignore[union-attr]
            pass


def test_sqlalchemy_pool_invalidate_takes_a_connection_and_the_error() -> None:
    # What it does with them on a lost asyncpg connection: tests/test_prepared.py.
    with fenced("SQLAlchemy"):
        parameters = list(inspect.signature(Pool._invalidate).parameters.values())[1:]
        names = [parameter.name for parameter in parameters]
        assert names[:2] == ["connection", "exception"], f"Pool._invalidate takes {names}"
        assert all(p.default is not p.empty for p in parameters[2:]), (
            f"Pool._invalidate requires more than a connection and an error: {names}"
        )


async def test_sqlalchemy_greenlet_spawn_runs_a_function_that_awaits_through_await_only() -> None:
    # compat.sqlalchemy.close_pooled returns a pooled connection this way, as SQLAlchemy's
    # AsyncConnection.close does: closing one past the pool's size awaits the driver.
    with fenced("SQLAlchemy"):
        from sqlalchemy.util import await_only

        def sync_close() -> str:
            return await_only(asyncio.sleep(0, "closed"))

        assert await greenlet_spawn(sync_close) == "closed"


# --- compiled_resolver: Strawberry's resolver, its arguments converted by a plan ----------


@strawberry.enum
class Color(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.input
class Inner:
    n: int
    tags: list[str] | None = None


@strawberry.input
class Outer:
    inner: Inner
    inners: list[Inner] | None = None
    color: Color | None = None
    colors: list[Color | None] | None = None
    maybe: strawberry.Maybe[str]
    maybe_null: strawberry.Maybe[str | None]
    node: strawberry.relay.GlobalID | None = None
    unset: int | None = strawberry.UNSET
    choice: Choice | None = None


class Positive(BasePermission):
    message = "Only positive numbers."

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return kwargs["n"] > 0


class Doubled(FieldExtension):
    """Reshapes the converted arguments, then wraps the resolver."""

    def map_arguments(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        return {**kwargs, "n": kwargs["n"] * 2}

    async def resolve_async(
        self, next_: Any, source: Any, info: strawberry.Info, **kwargs: Any
    ) -> Any:
        return f"<{await next_(source, info, **kwargs)}>"


async def put(outer: Outer, outers: list[Outer] | None = None) -> str:
    return repr((outer, outers))


async def guarded(n: int) -> int:
    return n


async def doubled(info: strawberry.Info, n: int) -> str:
    return f"{info.field_name} {n}"


async def rooted(root: Any, n: int) -> str:
    return f"{root!r} {n}"


@strawberry.type
class Mutation:
    put: str = strawberry.mutation(resolver=put)
    guarded: int = strawberry.mutation(resolver=guarded, permission_classes=[Positive])
    doubled: str = strawberry.mutation(resolver=doubled, extensions=[Doubled()])
    rooted: str = strawberry.mutation(resolver=rooted)


OUTER = {
    "inner": {"n": 1, "tags": ["a"]},
    "inners": [{"n": 2}, {"n": 3, "tags": None}],
    "color": "RED",
    "colors": ["BLUE", None],
    "maybe": "m",
    "maybeNull": None,
    "node": str(strawberry.relay.GlobalID("Inner", "7")),
    "choice": {"b": 2},
}
# Documents, with variables, that each path must answer alike (errors included).
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("mutation($o: Outer!, $os: [Outer!]) { put(outer: $o, outers: $os) }", {"o": OUTER}),
    (
        "mutation($o: Outer!, $os: [Outer!]) { put(outer: $o, outers: $os) }",
        {"o": {"inner": {"n": 0}, "maybe": "x"}, "os": [OUTER, {"inner": {"n": 5}}]},
    ),
    ("mutation { put(outer: {inner: {n: 1}, maybe: null}) }", {}),
    ('mutation { put(outer: {inner: {n: 1}, node: "nope"}) }', {}),
    ("mutation { a: guarded(n: 1) b: guarded(n: -1) }", {}),
    ("mutation { doubled(n: 4) }", {}),
    ("mutation { rooted(n: 4) }", {}),
]


def answer(result: Any) -> tuple[Any, list[tuple[str, Any]]]:
    return result.data, [(error.message, error.path) for error in result.errors or ()]


@pytest.mark.parametrize(("document", "variables"), CALLS)
async def test_strawberry_resolves_as_compiled_resolver_mirrors_it(
    document: str, variables: dict[str, Any]
) -> None:
    """The resolver compiled_resolver builds answers as the one Strawberry builds: the same
    converted arguments (input types, lists, enums, Maybe, GlobalID, oneOf), permissions,
    field extensions and Info and root parameters, and the same errors."""
    with fenced("strawberry-graphql"):
        plain = strawberry.Schema(Query, mutation=Mutation)
        compiled = strawberry.Schema(Query, mutation=Mutation)
        mutation = graphql_core_schema(compiled).mutation_type
        assert mutation is not None
        for field in mutation.fields.values():
            resolver = compiled_resolver(compiled, definition_of(field))
            assert resolver is not None
            field.resolve = resolver
        expected = await plain.execute(document, variable_values=variables, root_value="root")
        got = await compiled.execute(document, variable_values=variables, root_value="root")
        assert answer(got) == answer(expected)
        assert expected.data is not None or expected.errors, expected


def test_prometheus_children_added_to_directly_expose_what_their_methods_would() -> None:
    """resolvers/subscriptions.py: CounterChild and HistogramChild add to a labelled child's
    values as its `inc` and `observe` do (counts in and between buckets, past the last
    bound, zero)."""
    with fenced("prometheus-client"):
        expositions = []
        for direct in (False, True):
            registry = CollectorRegistry()
            counter = Counter("c", "c", ["l"], registry=registry).labels("x")
            histogram = Histogram("h", "h", ["l"], buckets=(0, 1, 5), registry=registry)
            child = histogram.labels("x")
            counted = CounterChild(counter) if direct else counter
            observed = HistogramChild(child) if direct else child
            for count in (0, 1, 1, 2, 5, 6, 1000):
                counted.inc()
                observed.observe(count)
            counted.inc(3)
            text = generate_latest(registry).decode()
            expositions.append(
                "\n".join(line for line in text.splitlines() if "_created" not in line)
            )
        assert expositions[0] == expositions[1]
        assert 'h_bucket{l="x",le="1.0"} 3.0' in expositions[1]


def test_uvicorn_makes_its_deflate_extension_through_the_name_compat_replaces() -> None:
    # That the factory installed is the one its sockets get: tests/test_idle_compressors.py.
    with fenced("uvicorn"):
        factory = getattr(websockets_sansio_impl, FACTORY_NAME)
        assert issubclass(factory, ServerPerMessageDeflateFactory), factory
        source = inspect.getsource(websockets_sansio_impl.WebSocketsSansIOProtocol.__init__)
        assert f"{FACTORY_NAME}(" in source, "the protocol no longer calls the factory by name"
        with deflate_factory(ReleasableDeflateFactory):
            assert getattr(websockets_sansio_impl, FACTORY_NAME) is ReleasableDeflateFactory
        assert getattr(websockets_sansio_impl, FACTORY_NAME) is factory
