"""A check double slower than any probe bound a test sets: it waits until the test releases it (at teardown),
then answers `ok`. Waiting on an event, not a sleep, keeps the suite fast and asserts nothing about time."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from shared.services.checks.base import Finding
from tests.probe.doubles import ok_verdict

NAME = "slow_check_double"
RELEASE = threading.Event()
LONGEST_WAIT_SECONDS = 60.0


def run(ctx: Any, job: Any, now: datetime) -> list[Finding]:
    RELEASE.wait(LONGEST_WAIT_SECONDS)
    return [Finding(ok_verdict(NAME, job, now, "slow double finally answered"))]
