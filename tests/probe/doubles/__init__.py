"""Test doubles of check modules (`run(ctx, job, now) -> list[Finding]`), registered by monkeypatching
`shared.services.checks.CHECK_MODULES` so the probe's generic behaviour (time bound, failures, recording)
is specified without depending on the real checks' judgement."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from monitors.verdict import Verdict


def ok_verdict(check: str, job: Any, now: datetime, summary: str, **evidence: Any) -> Verdict:
    return Verdict(check=check, status="ok", summary=summary, at=now, endpoint=job.target.get("endpoint"),
                   deployment=job.target.get("deployment"), evidence={"double": True, **evidence})
