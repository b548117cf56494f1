"""Validation rules that refuse abusive documents before they cost much, and introspection
where it is off.

The depth limit counts every field, introspection included: Strawberry's QueryDepthLimiter
skips `__schema`, `__type` and everything below them, so a deep introspection document
would pass any limit. The mutation-field limit exists because graphql-core runs a
mutation's root fields one after another through a chain that recurses once per field:
about a thousand of them (aliases of one mutation) exhaust Python's stack.
"""

from collections.abc import Iterator, Sequence
from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from strawberry.extensions import SchemaExtension

from compat.strawberry import max_aliases_rule
from core.settings import Settings


def max_depth_rule(max_depth: int) -> type[ASTValidationRule]:
    class MaxDepth(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            fragments = {
                definition.name.value: definition
                for definition in context.document.definitions
                if isinstance(definition, FragmentDefinitionNode)
            }
            for definition in context.document.definitions:
                if isinstance(definition, OperationDefinitionNode) and _deeper_than(
                    definition.selection_set, max_depth, fragments, frozenset()
                ):
                    name = definition.name.value if definition.name else "anonymous"
                    context.report_error(
                        GraphQLError(
                            f"'{name}' exceeds the maximum operation depth of {max_depth}.",
                            definition,
                        )
                    )

    return MaxDepth


def _deeper_than(
    selection_set: SelectionSetNode | None,
    allowed: int,
    fragments: dict[str, FragmentDefinitionNode],
    spreading: frozenset[str],
) -> bool:
    """True when a path through the selections has more than `allowed` fields.

    It stops descending as soon as the answer is known, so its own recursion is bounded
    by the limit, however deep the document. `spreading` guards against fragment cycles,
    which another rule reports.
    """
    if selection_set is None:
        return False
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if allowed < 1 or _deeper_than(
                selection.selection_set, allowed - 1, fragments, spreading
            ):
                return True
        elif isinstance(selection, InlineFragmentNode):
            if _deeper_than(selection.selection_set, allowed, fragments, spreading):
                return True
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in spreading:
                if _deeper_than(fragment.selection_set, allowed, fragments, spreading | {name}):
                    return True
    return False


def max_mutation_fields_rule(max_fields: int) -> type[ASTValidationRule]:
    class MaxMutationFields(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            if node.operation is not OperationType.MUTATION:
                return
            count = len(node.selection_set.selections)
            if count > max_fields:
                self.report_error(
                    GraphQLError(
                        f"A mutation may have at most {max_fields} root fields, got {count}.",
                        node,
                    )
                )

    return MaxMutationFields


class NoIntrospection(NoSchemaIntrospectionCustomRule):
    """graphql-core's rule against introspection, reporting the fields that enter it
    (`__schema`, `__type`) instead of every field selected beneath them too."""

    def enter_field(self, node: FieldNode, *args: Any) -> None:
        if node.name.value in ("__schema", "__type"):
            super().enter_field(node, *args)


class RequestLimits(SchemaExtension):
    """Every operation is parsed with at most `max_tokens` lexical tokens and validated with
    the `rules` beside graphql-core's, whatever caches sit in front of parsing and
    validation (speed/documents.py keys its validations on these very rules)."""

    def __init__(self, *, max_tokens: int, rules: Sequence[type[ASTValidationRule]]) -> None:
        self.max_tokens = max_tokens
        self.rules = tuple(rules)

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.max_tokens
        context.validation_rules = (*context.validation_rules, *self.rules)
        yield


def limit_rules(settings: Settings) -> tuple[type[ASTValidationRule], ...]:
    """The validation rules of the settings' limits, built once per schema; without
    introspection (production, unless INTROSPECTION turns it on), the rule that refuses
    `__schema` and `__type` too (`__typename` stays)."""
    rules: tuple[type[ASTValidationRule], ...] = (
        max_depth_rule(settings.max_query_depth),
        max_aliases_rule(settings.max_aliases),
        max_mutation_fields_rule(settings.max_mutation_fields),
    )
    if not settings.allows_introspection:
        rules += (NoIntrospection,)
    return rules
