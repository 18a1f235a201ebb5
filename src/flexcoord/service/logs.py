"""Structured logs: one JSON line per request (and per error), carrying the request id.

The app logs to the ``flexcoord.service`` logger with the fields in ``extra`` (``request_id``,
``method``, ``path``, ``status``, ``duration_ms``, ``party_id``, ``operation``; ``message_id``
for the outbox's lines); nothing is configured at import. ``flexcoord serve`` installs
:class:`JsonFormatter` on that logger (:func:`install_json_logging`), so the request id a
client sees in ``X-Request-ID`` and in the audit event finds the log line.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Final

__all__ = ["LOGGER_NAME", "LOG_FIELDS", "JsonFormatter", "install_json_logging"]

LOGGER_NAME: Final = "flexcoord.service"
#: The fields a log record may carry besides its message.
LOG_FIELDS: Final = (
    "request_id",
    "method",
    "path",
    "status",
    "duration_ms",
    "party_id",
    "operation",
    "message_id",
)


class JsonFormatter(logging.Formatter):
    """A record as one JSON object: time (UTC), level, message, the known fields, and the
    exception's type and text if any (never a multi-line traceback).

    Example:
        >>> record = logging.LogRecord("flexcoord.service", logging.INFO, "", 0, "request",
        ...                            None, None)
        >>> record.status = 201
        >>> json.loads(JsonFormatter().format(record))["status"]
        201
    """

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "message": record.getMessage(),
        }
        data.update({f: getattr(record, f) for f in LOG_FIELDS if hasattr(record, f)})
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            data["error"] = f"{type(error).__name__}: {error}"[:500]
        return json.dumps(data, default=str)


def install_json_logging(level: int = logging.INFO) -> None:
    """Send the service's logs to stderr as JSON lines (called by ``flexcoord serve``)."""
    logger = logging.getLogger(LOGGER_NAME)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger.handlers = [handler]
    logger.setLevel(level)
    logger.propagate = False
