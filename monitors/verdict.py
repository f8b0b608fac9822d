"""The record every judge's conclusion becomes: one check, one target, one time, and what it was computed from.

Plain data (no I/O, no Azure): the checks layer stores it as the latest verdict and in the audit trail, and
the on-call API shows it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Verdict:
    """One check's conclusion about one target at one time, with what it was computed from.

    `status`: ok | alert | insufficient_data | no_reference | pending | error | timeout | skipped."""

    check: str
    status: str
    summary: str
    at: datetime
    endpoint: str | None = None
    deployment: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["at"] = self.at.isoformat()
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Verdict:
        return cls(**{**raw, "at": datetime.fromisoformat(raw["at"])})
