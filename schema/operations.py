"""Which operation of a document runs: GraphQL's GetOperation, to the letter."""

from collections.abc import Iterator

from graphql import GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

OPERATION_RESOLUTION_FAILURE = "OPERATION_RESOLUTION_FAILURE"


class NamedOperation(SchemaExtension):
    """A document with several operations must name the one to run (`operationName`);
    Strawberry would run the first. Refused before anything runs, as a request error."""

    def __init__(self) -> None:
        self.provided_name: str | None = None

    def on_operation(self) -> Iterator[None]:
        # Before parsing, Strawberry's `operation_name` is the one the request gave; once
        # the document is parsed it falls back to the first operation's.
        self.provided_name = self.execution_context.operation_name
        yield

    def on_execute(self) -> Iterator[None]:
        document = self.execution_context.graphql_document
        if self.provided_name is None and document is not None:
            operations = [
                definition
                for definition in document.definitions
                if isinstance(definition, OperationDefinitionNode)
            ]
            if len(operations) > 1:
                raise GraphQLError(
                    "The document has several operations: name the one to run in `operationName`.",
                    extensions={"code": OPERATION_RESOLUTION_FAILURE},
                )
        yield
