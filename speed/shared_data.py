"""Data shared by many responses, JSON-encoded once for all of them.

A subscription event that many subscribers receive (speed/fanout.py) and a cached session
read (speed/response_cache.py) are SharedData. A message carrying one (graphql-transport-ws
`next`, legacy graphql-ws `data`, an HTTP response's `{"data": …}`) is encoded around that
text: only the envelope, the operation id mostly, is encoded per response.
"""

from collections.abc import Callable
from json.encoder import encode_basestring_ascii
from typing import Any

Dumps = Callable[[object], str]

# How deep in a message's objects SharedData is looked for: `{"payload": {"data": shared}}`
# and `{"data": {"session": shared}}` are the deepest there are.
ENVELOPE_DEPTH = 3


class SharedData(dict[str, Any]):
    """A JSON object shared by many responses; encoded once for all of them, by the
    `dumps` that encodes the rest of each response (speed/json_text.py)."""

    __slots__ = ("_dumps", "_json")

    def __init__(self, data: dict[str, Any], dumps: Dumps) -> None:
        super().__init__(data)
        self._dumps = dumps

    def json(self) -> str:
        try:
            return self._json
        except AttributeError:
            self._json: str = self._dumps(self)
            return self._json


def encode_shared(message: object, dumps: Dumps) -> str | None:
    """`message` as `dumps` would write it, when it holds SharedData; else None."""
    if not _holds_shared(message, ENVELOPE_DEPTH):
        return None
    return _encode(message, dumps)


def _holds_shared(value: object, depth: int) -> bool:
    if isinstance(value, SharedData):
        return True
    if depth == 0 or type(value) is not dict:
        return False
    return any(_holds_shared(item, depth - 1) for item in value.values())


def _encode(message: object, dumps: Dumps) -> str:
    # One join at the end: the shared text, often hundreds of KiB, is copied once, not
    # once per level of envelope around it.
    parts: list[str] = []
    _append_encoded(message, parts, dumps)
    return "".join(parts)


def _append_encoded(value: object, parts: list[str], dumps: Dumps) -> None:
    if isinstance(value, SharedData):
        parts.append(value.json())
    elif type(value) is dict:
        parts.append("{")
        for index, (key, item) in enumerate(value.items()):
            parts.append(
                f",{encode_basestring_ascii(key)}:" if index else f"{encode_basestring_ascii(key)}:"
            )
            _append_encoded(item, parts, dumps)
        parts.append("}")
    else:
        parts.append(dumps(value))
