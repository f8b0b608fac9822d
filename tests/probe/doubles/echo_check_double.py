"""A check double that answers at once with an `ok` verdict for its target."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.services.checks.base import Finding
from tests.probe.doubles import ok_verdict

NAME = "echo_check_double"


def run(ctx: Any, job: Any, now: datetime) -> list[Finding]:
    return [Finding(ok_verdict(NAME, job, now, "echo double answered"))]
