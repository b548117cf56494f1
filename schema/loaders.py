"""DataLoaders: one query per distinct message window, however many sessions ask."""

import uuid
from collections.abc import Sequence
from functools import partial

from strawberry.dataloader import DataLoader

from db.engine import Database
from db.message_json import JsonMembers
from db.messages import Window, WindowRequest, list_windows_by_window
from db.tables import Row

# A session, its window, and the members of its messages' JSON objects (None: their rows).
WindowKey = tuple[uuid.UUID, Window, JsonMembers | None]
# The window's rows, or their JSON text (schema/encoded.py).
Loaded = list[Row] | str


async def load_message_windows(database: Database, keys: Sequence[WindowKey]) -> list[Loaded]:
    by_window: dict[WindowRequest, list[uuid.UUID]] = {}
    for session_id, window, members in keys:
        by_window.setdefault((window, members), []).append(session_id)

    loaded = await database.read(list_windows_by_window, by_window=by_window)
    return [loaded[window, members][session_id] for session_id, window, members in keys]


class Loaders:
    """Fresh per context. Uncached, since a WebSocket context outlives many operations."""

    def __init__(self, database: Database) -> None:
        self.message_windows: DataLoader[WindowKey, Loaded] = DataLoader(
            load_fn=partial(load_message_windows, database), cache=False
        )
