"""A window of messages written as JSON text by PostgreSQL (the DATABASE_JSON speed layer).

The executor asks for it (speed/database_json.py) when every field it completes of each
message is written here exactly as the response's encoder (orjson) would write the value the
Python path completes: text and UUIDs through `to_json` (its escapes are orjson's: `\\"`,
`\\\\`, `\\b \\f \\n \\r \\t`, `\\u00XX` for the other control characters, everything else as
it is), integers as their digits, timestamps as `datetime.isoformat(timespec="microseconds")`
writes a UTC time, enum values as stored. The statement wraps the window's own statement
(db/messages.py) as a subquery, so which messages it holds is decided there alone.

Each object is written only where it is exact: `exact` is false for a window holding a value
that the Python path would complete otherwise (an Int beyond 32 bits, a role that is no
member, a null in a non-null field, a timestamp outside Python's years, a value of a type
not written here); the caller then reads its rows as before.
"""

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    ColumnElement,
    Integer,
    Select,
    String,
    Text,
    TypeDecorator,
    Uuid,
    and_,
    cast,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlmodel.sql.sqltypes import UTCDateTime

# How a member's value is written: "string" (text or a UUID as a JSON string), "int" (an
# integer of GraphQL's 32 bits), "datetime" (a UTC timestamp), "enum" (text, one of
# `values`), "json" (a JSON value as the client sent it, its numbers integers), "null" (a
# value written only when null), "constant" (the JSON text `text`).
Kind = Literal["string", "int", "datetime", "enum", "json", "null", "constant"]

# GraphQL's Int, and the years a Python datetime holds; in the statement's text, which has
# no parameters but the window's.
_INT_RANGE: tuple[ColumnElement[int], ColumnElement[int]] = (
    literal_column(str(-(2**31))),
    literal_column(str(2**31 - 1)),
)
_FIRST: ColumnElement[Any] = literal_column("TIMESTAMPTZ '0001-01-01 00:00:00+00'")
_PAST_LAST: ColumnElement[Any] = literal_column("TIMESTAMPTZ '10000-01-01 00:00:00+00'")
_NULL = "null"
# A JSON string in jsonb's text; with the separator after it, jsonb's ", " or ": ", which
# the compact text writes without the space.
_JSON_STRING = r'"(?:[^"\\]|\\.)*"'
_STRING_OR_SEPARATOR = f"({_JSON_STRING})|([,:]) "


@dataclass(frozen=True, slots=True)
class JsonMember:
    """One member of each message's JSON object, in order: `key`, the member's name as JSON
    text (quoted), and its value: column `column` written as `kind`."""

    key: str
    kind: Kind
    column: str = ""
    nullable: bool = True
    values: tuple[str, ...] = ()  # "enum": the values the column may hold
    text: str = ""  # "constant": the JSON text


JsonMembers = tuple[JsonMember, ...]


def json_window(window: Select[Any], members: JsonMembers) -> Select[Any] | None:
    """Per session of `window` (a statement of message rows), its messages as one JSON array,
    in ascending sequence, and whether that text is `exact`; a session without messages has
    no row. None when a member names no column of a type written here."""
    rows = window.subquery("window")
    pieces: list[ColumnElement[str] | str] = []
    conditions: list[ColumnElement[bool]] = []
    for index, member in enumerate(members):
        pieces.append(("{" if index == 0 else ",") + member.key + ":")
        written = _written(member, rows.c)
        if written is None:
            return None
        value, is_exact = written
        pieces.append(value)
        conditions.append(is_exact)
    pieces.append("}" if members else "{}")
    items = func.string_agg(_concatenated(pieces), aggregate_order_by(_text(","), rows.c.sequence))
    # bool_and skips nulls: each condition is true or false, never null.
    exact = func.coalesce(and_(true(), *conditions), false())
    return select(
        rows.c.session_id,
        _concatenated(["[", items, "]"]).label("json"),
        func.bool_and(exact).label("exact"),
    ).group_by(rows.c.session_id)


def _written(member: JsonMember, columns: Any) -> tuple[ColumnElement[str], Any] | None:
    """The JSON text of `member`'s value, and when it is exact; None if it cannot be."""
    if member.kind == "constant":
        return _text(member.text), true()
    column = columns.get(member.column)
    if column is None:
        return None
    kind, known = member.kind, column.type
    if isinstance(known, TypeDecorator) and not isinstance(known, UTCDateTime):
        known = known.impl_instance  # sqlmodel's AutoString, say
    if kind == "null":
        return _text(_NULL), column.is_(None)
    if kind == "string" and isinstance(known, String | Uuid):
        value: ColumnElement[str] = cast(func.to_json(cast(column, Text)), Text)
        exact: ColumnElement[bool] = true()
    elif kind == "enum" and isinstance(known, String) and member.values:
        value = cast(func.to_json(column), Text)
        exact = column.in_([_text(stored) for stored in member.values])
    elif kind == "int" and isinstance(known, Integer):
        value, exact = cast(column, Text), column.between(_INT_RANGE[0], _INT_RANGE[1])
    elif kind == "json" and isinstance(known, JSON):
        # jsonb's text (db/tables.py keeps JSON as JSONB on PostgreSQL), without the spaces
        # its separators have: what json.loads reads from it and orjson writes again. Not
        # for a number with a fraction (1.50 is 1.5 in Python), which jsonb writes with a
        # point and never with an exponent, nor for one of 19 digits or more, which orjson
        # may refuse (the standard library then writes the whole response).
        text = cast(column, Text)
        value = func.regexp_replace(text, _text(_STRING_OR_SEPARATOR), _text(r"\1\2"), _text("g"))
        outside_strings = func.regexp_replace(text, _text(_JSON_STRING), _text(""), _text("g"))
        exact = outside_strings.regexp_match(_text("[.]|[0-9]{19}")) == false()
    elif kind == "datetime" and isinstance(known, UTCDateTime):
        # isoformat(timespec="microseconds") of a UTC datetime: all six digits, "+00:00".
        utc = func.to_char(func.timezone(_text("UTC"), column), _text('YYYY-MM-DD"T"HH24:MI:SS.US'))
        value = _concatenated(['"', utc, '+00:00"'])
        exact = and_(column >= _FIRST, column < _PAST_LAST)
    else:
        return None
    if member.nullable:
        return func.coalesce(value, _text(_NULL)), or_(column.is_(None), exact)
    return value, and_(column.is_not(None), exact)


def _concatenated(pieces: list[ColumnElement[str] | str]) -> ColumnElement[str]:
    """The pieces joined with `||`, neighbouring constant texts merged into one literal."""
    merged: list[ColumnElement[str] | str] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    elements = [_text(piece) if isinstance(piece, str) else piece for piece in merged]
    joined = elements[0]
    for element in elements[1:]:
        joined = joined.concat(element)
    return joined


def _text(value: str) -> ColumnElement[str]:
    """`value` as an SQL string literal (standard_conforming_strings: only quotes doubled)."""
    return literal_column("'" + value.replace("'", "''") + "'", Text)
