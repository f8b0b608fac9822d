"""One interval of a canary analysis: fetch canary and baseline over the same window, judge, act on the outcome.

Source, one per analysis (the judge compares like with like), chosen at its first judged interval and kept
in the analysis document (`source`, `source_reason`):

* `requests`, preferred: the endpoint's traffic log in Log Analytics (`AmlOnlineEndpointTrafficLog`, one row
  per request, read by shared/adapters/traffic_log.py), when MODELWATCH_LOG_ANALYTICS_WORKSPACE_ID is set and
  the log has requests of both canary and baseline: thousands of durations an interval, so smaller
  regressions are caught sooner;
* `metrics`, the fallback: the per-minute platform metrics (P95 latency, requests and 5xx per minute per
  deployment), when no workspace is set, the query fails, or the log has no rows for a side (the endpoint's
  diagnostic settings do not send it there). The verdict's evidence says why.

Every interval since the start is rebuilt from one query, so a retried or late job judges exactly the same
data. An analysis judged from requests whose traffic log later fails raises (the host retries the job)
rather than switch source. On `Fail` the rollback controller takes over; an analysis that ends
`Inconclusive` is reported as such (Sev3 `canary-inconclusive`), never as a pass.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from monitors.verdict import Verdict
from shared.services.canary import RUNNING, analysis_name, intervals_due, roll_back
from shared.services.checks.base import AlertDecision, Finding

if TYPE_CHECKING:
    from shared.adapters.traffic_log import RequestSamples
    from shared.jobs import Job
    from shared.services.checks.base import CheckContext

log = logging.getLogger(__name__)

INCONCLUSIVE_RULE = "canary-inconclusive"
REQUESTS, METRICS = "requests", "metrics"


class SourceChanged(RuntimeError):
    """Another run of this analysis recorded a different source meanwhile: this run's verdict is not kept
    (one source per analysis); the host retries the job, which then reads the recorded source."""


@dataclass(frozen=True)
class Source:
    """Where an analysis's data comes from, why, and (for `requests`) the windows already read."""

    name: str
    reason: str
    windows: list[dict[str, RequestSamples]] | None = None


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


def _metric_intervals(ctx: CheckContext, endpoint: str, canary: str, baseline: str,
                      edges: list[datetime]) -> list[Any]:
    from monitors.canary import IntervalData

    resource = ctx.azure.endpoint_resource_id(endpoint)
    latency = ctx.azure.metrics.per_deployment(resource, "RequestLatency_P95", edges[0], edges[-1])
    requests = ctx.azure.metrics.requests_by_status(resource, edges[0], edges[-1])
    return [
        IntervalData(start=start, end=end,
                     canary=_minute_metrics(latency.get(canary, []), requests.get(canary, {}), start, end),
                     baseline=_minute_metrics(latency.get(baseline, []), requests.get(baseline, {}), start, end))
        for start, end in pairwise(edges)
    ]


def _request_intervals(windows: list[dict[str, RequestSamples]], canary: str, baseline: str,
                       edges: list[datetime]) -> list[Any]:
    from monitors.canary import IntervalData, RequestWindow

    def side(samples: RequestSamples) -> Any:
        return RequestWindow(samples.durations_ms, samples.requests, samples.errors_5xx)

    return [IntervalData(start=start, end=end, canary=side(window[canary]), baseline=side(window[baseline]))
            for (start, end), window in zip(pairwise(edges), windows, strict=True)]


def _read_traffic_log(ctx: CheckContext, workspace: str, endpoint: str, deployments: list[str],
                      edges: list[datetime]) -> list[dict[str, RequestSamples]]:
    from shared.adapters.azure_clients import logs_client
    from shared.adapters.traffic_log import TrafficLog

    with logs_client(ctx.azure.settings) as client:  # type: ignore[attr-defined]
        return TrafficLog(client, workspace).windows(endpoint, deployments, edges)


def choose_source(ctx: CheckContext, analysis: dict[str, Any], canary: str, baseline: str,
                  edges: list[datetime]) -> Source:
    """The analysis's recorded source, or (first judged interval) the traffic log when it has both sides."""
    from shared.adapters.traffic_log import TABLE, TrafficLogError

    endpoint, workspace = analysis["endpoint"], ctx.settings.checks.log_analytics_workspace_id
    recorded = analysis.get("source")
    if recorded is None and analysis.get("judged_intervals"):  # judged before sources were recorded
        recorded = (analysis.get("verdict") or {}).get("source") or METRICS
    if recorded == METRICS:
        return Source(METRICS, analysis.get("source_reason") or "per-minute metrics, chosen at the first interval")
    if recorded == REQUESTS:
        one_source = (f"analysis {analysis['id']} is judged from request-level data since its first interval "
                      "(one source per analysis), so this interval waits for the traffic log (the job is retried)")
        if not workspace:
            raise TrafficLogError(f"{one_source}: MODELWATCH_LOG_ANALYTICS_WORKSPACE_ID is no longer set")
        try:
            windows = _read_traffic_log(ctx, workspace, endpoint, [canary, baseline], edges)
        except TrafficLogError as exc:
            raise TrafficLogError(f"{one_source}: {exc}", partial=exc.partial) from exc
        return Source(REQUESTS, analysis.get("source_reason") or "request-level data", windows)
    fallback = "judged from the per-minute metrics instead"
    if not workspace:
        return Source(METRICS, f"MODELWATCH_LOG_ANALYTICS_WORKSPACE_ID is not set, so there is no request-level "
                               f"data; {fallback}")
    try:
        windows = _read_traffic_log(ctx, workspace, endpoint, [canary, baseline], edges)
    except TrafficLogError as exc:
        return Source(METRICS, f"the traffic log could not be read ({exc}); {fallback}")
    counts = {name: sum(w[name].requests for w in windows) for name in (canary, baseline)}
    empty = [name for name, n in counts.items() if n == 0]
    if empty:
        why = ("the endpoint's diagnostic settings do not send it there" if len(empty) == 2 else
               f"{empty[0]} served nothing the log recorded while {baseline if empty[0] == canary else canary} "
               f"did ({max(counts.values())} requests)")
        return Source(METRICS, f"the traffic log ({TABLE} in Log Analytics workspace {workspace}) has no "
                               f"requests of {' and '.join(empty)} on {endpoint} between {edges[0].isoformat()} and "
                               f"{edges[-1].isoformat()}: {why}; {fallback}")
    return Source(REQUESTS, f"request-level data: {TABLE} in Log Analytics workspace {workspace}", windows)


def run(ctx: CheckContext, job: Job, now: datetime) -> list[Finding]:
    from dataclasses import replace

    from monitors.canary import CanaryConfig, judge_analysis, render_report

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
    if due < 1:
        return [Finding(Verdict("canary", "pending", f"analysis {analysis_id}: no interval has ended yet", now,
                                endpoint, canary, {"analysis_id": analysis_id}))]
    resource = ctx.azure.endpoint_resource_id(endpoint)
    edges = [start + i * step for i in range(due + 1)]
    lifetime = max(1, analysis["lifetime_seconds"] // analysis["interval_seconds"])
    try:
        source = choose_source(ctx, analysis, canary, baseline, edges)
        if source.windows is not None:
            intervals = _request_intervals(source.windows, canary, baseline, edges)
        else:
            intervals = _metric_intervals(ctx, endpoint, canary, baseline, edges)
    except Exception as exc:
        deadline = start + lifetime * step + step
        if now < deadline:
            raise  # the host retries the job; the next sweep enqueues it again while it is due
        return _end_without_data(ctx, analysis, resource, exc, deadline, now)
    config = replace(CanaryConfig(), lifetime_intervals=lifetime, **analysis.get("levels", {}))
    verdict = judge_analysis(intervals, config)
    title = f"Canary analysis {analysis_id}" + ("" if source.name == REQUESTS else f" (metrics: {source.reason})")
    report = render_report(verdict, title=title, canary_name=canary, baseline_name=baseline)
    status = verdict.outcome.lower() if verdict.finished else RUNNING
    conflict: dict[str, str] = {}

    def record(current: dict[str, Any] | None) -> dict[str, Any] | None:
        if current is None or current.get("status") != RUNNING or current.get("judged_intervals", 0) >= due:
            return None  # superseded meanwhile, or a duplicate job judged this interval already
        if current.get("source") not in (None, source.name):
            conflict["source"] = current["source"]
            return None
        return {**current, "judged_intervals": due, "status": status, "verdict": verdict.to_dict(),
                "source": source.name, "source_reason": current.get("source_reason") or source.reason,
                "updated_at": now.isoformat()}

    written = ctx.state.update_json(name, record)
    if conflict:
        raise SourceChanged(f"analysis {analysis_id} recorded source {conflict['source']!r} meanwhile; this run "
                            f"judged {source.name!r}, so its verdict is dropped and the job retried")
    if written is not None:
        ctx.state.put_bytes(f"analyses/{endpoint}/{analysis_id}.html", report.encode(), "text/html; charset=utf-8")
    evidence = {"analysis_id": analysis_id, "canary": canary, "baseline": baseline, "intervals_judged": due,
                "lifetime_intervals": lifetime, "window": [start.isoformat(), end.isoformat()],
                "source": verdict.source, "source_reason": source.reason, "outcome": verdict.outcome,
                "finished": verdict.finished, "reason": verdict.reason}
    if source.name == REQUESTS:
        evidence["log_analytics_workspace_id"] = ctx.settings.checks.log_analytics_workspace_id
    findings_status = {"pass": "ok", "fail": "alert", "inconclusive": "insufficient_data"}.get(status, "pending")
    data = "request-level data" if source.name == REQUESTS else "per-minute metrics"
    finding = Finding(Verdict("canary", findings_status, f"{canary} vs {baseline}: {verdict.outcome}"
                              f"{'' if verdict.finished else ' so far'}, from {data} ({verdict.reason})", now,
                              endpoint, canary, evidence))
    if written is None:
        return [finding]
    if verdict.finished and verdict.outcome == "Fail":
        outcome = roll_back(ctx, written, reason=f"canary analysis {analysis_id} failed: {verdict.reason}",
                            evidence=evidence, report_html=report, now=now)
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


def _end_without_data(ctx: CheckContext, analysis: dict[str, Any], resource: str, error: Exception,
                      deadline: datetime, now: datetime) -> list[Finding]:
    """The data of an analysis could not be read from one interval after its lifetime ended: it ends
    Inconclusive (Sev3 `canary-inconclusive`) instead of staying `running` with no one told. Never a pass,
    never a fail: traffic is left as it is, and `POST .../retry` starts it again once the data is back."""
    from shared.alerts.model import AlertSignal

    endpoint, analysis_id, canary = analysis["endpoint"], analysis["id"], analysis["canary"]
    log.warning("canary analysis %s ends inconclusive: its data could not be read", analysis_id, exc_info=error)
    reason = (f"its data could still not be read one interval after the lifetime ended ({deadline.isoformat()}): "
              f"{type(error).__name__}: {error}"[:2000])

    def change(current: dict[str, Any] | None) -> dict[str, Any] | None:
        if current is None or current.get("status") != RUNNING:
            return None
        return {**current, "status": "inconclusive", "ended_reason": reason, "updated_at": now.isoformat()}

    written = ctx.state.update_json(analysis_name(endpoint, analysis_id), change)
    evidence = {"analysis_id": analysis_id, "canary": canary, "baseline": analysis["baselines"][0],
                "intervals_judged": analysis.get("judged_intervals", 0), "outcome": "Inconclusive",
                "finished": True, "reason": reason, "source": analysis.get("source")}
    verdict = Verdict("canary", "insufficient_data", f"{canary}: analysis {analysis_id} ended Inconclusive, "
                      f"{reason}", now, endpoint, canary, evidence)
    if written is None:
        return [Finding(verdict)]
    signal = AlertSignal(rule=INCONCLUSIVE_RULE, severity="Sev3", targets=(f"{resource}/deployments/{canary}",),
                         labels={"endpoint": endpoint, "deployment": canary},
                         description=f"canary analysis {analysis_id} of {canary} ended inconclusive: {reason}"[:4096],
                         evidence=evidence)
    return [Finding(verdict, (AlertDecision(signal, True),))]
