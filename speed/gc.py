"""Garbage collection tuned (GC_FREEZE): once start-up is done, and for every execution.

Full collections traverse every live object: with thousands of subscriptions open they
pause the process long enough to set the fan-out's tail latency. What start-up made
(modules, the schema, table metadata) lives as long as the process, so it is frozen out of
them; and young collections run every 20,000 allocations instead of 700, so full ones come
far less often.

graphql-core's executor holds helpers for its resolvers that hold the executor: a cycle,
which leaves every query's and mutation's executor, with its context and all it refers to,
for the collector to find. The more each request leaves, the more often the collector runs,
and the more it has to trace each time. `FreedExecutors` breaks the cycle once the result
is built, so that reference counting frees them as the request ends.
"""

import gc
from typing import Any

from graphql import ExecutionResult, OperationType

from compat.graphql_core import release_async_helpers
from compat.strawberry import ExecutionContext


def freeze_start_up() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)


class FreedExecutors(ExecutionContext):
    """Strawberry's executor, letting go of its resolvers' helpers once the result of a
    query or a mutation is built: nothing asks for them after that. A subscription's
    executor runs each of its events on a copy, which shares its helpers; it keeps them."""

    def build_response(self, data: dict[str, Any] | None) -> Any:
        response = super().build_response(data)
        if (
            isinstance(response, ExecutionResult)
            and self.operation.operation is not OperationType.SUBSCRIPTION
        ):
            release_async_helpers(self)
        return response
