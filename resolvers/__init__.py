"""Thin GraphQL resolvers: unpack arguments, call the service layer, wrap the result in types."""
