"""The service layer: every rule lives here, and both GraphQL and REST call it."""
