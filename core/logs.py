"""Log lines: one handler on the root logger, in plain text or JSON, each line with its
time, level, logger and the id of the request it belongs to, and never a token.

`configure_logging` runs when the app starts (its lifespan). It replaces a handler it
installed before, leaves other handlers alone (a test runner's, say), and routes uvicorn's
own lines through the same handler, so that `uvicorn app:app` prints one format.
"""

import logging
import re
import sys
from contextvars import ContextVar
from typing import Literal

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

# The request a line belongs to (transports/request_ids.py sets it); "-" outside requests.
request_id: ContextVar[str] = ContextVar("request_id", default="-")

HANDLER_NAME = "chatstore"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# JSON lines have their time in ISO 8601, UTC.
JSON_FIELDS = "%(levelname)s %(name)s %(request_id)s %(message)s"
JSON_RENAMED = {"levelname": "level", "name": "logger"}
# The loggers uvicorn configures with handlers of its own.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

# `access_token=<JWT>` in a URL (the SSE paths take one, for an EventSource).
_ACCESS_TOKEN = re.compile(r"(access_token=)[^&\s\"']+", re.IGNORECASE)
REDACTED = "[REDACTED]"


def redact(text: str) -> str:
    """`text` with the value of every `access_token=` replaced."""
    if "access_token=" not in text.lower():
        return text
    return _ACCESS_TOKEN.sub(rf"\g<1>{REDACTED}", text)


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request it was logged in."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class RedactTokens(logging.Filter):
    """Removes `access_token=` values from a record's message and arguments: uvicorn's
    access log prints the URL of every request, and an EventSource's carries its token."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) for arg in record.args)
        return True


def _redacted(arg: object) -> object:
    """`arg`, or its text redacted when that holds a token (a URL object, say)."""
    if isinstance(arg, int | float) or arg is None:
        return arg
    text = arg if isinstance(arg, str) else str(arg)
    redacted = redact(text)
    return arg if redacted is text else redacted


def configure_logging(level: str, format: Literal["text", "json"]) -> logging.Handler:
    """Installs the service's handler on the root logger at `level`, and returns it."""
    handler = logging.StreamHandler(sys.stderr)
    handler.name = HANDLER_NAME
    if format == "json":
        handler.setFormatter(
            JsonFormatter(
                JSON_FIELDS,
                rename_fields=JSON_RENAMED,
                timestamp="time",
                # uvicorn's copy of its message with terminal colours.
                reserved_attrs=[*RESERVED_ATTRS, "color_message"],
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactTokens())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.name == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        if logger.handlers:  # uvicorn's own; none when it was told not to log (access)
            logger.handlers.clear()
            logger.propagate = True
    # Before any handler sees it, whichever handlers there are.
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactTokens) for f in access.filters):
        access.addFilter(RedactTokens())
    return handler
