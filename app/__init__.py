"""Relata: labeled associations between CRM records, over GraphQL and REST."""
