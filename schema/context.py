"""What every resolver receives: built once per HTTP request or WebSocket connection."""

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from starlette.websockets import WebSocket
from strawberry.types import Info as StrawberryInfo

from core.errors import Unauthenticated
from core.identity import Identity
from core.settings import Settings
from db.engine import Database
from live.events import Events
from schema.loaders import Loaders


@dataclass
class Context:
    database: Database
    events: Events
    settings: Settings
    identity: Identity | None = None
    # Why the caller has no identity, told to it when an operation needs one.
    auth_problem: Unauthenticated | None = None
    # Set by Strawberry from the WebSocket `connection_init` payload.
    connection_params: dict[str, Any] | None = None
    websocket: WebSocket | None = None

    @cached_property
    def loaders(self) -> Loaders:
        """Made by the first resolver that loads: a read answered from the response cache
        loads nothing."""
        return Loaders(self.database)

    @property
    def caller(self) -> Identity:
        """The verified caller; operations are guarded, so one is always there."""
        if self.identity is None:
            raise self.auth_problem or Unauthenticated("Missing credentials.")
        return self.identity


Info = StrawberryInfo[Context, None]
