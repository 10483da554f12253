"""The one selection walker (app/graphql/walker.py): it collects what graphql-core's executor
collects, and each subtree once however often fragments repeat it."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import DocumentNode, GraphQLObjectType, Visitor, parse, visit
from graphql.execution.collect_fields import FieldDetails, FragmentDetails, collect_subfields
from graphql.execution.values import get_variable_values

from app.graphql.extensions.aliases import count_aliases
from app.graphql.extensions.depth import operation_depth
from app.graphql.walker import Walker, document_walker, fragments_of, operation_walk
from app.schema import schema as served

SCHEMA = served._schema

DOCUMENTS = [
    (
        """query($skip: Boolean!, $n: Int) { records(objectKey: "contact", first: $n) {
        edges { node { id ...R ... on Contact { firstName a: lastName }
          ... on Company { name } ... @skip(if: $skip) { displayName } } } } }
        fragment R on Record { id createdAt relations { totalCount } ...S }
        fragment S on Contact { email id: id }""",
        {"skip": True, "n": 3},
    ),
    (
        """query($inc: Boolean = true) { record(id: "x") { ... on Record { id }
        r1: relations(first: 1) @include(if: $inc) { edges { node { id } } }
        r1: relations(first: 1) { edges { cursor } } } }""",
        {},
    ),
]


def _oracle(parent: GraphQLObjectType, document, variables, nodes):
    """graphql-core's own collection of the fields below `nodes` on `parent`."""
    operation = next(d for d in document.definitions if d.kind == "operation_definition")
    coerced = get_variable_values(SCHEMA, operation.variable_definitions, variables)
    fragments = {n: FragmentDetails(f) for n, f in fragments_of(document).items()}
    collected = collect_subfields(
        SCHEMA, fragments, coerced, operation, parent, [FieldDetails(n, None) for n in nodes]
    )
    return {k: tuple(d.node for d in v) for k, v in collected.grouped_field_set.items()}


@pytest.mark.parametrize("index", range(len(DOCUMENTS)))
def test_walker_collects_what_execution_collects(index: int) -> None:
    text, variables = DOCUMENTS[index]
    document = parse(text)
    walk = operation_walk(SCHEMA, document, None, variables)
    assert walk is not None
    walker = walk.walker
    root, fields = walker.root(walk.operation)
    checked = 0
    stack = [(root, nodes) for nodes in fields.values()]
    while stack:
        parent, nodes = stack.pop()
        definition = parent.fields.get(nodes[0].name.value)
        if definition is None:
            continue
        for child in walker.object_types(_named(definition.type)):
            mine = walker.fields(child, nodes)
            assert mine == _oracle(child, document, variables, nodes), (child.name, nodes)
            checked += 1
            stack.extend((child, group) for group in mine.values())
    assert checked >= 5


def _named(type_):
    while hasattr(type_, "of_type"):
        type_ = type_.of_type
    return type_


def _bomb(levels: int, spreads: int) -> str:
    parts = ['query Bomb { record(id: "x") { ...F0 } }']
    for i in range(levels):
        body = (
            " ".join(
                f"a{j}: relations {{ edges {{ node {{ ...F{i + 1} }} }} }}" for j in range(spreads)
            )
            if i < levels - 1
            else "id"
        )
        parts.append(f"fragment F{i} on Record {{ {body} }}")
    return "\n".join(parts)


def _field_nodes(document: DocumentNode) -> int:
    count = 0

    class Fields(Visitor):
        def enter_field(self, *_: object) -> None:
            nonlocal count
            count += 1

    visit(document, Fields())
    return count


def test_each_subtree_is_walked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # 6^9 aliases once expanded: counted, and the depth found, with work linear in the
    # document (a walk that expanded fragments would collect and fold millions of times).
    document = parse(_bomb(10, 6))
    nodes = _field_nodes(document)  # 164
    # Each (type, field nodes) pair is collected once, and folded once per measure.
    bounds = {"collect": 2 * nodes + 1, "fold": 2 * (2 * nodes + 1)}
    calls = {"collect": 0, "fold": 0}
    collect, fold = Walker._collect, Walker.fold_fields

    def count(what: str) -> None:
        calls[what] += 1
        assert calls[what] <= bounds[what], f"{what} ran more than {bounds[what]} times"

    def counted_collect(self: Walker, *args: Any) -> Any:
        count("collect")
        return collect(self, *args)

    def counted_fold(self: Walker, *args: Any, **kwargs: Any) -> Any:
        count("fold")
        return fold(self, *args, **kwargs)

    monkeypatch.setattr(Walker, "_collect", counted_collect)
    monkeypatch.setattr(Walker, "fold_fields", counted_fold)
    walker, operations = document_walker(SCHEMA, document)
    root, fields = walker.root(operations[0])
    aliases = count_aliases(walker, root, fields)
    depth = operation_depth(walker, operations[0])
    assert aliases == sum(6**k for k in range(1, 10))
    assert depth == 2 + 9 * 3


def test_fragment_cycles_do_not_recurse_forever() -> None:
    document = parse(
        'query { record(id: "x") { ...A } }'
        " fragment A on Record { relations { edges { node { ...A } } } }"
    )
    walker, operations = document_walker(SCHEMA, document)
    assert operation_depth(walker, operations[0]) == 5


def test_directives_count_only_with_variables() -> None:
    document = parse(
        'query($x: Boolean!) { record(id: "x") { id @skip(if: $x) a: id @include(if: $x) } }'
    )
    walker = Walker(SCHEMA, {}, None)  # validation time: everything counts
    operation = document.definitions[0]
    root, fields = walker.root(operation)
    record = SCHEMA.get_type("Contact")
    assert set(walker.fields(record, fields["record"])) == {"id", "a"}
    for x, keys in ((True, {"a"}), (False, {"id"})):
        walk = operation_walk(SCHEMA, document, None, {"x": x})
        assert walk is not None
        _, fields = walk.walker.root(walk.operation)
        assert set(walk.walker.fields(record, fields["record"])) == keys
