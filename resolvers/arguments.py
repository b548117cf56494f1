"""Argument checks shared by resolvers: each failure is a BAD_USER_INPUT with a clear message."""

import uuid
from datetime import UTC, datetime
from typing import Any, TypeVar

from core.errors import BadUserInput

Text = TypeVar("Text", bound=str | None)
Stored = TypeVar("Stored")


def parse_id(value: str, argument: str) -> uuid.UUID:
    """A UUID from an ID argument; anything else is BAD_USER_INPUT, never a 500."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise BadUserInput(f"{argument} must be a UUID, got {str(value)[:80]!r}.") from None


def require_non_negative(value: int, argument: str) -> int:
    if value < 0:
        raise BadUserInput(f"{argument} must be ≥ 0, got {value}.")
    return value


def require_object(value: Any, argument: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadUserInput(f"{argument} must be a JSON object, got {type(value).__name__}.")
    return value


def require_storable(value: Stored, argument: str) -> Stored:
    """Text or JSON without the NUL character, which PostgreSQL refuses in text and jsonb
    (SQLite would keep it), and without lone surrogates, which neither can store: the same
    input is refused on every database, before any write."""
    pending: list[Any] = [value]
    while pending:  # iterative: a deeply nested JSON value must not exhaust the stack
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise BadUserInput(f"{argument} must not contain the NUL character (U+0000).")
            if not item.isascii() and not _encodable(item):
                raise BadUserInput(
                    f"{argument} must not contain a lone UTF-16 surrogate (U+D800 to U+DFFF): "
                    "an emoji split in two, say."
                )
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return value


def _encodable(text: str) -> bool:
    """True unless `text` holds a lone surrogate, which no database can store as UTF-8."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def require_size(value: Text, limit: int, argument: str) -> Text:
    # A character is at most 4 bytes of UTF-8: most strings need no encoding to pass.
    if value is not None and len(value) > limit // 4 and len(value.encode()) > limit:
        raise BadUserInput(f"{argument} is larger than the limit of {limit} bytes.")
    return value


def require_future(value: datetime | None, argument: str) -> datetime | None:
    if value is not None and value <= datetime.now(UTC):
        raise BadUserInput(f"{argument} must be in the future, got {value.isoformat()}.")
    return value
