"""One definition of every field: the registry (app/graphql/registry.py) is what the Strawberry
types resolve and what the pre-shaped path reads, and the fields that path supports are derived
from it. A field added to the schema must be placed: shaped, or left to ordinary execution."""

from __future__ import annotations

import pytest
from graphql import parse

from app.graphql import registry, shaping
from app.graphql.walker import operation_walk
from app.schema import schema as served

SCHEMA = served._schema

# Fields the pre-shaped path leaves to ordinary execution, by type (their resolvers load more).
ORDINARY_ONLY = {
    **{t: {"history"} for t in registry.RECORD_TYPES},
    "Relation": {"association", "firstRecord", "secondRecord"},
    "Association": {"relationCount"},
}


def test_supported_fields_are_exactly_the_registry_and_structure() -> None:
    for type_name, supported in shaping.SUPPORTED.items():
        fields = set(SCHEMA.get_type(type_name).fields) | {"__typename"}
        assert supported <= fields, (type_name, supported - fields)
        assert fields - supported == ORDINARY_ONLY.get(type_name, set()), type_name


def test_every_registry_leaf_is_a_leaf_of_its_type() -> None:
    for type_name, leaves in registry.LEAVES.items():
        graphql_type = SCHEMA.get_type(type_name)
        for name, leaf in leaves.items():
            assert name in graphql_type.fields, (type_name, name)
            # The pre-shaped rows carry every attribute a leaf reads.
            if type_name in registry.ROW_COLUMNS:
                assert set(leaf.reads) <= set(registry.ROW_COLUMNS[type_name]), (type_name, name)


# Fields that are not a value of the entity's own row: they read more (a page of deliveries).
NOT_ROW_VALUES = {"Webhook": {"deliveries"}}


@pytest.mark.parametrize("type_name", ["ObjectSchema", "Event", "Webhook"])
def test_every_field_of_the_other_entities_is_defined_once_in_the_registry(type_name: str) -> None:
    fields = set(SCHEMA.get_type(type_name).fields) - NOT_ROW_VALUES.get(type_name, set())
    assert fields == set(registry.LEAVES[type_name])


@pytest.mark.parametrize(
    "selection",
    ["history { edges { cursor } }", "relations { edges { relation { firstRecord { id } } } }"],
)
def test_a_field_outside_the_registry_is_refused_not_guessed(selection: str) -> None:
    document = parse(f'{{ record(id: "x") {{ id {selection} }} }}')
    walk = operation_walk(SCHEMA, document, None, {})
    assert walk is not None
    root, fields = walk.walker.root(walk.operation)
    with pytest.raises(shaping.Unsupported):
        shaping.Planner(walk.walker).plan_operation(root, fields)
