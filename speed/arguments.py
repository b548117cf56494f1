"""A mutation's arguments converted by a plan made once per field (COMPILED_ARGUMENTS).

Strawberry converts a field's arguments to their input types on every call by walking the
types anew: for an append, each of MessageInput's fields has its name converted and its
annotation resolved again, and graphql-core hands it every field, its default filled in.
Each root field of the mutations gets the resolver Strawberry builds, with that walk made
once (compat/strawberry.py, compiled_resolver): the same permissions, field extensions,
resolver and errors, on every transport.
"""

from strawberry import Schema

from compat.strawberry import compiled_resolver, definition_of, graphql_core_schema


def compile_mutations(schema: Schema) -> list[str]:
    """Give each root mutation field of `schema` that Strawberry resolves with an async
    resolver of its own the compiled one; the names of those fields."""
    mutation = graphql_core_schema(schema).mutation_type
    compiled: list[str] = []
    for name, field in (mutation.fields if mutation is not None else {}).items():
        resolver = compiled_resolver(schema, definition_of(field))
        if resolver is not None:
            field.resolve = resolver
            compiled.append(name)
    return compiled
