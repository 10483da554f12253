"""A mutation whose selection reads what the token may not read is refused before it runs.

Queries refuse such fields one by one (FORBIDDEN at the field, siblings still answered). A
mutation cannot: its change would be committed and then answered with an error, and a client
that retries on errors would repeat it. So the selection is checked first, against the same
read scopes (`app.access`), and the refusal carries the path where the field stands, as it
would have at execution. The selection is the request's one walk (app/graphql/walker.py)."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    OperationType,
    get_named_type,
)
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension

from app.access import READ_SCOPE, WRITE_SCOPE
from app.auth import Principal
from app.graphql.context import Context
from app.graphql.walker import Fields, Walker, core_schema, operation_walk
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
_KindPaths = dict[Kind, tuple[str, ...]]


def _kind_of(named: GraphQLNamedType) -> Kind | None:
    if named.name in _KIND_OF_TYPE:
        return _KIND_OF_TYPE[named.name]
    if isinstance(named, GraphQLObjectType | GraphQLInterfaceType) and any(
        i.name == "Record" for i in named.interfaces
    ):
        return Kind.RECORD
    return None


class _Reads:
    """The kinds a mutation's selection reads, each with the first path that reads it."""

    def __init__(self, walker: Walker, principal: Principal) -> None:
        self.walker = walker
        self.principal = principal
        self.mutation_type = walker.schema.mutation_type
        self.memo: dict[tuple[str, tuple[int, ...]], _KindPaths] = {}

    def reads(self, parent: GraphQLObjectType, fields: Fields) -> _KindPaths:
        found: _KindPaths = {}
        for key, nodes in fields.items():
            definition = parent.fields.get(nodes[0].name.value)
            if definition is None:
                continue  # __typename, or a field validation refuses
            named = get_named_type(definition.type)
            kind = _KIND_OF_FIELD.get((parent.name, nodes[0].name.value)) or _kind_of(named)
            if parent is self.mutation_type and kind is not None:
                # What a mutation returns is read under its write scope, which grants the
                # read. Without it the mutation refuses itself, naming the write scope.
                if not self.principal.has_scope(WRITE_SCOPE[kind]):
                    continue
            elif kind is not None:
                found.setdefault(kind, (key,))
            for object_type in self.walker.object_types(named):
                for k, path in self._below(object_type, nodes).items():
                    found.setdefault(k, (key, *path))
        return found

    def _below(self, parent: GraphQLObjectType, nodes: tuple[FieldNode, ...]) -> _KindPaths:
        key = (parent.name, tuple(id(n) for n in nodes))
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = self.reads(parent, self.walker.fields(parent, nodes))
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
        context = ctx.context
        walk = context.walk if isinstance(context, Context) else None
        if walk is None:
            walk = operation_walk(
                core_schema(ctx.schema), document, ctx.operation_name, ctx.variables
            )
        if walk is None:
            return None  # execution refuses it (variables that do not coerce)
        root, fields = walk.walker.root(walk.operation)
        for kind, path in _Reads(walk.walker, principal).reads(root, fields).items():
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
