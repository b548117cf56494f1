"""The ASGI application: `uvicorn app:app` serves the whole API."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from core.body_limit import BodySizeLimit
from core.events import Events
from core.identity import generate_dev_secret, issue_token
from core.settings import Settings
from db.engine import Database, create_engine
from db.migrate import migrate
from schema import build_schema
from schema.view import ChatGraphQL

logger = logging.getLogger("chatstore")


def create_app(settings: Settings) -> Starlette:
    dev_mode = settings.jwt_secret is None
    jwt_secret = (
        generate_dev_secret()
        if settings.jwt_secret is None
        else (settings.jwt_secret.get_secret_value())
    )
    database = Database(create_engine(settings.database_url))
    events = Events(settings.broadcast_url)
    graphql = ChatGraphQL(
        schema=build_schema(settings),
        database=database,
        events=events,
        settings=settings,
        jwt_secret=jwt_secret,
        allowed_origins=settings.allowed_origins,
    )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await migrate(database.engine)
        await events.connect()
        if dev_mode:
            logger.warning(
                "JWT_SECRET is not set: dev mode, with a random key for this run only. "
                "A token for user 'dev' (GraphiQL: add the header "
                '{"Authorization": "Bearer <token>"}):\n%s',
                issue_token(jwt_secret, "dev"),
            )
        try:
            yield
        finally:
            await events.disconnect()
            await database.dispose()

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> JSONResponse:
        checks = {"database": await database.is_reachable(), "broadcast": events.connected}
        return JSONResponse(
            {"status": "ready" if all(checks.values()) else "unavailable", **checks},
            status_code=200 if all(checks.values()) else 503,
        )

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        middleware=[Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)],
        lifespan=lifespan,
    )
    app.state.database = database
    app.state.events = events
    return app


app = create_app(Settings())
