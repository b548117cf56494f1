"""The GraphQL schema: types, inputs, scalars, root fields, permissions, errors, limits."""
