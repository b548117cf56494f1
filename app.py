"""The ASGI application: `uvicorn app:app` serves the whole API."""

import asyncio
import logging
import os
import signal
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta

from opentelemetry import trace
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from prometheus_client import multiprocess
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from strawberry.extensions.tracing import OpenTelemetryExtension

from core.identity import generate_dev_secret, issue_token, token_verifier
from core.logs import configure_logging
from core.settings import Settings
from core.traces import start_tracing
from db.engine import Database, create_engine
from db.migrate import migrate
from db.sessions import revisions_by_id, utc_now
from db.streaming import expire_overdue
from live.events import Events
from live.expiry import expire_forever
from live.recheck import recheck_forever
from schema.build import build_schema
from schema.root import Query
from speed import speed_layers
from speed.gc import freeze_start_up
from transports.body_limit import BodySizeLimit
from transports.browser import WebAssets
from transports.drain import Drain, RefuseWhileDraining, drain_on
from transports.graphql_sse import graphql_sse_endpoint
from transports.metrics import metrics_endpoint
from transports.observed import operation_names
from transports.request_ids import RequestIds
from transports.sse import EVENT_ID, MESSAGE_ID, OPERATIONS, subscription_endpoint
from transports.trusted_documents import TrustedDocuments, manifest_paths
from transports.view import ChatGraphQL
from transports.welcome import dev_mode_directions, home, served_at

logger = logging.getLogger("chatstore")

# The paths that answer GraphQL operations, and their transport in the operation log line.
GRAPHQL_PATHS = {
    "/graphql": "http",
    "/graphql/stream": "graphql-sse",
    "/sse/tool-messages": "sse",
    "/sse/session-events": "sse",
}


def create_app(settings: Settings, *, query: type = Query) -> Starlette:
    """The app for `settings`; `query` replaces the Query root type (for tests that add a
    rule to a root field and check that every path obeys it)."""
    # Settings refuse production without a key; development without one makes its own.
    dev_key = settings.jwt_secret is None and settings.jwt_jwks_url is None
    secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret is not None else None
    if dev_key:
        secret = generate_dev_secret()
    speed = speed_layers(settings)
    database = Database(
        create_engine(
            settings.database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            json_loads=speed.loads,
        ),
        prepared_statements=settings.prepared_statements,
        single_statement_append=settings.single_statement_append,
        single_statement_chunk=settings.single_statement_chunk,
        shared_reads=settings.shared_fanout,
        answers_from_writes=settings.events_from_writes,
        # The API's tracer follows the provider start_tracing installs.
        tracer=trace.get_tracer("chatstore.db") if settings.otel_traces else None,
    )
    events = Events(settings.broadcast_url, heartbeat_seconds=settings.broker_heartbeat_seconds)
    drain = Drain(settings.drain_seconds)
    # Tracing is a schema extension: the fast path then turns itself off (FAST_QUERIES).
    tracing = (OpenTelemetryExtension,) if settings.otel_traces else ()
    schema = build_schema(
        settings,
        execution_context_class=speed.execution_context_class,
        extensions=(*speed.extensions, *tracing),
        extensions_runner=speed.extensions_runner,
        query=query,
    )
    speed.compile_arguments(schema)
    graphql = ChatGraphQL(
        schema=schema,
        database=database,
        events=events,
        settings=settings,
        verifier=token_verifier(settings, secret=secret),
        trusted=TrustedDocuments.load(
            manifest_paths(settings.trusted_documents), only=settings.runs_trusted_documents_only
        ),
        drain=drain,
        encode=speed.encode,
        encode_body=speed.encode_body,
        dumps=speed.dumps,
        loads=speed.loads,
        answer_query=speed.fast_queries(schema),
        allowed_origins=settings.allowed_origins,
        keep_alive=True,  # "ka" messages for legacy graphql-ws clients
        keep_alive_interval=settings.ws_ping_seconds,
        known_operations=operation_names(OPERATIONS),
        connection_init_wait_timeout=timedelta(seconds=settings.connection_init_wait_seconds),
        max_subscriptions_per_connection=settings.max_subscriptions_per_socket,
    )

    async def read_revisions(session_ids: Sequence[uuid.UUID]) -> Mapping[uuid.UUID, int]:
        return await database.read(revisions_by_id, session_ids=session_ids)

    async def expire() -> list[tuple[uuid.UUID, int]]:
        expired = await expire_overdue(database, now=utc_now())
        return [(row["session_id"], row["revision"]) for row in expired]

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        configure_logging(settings.log_level, settings.log_format)
        stop_tracing = start_tracing() if settings.otel_traces else None
        if stop_tracing is not None:
            # Its declared range stops below SQLAlchemy 2.1, whose events it uses unchanged
            # (tests/test_observability.py checks its spans).
            SQLAlchemyInstrumentor().instrument(
                engine=database.engine.sync_engine, skip_dep_check=True
            )
        await migrate(database.engine)
        await events.start()
        if settings.gc_freeze:
            freeze_start_up()
        recheck = asyncio.create_task(
            recheck_forever(events.hub, read_revisions, settings.recheck_seconds)
        )
        expiry = asyncio.create_task(
            expire_forever(expire, events.publish_revision, settings.expiry_seconds)
        )
        log_mode(settings)
        if dev_key and secret is not None:
            lifetime = timedelta(hours=settings.dev_token_hours)
            token = issue_token(secret, "dev", ttl=lifetime)
            logger.warning(dev_mode_directions(token, lifetime, served_at()))
        try:
            async with speed.idle_compressors():
                with drain_on(signal.SIGTERM, drain):
                    yield
        finally:
            recheck.cancel()
            expiry.cancel()
            await events.stop()
            await database.dispose()
            if stop_tracing is not None:
                SQLAlchemyInstrumentor().uninstrument()
                stop_tracing()
            if settings.prometheus_multiproc_dir is not None:
                # This process's gauges no longer count.
                multiprocess.mark_process_dead(os.getpid(), str(settings.prometheus_multiproc_dir))

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> JSONResponse:
        if drain.started:
            return JSONResponse(
                {"status": "draining", "subscriptions": events.hub.subscription_count}, 503
            )
        checks = {"database": await database.is_reachable(), "broadcast": events.connected}
        ready = all(checks.values())
        return JSONResponse(
            {
                "status": "ready" if ready else "unavailable",
                **checks,
                "subscriptions": events.hub.subscription_count,
            },
            status_code=200 if ready else 503,
        )

    app = Starlette(
        routes=[
            Route("/", home),
            Route("/graphql", graphql),  # other methods: a coded 405 from the view
            WebSocketRoute("/graphql", graphql),
            # PUT and DELETE too: the protocol's single connection mode, not served, gets a
            # coded 405.
            Route(
                "/graphql/stream",
                graphql_sse_endpoint(graphql),
                methods=["GET", "POST", "PUT", "DELETE"],
            ),
            Route(
                "/sse/tool-messages",
                subscription_endpoint(
                    graphql, "ToolMessageUpdated", "toolMessageUpdated", MESSAGE_ID
                ),
            ),
            Route(
                "/sse/session-events",
                subscription_endpoint(graphql, "SessionEvents", "sessionEvents", EVENT_ID),
            ),
            Route("/healthz", healthz),
            Route("/metrics", metrics_endpoint(settings.prometheus_multiproc_dir)),
            Route("/readyz", readyz),
            Mount("/app", WebAssets(), name="app"),
        ],
        middleware=[
            Middleware(RequestIds),
            Middleware(RefuseWhileDraining, drain=drain, transports=GRAPHQL_PATHS),
            Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes),
        ],
        lifespan=lifespan,
    )
    app.state.database = database
    app.state.events = events
    app.state.drain = drain
    return app


def log_mode(settings: Settings) -> None:
    """Say at start what the environment turns on and off."""
    keys = [
        name
        for name, value in (
            ("JWT_SECRET", settings.jwt_secret),
            ("JWT_JWKS_URL", settings.jwt_jwks_url),
        )
        if value is not None
    ]
    logger.info(
        "ENVIRONMENT=%s: tokens verified with %s; GraphiQL %s, introspection %s",
        settings.environment,
        " and ".join(keys) or "a random dev key",
        "on" if settings.serves_graphiql else "off",
        "on" if settings.allows_introspection else "off",
    )


app = create_app(Settings())
