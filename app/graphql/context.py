from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strawberry.types import Info as StrawberryInfo

from app.auth import Principal
from app.config import Settings
from app.graphql.dataloaders import Loaders
from app.graphql.walker import OperationWalk
from db import Database


@dataclass
class Context:
    db: Database
    principal: Principal
    request: Any = None
    response: Any = None
    settings: Settings = field(default_factory=Settings)
    loaders: Loaders = field(init=False)
    # The running operation's walk (app/graphql/extensions/walk.py): batching is off, so a
    # request runs one operation.
    walk: OperationWalk | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.db, self.principal)


Info = StrawberryInfo[Context, None]
