"""A root field's arguments converted by a plan made once per field (COMPILED_ARGUMENTS).

Strawberry converts a field's arguments to their input types on every call by walking the
types anew: for an append, each of MessageInput's fields has its name converted and its
annotation resolved again, and graphql-core hands it every field, its default filled in;
for a read of one session, the walk around its one `id` is a visible share of a repeat
read. Each root field of the queries and mutations gets the resolver Strawberry builds,
with that walk made once (compat/strawberry.py, compiled_resolver): the same permissions,
field extensions, resolver and errors, on every transport.
"""

from strawberry import Schema

from compat.strawberry import compiled_resolver, definition_of, graphql_core_schema


def compile_root_fields(schema: Schema) -> list[str]:
    """Give each root query and mutation field of `schema` that Strawberry resolves with an
    async resolver of its own the compiled one; the names of those fields."""
    core = graphql_core_schema(schema)
    compiled: list[str] = []
    for root in (core.query_type, core.mutation_type):
        for name, field in (root.fields if root is not None else {}).items():
            resolver = compiled_resolver(schema, definition_of(field))
            if resolver is not None:
                field.resolve = resolver
                compiled.append(name)
    return compiled
