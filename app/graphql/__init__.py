"""The GraphQL layer: types, schema, request context, error formatting and the ASGI view."""
