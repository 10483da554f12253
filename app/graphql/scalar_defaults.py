"""Input defaults every GraphQL client can print.

graphql-js prints a default through `astFromValue`, which turns a custom scalar's value into a
literal only when it serializes to a string, number or boolean: an object or list default of the
JSON scalar (once `properties: JSON! = {}`) made `printSchema` of the introspected schema throw,
and GraphiQL's docs explorer went blank. The schema is checked when it is built, so no such
default comes back. `literal` turns a JSON value into a GraphQL literal (the fuzz tests use it)."""

from __future__ import annotations

from typing import Any

from graphql import (
    BooleanValueNode,
    ConstListValueNode,
    ConstObjectFieldNode,
    ConstObjectValueNode,
    ConstValueNode,
    FloatValueNode,
    GraphQLSchema,
    IntValueNode,
    NameNode,
    NullValueNode,
    StringValueNode,
    get_named_type,
    is_input_object_type,
    is_object_type,
    is_scalar_type,
    is_specified_scalar_type,
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


def _check(where: str, holder: Any) -> None:
    default = holder.default_value
    if default is Undefined or default is None:
        return
    named = get_named_type(holder.type)
    if (
        is_scalar_type(named)
        and not is_specified_scalar_type(named)
        and not isinstance(default, str | int | float | bool)
    ):
        raise TypeError(
            f"{where} has a {type(default).__name__} default for the custom scalar {named.name},"
            " which graphql-js cannot print; default it to null instead"
        )


def check_printable_defaults(schema: GraphQLSchema) -> None:
    """TypeError for an input default graphql-js's printSchema cannot render."""
    for named in schema.type_map.values():
        if is_input_object_type(named):
            for name, input_field in named.fields.items():
                _check(f"{named.name}.{name}", input_field)
        elif is_object_type(named):
            for field_name, field in named.fields.items():
                for arg_name, argument in field.args.items():
                    _check(f"{named.name}.{field_name}({arg_name})", argument)
