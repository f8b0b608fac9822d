"""The SLO check of one deployment: objectives from the endpoint's tags, six hours of per-minute metrics,
the pure judge in monitors/slo.py, and one alert per objective fired or cleared.

Objectives come from the endpoint's tags `modelwatch.slo.latency_p95_ms` (milliseconds) and
`modelwatch.slo.error_rate` (the error-rate fraction, e.g. `0.01` for a 99% SLO), else from the settings
(`MODELWATCH_SLO_LATENCY_P95_MS`, `MODELWATCH_SLO_ERROR_RATE`). A tag that is not a usable number is
ignored, named in the summary and the evidence, and the setting applies: a typo in a tag must not
silence the check. Two metric queries (RequestLatency_P50/P90/P95/P99 in one, RequestsPerMinute in the
other; per minute, over the longest window) cover every window the judge looks at. Azure serves these
metrics as `Average` only; a minute's request count is the `Average` of RequestsPerMinute split by every
dimension, summed per status class by the adapter (shared/adapters/metrics.py says why).

Alerts (labels `endpoint` and `deployment`, target the deployment's ARM id): `slo-latency-p95` (Sev2),
`slo-error-budget-fast-burn` (Sev1), `slo-error-budget-slow-burn` (Sev2). Each run fires the ones whose
objective is failing and clears the ones that pass (the alert service resolves them after keep-firing);
an objective that is `insufficient_data` neither fires nor clears, so an idle deployment keeps what it
had. The HTML report (latency and error series against the objective) is drawn only when something fires.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from monitors.slo import Minute, Objectives, SloJudgement, SloPolicy, judge
from monitors.verdict import Verdict
from shared.services.checks.base import AlertDecision, Finding

if TYPE_CHECKING:
    from shared.jobs import Job
    from shared.services.checks.base import CheckContext

LATENCY_TAG = "modelwatch.slo.latency_p95_ms"
ERROR_RATE_TAG = "modelwatch.slo.error_rate"
LATENCY_RULE = "slo-latency-p95"
#: burn alert name in monitors/slo.py -> alert rule
BURN_RULES = {"fast_burn": "slo-error-budget-fast-burn", "slow_burn": "slo-error-budget-slow-burn"}
LATENCY_SEVERITY = "Sev2"
#: the per-minute latency percentiles Azure keeps, by level (the judge reads each minute's distribution through them)
LATENCY_METRICS = {0.5: "RequestLatency_P50", 0.9: "RequestLatency_P90", 0.95: "RequestLatency_P95",
                   0.99: "RequestLatency_P99"}
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class ObjectiveChoice:
    objectives: Objectives
    problems: tuple[str, ...]


def objectives_from_tags(tags: dict[str, str], default_latency_ms: float, default_error_rate: float
                         ) -> ObjectiveChoice:
    """The endpoint's objectives: its tags where they hold a usable number, else the settings' defaults."""
    problems: list[str] = []
    latency = _tag_number(tags, LATENCY_TAG, problems, lambda v: v > 0, "a positive number of milliseconds")
    error_rate = _tag_number(tags, ERROR_RATE_TAG, problems, lambda v: 0 < v <= 0.5,
                             "an error-rate fraction above 0 and at most 0.5, e.g. 0.01 for a 99% SLO")
    sources = {
        "latency_p95_ms": f"tag {LATENCY_TAG}" if latency is not None else "setting MODELWATCH_SLO_LATENCY_P95_MS",
        "error_rate": f"tag {ERROR_RATE_TAG}" if error_rate is not None else "setting MODELWATCH_SLO_ERROR_RATE",
    }
    return ObjectiveChoice(Objectives(latency if latency is not None else default_latency_ms,
                                      error_rate if error_rate is not None else default_error_rate, sources),
                           tuple(problems))


def _tag_number(tags: dict[str, str], name: str, problems: list[str], valid: Any, expected: str) -> float | None:
    raw = next((v for k, v in tags.items() if k.lower() == name), None)
    if raw is None or not str(raw).strip():
        return None
    try:
        value = float(str(raw).strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not valid(value):
        hint = " (that looks like an SLO target; give 1 - target)" if name == ERROR_RATE_TAG and 0.5 < value < 1 else ""
        problems.append(f"tag {name}={raw!r} ignored: expected {expected}{hint}")
        return None
    return value


def minutes_from_metrics(latency: dict[float, list[Any]], by_class: dict[str, list[Any]]) -> list[Minute]:
    """Join the percentile series (level -> Points with `.at`, `.value`) and the per-status-class request
    counts by minute. Errors are the 5xx class only."""
    counts: dict[datetime, list[int]] = {}
    for status_class, points in by_class.items():
        for point in points:
            n = round(point.value or 0)
            slot = counts.setdefault(point.at, [0, 0])
            slot[0] += n
            if status_class.lower() == "5xx":
                slot[1] += n
    percentiles: dict[datetime, dict[float, float]] = {}
    for level, points in latency.items():
        for point in points:
            if point.value is not None:
                percentiles.setdefault(point.at, {})[level] = float(point.value)
    return [Minute(at, counts.get(at, [0, 0])[0], counts.get(at, [0, 0])[1], percentiles.get(at, {}))
            for at in sorted(set(counts) | set(percentiles))]


def _model_fields(model_id: str | None) -> dict[str, str | None]:
    """The served model's name and version (both None when unknown) and the id as the deployment gives it."""
    from shared.adapters.azure_ml import parse_model_id

    name, version = parse_model_id(model_id) or (None, None)
    return {"model": name, "model_version": version, "model_id": model_id}


def run(ctx: CheckContext, job: Job, now: datetime) -> list[Finding]:
    from shared.adapters.azure_ml import ResourceMissing

    endpoint, deployment = job.target.get("endpoint", ""), job.target.get("deployment", "")
    azure = ctx.azure
    try:
        tags = azure.ml.endpoint_traffic(endpoint).tags
        info = next((d for d in azure.ml.deployments(endpoint) if d.name.lower() == deployment.lower()), None)
    except ResourceMissing as exc:
        return [_skipped(now, endpoint, deployment, f"{exc}; the sweep stops checking what no longer exists")]
    if info is None:
        return [_skipped(now, endpoint, deployment, f"deployment {endpoint}/{deployment} does not exist")]
    checks = ctx.settings.checks
    choice = objectives_from_tags(tags, checks.slo_latency_p95_ms, checks.slo_error_rate)
    policy = SloPolicy(min_requests=checks.slo_min_requests)
    resource = azure.endpoint_resource_id(endpoint)
    end = now.replace(second=0, microsecond=0)
    start = end - policy.lookback
    percentiles = azure.metrics.per_deployment_metrics(resource, list(LATENCY_METRICS.values()), start, end, MINUTE,
                                                        "Average")
    latency = {level: _for(percentiles.get(name, {}), deployment) or [] for level, name in LATENCY_METRICS.items()}
    by_class = _for(azure.metrics.requests_by_status(resource, start, end, MINUTE), deployment) or {}
    judgement = judge(minutes_from_metrics(latency, by_class), choice.objectives, now, policy)
    target = f"{resource}/deployments/{deployment}"
    extra = {"endpoint": endpoint, "deployment": deployment, "target": target, **_model_fields(info.model),
             "metrics": {"resource": resource, "latency": f"{'/'.join(LATENCY_METRICS.values())} Average PT1M",
                         "requests": "RequestsPerMinute Average PT1M by deployment, statusCode and "
                                     "modelStatusCode (one sample each: the minute's count), summed per status class"},
             "tag_problems": list(choice.problems)}
    verdict = judgement.verdict(endpoint, deployment, extra)
    if choice.problems:
        verdict = replace(verdict, summary=f"{verdict.summary}; " + "; ".join(choice.problems))
    return [Finding(verdict, tuple(_decisions(judgement, endpoint, deployment, target, extra)))]


def _for(by_deployment: dict[str, Any], deployment: str) -> Any:
    """The deployment's entry; Azure echoes dimension values in varying case."""
    return next((v for k, v in by_deployment.items() if k.lower() == deployment.lower()), None)


def _skipped(now: datetime, endpoint: str, deployment: str, reason: str) -> Finding:
    return Finding(Verdict(check="slo", status="skipped", summary=reason, at=now, endpoint=endpoint,
                           deployment=deployment, evidence={"endpoint": endpoint, "deployment": deployment}))


def _decisions(judgement: SloJudgement, endpoint: str, deployment: str, target: str,
               extra: dict[str, Any]) -> list[AlertDecision]:
    """One decision per objective that could be judged: firing if it alerts, cleared if it passes."""
    from shared.alerts.model import AlertSignal

    report = None
    if judgement.status == "alert":
        from monitors.slo_report import render_slo_report

        report = render_slo_report(judgement, endpoint=endpoint, deployment=deployment)
    where = f"{endpoint}/{deployment}"
    labels = {"endpoint": endpoint, "deployment": deployment}
    evidence = judgement.evidence()
    common = {"endpoint": endpoint, "deployment": deployment, "model": extra.get("model"),
              "model_version": extra.get("model_version"), "objectives": evidence["objectives"],
              "conventions": evidence["conventions"]}
    decisions: list[AlertDecision] = []
    latency = judgement.latency
    if latency.status != "insufficient_data":
        signal = AlertSignal(rule=LATENCY_RULE, severity=LATENCY_SEVERITY, signal_type="Metric", targets=(target,),
                             labels=labels, description=f"{where}: {latency.reason}",
                             evidence={**common, "latency": latency.to_dict()},
                             report_html=report if latency.status == "alert" else None)
        decisions.append(AlertDecision(signal, latency.status == "alert"))
    for burn in judgement.burns:
        if burn.status == "insufficient_data" or burn.alert.name not in BURN_RULES:
            continue
        signal = AlertSignal(rule=BURN_RULES[burn.alert.name], severity=burn.alert.severity, signal_type="Metric",
                             targets=(target,), labels=labels,
                             description=f"{where}: error budget {burn.alert.name.replace('_', ' ')}, {burn.reason} "
                                         f"(error-rate objective {judgement.objectives.error_rate:g})",
                             evidence={**common, burn.alert.name: burn.to_dict()},
                             report_html=report if burn.status == "alert" else None)
        decisions.append(AlertDecision(signal, burn.status == "alert"))
    return decisions
