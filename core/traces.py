"""OpenTelemetry traces, when the OTEL_TRACES setting turns them on.

The spans go to the process's tracer provider: one that something else installed (the
`opentelemetry-instrument` launcher, a test's), else an SDK provider of our own exporting
over OTLP/HTTP, configured by the standard variables (OTEL_EXPORTER_OTLP_ENDPOINT,
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, …).
"""

from collections.abc import Callable

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor


def start_tracing() -> Callable[[], None]:
    """Makes sure spans are exported; returns what flushes and stops what it started."""
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return lambda: None
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: "chatstore"}))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider.shutdown
