"""A check double that reads Azure Monitor metrics through the real MetricsAdapter, as the SLO check does:
when Azure answers 500 it fails the way a real check would."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shared.services.checks.base import Finding
from tests.probe.doubles import ok_verdict

NAME = "metrics_check_double"


def run(ctx: Any, job: Any, now: datetime) -> list[Finding]:
    endpoint = job.target["endpoint"]
    series = ctx.azure.metrics.per_deployment(ctx.azure.endpoint_resource_id(endpoint), "RequestLatency_P95",
                                              now - timedelta(hours=1), now)
    return [Finding(ok_verdict(NAME, job, now, f"read {len(series)} latency series", series=len(series)))]
