"""The cost check, one job per workspace: budget burn, daily cost per endpoint and deployment, day-over-day
anomalies, and deployments that cost money while serving nothing.

Cost Management is asked as little as its throttling demands, through `CostCache` (answers kept for the
cost cadence; a 429 is honoured and the stored answer served, and the verdict says so):

* the budgets: the one named by `MODELWATCH_COST_BUDGET`, else every budget of the resource group;
* one query for the daily cost of every endpoint over the last 15 days (grouped by the `azuremlendpoint`
  tag Azure ML puts on endpoint costs);
* per endpoint, its deployments' daily costs (filtered by endpoint, grouped by `azuremldeployment`) only
  when a deployment is needed: an endpoint-level anomaly to attribute, or an idle candidate to confirm.
  One query per endpoint per run would spend the few queries a minute Cost Management allows on 50
  endpoints in seconds. These are asked never-fetched first, then oldest first, so the endpoints a
  throttled run left waiting are served first by the next one.

Requests come from Azure Monitor (`RequestsPerMinute` over 24 h, read per minute as Azure serves it and summed
per hour by the metrics adapter), which is not Cost Management's budget. An answer that reached the adapter's
`top` series may have left a quiet deployment out: such a deployment's idleness stays `pending`, never guessed.
The judges are `monitors.cost`. Verdicts: one for the workspace (budgets), one per endpoint (its costs, its
deployments', anomaly and idle findings). Alerts:

* `cost-budget-forecast`, labels `{budget}`, on the workspace: Sev2 at 100% (spend or month-end forecast),
  Sev3 at 80%;
* `cost-anomaly` (Sev3), labels `{endpoint}` on the endpoint, or `{endpoint, deployment}` on the deployment
  when the deployment costs are in hand;
* `cost-idle-deployment` (Sev4), labels `{endpoint, deployment}`: instances, cost > 0 over yesterday and
  today, and no request in 24 h.

A condition the check could not see this run (cost data unavailable, history too short) neither fires nor
clears its alert. When a 429 left answers with nothing cached, the run plans a follow-up (`fanout.cost_follow_up_name`):
the first sweep after the wait Cost Management asked for runs the check again, instead of the next cost slot
hours later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from monitors.cost import Anomaly, AnomalyConfig, BudgetFigures, Idle, judge_anomaly, judge_budget, judge_idle
from monitors.verdict import Verdict
from shared.adapters.cost_cache import Answer, CostCache
from shared.services.checks.base import AlertDecision, Finding

if TYPE_CHECKING:
    from shared.adapters.azure_ml import DeploymentInfo, EndpointTraffic
    from shared.adapters.costs import CostReport
    from shared.alerts.model import AlertSignal
    from shared.jobs import Job
    from shared.services.checks.base import Azure, CheckContext

RULE_BUDGET = "cost-budget-forecast"
RULE_ANOMALY = "cost-anomaly"
RULE_IDLE = "cost-idle-deployment"
HISTORY_DAYS = 14
REQUEST_WINDOW = timedelta(hours=24)
#: SDK options for every Cost Management call: no SDK retries, the cache honours 429 itself
NO_SDK_RETRY = {"retry_total": 0}


@dataclass
class Run:
    """What one run of the check shares: the context, the cache, the time and the cost window."""

    ctx: CheckContext
    azure: Azure
    cache: CostCache
    now: datetime
    start: datetime
    end: datetime
    anomaly: AnomalyConfig
    findings: list[Finding] = field(default_factory=list)

    @property
    def today(self) -> date:
        return self.now.date()

    @property
    def window_key(self) -> str:
        return f"{self.start:%Y%m%d}-{self.end:%Y%m%d}"


def run(ctx: CheckContext, job: Job, now: datetime) -> list[Finding]:
    azure = ctx.azure
    checks = ctx.settings.checks
    today = now.astimezone(UTC).date()
    r = Run(ctx=ctx, azure=azure, now=now,
            cache=CostCache(ctx.state, azure.workspace_id, checks.cost_every, now),
            start=datetime.combine(today - timedelta(days=HISTORY_DAYS + 1), time.min, UTC),
            end=datetime.combine(today, time(23, 59, 59), UTC),
            anomaly=AnomalyConfig(floor=checks.cost_anomaly_floor, history_days=HISTORY_DAYS))
    budget_finding = _budgets(r)
    costs = r.cache.report(f"endpoints/{r.window_key}",
                           lambda: azure.costs.endpoint_costs(r.start, r.end, **NO_SDK_RETRY))
    findings = _endpoints(r, costs)
    # the cache's counters are final only now: every verdict of the run carries the same figures
    stats = r.cache.stats()
    for f in (budget_finding, *findings):
        f.verdict.evidence["cost_cache"] = stats
    _plan_follow_up(ctx, job.workspace_id, r.cache.throttled_until, stats, now)
    return _open_clears_only(ctx, [budget_finding, *findings])


def _plan_follow_up(ctx: CheckContext, workspace_id: str, until: datetime | None, stats: dict[str, Any],
                    now: datetime) -> None:
    if not stats.get("unavailable") or until is None:
        return
    from shared.services.checks.fanout import cost_follow_up_name

    ctx.state.put_json(cost_follow_up_name(workspace_id), {
        "due": max(until, now).isoformat(), "planned_at": now.isoformat(),
        "reason": f"{stats['unavailable']} cost answer(s) unavailable: Cost Management throttled the scope until "
                  f"{until.isoformat()}"})


def _open_clears_only(ctx: CheckContext, findings: list[Finding]) -> list[Finding]:
    """Drop the clears of conditions whose alert is not open. Clearing is a lookup per condition (one blob
    listing each): at 50 endpoints x 3 deployments that is hundreds per run, nearly all for alerts that never
    fired. One listing of the active alerts answers them all."""
    from shared.alerts.model import AlertState

    active = {(a.rule, tuple(a.targets), tuple(sorted(a.labels.items())))
              for a in ctx.alerts.list_alerts([AlertState.OPEN, AlertState.ACKNOWLEDGED])}

    def keep(d: AlertDecision) -> bool:
        s = d.signal
        return d.firing or (s.rule, tuple(s.targets), tuple(sorted(s.labels.items()))) in active

    return [Finding(f.verdict, tuple(d for d in f.alerts if keep(d))) for f in findings]


# ---- budgets -------------------------------------------------------------------------------------------
def _budgets(r: Run) -> Finding:
    name = r.ctx.settings.checks.cost_budget
    costs = r.azure.costs
    if name:
        answer = r.cache.budgets(f"budget/{name}", lambda: [costs.budget(name, **NO_SDK_RETRY)])
    else:
        answer = r.cache.budgets("budgets", lambda: costs.budgets(**NO_SDK_RETRY))
    evidence: dict[str, Any] = {"workspace": r.azure.workspace_id, "budget_setting": name,
                                "cost_data": answer.evidence()}
    if not answer.available:
        return Finding(Verdict("cost", "pending", f"budgets unknown: {answer.note}", r.now, evidence=evidence))
    budgets = answer.value or []
    if not budgets:
        return Finding(Verdict("cost", "skipped", "no budget is defined at the resource group; set "
                               "MODELWATCH_COST_BUDGET or create one", r.now, evidence=evidence))
    decisions, burns = [], []
    for b in budgets:
        burn = judge_budget(BudgetFigures(b.name, b.amount, b.current_spend, b.forecast_spend, b.unit,
                                          b.time_grain), r.now)
        burns.append(burn)
        decisions.append(AlertDecision(_budget_signal(r.azure.workspace_id, burn), burn.status == "alert"))
    evidence["budgets"] = [burn.evidence() for burn in burns]
    status = "alert" if any(b.status == "alert" for b in burns) else "ok"
    summary = "; ".join(b.summary for b in burns) + _stale(answer)
    return Finding(Verdict("cost", status, summary, r.now, evidence=evidence), tuple(decisions))


def _budget_signal(workspace_id: str, burn: Any) -> AlertSignal:
    from shared.alerts.model import AlertSignal

    return AlertSignal(rule=RULE_BUDGET, severity="Sev2" if burn.level == "over" else "Sev3",
                       targets=(workspace_id,), labels={"budget": burn.budget.name},
                       description=burn.summary[:4096], evidence=burn.evidence())


# ---- endpoints -----------------------------------------------------------------------------------------
@dataclass
class EndpointView:
    """One endpoint as the run sees it: its deployments, their requests, its daily costs and the anomaly
    judged on them; then, if a deployment needs a look, its deployments' daily costs."""

    endpoint: EndpointTraffic
    deployments: list[DeploymentInfo]
    requests: dict[str, float]  # lower-case deployment name -> requests in the last 24 h
    requests_complete: bool  # False: the metrics answer may have been cut at `top`; absent is not zero
    daily: dict[date, float]
    costs: Answer[CostReport]
    anomaly: Anomaly | None  # None: no cost data
    candidates: list[str]  # deployments with instances and no request: idle if they cost money
    dep_costs: Answer[CostReport] | None = None

    @property
    def name(self) -> str:
        return self.endpoint.endpoint

    @property
    def needs_deployment_costs(self) -> bool:
        return bool(self.candidates) or (self.anomaly is not None and self.anomaly.status == "alert")

    def deployment_daily(self) -> dict[str, dict[date, float]] | None:
        if self.dep_costs is None or not self.dep_costs.available:
            return None
        return _daily(self.dep_costs.value, self.name, by_deployment=True)


def _endpoints(r: Run, costs: Answer[CostReport]) -> list[Finding]:
    views = [_view(r, ep, costs) for ep in r.azure.ml.endpoints()]
    # Cost Management allows a few queries a minute: ask first for the answers never fetched, then the oldest,
    # so when a run is throttled the endpoints left waiting are served first by the next one.
    needing = [v for v in views if v.needs_deployment_costs]
    never = datetime.min.replace(tzinfo=UTC)
    for v in sorted(needing, key=lambda v: (r.cache.fetched_at(_deployments_key(r, v.name)) or never, v.name)):
        v.dep_costs = r.cache.report(
            _deployments_key(r, v.name),
            lambda name=v.name: r.azure.costs.deployment_costs(name, r.start, r.end, **NO_SDK_RETRY))
    return [_judge(r, v) for v in views]


def _deployments_key(r: Run, endpoint: str) -> str:
    return f"deployments/{endpoint.lower()}/{r.window_key}"


def _daily(report: CostReport | None, endpoint: str, by_deployment: bool) -> dict[str, dict[date, float]]:
    out: dict[str, dict[date, float]] = {}
    for row in report.rows if report else []:
        if (row.endpoint or "").lower() != endpoint.lower():
            continue
        key = (row.deployment or "").lower() if by_deployment else endpoint
        out.setdefault(key, {})
        out[key][row.day] = out[key].get(row.day, 0.0) + row.cost
    return out


def _requests(r: Run, endpoint: str) -> tuple[dict[str, float], bool]:
    """Requests per deployment (lower-case name) over the last 24 h, every status class summed; and whether
    the answer is surely whole (fewer series than the metrics query's `top`: a deployment absent served nothing)."""
    series = r.azure.metrics.requests_by_status(r.azure.endpoint_resource_id(endpoint), r.now - REQUEST_WINDOW,
                                                r.now, interval=timedelta(hours=1))
    counts = {dep.lower(): sum(p.value or 0.0 for points in by_class.values() for p in points)
              for dep, by_class in series.items()}
    return counts, series.complete


def _served(v: EndpointView, deployment: str) -> float | None:
    """Requests a deployment served in 24 h; None when the metrics answer may have left it out."""
    count = v.requests.get(deployment.lower())
    return count if count is not None else 0.0 if v.requests_complete else None


def _view(r: Run, ep: EndpointTraffic, costs: Answer[CostReport]) -> EndpointView:
    deployments = r.azure.ml.deployments(ep.endpoint)
    requests, complete = _requests(r, ep.endpoint)
    daily = _daily(costs.value, ep.endpoint, by_deployment=False).get(ep.endpoint, {})
    anomaly = judge_anomaly(daily, r.today - timedelta(days=1), r.anomaly) if costs.available else None
    view = EndpointView(ep, deployments, requests, complete, daily, costs, anomaly, [])
    view.candidates = [d.name for d in deployments if d.instance_count > 0 and _served(view, d.name) == 0]
    return view


def _judge(r: Run, v: EndpointView) -> Finding:
    """Anomalies (endpoint, then its deployments when their costs are in hand) and idle deployments."""
    endpoint_id = r.azure.endpoint_resource_id(v.name)
    by_dep = v.deployment_daily()
    decisions: list[AlertDecision] = []
    if v.anomaly is not None and v.anomaly.status in ("ok", "alert"):
        decisions.append(AlertDecision(_anomaly_signal(endpoint_id, v.name, None, v.anomaly),
                                       v.anomaly.status == "alert"))
    yesterday = r.today - timedelta(days=1)
    recent = [yesterday, r.today]
    dep_anomalies: dict[str, Anomaly] = {}
    idles: dict[str, Idle] = {}
    for d in v.deployments:
        dep_daily = by_dep.get(d.name.lower(), {}) if by_dep is not None else None
        dep_id = f"{endpoint_id}/deployments/{d.name}"
        if v.anomaly is not None and v.anomaly.status == "ok":  # the endpoint is calm: so is each deployment
            decisions.append(AlertDecision(_anomaly_signal(dep_id, v.name, d.name, None), False))
        elif v.anomaly is not None and v.anomaly.status == "alert" and dep_daily is not None:
            dep_anomalies[d.name] = judged = judge_anomaly(dep_daily, yesterday, r.anomaly)
            if judged.status in ("ok", "alert"):
                decisions.append(AlertDecision(_anomaly_signal(dep_id, v.name, d.name, judged),
                                               judged.status == "alert"))
        cost = sum(dep_daily.get(day, 0.0) for day in recent) if dep_daily is not None else None
        idles[d.name] = idle = judge_idle(v.name, d.name, d.instance_count, cost,
                                          _served(v, d.name), REQUEST_WINDOW.total_seconds() / 3600,
                                          [day.isoformat() for day in recent])
        if idle.status in ("ok", "alert"):
            decisions.append(AlertDecision(_idle_signal(dep_id, idle), idle.status == "alert"))
    return Finding(_endpoint_verdict(r, v, by_dep, dep_anomalies, idles), tuple(decisions))


def _endpoint_verdict(r: Run, v: EndpointView, by_dep: dict[str, dict[date, float]] | None,
                      dep_anomalies: dict[str, Anomaly], idles: dict[str, Idle]) -> Verdict:
    parts: list[str] = []
    statuses = [i.status for i in idles.values()] + [a.status for a in dep_anomalies.values()]
    if v.anomaly is None:
        statuses.append("pending")
        parts.append(f"cost unknown ({v.costs.note})")
    else:
        statuses.append(v.anomaly.status)
        parts.append(f"anomaly: {v.anomaly.reason}")
    flagged = [i for i in idles.values() if i.status == "alert"]
    if flagged:
        parts.append("idle: " + "; ".join(f"{i.deployment}: {i.reason}" for i in flagged))
    waiting = [f"{i.deployment} ({i.reason})" for i in idles.values() if i.status == "pending"]
    if waiting:
        note = f": {v.dep_costs.note}" if v.dep_costs is not None and not v.dep_costs.available else ""
        parts.append(f"idle unconfirmed for {', '.join(waiting)}{note}")
    spikes = [f"{d}: {a.reason}" for d, a in dep_anomalies.items() if a.status == "alert"]
    if spikes:
        parts.append("deployment spikes: " + "; ".join(spikes))
    status = next((s for s in ("alert", "pending", "insufficient_data") if s in statuses), "ok")
    ep = v.endpoint
    evidence: dict[str, Any] = {
        "endpoint": v.name, "traffic": ep.traffic, "mirror_traffic": ep.mirror_traffic,
        "window": {"from": r.start.isoformat(), "to": r.end.isoformat(),
                   "judged_day": (r.today - timedelta(days=1)).isoformat(),
                   "request_window_hours": REQUEST_WINDOW.total_seconds() / 3600},
        "daily_cost": _days(v.daily),
        "anomaly": v.anomaly.evidence() if v.anomaly else None,
        "cost_data": v.costs.evidence(),
        "deployment_cost_data": v.dep_costs.evidence() if v.dep_costs else None,
        "deployments": {
            d.name: {"instance_type": d.instance_type, "instances": d.instance_count,
                     "traffic": ep.traffic.get(d.name, 0), "requests_24h": _served(v, d.name),
                     "daily_cost": _days(by_dep.get(d.name.lower(), {})) if by_dep is not None else None,
                     "idle": idles[d.name].evidence(),
                     "anomaly": dep_anomalies[d.name].evidence() if d.name in dep_anomalies else None}
            for d in v.deployments},
    }
    return Verdict("cost", status, f"{v.name}: " + "; ".join(parts) + _stale(v.costs), r.now, endpoint=v.name,
                   evidence=evidence)


def _days(daily: dict[date, float]) -> dict[str, float]:
    return {d.isoformat(): round(c, 6) for d, c in sorted(daily.items())}


def _stale(answer: Answer[Any]) -> str:
    return f" (cost data from cache after a 429, fetched {answer.fetched_at:%Y-%m-%d %H:%M}Z)" \
        if answer.source == "cache-after-429" and answer.fetched_at else ""


def _anomaly_signal(target: str, endpoint: str, deployment: str | None, anomaly: Anomaly | None) -> AlertSignal:
    from shared.alerts.model import AlertSignal

    labels = {"endpoint": endpoint, **({"deployment": deployment} if deployment else {})}
    who = f"{endpoint}/{deployment}" if deployment else endpoint
    return AlertSignal(rule=RULE_ANOMALY, severity="Sev3", targets=(target,), labels=labels,
                       description=f"cost anomaly on {who}: {anomaly.reason}"[:4096] if anomaly else "",
                       evidence=anomaly.evidence() if anomaly else {})


def _idle_signal(target: str, idle: Idle) -> AlertSignal:
    from shared.alerts.model import AlertSignal

    return AlertSignal(rule=RULE_IDLE, severity="Sev4", targets=(target,),
                       labels={"endpoint": idle.endpoint, "deployment": idle.deployment},
                       description=(f"{idle.endpoint}/{idle.deployment} is idle: {idle.reason}. Scale it to 0 "
                                    f"instances or delete it if it is not a standby.")[:4096],
                       evidence=idle.evidence())
