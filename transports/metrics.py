"""/metrics: the figures of core/metrics.py in Prometheus' text format (or OpenMetrics, when
the scraper asks for it). With a multiprocess directory, those of every process there."""

from collections.abc import Awaitable, Callable
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import Response


def metrics_endpoint(multiprocess_dir: Path | None) -> Callable[[Request], Awaitable[Response]]:
    if multiprocess_dir is None:
        registry = REGISTRY
    else:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(multiprocess_dir))

    async def metrics(request: Request) -> Response:
        encode, media_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(registry), media_type=media_type)

    return metrics
