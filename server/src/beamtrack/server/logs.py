"""Structured logs: one JSON object per line (time, level, logger, message, and the ``job_id``,
``user`` and access-log extras a record carries), and the HTTP access log's query scrubbing."""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

#: Extras copied from a log record into its JSON line, when set.
EXTRAS = ("job_id", "scan_id", "user", "method", "path", "status", "duration_ms", "client")
#: Query parameters whose values never reach a log line.
_SECRET = re.compile(r"(?i)(token|secret|password|auth|key)")


class JsonFormatter(logging.Formatter):
    """One JSON object per line; exceptions as ``exc`` (their formatted traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in EXTRAS:
            value = record.__dict__.get(name)
            if value is not None and value != "":
                out[name] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def install(fmt: str, level: int = logging.INFO) -> None:
    """Root logging for ``beamtrack serve``: ``json`` (JsonFormatter) or ``text``."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level)


def scrub_query(query: str) -> str:
    """A query string with the values of token-like parameters replaced by ``***``."""
    if not query:
        return ""
    parts = []
    for item in query.split("&"):
        name, sep, _ = item.partition("=")
        parts.append(f"{name}{sep}***" if sep and _SECRET.search(name) else item)
    return "&".join(parts)
