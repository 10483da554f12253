"""One walk over an operation's selections, shared by the limits, the cost estimate, the
pre-shaped planner and the resolvers that look ahead.

Fields are collected as execution collects them: by response key, fragments and inline
fragments expanded where their type condition applies, `@include` / `@skip` evaluated against
the coerced variables. Everything is built on graphql-core's public API (`get_directive_values`,
`get_argument_values`, `type_from_ast`, `GraphQLSchema.is_sub_type`).

Each (type, merged field nodes) is collected once, and each fragment's own fields once per
type, so a fragment spread in many places costs one walk however deep fragments nest (a
700-byte document of fragments that spread fragments can otherwise stand for 6^8 fields).

Without variables (`Walker(schema, fragments, None)`, at validation time) directives are not
evaluated: every conditional field counts, which is what a limit checked before the variables
are known must assume."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    NamedTypeNode,
    OperationDefinitionNode,
    SchemaMetaFieldDef,
    SelectionSetNode,
    TypeMetaFieldDef,
    TypeNameMetaFieldDef,
    VariableNode,
    VariableValues,
    get_argument_values,
    get_directive_values,
    get_named_type,
    get_variable_values,
    is_abstract_type,
    is_object_type,
)
from graphql.pyutils import Path
from graphql.utilities import get_operation_ast, type_from_ast

# Response key -> the field nodes merged under it, in the order execution returns them.
Fields = dict[str, tuple[FieldNode, ...]]


def core_schema(schema: Any) -> GraphQLSchema:
    """The graphql-core schema behind a Strawberry schema. Strawberry has no public accessor
    (its own execution reads this attribute); this is the one place that does."""
    core = schema._schema
    assert isinstance(core, GraphQLSchema)
    return core


def response_key(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


def field_definition(parent: GraphQLObjectType, name: str) -> GraphQLField | None:
    """The definition of `parent.name`, meta fields included; None for a field validation
    refuses."""
    if name == "__typename":
        return TypeNameMetaFieldDef
    if name == "__schema":
        return SchemaMetaFieldDef
    if name == "__type":
        return TypeMetaFieldDef
    found: GraphQLField | None = parent.fields.get(name)
    return found


class Walker:
    """One operation's fields, collected lazily and memoised per (type, field nodes)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: VariableValues | None,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self._fields: dict[tuple[str, tuple[int, ...]], Fields] = {}
        self._fragment_fields: dict[tuple[str, str], tuple[tuple[str, FieldNode], ...]] = {}
        self._folds: dict[tuple[str, str, tuple[int, ...]], int] = {}

    @property
    def coerced(self) -> Mapping[str, Any]:
        return {} if self.variables is None else self.variables.coerced

    def root(self, operation: OperationDefinitionNode) -> tuple[GraphQLObjectType, Fields]:
        root = self.schema.get_root_type(operation.operation)
        if root is None:
            raise GraphQLError(f"the schema has no {operation.operation.value} type")
        key = (root.name, (id(operation.selection_set),))
        found = self._fields.get(key)
        if found is None:
            found = self._fields[key] = self._collect(root, (operation.selection_set,))
        return root, found

    def fields(self, parent: GraphQLObjectType, nodes: Sequence[FieldNode]) -> Fields:
        """The fields selected on `parent` below the merged `nodes`."""
        key = (parent.name, tuple(id(n) for n in nodes))
        found = self._fields.get(key)
        if found is None:
            found = self._fields[key] = self._collect(
                parent, tuple(n.selection_set for n in nodes if n.selection_set is not None)
            )
        return found

    def field_names(self, parent: GraphQLObjectType, nodes: Sequence[FieldNode]) -> set[str]:
        return {group[0].name.value for group in self.fields(parent, nodes).values()}

    def object_types(self, named: GraphQLNamedType) -> Sequence[GraphQLObjectType]:
        """The object types a value of `named` can be at run time."""
        if is_abstract_type(named):
            return self.schema.get_possible_types(named)
        return [named] if is_object_type(named) else []

    def arguments(self, definition: GraphQLField, node: FieldNode) -> dict[str, Any]:
        """The field's arguments as execution coerces them: schema defaults applied, variables
        substituted (GraphQLError for values that do not coerce)."""
        return get_argument_values(definition, node, self.variables)

    def page_arguments(self, definition: GraphQLField, node: FieldNode) -> dict[str, Any]:
        """`arguments`, with `first` as the request gave it: beside `last`, a `first` left at
        its schema default is no `first` at all (app.pagination refuses the two together)."""
        args = self.arguments(definition, node)
        if args.get("last") is not None and not self.given(node, "first"):
            return {**args, "first": None}
        return args

    def given(self, node: FieldNode, name: str) -> bool:
        """Whether `node` gives its argument `name` a value, rather than leaving the schema's
        default: `first` defaults to 50, so only the AST tells `last: 5` from
        `first: 50, last: 5`."""
        for argument in node.arguments or ():
            if argument.name.value == name:
                if isinstance(argument.value, VariableNode):
                    return argument.value.name.value in self.coerced
                return True
        return False

    def fold_fields(
        self,
        measure: str,
        parent: GraphQLObjectType,
        fields: Fields,
        own: Callable[[tuple[FieldNode, ...]], int],
        combine: Callable[[int, int], int],
    ) -> int:
        """A number over a selection: each field is worth `own(its nodes)` plus the most any
        type below it is worth, and siblings are combined with `combine` (max for a depth, a
        sum for a count). Each subtree is folded once per `measure` however often fragments
        repeat it; a subtree that contains itself (fragment cycles, which validation refuses
        alongside) counts 0 where it recurs."""
        total = 0
        for nodes in fields.values():
            below = 0
            for object_type in child_types(self, field_definition(parent, nodes[0].name.value)):
                key = (measure, object_type.name, tuple(id(n) for n in nodes))
                found = self._folds.get(key)
                if found is None:
                    self._folds[key] = 0
                    found = self._folds[key] = self.fold_fields(
                        measure, object_type, self.fields(object_type, nodes), own, combine
                    )
                below = max(below, found)
            total = combine(total, own(nodes) + below)
        return total

    def _collect(
        self, parent: GraphQLObjectType, selection_sets: Iterable[SelectionSetNode]
    ) -> Fields:
        # A node reached twice (a fragment spread both directly and inside another fragment)
        # is one field, as in execution: kept once, or each level below would double.
        grouped: dict[str, dict[int, FieldNode]] = {}
        visited: set[str] = set()
        for selection_set in selection_sets:
            for key, node in self._selection_fields(parent, selection_set, visited):
                grouped.setdefault(key, {})[id(node)] = node
        return {key: tuple(nodes.values()) for key, nodes in grouped.items()}

    def _selection_fields(
        self, parent: GraphQLObjectType, selection_set: SelectionSetNode, visited: set[str]
    ) -> list[tuple[str, FieldNode]]:
        found: list[tuple[str, FieldNode]] = []
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                found.append((response_key(selection), selection))
            elif isinstance(selection, InlineFragmentNode):
                if self._applies(selection.type_condition, parent):
                    found += self._selection_fields(parent, selection.selection_set, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in visited:
                    visited.add(name)
                    found += self._fragment(name, parent)
        return found

    def _fragment(self, name: str, parent: GraphQLObjectType) -> tuple[tuple[str, FieldNode], ...]:
        key = (name, parent.name)
        found = self._fragment_fields.get(key)
        if found is None:
            fragment = self.fragments.get(name)
            found = ()
            # Unknown fragments and cycles are refused by validation; until then, nothing.
            self._fragment_fields[key] = found
            if fragment is not None and self._applies(fragment.type_condition, parent):
                # Spreads inside a fragment are expanded once each per fragment, as execution
                # does within one selection.
                found = tuple(self._selection_fields(parent, fragment.selection_set, {name}))
                self._fragment_fields[key] = found
        return found

    def _included(self, node: Any) -> bool:
        if self.variables is None or not node.directives:
            return True
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        if skip is not None and skip.get("if") is True:
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return not (include is not None and include.get("if") is False)

    def _applies(self, condition: NamedTypeNode | None, parent: GraphQLObjectType) -> bool:
        if condition is None:
            return True
        named = type_from_ast(self.schema, condition)
        if named is None:
            return False
        if named is parent:
            return True
        return is_abstract_type(named) and self.schema.is_sub_type(named, parent)


def child_types(walker: Walker, definition: GraphQLField | None) -> Sequence[GraphQLObjectType]:
    """The object types below a field (none for a leaf or an unknown field)."""
    if definition is None:
        return ()
    return walker.object_types(get_named_type(definition.type))


class OperationWalk:
    """The walk of the operation a request runs: its walker (variables coerced) and the field
    nodes at any response path, found from the root through the memoised collection."""

    def __init__(
        self, walker: Walker, document: DocumentNode, operation: OperationDefinitionNode
    ) -> None:
        self.walker = walker
        self.document = document
        self.operation = operation

    def nodes_at(self, path: Path) -> tuple[GraphQLObjectType, tuple[FieldNode, ...]]:
        """The parent type and merged field nodes of the field at `path` (a resolver's
        `info.path`: response keys, list indexes and each key's parent type name)."""
        keys: list[tuple[str, str | None]] = []
        at: Path | None = path
        while at is not None:
            if isinstance(at.key, str):
                keys.append((at.key, at.typename))
            at = at.prev
        keys.reverse()
        parent, fields = self.walker.root(self.operation)
        nodes: tuple[FieldNode, ...] = ()
        for depth, (key, typename) in enumerate(keys):
            if depth:
                named = self.walker.schema.get_type(typename or "")
                if not isinstance(named, GraphQLObjectType):
                    raise LookupError(f"no object type at {key!r}")
                parent = named
                fields = self.walker.fields(parent, nodes)
            nodes = fields[key]
        return parent, nodes

    def selected(self, path: Path) -> set[str]:
        """The names of the fields selected directly below the field at `path`, when its type
        is an object type."""
        parent, nodes = self.nodes_at(path)
        definition = field_definition(parent, nodes[0].name.value)
        below = child_types(self.walker, definition)
        return set().union(*(self.walker.field_names(t, nodes) for t in below))

    def page_arguments(self, path: Path) -> dict[str, Any]:
        """The arguments of the field at `path`, as `Walker.page_arguments` gives them."""
        parent, nodes = self.nodes_at(path)
        definition = field_definition(parent, nodes[0].name.value)
        assert definition is not None  # a resolver's own field
        return self.walker.page_arguments(definition, nodes[0])


def operation_walk(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> OperationWalk | None:
    """The walk of the operation `operation_name` runs, or None when execution will refuse it
    (no such operation, variables that do not coerce)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    coerced = get_variable_values(
        schema, operation.variable_definitions or (), dict(variables or {})
    )
    if isinstance(coerced, list):
        return None
    return OperationWalk(Walker(schema, fragments_of(document), coerced), document, operation)


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def document_walker(
    schema: GraphQLSchema, document: DocumentNode
) -> tuple[Walker, list[OperationDefinitionNode]]:
    """A walker over a whole document before its variables are known (validation): directives
    are not evaluated, and the document's operations."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return Walker(schema, fragments_of(document), None), operations
