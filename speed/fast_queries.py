"""Repeated queries, and mutations, executed by graphql-core alone (FAST_QUERIES, needs
DOCUMENT_CACHE; FAST_MUTATIONS for mutations, needs FAST_QUERIES).

Strawberry's own steps around an operation (the request taken apart, every schema
extension's hooks entered and left, the result processed) cost about as much as a repeat
read of a session costs in all, and much of a small mutation's. A POST whose text
the full path has already parsed, validated and found to select a query (or a mutation) is
executed here by graphql-core directly: on the schema Strawberry built, with the same
executor, the same variables and the context the view builds, so every resolver,
permission and field extension runs as on the full path, and a mutation's write and its
published event happen there, once.

With ROOT_FIELD_PLANS, a query whose root selection is one field is executed from a plan
made once per text (speed/root_fields.py): the same resolver, run once, and the same
executor wherever the answer is not the response cache's.

Only an answer without errors is sent from here. An answer with errors goes to the full
path, which takes it as its execution's result (KnownQueries.on_execute) instead of
executing again, so its errors get their codes, masks and logs there, as always, and a
mutation never runs twice. Any other request takes the full path from its start.

What this skips are the schema extensions' hooks, so it answers only for a schema whose
extensions are all in SKIPPABLE: each of those does its work at parse or validation (done
already, for a remembered text) or on errors (never answered here). A schema with any
other extension (a tracer, an operation log) gets no fast path, and neither does one with
directives of its own.
"""

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any, ClassVar

from graphql import (
    DocumentNode,
    ExecutionResult,
    OperationDefinitionNode,
    OperationType,
    execute,
    get_operation_ast,
)
from strawberry import Schema
from strawberry.execution import optimized_is_awaitable

from compat.strawberry import graphql_core_schema
from schema.context import Context
from schema.errors import ErrorCodes
from schema.limits import RequestLimits
from schema.operations import NamedOperation
from speed.documents import CACHED_DOCUMENTS, MAX_CACHED_CHARS, DocumentCache
from speed.root_fields import RootFieldPlan, root_field_plan

QueryKey = tuple[str, str | None]  # a document's text, the name of the operation to run

# A result with errors that this request's fast path got, with the request's context and
# the text it executed: the full path takes it instead of executing the same operation
# again. Matched by text, not by document: the document cache may have parsed the text anew
# in between, and a mutation must not run a second time.
_left_to_full_path: ContextVar[tuple[Context, str, ExecutionResult] | None] = ContextVar(
    "left_to_full_path", default=None
)


class ValidatedQueries:
    """Documents the full path parsed and validated without an error, by text and
    operation name, when that operation is one of `operations` (queries, and mutations
    with FAST_MUTATIONS); the most recent CACHED_DOCUMENTS of up to MAX_CACHED_CHARS, as
    the document cache keeps them: a large document's parse can be many times its text, and
    would be held here long after its request."""

    def __init__(self, operations: frozenset[OperationType]) -> None:
        self.operations = operations
        self._documents: OrderedDict[QueryKey, DocumentNode] = OrderedDict()

    def remember(
        self, query: str, operation: OperationDefinitionNode, document: DocumentNode
    ) -> None:
        if len(query) > MAX_CACHED_CHARS:
            return
        # A request names the operation to run or, when the document has only one, need not
        # (schema/operations.py): a text is remembered under no name only then.
        keys: list[QueryKey] = [(query, operation.name.value if operation.name else None)]
        operations = [
            definition
            for definition in document.definitions
            if isinstance(definition, OperationDefinitionNode)
        ]
        if len(operations) == 1:
            keys.append((query, None))
        for key in keys:
            self._documents[key] = document
        while len(self._documents) > CACHED_DOCUMENTS:
            self._documents.popitem(last=False)

    def get(self, key: QueryKey) -> DocumentNode | None:
        return self._documents.get(key)


class KnownQueries(DocumentCache):
    """The document cache, learning which texts are valid queries (`validated`, set on
    the class that speed.speed_layers makes, one per app), and taking a result with errors
    that the fast path got for this request."""

    validated: ClassVar[ValidatedQueries]

    def on_validate(self) -> Iterator[None]:
        yield from super().on_validate()
        context = self.execution_context
        document = context.graphql_document
        if context.pre_execution_errors or document is None or context.query is None:
            return
        operation = get_operation_ast(document, context.operation_name)
        if operation is not None and operation.operation in self.validated.operations:
            self.validated.remember(context.query, operation, document)

    def on_execute(self) -> Iterator[None]:
        left = _left_to_full_path.get()
        context = self.execution_context
        if left is not None and left[0] is context.context and left[1] == context.query:
            _left_to_full_path.set(None)
            context.result = left[2]
        yield


# NamedOperation's rule (a document of several operations names the one to run) holds
# here too: ValidatedQueries.remember keeps a text under no name only when it has one.
SKIPPABLE: tuple[type, ...] = (RequestLimits, NamedOperation, DocumentCache, ErrorCodes)


def _extension_class(extension: object) -> object:
    # build_schema passes RequestLimits as a partial: its class is the partial's func.
    return getattr(extension, "func", extension)


class FastQueries:
    """Answers a request's parsed JSON body when it is a remembered query (or mutation)."""

    def __init__(
        self, schema: Schema, validated: ValidatedQueries, *, plans_root_fields: bool = False
    ) -> None:
        self.schema = graphql_core_schema(schema)
        self.executor = schema.execution_context_class
        self.validated = validated
        # ROOT_FIELD_PLANS: the plans of remembered queries, by text and operation name,
        # with the document each was made for (None: the query has none).
        self.plans_root_fields = plans_root_fields
        self._plans: dict[QueryKey, tuple[DocumentNode, RootFieldPlan | None]] = {}

    @classmethod
    def for_schema(
        cls, schema: Schema, validated: ValidatedQueries, *, plans_root_fields: bool = False
    ) -> "FastQueries | None":
        """The fast path for `schema`, or None when it has a step this path would skip."""
        extensions = [_extension_class(extension) for extension in schema.extensions]
        if schema.directives or not all(
            isinstance(extension, type) and issubclass(extension, SKIPPABLE)
            for extension in extensions
        ):
            return None
        return cls(schema, validated, plans_root_fields=plans_root_fields)

    def _plan(
        self, query: str, operation_name: str | None, document: DocumentNode
    ) -> RootFieldPlan | None:
        """The root field plan of a remembered query (speed/root_fields.py), made once for
        each document the text is remembered with. Making one forgets those of documents
        no longer remembered, so that the plans hold no document that the remembered
        queries have let go since (a walk of at most CACHED_DOCUMENTS plans, once per
        text, which has just been parsed and validated on the full path)."""
        key = (query, operation_name)
        known = self._plans.get(key)
        if known is None or known[0] is not document:
            self._plans = {
                remembered: plan
                for remembered, plan in self._plans.items()
                if self.validated.get(remembered) is plan[0]
            }
            known = self._plans[key] = (
                document,
                root_field_plan(self.schema, document, operation_name),
            )
        return known[1]

    async def answer(self, body: Mapping[str, Any], context: Context) -> dict[str, Any] | None:
        """`{"data": …}` for `body`, a remembered operation answered without errors in the
        request's `context`; else None."""
        query = body.get("query")
        operation_name = body.get("operationName")
        variables = body.get("variables")
        extensions = body.get("extensions")
        if (
            not isinstance(query, str)
            or not isinstance(operation_name, str | None)
            or not isinstance(variables, dict | None)
            or not isinstance(extensions, dict | None)
        ):
            return None
        document = self.validated.get((query, operation_name))
        if document is None:
            return None
        plan = self._plan(query, operation_name, document) if self.plans_root_fields else None
        if plan is not None:
            result = await plan.execute(self.schema, self.executor, variables, context, extensions)
        else:
            executed = execute(
                self.schema,
                document,
                variable_values=variables,
                operation_name=operation_name,
                context_value=context,
                is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
                executor_class=self.executor,
                operation_extensions=extensions,
            )
            result = executed if isinstance(executed, ExecutionResult) else await executed
        if result.errors:
            _left_to_full_path.set((context, query, result))
            return None
        return {"data": result.data}
