"""A mutation whose selection reads what the token may not read is refused before it runs.

Queries refuse such fields one by one (FORBIDDEN at the field, siblings still answered). A
mutation cannot: its change would be committed and then answered with an error, and a client
that retries on errors would repeat it. So the selection is checked first, against the same
read scopes (`app.access`), and the refusal carries the path where the field stands, as it
would have at execution. Fragments are walked once each: linear in the document."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
)
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension

from app.access import READ_SCOPE, WRITE_SCOPE
from app.auth import Principal
from app.graphql.extensions._walk import fragments_of
from app.graphql.selection import included
from app.ids import Kind

# The entity a field's (named) type carries; a record type is any that implements Record.
_KIND_OF_TYPE = {
    "Record": Kind.RECORD,
    "RecordConnection": Kind.RECORD,
    "Association": Kind.ASSOCIATION,
    "Relation": Kind.RELATION,
    "RelationConnection": Kind.RELATION,
    "ObjectSchema": Kind.OBJECT,
}
# Scalar fields that disclose another entity's data.
_KIND_OF_FIELD = {("Association", "relationCount"): Kind.RELATION}

# Where each kind is first read: the response keys below the selection set.
_Reads = dict[Kind, tuple[str, ...]]


def _kind_of(named: GraphQLNamedType) -> Kind | None:
    if named.name in _KIND_OF_TYPE:
        return _KIND_OF_TYPE[named.name]
    if isinstance(named, GraphQLObjectType | GraphQLInterfaceType) and any(
        i.name == "Record" for i in named.interfaces
    ):
        return Kind.RECORD
    return None


class _Walk:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
        principal: Principal,
    ) -> None:
        self.schema, self.fragments, self.variables = schema, fragments, variables
        self.principal = principal
        self.memo: dict[str, _Reads] = {}

    def reads(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType, seen: frozenset[str]
    ) -> _Reads:
        found: _Reads = {}
        if selection_set is None:
            return found

        def add(kind: Kind, path: tuple[str, ...]) -> None:
            found.setdefault(kind, path)

        for selection in selection_set.selections:
            if not included(selection, self.variables):
                continue
            if isinstance(selection, FieldNode):
                fields = getattr(parent, "fields", {})
                definition = fields.get(selection.name.value)
                if definition is None:
                    continue  # __typename, or a field validation refuses
                key = (selection.alias or selection.name).value
                named = get_named_type(definition.type)
                kind = _KIND_OF_FIELD.get((parent.name, selection.name.value)) or _kind_of(named)
                if parent is self.schema.mutation_type and kind is not None:
                    # What a mutation returns is read under its write scope, which grants the
                    # read. Without it the mutation refuses itself, naming the write scope.
                    if not self.principal.has_scope(WRITE_SCOPE[kind]):
                        continue
                elif kind is not None:
                    add(kind, (key,))
                for k, path in self.reads(selection.selection_set, named, seen).items():
                    add(k, (key, *path))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                for k, path in self.reads(selection.selection_set, inner or parent, seen).items():
                    add(k, path)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue
                if name not in self.memo:
                    inner = self.schema.get_type(fragment.type_condition.name.value) or parent
                    self.memo[name] = self.reads(fragment.selection_set, inner, seen | {name})
                for k, path in self.memo[name].items():
                    add(k, path)
        return found


class MutationReadScopes(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        # An earlier limit's refusal stands.
        refusal = None if self.execution_context.result is not None else self._refusal()
        if refusal is not None:
            self.execution_context.result = GraphQLExecutionResult(data=None, errors=[refusal])
        yield

    def _refusal(self) -> GraphQLError | None:
        ctx = self.execution_context
        document = ctx.graphql_document
        principal = getattr(ctx.context, "principal", None)
        if document is None or not isinstance(principal, Principal):
            return None
        operation = get_operation_ast(document, ctx.operation_name)
        if operation is None or operation.operation != OperationType.MUTATION:
            return None
        schema = ctx.schema._schema
        root = schema.mutation_type
        assert root is not None
        walk = _Walk(schema, fragments_of(document), ctx.variables or {}, principal)
        reads = walk.reads(operation.selection_set, root, frozenset())
        for kind, path in reads.items():
            scope = READ_SCOPE[kind]
            if not principal.has_scope(scope):
                return GraphQLError(
                    f"this token lacks the scope {scope!r}, which reading {'.'.join(path)}"
                    " needs; the mutation was not run (leave the field out, or use a token"
                    " with that scope)",
                    path=list(path),
                    extensions={"code": "FORBIDDEN", "scope": scope},
                )
        return None
