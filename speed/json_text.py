"""The JSON text of responses, and of JSON columns as they are read (FAST_JSON).

Strawberry writes a response with `json.dumps`: the standard library's encoder, which for
the history of a long session is a large share of the answer's CPU. With FAST_JSON on,
orjson writes it instead. Both write compact JSON (no spaces); orjson leaves characters
outside ASCII as they are (UTF-8) where the standard library writes `\\uXXXX` escapes, and
writes a non-finite float as null, where the standard library writes `NaN`, which is not
JSON. A value orjson refuses (an integer beyond 64 bits in a `JSON` scalar, say) is written
by the standard library (text written already, an `orjson.Fragment` of speed/database_json.py,
as the standard library writes what it holds).

A JSON column's text (a session's credentials, a message's tool calls) and a request's
JSON body are read by orjson too, where it reads the same values as the standard library:
a text with a run of 19 digits or more (which may be an integer beyond 64 bits, which orjson
reads as a float) or one it refuses (`1e400`, the standard library's infinity, `NaN`, a lone
surrogate, a byte order mark, UTF-16, nesting deeper than 1,024) is read by the standard
library, which then reads it or raises as it always does.
"""

import json
from collections.abc import Callable
from typing import Any

import orjson

# What Strawberry's `encode_json` writes.
standard_dumps: Callable[[object], str] = json.JSONEncoder(separators=(",", ":")).encode


def _fragment_value(value: object) -> object:
    if isinstance(value, orjson.Fragment):
        return json.loads(orjson.dumps(value))  # its own text
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_standard_with_fragments = json.JSONEncoder(separators=(",", ":"), default=_fragment_value).encode


def fast_dumps(value: object) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        return _standard_with_fragments(value)


def fast_dumps_utf8(value: object) -> bytes:
    """`fast_dumps(value)` as UTF-8 bytes, which orjson writes without a str in between: an
    HTTP body of a long history is not decoded only to be encoded again."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return _standard_with_fragments(value).encode()


# Each ASCII digit as "0" and any other byte as " ": a run of 19 digits, which may be an
# integer orjson reads otherwise, is then a run of 19 zeros, which the bytes' own search
# finds many times faster than a regular expression trying every position.
_DIGITS_AS_ZEROS = bytes(
    ord("0") if ord("0") <= byte <= ord("9") else ord(" ") for byte in range(256)
)
_LONG_DIGITS = b"0" * 19


def _has_long_digits(text: str | bytes) -> bool:
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    return _LONG_DIGITS in data.translate(_DIGITS_AS_ZEROS)


def fast_loads(text: str | bytes) -> Any:
    """`json.loads(text)`, by orjson where it reads the same (see above)."""
    if not _has_long_digits(text):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)
