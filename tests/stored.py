"""Data written through the db layer itself, for the tests below the API."""

import uuid

from core.identity import Identity
from db.engine import Database
from db.messages import NewMessage, append
from db.sessions import create_session


async def stored_reply(database: Database, caller: Identity) -> tuple[uuid.UUID, uuid.UUID]:
    """A new session of `caller`'s, and its STREAMING message holding "so far": their ids."""
    session = await database.write(create_session, caller=caller, session_id=None, title="t")
    new = NewMessage({"role": "ASSISTANT", "content": "so far", "status": "STREAMING"})
    [reply] = await append(database, session_id=session["id"], caller=caller, new=[new])
    return session["id"], reply["id"]
