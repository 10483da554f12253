"""Document helpers shared by the limit extensions: operations and fragments by name."""

from __future__ import annotations

from collections.abc import Callable

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)


def fragments_of(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def operations_of(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def operation_label(operation: OperationDefinitionNode) -> str:
    return operation.name.value if operation.name else "anonymous operation"


def fold_selections(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    memo: dict[str, int],
    *,
    own: Callable[[FieldNode], int],
    combine: Callable[[list[int]], int],
    visiting: frozenset[str] = frozenset(),
) -> int:
    """A number computed over a selection: each field is worth `own(field)` plus what is below
    it, and siblings are combined with `combine` (sum for a count, max for a depth). Each
    fragment is folded once (`memo`, shared across a document's operations) however often it
    is spread; unknown fragments and cycles are left to the standard validation rules."""
    if selection_set is None:
        return 0
    values: list[int] = []
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            below = fold_selections(
                selection.selection_set,
                fragments,
                memo,
                own=own,
                combine=combine,
                visiting=visiting,
            )
            values.append(own(selection) + below)
        elif isinstance(selection, InlineFragmentNode):
            values.append(
                fold_selections(
                    selection.selection_set,
                    fragments,
                    memo,
                    own=own,
                    combine=combine,
                    visiting=visiting,
                )
            )
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in visiting:
                continue
            if name not in memo:
                memo[name] = fold_selections(
                    fragment.selection_set,
                    fragments,
                    memo,
                    own=own,
                    combine=combine,
                    visiting=visiting | {name},
                )
            values.append(memo[name])
    return combine(values)
