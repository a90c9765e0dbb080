"""Structured logs for the server: one JSON object a line, each with the request id of the
request it happened in (``X-Request-ID``), and the access log's fields when it is one.

What a log line may hold is decided where it is written: the access log has the method, the
route template, the status, the latency and the API key's name, never a body, a name or an
address (docs/operations.md).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

__all__ = [
    "ACCESS_LOGGER",
    "REQUEST_ID",
    "JsonFormatter",
    "RequestIdFilter",
    "configure_logging",
    "new_request_id",
    "request_id_from",
]

ACCESS_LOGGER = "sanctrace.access"
REQUEST_ID: ContextVar[str | None] = ContextVar("sanctrace_request_id", default=None)
# A client's own id is kept when it is a plain token (a UUID, a proxy's hex id); anything else
# (too long, spaces, control characters: a way to forge log lines) is replaced by a new one.
_GOOD_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Extra fields a record may carry into the JSON line (``logger.info(..., extra={...})``).
FIELDS = ("method", "route", "status", "latency_ms", "key", "client")


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id_from(header: str | None) -> str:
    """The request's id: the client's ``X-Request-ID`` when it is a plain token, else new."""
    if header and _GOOD_ID.match(header):
        return header
    return new_request_id()


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (``record.request_id``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:  # the access log brings its own
            record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id, the access fields;
    an exception as its type and where it was raised (no message: it may quote the input)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            line["request_id"] = request_id
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__
            line["where"] = _where(record.exc_info[2])
        return json.dumps(line, ensure_ascii=False, default=str)


def _where(tb: object) -> list[str]:
    import traceback

    if tb is None:
        return []
    frames = traceback.extract_tb(tb)  # type: ignore[arg-type]
    return [f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in frames[-5:]]


def configure_logging(fmt: str = "json", level: int = logging.WARNING) -> None:
    """The server's logging: one handler on stderr, JSON (or plain text) with the request id;
    the access log at INFO, everything else at ``level`` (WARNING: no personal data)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger(ACCESS_LOGGER).setLevel(logging.INFO)
