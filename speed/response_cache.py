"""Answers to a session read, kept by revision (RESPONSE_CACHE_BYTES; 0 turns it off).

Every write to a session adds 1 to its revision, so the selection of a `session(id: …)`
root field completes to the same data for the same (document, operation, variables,
caller, session, revision). The root field itself is resolved as always, through its
permission and its resolver (one indexed read of the session row), so every rule on it
holds; only the completion of its selection (the messages, their fields) is taken from
here when the same read was answered before. The data is kept as SharedData, so its JSON
is encoded once too (speed/shared_data.py).

Data is kept only from executions without errors. Its content is never older than its key:
the session row is read before the messages.
"""

import json
from collections import OrderedDict
from collections.abc import Awaitable, Hashable
from typing import Any, ClassVar

from graphql import FieldNode, GraphQLSchema, OperationDefinitionNode, OperationType
from graphql.pyutils import AwaitableOrValue, Path

from compat.graphql_core import error_count
from compat.strawberry import ExecutionContext
from speed.documents import operation_source
from speed.json_text import standard_dumps
from speed.shared_data import SharedData


def is_revisioned(value: object) -> bool:
    """True for an object whose every change raises its `revision`, named by its `key`
    (ChatSession). Answered once per type, where a runtime Protocol check would walk the
    protocol's members on every call."""
    kind = type(value)
    known = _REVISIONED.get(kind)
    if known is None:
        known = _REVISIONED[kind] = hasattr(value, "key") and hasattr(value, "revision")
    return known


_REVISIONED: dict[type, bool] = {}


# Values that are their own key; with their type, so that True, 1 and 1.0 stay apart.
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _variables_key(coerced: dict[str, Any]) -> Hashable | None:
    """The coerced variables as a key: their items when all are plain, else their JSON
    (None when they have none)."""
    items = []
    for name, value in coerced.items():
        kind = type(value)
        if kind not in _PLAIN:
            break
        items.append((name, kind, value))
    else:
        return tuple(items)
    try:
        return json.dumps(coerced, sort_keys=True, default=str)
    except (TypeError, ValueError, RecursionError):
        return None


class LruData:
    """Least-recently-used shared data, bounded by the total size of its JSON (the UTF-8
    bytes an HTTP response sends, which the data then keeps: speed/shared_data.py)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, SharedData] = OrderedDict()
        self._size = 0

    def get(self, key: Hashable) -> SharedData | None:
        data = self._entries.get(key)
        if data is not None:
            self._entries.move_to_end(key)
        return data

    def put(self, key: Hashable, data: SharedData) -> None:
        size = data.size()
        if size > self.max_bytes // 8 or key in self._entries:
            return
        self._entries[key] = data
        self._size += size
        while self._size > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._size -= evicted.size()


class CachedReads(ExecutionContext):
    """Strawberry's executor, completing a root field's revisioned object from the cache.

    `responses` is set on the class that `speed.speed_layers` makes, one per app, and
    `dumps`, the responses' encoder.
    """

    responses: ClassVar[LruData]

    @staticmethod
    def dumps(value: object) -> str:
        return standard_dumps(value)

    def complete_object_value(self, *completion: Any) -> AwaitableOrValue[dict[str, Any]]:
        # graphql-core's parameters (compat/graphql_core.COMPLETION): the field's nodes, its
        # path and its resolved value are what the cache needs.
        _, field_details_list, _, path, result, _ = completion
        key = self._key(field_details_list, path, result)
        if key is None:
            return super().complete_object_value(*completion)
        cached = self.responses.get(key)
        if cached is not None:
            return cached
        errors = error_count(self)
        completed = super().complete_object_value(*completion)
        if self.is_awaitable(completed):
            return self._kept_when_done(key, completed, errors)  # type: ignore[arg-type]
        return self._kept(key, completed, errors)  # type: ignore[arg-type]

    async def _kept_when_done(
        self, key: Hashable, completed: Awaitable[dict[str, Any]], errors: int
    ) -> dict[str, Any]:
        return self._kept(key, await completed, errors)

    def _kept(self, key: Hashable, completed: dict[str, Any], errors: int) -> dict[str, Any]:
        if error_count(self) != errors:
            return completed
        data = SharedData(completed, self.dumps)
        self.responses.put(key, data)
        return data

    def _key(self, field_details_list: Any, path: Path, result: Any) -> Hashable | None:
        """What the completion of `result` depends on, for a query's root field whose
        value is revisioned; else None."""
        if path.prev is not None:
            return None
        return read_key(
            self.schema,
            self.operation,
            field_details_list[0].node,
            self.variable_values.coerced,
            self.context_value,
            result,
        )

    @classmethod
    def cached(
        cls,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        node: FieldNode,
        variables: dict[str, Any],
        context: Any,
        result: Any,
    ) -> SharedData | None:
        """What complete_object_value answers from the cache for `result`, the value of
        the root field `node`, if it is there (speed/root_fields.py asks before it builds
        an executor)."""
        key = read_key(schema, operation, node, variables, context, result)
        return None if key is None else cls.responses.get(key)


def read_key(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    node: FieldNode,
    variables: dict[str, Any],
    context: Any,
    result: Any,
) -> Hashable | None:
    """What the completion of `result`, the value of a query's root field `node`, depends
    on, when it is revisioned; else None."""
    if operation.operation is not OperationType.QUERY or not is_revisioned(result):
        return None
    identity = getattr(context, "identity", None)
    variables_key = _variables_key(variables)
    if variables_key is None:
        return None
    return (
        id(schema),
        operation_source(operation),
        node.loc.start if node.loc else id(node),
        variables_key,
        identity,
        result.key,
        result.revision,
    )
