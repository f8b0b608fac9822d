"""Logging for the devhost: human lines on stderr, one JSON line per invocation on stdout.

stdout carries only the structured invocation records, so `python -m devhost | jq` works; everything
else (host messages, tracebacks, the user's own `logging` calls, tagged with function name and
invocation id) goes to stderr. This module never decides outcomes; it only records them.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import sys
from dataclasses import dataclass
from typing import Any

INVOCATION_LOGGER = "devhost.invocations"


@dataclass(frozen=True)
class InvocationTag:
    function: str
    invocation_id: str


current_invocation: contextvars.ContextVar[InvocationTag | None] = contextvars.ContextVar(
    "devhost_invocation", default=None
)


class _TagFilter(logging.Filter):
    """Adds `[function:invocation]` to records logged while a function runs (user logs included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        tag = current_invocation.get()
        record.invocation = f" [{tag.function} {tag.invocation_id[:8]}]" if tag else ""
        return True


class _RawFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return record.getMessage()


def configure(level: str = "INFO") -> None:
    """Install the two handlers; safe to call more than once."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    human = logging.StreamHandler(sys.stderr)
    human.setFormatter(
        logging.Formatter("[%(asctime)s] %(levelname)s %(name)s%(invocation)s: %(message)s", "%H:%M:%S")
    )
    human.addFilter(_TagFilter())
    root.addHandler(human)
    root.setLevel(level.upper())
    for noisy in ("azure.core.pipeline.policies.http_logging_policy", "azure.storage", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    records = logging.getLogger(INVOCATION_LOGGER)
    for handler in list(records.handlers):
        records.removeHandler(handler)
    structured = logging.StreamHandler(sys.stdout)
    structured.setFormatter(_RawFormatter())
    records.addHandler(structured)
    records.setLevel(logging.INFO)
    records.propagate = False


def record_invocation(
    *,
    function: str,
    trigger: str,
    invocation_id: str,
    duration_ms: float,
    outcome: str,
    error: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Emit the one structured line for an invocation (succeeded | failed | skipped | undecodable)."""
    line: dict[str, Any] = {
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        "function": function,
        "trigger": trigger,
        "invocation_id": invocation_id,
        "duration_ms": round(duration_ms, 3),
        "outcome": outcome,
    }
    if error is not None:
        line["error"] = error
    line.update({k: v for k, v in extra.items() if v is not None})
    logging.getLogger(INVOCATION_LOGGER).info(json.dumps(line, default=str))
    return line
