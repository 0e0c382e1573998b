"""Structured logs: one ``key=value`` line per event, secrets redacted before they are written."""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

_SECRET_KEYS = re.compile(r"(password|secret|token|api[_-]?key|authorization|credential)", re.I)
_REDACTED = "***"


def redact(fields: dict[str, Any]) -> dict[str, Any]:
    """Replace the values of secret-looking keys, recursively."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if _SECRET_KEYS.search(str(key)):
            out[key] = _REDACTED
        elif isinstance(value, dict):
            out[key] = redact(value)
        else:
            out[key] = value
    return out


def _format_value(value: Any) -> str:
    text = str(value)
    if text == "" or any(c in text for c in ' ="\n'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


class KeyValueFormatter(logging.Formatter):
    """Render a record as ``ts=... level=... logger=... event=... k=v ...``."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields.update(redact(getattr(record, "fields", {})))
        if record.exc_info and record.exc_info[1] is not None:
            fields["error"] = f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        return " ".join(f"{k}={_format_value(v)}" for k, v in fields.items())


def configure(level: str = "INFO", stream=None) -> None:
    """Send the project's logs, one line per event, to stderr (idempotent)."""
    root = logging.getLogger("lakehouse")
    root.setLevel(level)
    if not any(getattr(h, "_lakehouse", False) for h in root.handlers):
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(KeyValueFormatter())
        handler._lakehouse = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.propagate = False


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name if name.startswith("lakehouse") else f"lakehouse.{name}")


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``event`` with structured ``fields``."""
    logger.log(level, event, extra={"fields": fields})
