"""EXTENSION_HOOKS_ONCE: a subscription's results go through the same extension hooks, in
the same order, with the same outcome, whether the hooks are looked up for each result
(Strawberry's runner) or once per operation (speed/extension_hooks.py)."""

from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from typing import Any

import pytest
import strawberry
from strawberry.extensions import SchemaExtension

from core.errors import NotFound
from schema.build import ChatSchema
from speed.extension_hooks import HooksOnce

pytestmark = pytest.mark.speed_layer


@strawberry.type
class Query:
    ok: bool = True


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def counts(self, fail_at: int = -1) -> AsyncGenerator[int, None]:
        for count in range(3):
            if count == fail_at:
                raise NotFound("no count")
            yield count


class Recorded(SchemaExtension):
    """Records each hook it runs."""

    log: list[str]

    def __init__(self) -> None:
        self.log = type(self).log


class Rewrites(Recorded):
    def on_stream_result(self, result: Any) -> Iterator[None]:
        self.log.append(f"rewrite {result.data}")
        if result.errors:
            result.errors = [strawberry.exceptions.StrawberryGraphQLError("rewritten")]
        yield
        self.log.append(f"rewritten {result.data}")


class Notes(Recorded):
    def on_stream_result(self, result: Any) -> None:  # type: ignore[override]
        self.log.append(f"note {result.data}")


class Awaits(Recorded):
    async def on_stream_result(self, result: Any) -> AsyncIterator[None]:
        self.log.append(f"await {result.data}")
        yield
        self.log.append(f"awaited {result.data}")


class Reports(Recorded):
    def get_results(self) -> dict[str, Any]:
        self.log.append("results")
        return {"reported": len(self.log)}


def schema_with(*extensions: type[Recorded], runner: type[HooksOnce] | None) -> ChatSchema:
    schema = ChatSchema(query=Query, subscription=Subscription, extensions=list(extensions))
    schema.extensions_runner = runner
    return schema


async def streamed(schema: ChatSchema, query: str) -> list[Any]:
    stream = await schema.subscribe(query)
    return [
        (result.data, [error.message for error in result.errors or ()], result.extensions)
        async for result in stream
    ]


@pytest.mark.parametrize(
    "extensions",
    [
        (),
        (Rewrites,),
        (Notes,),
        (Awaits,),
        (Reports,),
        (Rewrites, Awaits, Reports),
        (Awaits, Rewrites),
    ],
    ids=lambda extensions: "+".join(e.__name__ for e in extensions) or "none",
)
@pytest.mark.parametrize("query", ["subscription { counts }", "subscription { counts(failAt: 1) }"])
async def test_results_go_through_the_same_hooks_as_with_strawberrys_runner(
    extensions: tuple[type[Recorded], ...], query: str
):
    outcomes = []
    for runner in (None, HooksOnce):
        log: list[str] = []
        recorded = [type(e.__name__, (e,), {"log": log}) for e in extensions]
        results = await streamed(schema_with(*recorded, runner=runner), query)
        outcomes.append((results, log))
    assert outcomes[0] == outcomes[1]
    assert outcomes[1][0], "the subscription streamed nothing"


class Cleans(Recorded):
    """A generator hook that sees what leaves the block around each result."""

    def on_stream_result(self, result: Any) -> Iterator[None]:
        self.log.append(f"enter {result.data}")
        try:
            yield
        except BaseException as error:
            self.log.append(f"{type(error).__name__} {result.data}")
            raise
        self.log.append(f"leave {result.data}")


@pytest.mark.parametrize(
    "extensions", [(Cleans,), (Rewrites,), (Notes,)], ids=["Cleans", "Rewrites", "Notes"]
)
async def test_a_stream_closed_in_the_middle_of_a_result_leaves_the_hooks_as_strawberrys(
    extensions: tuple[type[Recorded], ...],
):
    """A client gone while a result is out: the hook's generator is thrown what leaves the
    block, as Strawberry's runner throws it."""
    logs = []
    for runner in (None, HooksOnce):
        log: list[str] = []
        recorded = [type(e.__name__, (e,), {"log": log}) for e in extensions]
        stream = await schema_with(*recorded, runner=runner).subscribe("subscription { counts }")
        async for _result in stream:
            break
        await stream.aclose()  # type: ignore[attr-defined]
        logs.append(log)
    assert logs[0] == logs[1]
    assert logs[0], "no hook ran"
