from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strawberry.types import Info as StrawberryInfo

from app.auth import Principal
from app.graphql.dataloaders import Loaders
from db import Database


@dataclass
class Context:
    db: Database
    principal: Principal
    request: Any = None
    response: Any = None
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.db, self.principal)


Info = StrawberryInfo[Context, None]
