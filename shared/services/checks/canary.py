"""One interval of a canary analysis: fetch canary and baseline over the same window, judge, act on the outcome.

Source: the per-minute platform metrics (P95 latency, requests and 5xx per minute per deployment), the
fallback the judge names as `metrics`; every interval since the start is rebuilt from one query, so a retried
or late job judges exactly the same data. On `Fail` the rollback controller takes over; an analysis that ends
`Inconclusive` is reported as such (Sev3 `canary-inconclusive`), never as a pass.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from monitors.verdict import Verdict
from shared.services.canary import RUNNING, analysis_name, intervals_due
from shared.services.checks.base import AlertDecision, Finding

if TYPE_CHECKING:
    from shared.jobs import Job
    from shared.services.checks.base import CheckContext

INCONCLUSIVE_RULE = "canary-inconclusive"


def _series(points: list[Any], start: datetime, end: datetime) -> list[float]:
    return [float("nan") if p.value is None else float(p.value) for p in points if start <= p.at < end]


def _minute_metrics(latency: list[Any], by_class: dict[str, list[Any]], start: datetime, end: datetime) -> Any:
    from monitors.canary import MinuteMetrics

    lat = _series(latency, start, end)
    totals: dict[datetime, float] = {}
    errors: dict[datetime, float] = {}
    for status_class, points in by_class.items():
        for p in points:
            if start <= p.at < end and p.value is not None:
                totals[p.at] = totals.get(p.at, 0.0) + float(p.value)
                if status_class == "5xx":
                    errors[p.at] = errors.get(p.at, 0.0) + float(p.value)
    minutes = sorted(totals)
    return MinuteMetrics(latency_ms=lat, requests=[totals[m] for m in minutes],
                         errors=[errors.get(m, 0.0) for m in minutes])


def run(ctx: CheckContext, job: Job, now: datetime) -> list[Finding]:
    from dataclasses import replace

    from monitors.canary import CanaryConfig, IntervalData, judge_analysis, render_report

    endpoint, analysis_id = job.target["endpoint"], job.target["analysis"]
    name = analysis_name(endpoint, analysis_id)
    analysis = ctx.state.get_json(name)
    if analysis is None or analysis.get("status") != RUNNING:
        status = "missing" if analysis is None else analysis["status"]
        return [Finding(Verdict("canary", "skipped", f"analysis {analysis_id} is {status}; nothing to judge", now,
                                endpoint, job.target.get("deployment"), {"analysis_id": analysis_id}))]
    due = intervals_due(analysis, now)
    canary, baseline = analysis["canary"], analysis["baselines"][0]
    start = datetime.fromisoformat(analysis["started_at"])
    step = timedelta(seconds=analysis["interval_seconds"])
    end = start + due * step
    resource = ctx.azure.endpoint_resource_id(endpoint)
    latency = ctx.azure.metrics.per_deployment(resource, "RequestLatency_P95", start, end)
    requests = ctx.azure.metrics.requests_by_status(resource, start, end)
    intervals = [
        IntervalData(start=start + i * step, end=start + (i + 1) * step,
                     canary=_minute_metrics(latency.get(canary, []), requests.get(canary, {}),
                                            start + i * step, start + (i + 1) * step),
                     baseline=_minute_metrics(latency.get(baseline, []), requests.get(baseline, {}),
                                              start + i * step, start + (i + 1) * step))
        for i in range(due)
    ]
    lifetime = max(1, analysis["lifetime_seconds"] // analysis["interval_seconds"])
    config = replace(CanaryConfig(), lifetime_intervals=lifetime)
    verdict = judge_analysis(intervals, config)
    report = render_report(verdict, title=f"Canary analysis {analysis_id}", canary_name=canary,
                           baseline_name=baseline)
    status = verdict.outcome.lower() if verdict.finished else RUNNING

    def record(current: dict[str, Any] | None) -> dict[str, Any] | None:
        if current is None or current.get("status") != RUNNING or current.get("judged_intervals", 0) >= due:
            return None  # superseded meanwhile, or a duplicate job judged this interval already
        return {**current, "judged_intervals": due, "status": status, "verdict": verdict.to_dict(),
                "updated_at": now.isoformat()}

    written = ctx.state.update_json(name, record)
    if written is not None:
        ctx.state.put_bytes(f"analyses/{endpoint}/{analysis_id}.html", report.encode(), "text/html; charset=utf-8")
    evidence = {"analysis_id": analysis_id, "canary": canary, "baseline": baseline, "intervals_judged": due,
                "lifetime_intervals": lifetime, "window": [start.isoformat(), end.isoformat()],
                "source": verdict.source, "outcome": verdict.outcome, "finished": verdict.finished,
                "reason": verdict.reason}
    findings_status = {"pass": "ok", "fail": "alert", "inconclusive": "insufficient_data"}.get(status, "pending")
    finding = Finding(Verdict("canary", findings_status, f"{canary} vs {baseline}: {verdict.outcome}"
                              f"{'' if verdict.finished else ' so far'} ({verdict.reason})", now, endpoint, canary,
                              evidence))
    if written is None:
        return [finding]
    if verdict.finished and verdict.outcome == "Fail":
        from shared.services.rollback import RollbackController

        outcome = RollbackController(ctx, ctx.leases).handle(
            endpoint=endpoint, canary=canary, baselines=analysis["baselines"], now=now,
            reason=f"canary analysis {analysis_id} failed: {verdict.reason}", analysis_id=analysis_id,
            evidence=evidence, report_html=report)
        ctx.state.update_json(name, lambda cur: {**cur, "rollback": outcome} if cur else None)
        return [Finding(replace(finding.verdict, evidence={**evidence, "rollback": outcome}))]
    if verdict.finished and verdict.outcome == "Inconclusive":
        from shared.alerts.model import AlertSignal

        signal = AlertSignal(rule=INCONCLUSIVE_RULE, severity="Sev3",
                             targets=(f"{resource}/deployments/{canary}",),
                             labels={"endpoint": endpoint, "deployment": canary},
                             description=f"canary analysis {analysis_id} of {canary} ended inconclusive: "
                                         f"{verdict.reason}"[:4096], evidence=evidence, report_html=report)
        return [Finding(finding.verdict, (AlertDecision(signal, True),))]
    return [finding]
