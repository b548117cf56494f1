"""Logs, metrics and traces, on real servers: the line and the counts of each GraphQL
operation over every transport, the request id, no token in any line, /metrics, and the
spans of an operation and of the database statements under it.

The servers run in this process, so their log lines are read from the service's own
handler (core/logs.py), formatted as in production.
"""

import asyncio
import io
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import strawberry
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from core.logs import HANDLER_NAME
from schema.context import Info
from schema.root import Query
from tests.clients import (
    LEGACY_WS,
    QUIET,
    TRANSPORT_WS,
    WAIT,
    Api,
    append,
    complete_tool,
    in_future,
    new_session_id,
    new_user,
    operation,
    sse,
    subscribed,
    token_for,
    tool,
    websocket,
)
from tests.processes import redis_server
from tests.servers import RunningServer, database_url, running_server

INSIDE = "a line logged inside the resolver"


@strawberry.type
class LoggingQuery(Query):
    @strawberry.field(description="Logs a line while it resolves (a request's other lines).")
    def logged(self, info: Info) -> int:
        logging.getLogger("chatstore.test").warning(INSIDE)
        return 1


@pytest.fixture(autouse=True)
def logging_restored() -> Iterator[None]:
    """These servers log at INFO; the rest of the run goes on as it was."""
    root, access = logging.getLogger(), logging.getLogger("uvicorn.access")
    levels = root.level, access.level
    yield
    root.setLevel(levels[0])
    access.setLevel(levels[1])


@contextmanager
def server_lines() -> Iterator[io.StringIO]:
    """What the service's log handler writes while the block runs."""
    (handler,) = [h for h in logging.getLogger().handlers if h.name == HANDLER_NAME]
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


@asynccontextmanager
async def served(
    workdir: Path, kind: str = "sqlite", **settings: Any
) -> AsyncIterator[tuple[RunningServer, httpx.AsyncClient]]:
    async with (
        database_url(kind, workdir) as url,
        running_server(database_url=url, **settings) as server,
        httpx.AsyncClient(base_url=server.http_url, timeout=WAIT) as http,
    ):
        yield server, http


def operation_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "chatstore.operations" in line]


# Metrics -------------------------------------------------------------------------------------


async def metric(http: httpx.AsyncClient, name: str, **labels: str) -> float:
    """The value of the sample `name` with exactly `labels` on /metrics (0 when absent)."""
    response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain"), response.headers
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


async def metric_becomes(http: httpx.AsyncClient, value: float, name: str, **labels: str) -> None:
    """Waits (within WAIT) for a gauge to read `value`."""
    for _ in range(int(WAIT / 0.05)):
        if await metric(http, name, **labels) == value:
            return
        await asyncio.sleep(0.05)
    assert await metric(http, name, **labels) == value, (name, labels)


async def test_metrics_count_operations_by_code_latency_and_open_subscriptions(workdir: Path):
    async with served(workdir, recheck_seconds=0.2, expiry_seconds=0.1) as (server, http):
        api = Api(http, token_for(new_user()))
        created = {"operation": "CreateSession", "type": "mutation", "code": "OK"}
        refused = {"operation": "GetSession", "type": "query", "code": "UNAUTHENTICATED"}
        unknown = {"operation": "other", "type": "query", "code": "OK"}
        latency = {"operation": "CreateSession", "type": "mutation"}
        before = {
            "created": await metric(http, "chatstore_operations_total", **created),
            "refused": await metric(http, "chatstore_operations_total", **refused),
            "unknown": await metric(http, "chatstore_operations_total", **unknown),
            "latency": await metric(http, "chatstore_operation_duration_seconds_count", **latency),
        }

        session_id = await new_session_id(api)
        body = await Api(http, None).post(operation("GetSession"), {"id": session_id})
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body
        for _ in range(2):  # the second time on the fast path, when it is on
            await api.data("query Mine { sessionCount }")

        assert await metric(http, "chatstore_operations_total", **created) == before["created"] + 1
        assert await metric(http, "chatstore_operations_total", **refused) == before["refused"] + 1
        assert await metric(http, "chatstore_operations_total", **unknown) == before["unknown"] + 2
        assert (
            await metric(http, "chatstore_operation_duration_seconds_count", **latency)
            == before["latency"] + 1
        )

        # An open subscription, its replay and an event delivered.
        subscriptions = await metric(http, "chatstore_subscriptions_open")
        sockets = await metric(http, "chatstore_websockets_open")
        replays = await metric(http, "chatstore_catch_up_events_count", reason="replay")
        delivered_label = {"subscription": "toolMessageUpdated"}
        delivered = await metric(http, "chatstore_events_delivered_total", **delivered_label)
        variables = {"sessionId": session_id, "afterRevision": 0}
        async with subscribed(server.ws_url, api.token, variables) as sub:
            await metric_becomes(http, subscriptions + 1, "chatstore_subscriptions_open")
            assert await metric(http, "chatstore_websockets_open") == sockets + 1
            await metric_becomes(
                http, replays + 1, "chatstore_catch_up_events_count", reason="replay"
            )
            await append(api, session_id, tool("call-1"))
            assert (await sub.next_tool_message())["toolCallId"] == "call-1"
            assert (
                await metric(http, "chatstore_events_delivered_total", **delivered_label)
                == delivered + 1
            )
            # The periodic recheck of subscribed sessions runs (every 0.2 s here).
            rounds = await metric(http, "chatstore_recheck_rounds_total", outcome="ok")
            await metric_becomes(http, rounds + 1, "chatstore_recheck_rounds_total", outcome="ok")
        await metric_becomes(http, subscriptions, "chatstore_subscriptions_open")
        await metric_becomes(http, sockets, "chatstore_websockets_open")

        # An operation that ends by its deadline.
        expired = await metric(http, "chatstore_expired_operations_total")
        pending = {**tool("call-2"), "status": "PENDING", "deadline": in_future(0.3)}
        await append(api, session_id, pending)
        await metric_becomes(http, expired + 1, "chatstore_expired_operations_total")

        # Every connection taken from the pool went back, none is awaited. Not read against
        # the gauges at the start: the expiry sweep and the recheck, every 0.1 and 0.2 s
        # here, hold a connection for a moment, which a reading then may have caught.
        await metric_becomes(http, 0, "chatstore_db_connections_in_use")
        await metric_becomes(http, 0, "chatstore_db_connections_waiting")
        text = (await http.get("/metrics")).text
        for name in ("chatstore_broker_reconnects_total", "chatstore_broker_resyncs_total"):
            assert re.search(rf"^{name}(\{{.*\}})? \d", text, re.MULTILINE), name


async def test_metrics_count_a_broker_reconnect_and_its_resync(workdir: Path):
    async with redis_server(workdir) as redis:
        settings: dict[str, Any] = {"broadcast_url": redis.url, "broker_heartbeat_seconds": 0.1}
        async with served(workdir, **settings) as (_, http):
            reconnects = await metric(http, "chatstore_broker_reconnects_total")
            resyncs = await metric(http, "chatstore_broker_resyncs_total", origin="self")
            redis.stop()
            await asyncio.sleep(0.5)  # three pings missed: the broker is taken for lost
            await redis.start()
            await metric_becomes(http, reconnects + 1, "chatstore_broker_reconnects_total")
            assert (
                await metric(http, "chatstore_broker_resyncs_total", origin="self") == resyncs + 1
            )


# The operation log line ------------------------------------------------------------------------


async def test_the_operation_line_in_text_names_operation_caller_code_and_request_id(
    workdir: Path,
):
    async with served(workdir, log_level="INFO", query=LoggingQuery) as (_, http):
        user = new_user()
        api = Api(http, token_for(user))
        with server_lines() as lines:
            response = await http.post(
                "/graphql",
                json={"query": operation("CreateSession"), "variables": {}},
                headers={"Authorization": f"Bearer {api.token}", "X-Request-ID": "req-text-1"},
            )
            assert response.headers["x-request-id"] == "req-text-1"
            response = await http.post(
                "/graphql",
                json={"query": "query Logged { logged }"},
                headers={"Authorization": f"Bearer {api.token}", "X-Request-ID": "req-text-2"},
            )
            assert response.json() == {"data": {"logged": 1}}
            await http.post("/graphql", json={"query": "{ sessionCount }"})
        created, logged, anonymous = operation_lines(lines.getvalue())
        pattern = (
            r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO chatstore.operations \[req-text-1\] "
            rf"operation=CreateSession type=mutation caller={user} code=OK "
            r"duration_ms=\d+(\.\d+)? transport=http$"
        )
        assert re.match(pattern, created), created
        assert "[req-text-2] operation=Logged type=query" in logged, logged
        # The resolver's own line carries its request's id.
        (inside,) = [line for line in lines.getvalue().splitlines() if INSIDE in line]
        assert re.match(r"^\S+ \S+ WARNING chatstore.test \[req-text-2\] ", inside), inside
        assert "operation=- type=query caller=anonymous code=UNAUTHENTICATED" in anonymous


async def test_the_operation_line_in_json_has_a_field_for_each_part(workdir: Path):
    async with served(workdir, log_level="INFO", log_format="json") as (_, http):
        user = new_user()
        api = Api(http, token_for(user))
        with server_lines() as lines:
            await http.post(
                "/graphql",
                json={"query": operation("CreateSession"), "variables": {}},
                headers={"Authorization": f"Bearer {api.token}", "X-Request-ID": "req-json-1"},
            )
            headers = {"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"}
            await http.post("/graphql", content=b"{not json", headers=headers)
        records = [json.loads(line) for line in lines.getvalue().splitlines()]
        created, malformed = [r for r in records if r["logger"] == "chatstore.operations"]
        assert set(created) >= {"time", "level", "logger", "request_id", "message"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00", created["time"])
        assert created["level"] == "INFO" and created["request_id"] == "req-json-1"
        assert {key: created[key] for key in ("operation", "operation_type", "caller", "code")} == {
            "operation": "CreateSession",
            "operation_type": "mutation",
            "caller": user,
            "code": "OK",
        }
        assert created["transport"] == "http" and created["duration_ms"] >= 0
        assert malformed["code"] == "BAD_REQUEST" and malformed["caller"] == user
        assert re.fullmatch(r"[0-9a-f]{32}", malformed["request_id"]), malformed


async def test_each_transport_logs_its_operations_with_the_caller(workdir: Path):
    async with served(workdir, log_level="INFO") as (server, http):
        user = new_user()
        api = Api(http, token_for(user))
        session_id = await new_session_id(api)
        with server_lines() as lines:
            variables = {"sessionId": session_id, "afterRevision": 0}
            async with subscribed(server.ws_url, api.token, variables):
                await asyncio.sleep(QUIET)
            missing = {"sessionId": str(uuid.uuid4())}
            async with subscribed(server.ws_url, api.token, missing, LEGACY_WS) as sub:
                assert (await sub.receive())["type"] in ("error", "data")
            async with sse(http, session_id, access_token=api.token):
                pass
            async with http.stream(
                "POST",
                "/graphql/stream",
                json={"query": "query Count { sessionCount }"},
                headers={"Accept": "text/event-stream", "Authorization": f"Bearer {api.token}"},
            ) as response:
                await response.aread()
            for _ in range(int(WAIT / 0.05)):
                if len(operation_lines(lines.getvalue())) >= 4:
                    break
                await asyncio.sleep(0.05)
        found = operation_lines(lines.getvalue())
        expected = [
            "operation=ToolMessageUpdated type=subscription caller={} code=OK "
            "duration_ms={} transport=ws",
            "operation=ToolMessageUpdated type=subscription caller={} code=NOT_FOUND "
            "duration_ms={} transport=ws",
            "operation=ToolMessageUpdated type=subscription caller={} code=OK "
            "duration_ms={} transport=sse",
            "operation=Count type=query caller={} code=OK duration_ms={} transport=graphql-sse",
        ]
        assert len(found) == len(expected), found
        for line, pattern in zip(found, expected, strict=True):
            regex = re.escape(pattern).replace(r"\{\}", "{}").format(user, r"[\d.]+")
            assert re.search(regex + "$", line), (line, regex)


OPERATION_LINE = re.compile(
    r"operation=(\S+) type=(\S+) caller=(\S+) code=(\S+) duration_ms=\S+ transport=(\S+)$"
)


def logged_operations(text: str) -> list[tuple[str, ...]]:
    """(operation, type, caller, code, transport) of each operation line."""
    found = [OPERATION_LINE.search(line) for line in operation_lines(text)]
    assert all(found), text
    return [match.groups() for match in found if match is not None]


async def test_refusals_by_the_callers_limits_and_the_trusted_documents_are_logged(
    workdir: Path,
):
    unknown_document = {"documentId": "sha256:" + "0" * 64}
    async with served(
        workdir,
        log_level="INFO",
        rate_limit_per_second=0.01,
        rate_limit_burst=4,
        max_subscriptions_per_socket=1,
    ) as (server, http):
        rated = {"operation": "other", "type": "unknown", "code": "RATE_LIMITED"}
        rated_before = await metric(http, "chatstore_operations_total", **rated)
        truster, limited = new_user(), new_user()
        api = Api(http, token_for(truster))
        session_id = await new_session_id(api)  # the first of the burst of 4
        variables = {"sessionId": session_id, "afterRevision": 0}
        with server_lines() as lines:
            # A document id the manifest does not have, over HTTP and legacy graphql-ws.
            response = await http.post(
                "/graphql", json=unknown_document, headers={"Authorization": f"Bearer {api.token}"}
            )
            assert "PERSISTED_QUERY_NOT_FOUND" in response.text, response.text
            async with websocket(server.ws_url, LEGACY_WS) as sub:
                assert (await sub.init(api.token))["type"] == "connection_ack"
                payload = {**unknown_document, "variables": variables}
                await sub.ws.send(json.dumps({"id": "1", "type": "start", "payload": payload}))
                assert (await sub.receive())["type"] == "error"
            # One subscription per socket: the second is refused.
            async with websocket(server.ws_url, TRANSPORT_WS) as sub:
                assert (await sub.init(api.token))["type"] == "connection_ack"
                await sub.subscribe(operation("ToolMessageUpdated"), variables, "1")
                await sub.subscribe(operation("ToolMessageUpdated"), variables, "2")
                assert (await sub.receive())["type"] == "error"

            # Another caller spends its burst, then each transport refuses it.
            limited_api = Api(http, token_for(limited))
            own_session = await new_session_id(limited_api)
            for _ in range(3):
                await limited_api.data("{ sessionCount }")
            bearer = {"Authorization": f"Bearer {limited_api.token}"}
            response = await http.post(
                "/graphql", json={"query": "{ sessionCount }"}, headers=bearer
            )
            assert response.status_code == 429, response.text
            response = await http.post(
                "/graphql/stream",
                json={"query": "{ sessionCount }"},
                headers={**bearer, "Accept": "text/event-stream"},
            )
            assert response.status_code == 429, response.text
            response = await http.get(
                "/sse/tool-messages", params={"sessionId": own_session}, headers=bearer
            )
            assert response.status_code == 429, response.text
            async with websocket(server.ws_url, TRANSPORT_WS) as sub:
                assert (await sub.init(limited_api.token))["type"] == "connection_ack"
                await sub.subscribe(operation("ToolMessageUpdated"), variables, "1")
                assert (await sub.receive())["type"] == "error"
        found = logged_operations(lines.getvalue())
        expected = [
            ("-", "unknown", truster, "PERSISTED_QUERY_NOT_FOUND", "http"),
            ("-", "unknown", truster, "PERSISTED_QUERY_NOT_FOUND", "ws"),
            ("ToolMessageUpdated", "subscription", truster, "TOO_MANY_SUBSCRIPTIONS", "ws"),
            ("ToolMessageUpdated", "subscription", truster, "OK", "ws"),
            ("-", "unknown", limited, "RATE_LIMITED", "http"),
            ("-", "unknown", limited, "RATE_LIMITED", "graphql-sse"),
            ("ToolMessageUpdated", "subscription", limited, "RATE_LIMITED", "sse"),
            ("ToolMessageUpdated", "subscription", limited, "RATE_LIMITED", "ws"),
        ]
        for line in expected:
            assert line in found, (line, found)
        assert await metric(http, "chatstore_operations_total", **rated) == rated_before + 2


async def test_the_drains_refusals_are_logged_and_counted(workdir: Path):
    async with served(workdir, log_level="INFO") as (server, http):
        refused = {"operation": "other", "type": "unknown", "code": "SERVICE_UNAVAILABLE"}
        before = await metric(http, "chatstore_operations_total", **refused)
        await server.app.state.drain.run()
        with server_lines() as lines:
            response = await http.post(
                "/graphql", json={"query": "{ sessionCount }"}, headers={"X-Request-ID": "gone-1"}
            )
            assert response.status_code == 503, response.text
            assert response.headers["x-request-id"] == "gone-1"
            response = await http.get("/sse/tool-messages", params={"sessionId": "x"})
            assert response.status_code == 503, response.text
            assert (await http.get("/app/")).status_code == 503  # not an operation
        found = operation_lines(lines.getvalue())
        assert len(found) == 2, found
        assert (
            "[gone-1] operation=- type=unknown caller=anonymous code=SERVICE_UNAVAILABLE"
            in (found[0])
        )
        assert found[1].endswith("transport=sse"), found
        # /metrics is refused too while draining: the process's own registry says it.
        assert REGISTRY.get_sample_value("chatstore_operations_total", refused) == before + 2


# Request ids and tokens ---------------------------------------------------------------------


async def test_a_request_id_is_echoed_or_made(workdir: Path):
    async with served(workdir) as (server, http):
        response = await http.get("/healthz", headers={"X-Request-ID": "abc-123"})
        assert response.headers["x-request-id"] == "abc-123"
        for insane in ("has spaces", "x" * 200, 'quote"d'):
            response = await http.get("/healthz", headers={"X-Request-ID": insane})
            assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"]), insane
        async with connect(
            server.ws_url,
            subprotocols=[Subprotocol(TRANSPORT_WS)],
            additional_headers={"X-Request-ID": "ws-1"},
        ) as ws:
            assert ws.response is not None
            assert ws.response.headers["x-request-id"] == "ws-1"


async def test_no_token_appears_in_any_log_line(workdir: Path):
    async with served(workdir, log_level="DEBUG") as (server, http):
        logging.getLogger("uvicorn.access").setLevel(logging.INFO)
        user = new_user()
        api = Api(http, token_for(user))
        session_id = await new_session_id(api)
        assert api.token is not None
        tokens = [api.token, token_for(user), "not.a.valid-token"]
        with server_lines() as lines:
            await api.data("{ sessionCount }")
            async with sse(http, session_id, access_token=tokens[1]):
                pass
            response = await http.get(
                "/sse/tool-messages", params={"sessionId": session_id, "access_token": tokens[2]}
            )
            assert response.status_code == 401
            async with http.stream(
                "GET",
                "/graphql/stream",
                params={"query": "{ sessionCount }", "access_token": tokens[1]},
                headers={"Accept": "text/event-stream"},
            ) as streamed:
                await streamed.aread()
            variables = {"sessionId": session_id}
            async with subscribed(server.ws_url, tokens[0], variables):
                await asyncio.sleep(QUIET)
        text = lines.getvalue()
        access = [line for line in text.splitlines() if "uvicorn.access" in line]
        assert len(access) >= 4, text
        assert sum("access_token=[REDACTED]" in line for line in access) == 3, access
        for token in tokens:
            assert token not in text
        assert "transport=ws" in text and "transport=sse" in text, text


# Traces ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    """The process's tracer provider, exporting to memory (a provider is set once)."""
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    assert isinstance(provider, TracerProvider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


def scopes(found: tuple[ReadableSpan, ...]) -> dict[str, list[str]]:
    """Span names by the instrumentation that made them."""
    by_scope: dict[str, list[str]] = {}
    for span in found:
        assert span.instrumentation_scope is not None
        by_scope.setdefault(span.instrumentation_scope.name, []).append(span.name)
    return by_scope


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_traces_have_the_operation_and_its_database_statements(
    workdir: Path, spans: InMemorySpanExporter, kind: str
):
    async with served(workdir, kind, otel_traces=True) as (server, http):
        api = Api(http, token_for(new_user()))
        session_id = await new_session_id(api)
        async with subscribed(server.ws_url, api.token, {"sessionId": session_id}) as sub:
            await asyncio.sleep(QUIET)
            spans.clear()
            await append(api, session_id, tool("call-1"))
            assert (await sub.next_tool_message())["toolCallId"] == "call-1"
            # A write in a transaction: its statements go through SQLAlchemy.
            await complete_tool(api, session_id, "call-1", "done")
            assert (await sub.next_tool_message())["content"] == "done"
            await api.data(operation("GetSession"), {"id": session_id})
            finished = spans.get_finished_spans()
            found = scopes(finished)
    assert "GraphQL Query: AppendMessage" in found["strawberry"], found
    assert "GraphQL Query: GetSession" in found["strawberry"], found
    # The subscription's event: its resolution, and the read behind it.
    assert any("toolMessageUpdated" in name for name in found["strawberry"]), found
    assert any(
        name.startswith(("SELECT", "INSERT", "WITH", "UPDATE"))
        for name in found["opentelemetry.instrumentation.sqlalchemy"]
    ), found
    if kind == "postgres" and server.settings.prepared_statements:
        # The statements asyncpg runs itself (db/prepared.py).
        assert found.get("chatstore.db"), found
    # A statement belongs to the trace of the operation that ran it.
    (read,) = [span for span in finished if span.name == "GraphQL Query: GetSession"]
    assert read.context is not None
    statements = [
        span
        for span in finished
        if span.context is not None
        and span.context.trace_id == read.context.trace_id
        and span.attributes
        and "db.statement" in span.attributes
    ]
    assert statements, found
