"""The app as served, plus a count of the SQL statements it sends (for figure 5 only).

    python -m uvicorn bench.counted:app

A SQLAlchemy `before_cursor_execute` listener on the app's engine counts every statement
(BEGIN/COMMIT and the pool's pings are not cursor executes, so they are not counted);
GET /bench/statements answers the running total. Everything else goes to `app.app`.
"""

from typing import Any

from sqlalchemy import event
from starlette.types import Receive, Scope, Send

from app import app as served

statements = 0


def _count(*_: Any) -> None:
    global statements
    statements += 1


event.listen(served.state.database.engine.sync_engine, "before_cursor_execute", _count)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http" and scope["path"] == "/bench/statements":
        body = str(statements).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})
        return
    await served(scope, receive, send)
