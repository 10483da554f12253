from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strawberry.types import Info as StrawberryInfo

from app.auth import Principal
from app.config import Settings
from app.graphql.dataloaders import Loaders
from app.graphql.selection import SelectionIndex
from db import Database


@dataclass
class Context:
    db: Database
    principal: Principal
    request: Any = None
    response: Any = None
    settings: Settings = field(default_factory=Settings)
    loaders: Loaders = field(init=False)
    _selections: SelectionIndex | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.db, self.principal)

    def selections(self, fragments: Any, variables: dict[str, Any]) -> SelectionIndex:
        """The operation's fragment index, built once per request (batching is off, so a
        request runs one operation)."""
        if self._selections is None:
            self._selections = SelectionIndex(fragments, variables or {})
        return self._selections


Info = StrawberryInfo[Context, None]
