"""Logging: one line per record, text or JSON for log shippers; never message bodies at INFO.

Bodies stay out by convention (log calls name rooms, event ids, families and outcomes, never
content). Tokens stay out by a filter: access tokens in URLs or headers that a library echoes
are masked before any handler formats the record.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any, TextIO

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is emitted.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}
_SECRETS = re.compile(
    r"(access_token=|\"access_token\":\s*\"|Bearer\s+|\"password\":\s*\")[^&\s\"']+",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """Mask access tokens and passwords wherever a library put them in a log line."""
    return _SECRETS.sub(lambda m: m.group(1) + "<redacted>", text)


class SecretFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, str | int | float | bool) else str(value)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        # json.dumps escapes newlines (tracebacks too): one record is one line
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str = "INFO", fmt: str = "text", stream: TextIO | None = None) -> None:
    """Send every record to ``stream`` (stderr by default) in ``fmt`` (``text`` or ``json``)."""
    handler = logging.StreamHandler(stream)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # nio and aiohttp are chatty at INFO and may echo request details
    for noisy in ("nio", "aiohttp.access", "peewee", "apscheduler.executors"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
