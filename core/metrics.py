"""The service's Prometheus metrics, recorded where things happen and served at /metrics.

Every label takes a bounded set of values: operation names are those of
graphql/operations/ (others count as "other"), codes are the service's error codes.
With PROMETHEUS_MULTIPROC_DIR set (before the process starts), prometheus-client keeps the
figures in files there and /metrics adds up those of every process (its multiprocess
mode); the gauges then count the live processes only.
"""

from prometheus_client import Counter, Gauge, Histogram

OPERATIONS = Counter(
    "chatstore_operations",
    "GraphQL operations by name, type and outcome code (OK, or the first error's code).",
    ["operation", "type", "code"],
)
OPERATION_SECONDS = Histogram(
    "chatstore_operation_duration_seconds",
    "Time to answer a query or a mutation (a subscription's lifetime is not counted).",
    ["operation", "type"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
WEBSOCKETS_OPEN = Gauge(
    "chatstore_websockets_open", "WebSocket connections open.", multiprocess_mode="livesum"
)
SUBSCRIPTIONS_OPEN = Gauge(
    "chatstore_subscriptions_open",
    "Live subscriptions (WebSocket and Server-Sent Events).",
    multiprocess_mode="livesum",
)
EVENTS_DELIVERED = Counter(
    "chatstore_events_delivered",
    "Subscription events handed to subscribers, by subscription field.",
    ["subscription"],
)
CATCH_UP_EVENTS = Histogram(
    "chatstore_catch_up_events",
    "A subscription's reads past its cursor, by what prompted them (replay: the client's "
    "cursor; news: a change hint or the periodic recheck; resync: a broker reconnect), and "
    "the events each found (subscribers sharing one read count one each).",
    ["reason"],
    buckets=(0, 1, 2, 5, 10, 50, 100, 500, 1000, 5000),
)
BROKER_RECONNECTS = Counter(
    "chatstore_broker_reconnects", "Reconnections to the broadcast backend after a loss."
)
BROKER_RESYNCS = Counter(
    "chatstore_broker_resyncs",
    "Re-reads asked of every subscriber because hints may have been lost: after this "
    "process reconnected (origin=self) or another one did (origin=peer).",
    ["origin"],
)
RECHECK_ROUNDS = Counter(
    "chatstore_recheck_rounds",
    "Rounds of the periodic revision check of subscribed sessions, by outcome.",
    ["outcome"],
)
DB_CONNECTIONS_IN_USE = Gauge(
    "chatstore_db_connections_in_use",
    "Database connections checked out of the pool.",
    multiprocess_mode="livesum",
)
DB_CONNECTIONS_WAITING = Gauge(
    "chatstore_db_connections_waiting",
    "Requests waiting for a database connection (the opening of a new one included).",
    multiprocess_mode="livesum",
)
EXPIRED_OPERATIONS = Counter(
    "chatstore_expired_operations",
    "Open messages (PENDING, STREAMING) marked FAILED because their deadline passed.",
)

# Every labelled series that exists from the start, so that it reads 0 before it happens.
for _outcome in ("ok", "error"):
    RECHECK_ROUNDS.labels(_outcome)
for _origin in ("self", "peer"):
    BROKER_RESYNCS.labels(_origin)
