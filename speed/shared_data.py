"""Data shared by many responses, JSON-encoded once for all of them.

A subscription event that many subscribers receive (speed/fanout.py) and a cached session
read (speed/response_cache.py) are SharedData. A message carrying one (graphql-transport-ws
`next`, legacy graphql-ws `data`, an HTTP response's `{"data": …}`) is encoded around that
text: only the envelope, the operation id mostly, is encoded per response.

An HTTP response is written as UTF-8 bytes, a WebSocket or SSE message as text: a
SharedData keeps the encoding it was first asked for (a cached read: the bytes, since
LruData sizes its entries by them) and derives the other from it, so it holds one copy of
its JSON. Its bytes are kept framed by the envelope of the last HTTP response that sent
them: a cached read sent again in the same envelope is those very bytes, not a join that
copies the whole history for every request.
"""

from collections.abc import Callable
from functools import lru_cache
from json.encoder import encode_basestring_ascii
from typing import Any

Dumps = Callable[[object], str]

# How deep in a message's objects SharedData is looked for: `{"payload": {"data": shared}}`
# and `{"data": {"session": shared}}` are the deepest there are.
ENVELOPE_DEPTH = 3
# The longest operation id (or type) whose message head is remembered (_operation_head).
MAX_HEAD_TEXT = 128


class SharedData(dict[str, Any]):
    """A JSON object shared by many responses; encoded once for all of them, by the
    `dumps` that encodes the rest of each response (speed/json_text.py)."""

    # `_utf8[_start:_end]` is the UTF-8 JSON, alone or inside an HTTP response's body.
    __slots__ = ("_dumps", "_end", "_json", "_start", "_utf8")

    def __init__(self, data: dict[str, Any], dumps: Dumps) -> None:
        super().__init__(data)
        self._dumps = dumps

    def json(self) -> str:
        try:
            return self._json
        except AttributeError:
            pass
        try:
            return str(memoryview(self._utf8)[self._start : self._end], "utf-8")
        except AttributeError:
            self._json: str = self._dumps(self)
            return self._json

    def utf8(self) -> bytes:
        try:
            utf8 = self._utf8
        except AttributeError:
            try:
                return self._json.encode()
            except AttributeError:
                pass
            self._utf8: bytes = self._dumps(self).encode()
            self._start, self._end = 0, len(self._utf8)
            return self._utf8
        if self._start == 0 and self._end == len(utf8):
            return utf8
        return utf8[self._start : self._end]

    def size(self) -> int:
        """The length of its UTF-8 JSON."""
        try:
            return self._end - self._start
        except AttributeError:
            return len(self.utf8())

    def framed(self, prefix: bytes, suffix: bytes) -> bytes:
        """`prefix`, its UTF-8 JSON, then `suffix`: an HTTP response's body."""
        body = getattr(self, "_utf8", None)
        if (
            body is not None
            and self._start == len(prefix)
            and self._end + len(suffix) == len(body)
            and body.startswith(prefix)
            and body.endswith(suffix)
        ):
            return body
        utf8 = self.utf8() if body is None else memoryview(body)[self._start : self._end]
        body = b"".join((prefix, utf8, suffix))
        if not hasattr(self, "_json"):  # the only copy it keeps
            self._utf8, self._start, self._end = body, len(prefix), len(prefix) + len(utf8)
        return body


def encode_shared(message: object, dumps: Dumps) -> str | None:
    """`message` as `dumps` would write it, when it holds SharedData; else None."""
    data = _alone_in_payload(message)
    if data is not None:
        assert isinstance(message, dict)
        return "".join((_operation_head(tuple(message.items())[:-1], dumps), data.json(), "}}"))
    if not _holds_shared(message, ENVELOPE_DEPTH):
        return None
    pieces: list[str | SharedData] = []
    _append_pieces(message, pieces, dumps)
    # One join at the end: the shared text, often hundreds of KiB, is copied once, not
    # once per level of envelope around it.
    return "".join(piece.json() if isinstance(piece, SharedData) else piece for piece in pieces)


def encode_shared_body(message: object, dumps: Dumps) -> bytes | None:
    """`encode_shared(message, dumps)` as UTF-8 bytes, for an HTTP response body."""
    alone = _alone_in_data(message)
    if alone is not None:
        field, shared_data = alone
        return shared_data.framed(_data_head(field), b"}}")
    if not _holds_shared(message, ENVELOPE_DEPTH):
        return None
    pieces: list[str | SharedData] = []
    _append_pieces(message, pieces, dumps)
    shared = [index for index, piece in enumerate(pieces) if isinstance(piece, SharedData)]
    if len(shared) == 1:
        (index,) = shared
        data = pieces[index]
        assert isinstance(data, SharedData)
        return data.framed(_utf8_text(pieces[:index]), _utf8_text(pieces[index + 1 :]))
    return b"".join(
        piece.utf8() if isinstance(piece, SharedData) else piece.encode() for piece in pieces
    )


def _alone_in_data(message: object) -> tuple[str, SharedData] | None:
    """The root field's name and its SharedData, for a response of that field alone and
    nothing else (`{"data": {"session": shared}}`): every cached read is one."""
    if type(message) is not dict or len(message) != 1:
        return None
    data = message.get("data")
    if type(data) is not dict or len(data) != 1:
        return None
    ((name, value),) = data.items()
    return (name, value) if isinstance(value, SharedData) else None


@lru_cache(maxsize=1024)
def _data_head(name: str) -> bytes:
    """`{"data":{"<name>":`, the text of a response up to its one root field's data."""
    return f'{{"data":{{{encode_basestring_ascii(name)}:'.encode()


def _alone_in_payload(message: object) -> SharedData | None:
    """The SharedData of a WebSocket operation message whose last field is a payload of
    that data alone, and whose other fields are short texts: graphql-transport-ws `next`
    and graphql-ws `data`, with their operation id and type. Every subscriber of a shared
    event is sent one."""
    if type(message) is not dict:
        return None
    payload = message.get("payload")
    if type(payload) is not dict or len(payload) != 1 or next(reversed(message)) != "payload":
        return None
    data = payload.get("data")
    if not isinstance(data, SharedData):
        return None
    for key, value in message.items():
        if key != "payload" and (type(value) is not str or len(value) > MAX_HEAD_TEXT):
            return None
    return data


@lru_cache(maxsize=1024)
def _operation_head(fields: tuple[tuple[str, str], ...], dumps: Dumps) -> str:
    """The text of an operation message up to its shared data: its other `fields`, then
    `"payload":{"data":`. The same for every subscriber of a document that uses the same
    operation id: made once."""
    pieces: list[str | SharedData] = []
    _append_pieces({**dict(fields), "payload": {}}, pieces, dumps)
    # The pieces of `{…,"payload":{}}`, but its last two braces.
    return "".join(piece for piece in pieces[:-2] if isinstance(piece, str)) + '"data":'


def _utf8_text(pieces: list[str | SharedData]) -> bytes:
    return "".join(piece for piece in pieces if isinstance(piece, str)).encode()


def _holds_shared(value: object, depth: int) -> bool:
    if isinstance(value, SharedData):
        return True
    if depth == 0 or type(value) is not dict:
        return False
    return any(_holds_shared(item, depth - 1) for item in value.values())


def _append_pieces(value: object, pieces: list[str | SharedData], dumps: Dumps) -> None:
    if isinstance(value, SharedData):
        pieces.append(value)
    elif type(value) is dict:
        pieces.append("{")
        for index, (key, item) in enumerate(value.items()):
            pieces.append(
                f",{encode_basestring_ascii(key)}:" if index else f"{encode_basestring_ascii(key)}:"
            )
            _append_pieces(item, pieces, dumps)
        pieces.append("}")
    else:
        pieces.append(dumps(value))
