"""The gateway's logs: text or JSON lines on stderr, with phone numbers masked unless the
level is DEBUG (an operator debugging a modem may need them; everyday logs do not).

A number is a run of 7 to 15 digits, with or without `+`, standing alone: message ids
(UUIDs), PDUs in hex and timestamps are left as they are.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Literal, TextIO

__all__ = ["mask_numbers", "MaskNumbers", "JsonFormatter", "configure"]

_NUMBER = re.compile(r"(?<![\w+-])(\+?)(\d{7,15})(?![\w-])")
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def mask_numbers(text: str) -> str:
    """`+31612345678` → `+3161*****78`: the country and network stay readable."""
    return _NUMBER.sub(lambda m: m.group(1) + m.group(2)[:4] + "*" * (len(m.group(2)) - 6) + m.group(2)[-2:], text)


class MaskNumbers(logging.Filter):
    """Masks numbers in each record's message (arguments included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_numbers(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(
    logger: logging.Logger, *, fmt: Literal["text", "json"] = "text", level: str = "INFO", stream: TextIO | None = None
) -> logging.Handler:
    """Send `logger`'s records to stderr (or `stream`) as the settings say; returns the handler."""
    handler: logging.Handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(_TEXT_FORMAT))
    if logging.getLevelName(level) > logging.DEBUG:
        handler.addFilter(MaskNumbers())
    logger.addHandler(handler)
    logger.setLevel(level)
    return handler
