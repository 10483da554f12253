"""Introspection of JSON-scalar defaults (`properties: JSON! = {}`).

graphql-core renders a default for introspection through `ast_from_value`, which cannot express
a dict or list for a custom scalar and raises: every introspection query (GraphiQL, schema
fuzzers, codegen) failed with INTERNAL_SERVER_ERROR. Giving such defaults as literals fixes that
without touching the SDL."""

from __future__ import annotations

from typing import Any

from graphql import (
    BooleanValueNode,
    ConstListValueNode,
    ConstObjectFieldNode,
    ConstObjectValueNode,
    ConstValueNode,
    FloatValueNode,
    GraphQLDefaultInput,
    GraphQLSchema,
    IntValueNode,
    NameNode,
    NullValueNode,
    StringValueNode,
    get_named_type,
    is_input_object_type,
    is_object_type,
    is_scalar_type,
)
from graphql.pyutils import Undefined


def literal(value: Any) -> ConstValueNode:
    if value is None:
        return NullValueNode()
    if isinstance(value, bool):
        return BooleanValueNode(value=value)
    if isinstance(value, int):
        return IntValueNode(value=str(value))
    if isinstance(value, float):
        return FloatValueNode(value=repr(value))
    if isinstance(value, str):
        return StringValueNode(value=value)
    if isinstance(value, dict):
        return ConstObjectValueNode(
            fields=tuple(
                ConstObjectFieldNode(name=NameNode(value=str(k)), value=literal(v))
                for k, v in value.items()
            )
        )
    if isinstance(value, list | tuple):
        return ConstListValueNode(values=tuple(literal(v) for v in value))
    raise TypeError(f"no GraphQL literal for {type(value).__name__}")


def _fix(holder: Any) -> None:
    default = holder.default_value
    if holder.default is not None or default is Undefined:
        return
    if is_scalar_type(get_named_type(holder.type)) and isinstance(default, dict | list):
        holder.default = GraphQLDefaultInput(literal=literal(default))


def literal_scalar_defaults(schema: GraphQLSchema) -> None:
    for named in schema.type_map.values():
        if is_input_object_type(named):
            for input_field in named.fields.values():
                _fix(input_field)
        elif is_object_type(named):
            for field in named.fields.values():
                for argument in field.args.values():
                    _fix(argument)
