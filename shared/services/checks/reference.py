"""Model registered -> reference profile (placeholder until the reference builder lands)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.jobs import Job
    from shared.services.checks.base import CheckContext


def on_model_registered(ctx: CheckContext, job: Job, now: datetime) -> dict[str, Any]:
    return {"note": "reference profiles are not built yet"}
