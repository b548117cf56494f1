"""The app as served, plus a count of the SQL statements it sends (for figure 5 only).

    python -m uvicorn bench.counted:app

`db.prepared.observed_statements` counts every statement the app's engine runs, through
SQLAlchemy or through asyncpg itself (BEGIN/COMMIT, the pool's pings and the periodic look
for overdue operations are not counted);
GET /bench/statements answers the running total. Everything else goes to `app.app`.
"""

from contextlib import ExitStack

from starlette.types import Receive, Scope, Send

from app import app as served
from db.prepared import observed_statements
from db.streaming import EXPIRY_STATEMENT

statements = 0


def _count(statement: str) -> None:
    global statements
    if EXPIRY_STATEMENT not in statement:  # the periodic look for overdue operations
        statements += 1


_observing = ExitStack()  # for as long as the process serves
_observing.enter_context(observed_statements(served.state.database.engine, _count))


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http" and scope["path"] == "/bench/statements":
        body = str(statements).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})
        return
    await served(scope, receive, send)
