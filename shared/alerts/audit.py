"""The audit port: where every alert decision is written down. The trail itself is the lead's
(shared/store.py); this module only names the interface and a logging stand-in for when none is wired.

Must never swallow a decision silently: the stand-in logs every record at INFO.
"""

from __future__ import annotations

import json
import logging
from typing import Protocol

log = logging.getLogger("modelwatch.audit")


class AuditTrail(Protocol):
    """Anything with this method: `append("alert", alert_id, "opened", {...})`."""

    def append(self, kind: str, subject: str, decision: str, details: dict | None = None) -> object: ...


class LoggingAudit:
    """Writes each decision as one structured log line. Used until the real trail is wired in."""

    def append(self, kind: str, subject: str, decision: str, details: dict | None = None) -> object:
        log.info(
            "audit %s %s %s %s",
            kind,
            subject,
            decision,
            json.dumps(details or {}, default=str, sort_keys=True),
        )
        return None
