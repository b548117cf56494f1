"""The contract's custom scalars."""

from datetime import datetime

import strawberry
from strawberry.types.scalar import ScalarDefinition


def _serialize_datetime(value: datetime) -> str:
    # Always six fractional digits, so every timestamp has the same shape.
    return value.isoformat(timespec="microseconds")


def _parse_datetime(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("DateTime must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            "DateTime must be an ISO 8601 string, e.g. 2026-01-28T05:09:34.123456+00:00"
        ) from None
    if parsed.utcoffset() is None:
        raise ValueError("DateTime must carry a UTC offset")
    return parsed


DateTime: ScalarDefinition = strawberry.scalar(
    name="DateTime",
    description="Date and time with a UTC offset, ISO 8601, e.g. 2026-01-28T05:09:34.123456+00:00.",
    serialize=_serialize_datetime,
    parse_value=_parse_datetime,
)

SCALAR_MAP: dict[object, ScalarDefinition] = {datetime: DateTime}
