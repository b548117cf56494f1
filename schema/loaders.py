"""DataLoaders: one query per distinct message window, however many sessions ask."""

import uuid
from collections.abc import Sequence
from functools import partial

from strawberry.dataloader import DataLoader

from db.engine import Database
from db.messages import Window, list_windows_by_window
from db.tables import Row

WindowKey = tuple[uuid.UUID, Window]


async def load_message_windows(database: Database, keys: Sequence[WindowKey]) -> list[list[Row]]:
    by_window: dict[Window, list[uuid.UUID]] = {}
    for session_id, window in keys:
        by_window.setdefault(window, []).append(session_id)

    loaded = await database.read(list_windows_by_window, by_window=by_window)
    return [loaded[window][session_id] for session_id, window in keys]


class Loaders:
    """Fresh per context. Uncached, since a WebSocket context outlives many operations."""

    def __init__(self, database: Database) -> None:
        self.message_windows: DataLoader[WindowKey, list[Row]] = DataLoader(
            load_fn=partial(load_message_windows, database), cache=False
        )
