"""The on-call probe and the endpoints view: what an engineer asks when paged, answered now.

`endpoints_view` lists each endpoint, its deployments and traffic, and the latest verdict of every check
(what the scheduled runs recorded). `probe` runs one endpoint's checks now, as real check runs (verdicts,
alerts and audit recorded by `checks.base.apply`, exactly as the worker does), and sends one live scoring
request with a sample row to each deployment, all concurrently and within one time bound:

* one `check` job per deployment for every per-deployment check in `CHECK_MODULES` (slo, drift, replay: the
  golden set of the deployment's model replayed to it; skew found in a running canary fails its analysis, as
  the canary's own replay would; and any check not listed as a workspace check), and one job per workspace
  check (quota, cost). Checks that judge
  one interval of something an event started (`canary`: an analysis) are not run by a probe: off-cadence
  runs would change the analysis, and could roll traffic back; their latest verdicts show in the endpoints
  view. Jobs are built
  by `fanout.check_job` with the probe's id as their cause, so a probe's runs never share an id with a
  scheduled run or another probe;
* the bound is `MODELWATCH_PROBE_TIMEOUT` (or a shorter one the caller asks for). It is wall time, not the
  app's clock: the caller is waiting on a real socket. A check still running then is reported `timeout`
  (it keeps running in the background and records its verdict when it finishes, as a scheduled run
  would); a check whose module is missing or that raises (Azure answering 500, say) is reported `error`
  with its reason; every other check still answers;
* the sample row of a deployment comes from the reference profile of the model version it serves
  (`references/{model}/{version}.json` in the state container names the inputs' profile blob, see
  `checks/reference.py`; a profile stored inline is read too), else from the last input its data
  collector recorded (looking back up to 24 hours), else from the `sample` the caller sent. The answer
  must be JSON with one output for the one row sent, from the deployment that was asked (the
  `azureml-model-deployment` header routes it, whatever the traffic split).

Every probe, a probe of an unknown endpoint included, leaves one audit record of kind `probe`.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from importlib import import_module
from typing import TYPE_CHECKING, Any

from monitors.verdict import Verdict
from shared.adapters.azure_ml import parse_model_id

if TYPE_CHECKING:
    from shared.adapters.azure_ml import DeploymentInfo, EndpointTraffic
    from shared.adapters.scoring import ScoringAdapter, ScoringResult
    from shared.jobs import Job
    from shared.services.checks.base import CheckContext

AUDIT_KIND = "probe"
MAX_WORKERS = 32
COLLECTED_LOOKBACK_HOURS = 24
INPUTS_COLLECTION = "model_inputs"
OUTPUT_KEYS = ("predictions", "outputs", "output", "result", "results", "data")

#: Checks a probe never runs: each run judges the next interval of an analysis an event started.
EVENT_DRIVEN = frozenset({"canary"})

#: Check statuses from the most to the least worrying; a job with several verdicts shows its worst.
SEVERITY = ("alert", "error", "timeout", "insufficient_data", "no_reference", "pending", "skipped", "ok")


class EndpointNotFound(LookupError):
    """The probed endpoint does not exist in the workspace."""


class DeploymentNotFound(LookupError):
    """The probed endpoint has no deployment of that name."""


@dataclass(frozen=True)
class ProbeRequest:
    """What the caller asked: an endpoint, optionally one deployment, a shorter time bound, a fallback row."""

    endpoint: str
    deployment: str | None = None
    timeout: timedelta | None = None
    sample: dict[str, Any] | None = None
    by: str | None = None


@dataclass(frozen=True)
class CheckOutcome:
    """One check job of the probe: its verdicts when it answered, else `error` or `timeout` and why."""

    check: str
    deployment: str | None
    status: str
    summary: str
    job_id: str
    seconds: float | None = None
    verdicts: tuple[Verdict, ...] = ()
    alerts_fired: tuple[str, ...] = ()
    alerts_cleared: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["verdicts"] = [v.to_dict() for v in self.verdicts]
        out["alerts_fired"], out["alerts_cleared"] = list(self.alerts_fired), list(self.alerts_cleared)
        return out


@dataclass(frozen=True)
class LiveScore:
    """One live scoring request: `status` ok | error | bad_shape | timeout | skipped."""

    deployment: str
    status: str
    summary: str
    latency_ms: float | None = None
    http_status: int | None = None
    served_by: str | None = None
    sample_source: str | None = None  # reference_profile | collected | request
    sample: dict[str, Any] | None = None
    output: Any = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ProbeReport:
    """A probe's whole answer. `status`: `alert` when a check alerts or a deployment failed its live request,
    else `incomplete` when a check errored or timed out or a deployment could not be scored, else `ok`."""

    probe_id: str
    endpoint: str
    deployment: str | None
    at: datetime
    status: str
    timeout_seconds: float
    traffic: dict[str, int]
    deployments: tuple[dict[str, Any], ...]
    checks: tuple[CheckOutcome, ...]
    live: tuple[LiveScore, ...]
    by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "probe_id": self.probe_id, "endpoint": self.endpoint, "deployment": self.deployment,
            "at": self.at.isoformat(), "status": self.status, "timeout_seconds": self.timeout_seconds,
            "by": self.by, "traffic": dict(self.traffic), "deployments": [dict(d) for d in self.deployments],
            "checks": [c.to_dict() for c in self.checks], "live": [s.to_dict() for s in self.live],
        }


@dataclass(frozen=True)
class DeploymentView:
    name: str
    model: str | None
    instance_type: str | None
    instance_count: int
    provisioning_state: str
    traffic: int
    mirror_traffic: int
    checks: dict[str, dict[str, Any] | None] = field(default_factory=dict)


@dataclass(frozen=True)
class EndpointView:
    name: str
    provisioning_state: str
    traffic: dict[str, int]
    mirror_traffic: dict[str, int]
    deployments: tuple[DeploymentView, ...]
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)  # verdicts about the endpoint as a whole

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"deployments": [asdict(d) for d in self.deployments]}


# -- pure helpers ---------------------------------------------------------------------------------------
def worst(statuses: list[str]) -> str:
    ranked = [s for s in SEVERITY if s in statuses]
    return ranked[0] if ranked else (statuses[0] if statuses else "skipped")


def probe_status(checks: tuple[CheckOutcome, ...], live: tuple[LiveScore, ...]) -> str:
    if any(c.status == "alert" for c in checks) or any(s.status in ("error", "bad_shape") for s in live):
        return "alert"
    if any(c.status in ("error", "timeout") for c in checks) or any(s.status in ("timeout", "skipped")
                                                                      for s in live):
        return "incomplete"
    return "ok"



def _number(text: str) -> float | int | str:
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() else value


def sample_from_profile(doc: dict[str, Any]) -> dict[str, Any] | None:
    """A typical row of a reference profile: each numeric feature's median (the middle reference decile
    edge; the mean when it has none), each categorical feature's most frequent category. Columns the
    reference never saw a value of are left out, as a caller would."""
    profile = doc.get("profile", doc) if isinstance(doc, dict) else None
    features = profile.get("features") if isinstance(profile, dict) else None
    if not isinstance(features, dict):
        return None
    row: dict[str, Any] = {}
    for name, feature in features.items():
        kind = feature.get("kind")
        if kind == "numeric":
            deciles = feature.get("decile_edges") or []
            value = deciles[len(deciles) // 2] if deciles else feature.get("mean")
            if value is not None:
                value = float(value)
                row[name] = int(value) if value.is_integer() else round(value, 6)
        elif kind == "categorical" and feature.get("categories"):
            top = str(feature["categories"][0])
            family = feature.get("family")
            row[name] = _number(top) if family == "number" else (top.lower() == "true" if family == "bool" else top)
    return row or None


def sample_from_collected(content: bytes) -> dict[str, Any] | None:
    """The last input row of a data collector blob (one JSON record a line; `data` is the rows: a list of
    objects, a `{columns, data}` table, or either as a JSON string)."""
    for line in reversed(content.decode("utf-8", errors="replace").splitlines()):
        try:
            data = json.loads(line).get("data") if line.strip() else None
            if isinstance(data, str):
                data = json.loads(data)
        except (ValueError, AttributeError):
            continue
        if isinstance(data, dict) and isinstance(data.get("columns"), list) and data.get("data"):
            return dict(zip(data["columns"], data["data"][-1], strict=False))
        if isinstance(data, list) and data and isinstance(data[-1], dict):
            return dict(data[-1])
    return None


def judge_live(result: ScoringResult, sent_rows: int) -> tuple[str, str, Any]:
    """(status, summary, first output) of one scoring answer: JSON, one output per row sent, from the
    deployment that was asked."""
    if result.http_status is None:
        return "error", f"no answer: {result.error}", None
    if result.http_status != 200:
        message = result.body.get("message") if isinstance(result.body, dict) else (result.text or "")
        return "error", f"HTTP {result.http_status}: {str(message)[:300]}", None
    if result.served_by and result.served_by.lower() != result.deployment.lower():
        return "error", f"asked {result.deployment!r}, answered by {result.served_by!r}", None
    if result.body is None:
        return "bad_shape", f"the answer is not JSON: {(result.text or '')[:120]!r}", None
    outputs = result.body
    if isinstance(outputs, dict):
        outputs = next((outputs[k] for k in OUTPUT_KEYS if isinstance(outputs.get(k), list)), None)
    if not isinstance(outputs, list):
        return "bad_shape", (f"expected a JSON list with one output per row, got {type(result.body).__name__} "
                             f"with keys {sorted(result.body)[:10] if isinstance(result.body, dict) else ''}"), None
    if len(outputs) != sent_rows:
        return "bad_shape", f"sent {sent_rows} row(s), got {len(outputs)} output(s)", outputs[:3]
    first = outputs[0] if outputs else None
    shape = f"keys {sorted(first)}" if isinstance(first, dict) else type(first).__name__
    return "ok", f"HTTP 200 in {result.latency_ms:.0f} ms, one output ({shape})", first


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")


# -- the service ----------------------------------------------------------------------------------------
class ProbeService:
    """Composes the check modules, the verdict store, the scoring adapter and the audit trail."""

    def __init__(self, ctx: CheckContext, scoring: ScoringAdapter | None = None,
                 max_workers: int = MAX_WORKERS) -> None:
        self.ctx = ctx
        self._scoring = scoring
        self.max_workers = max_workers

    @property
    def scoring(self) -> ScoringAdapter:
        if self._scoring is None:
            import requests

            from shared.adapters.scoring import ScoringAdapter

            self._scoring = ScoringAdapter(self.ctx.azure.ml_client, requests.Session())  # type: ignore[attr-defined]
        return self._scoring

    # -- GET /api/endpoints ------------------------------------------------------------------------------
    def endpoints_view(self) -> dict[str, Any]:
        from shared.services import checks
        from shared.services.checks.fanout import PER_WORKSPACE

        per_deployment = [c for c in checks.CHECK_MODULES if c not in PER_WORKSPACE and c not in EVENT_DRIVEN]
        views = []
        for ep in self.ctx.azure.ml.endpoints():
            verdicts = self.ctx.verdicts.for_endpoint(ep.endpoint)
            views.append(self._endpoint_view(ep, self.ctx.azure.ml.deployments(ep.endpoint), verdicts,
                                             per_deployment).to_dict())
        for_workspace = getattr(self.ctx.verdicts, "for_workspace", lambda: [])
        latest = {v.check: v.to_dict() for v in sorted(for_workspace(), key=lambda v: v.at)}
        expected: dict[str, dict[str, Any] | None] = {c: None for c in PER_WORKSPACE if c in checks.CHECK_MODULES}
        return {"workspace": self.ctx.azure.workspace_id, "endpoints": views, "workspace_checks": expected | latest}

    @staticmethod
    def _endpoint_view(ep: EndpointTraffic, deployments: list[DeploymentInfo], verdicts: list[Verdict],
                       per_deployment: list[str]) -> EndpointView:
        latest: dict[tuple[str | None, str], Verdict] = {}
        for v in sorted(verdicts, key=lambda v: v.at):
            latest[(v.deployment, v.check)] = v
        views = []
        for d in sorted(deployments, key=lambda d: d.name):
            mine = {c: None for c in per_deployment} | {
                check: v.to_dict() for (dep, check), v in latest.items() if dep == d.name}
            views.append(DeploymentView(d.name, d.model, d.instance_type, d.instance_count, d.provisioning_state,
                                        ep.traffic.get(d.name, 0), ep.mirror_traffic.get(d.name, 0), mine))
        whole = {check: v.to_dict() for (dep, check), v in latest.items() if not dep}
        return EndpointView(ep.endpoint, ep.provisioning_state, dict(ep.traffic), dict(ep.mirror_traffic),
                            tuple(views), whole)

    # -- POST /api/endpoints/{endpoint}/probe ------------------------------------------------------------
    def probe(self, request: ProbeRequest, now: datetime) -> ProbeReport:
        from shared.adapters.azure_ml import ResourceMissing
        from shared.services.checks.base import subject_of

        azure = self.ctx.azure
        subject = subject_of(azure.workspace_id, request.endpoint, request.deployment)
        try:
            traffic = azure.ml.endpoint_traffic(request.endpoint)
            deployments = azure.ml.deployments(request.endpoint)
            if request.deployment:
                names = sorted(d.name for d in deployments)
                deployments = [d for d in deployments if d.name.lower() == request.deployment.lower()]
                if not deployments:
                    raise DeploymentNotFound(f"endpoint {request.endpoint!r} has no deployment "
                                             f"{request.deployment!r}; it has {names}")
        except (ResourceMissing, DeploymentNotFound) as exc:
            self.ctx.audit.append(AUDIT_KIND, subject, "not_found", {"by": request.by, "reason": str(exc)})
            if isinstance(exc, DeploymentNotFound):
                raise
            raise EndpointNotFound(f"endpoint {request.endpoint!r} does not exist in workspace "
                                   f"{azure.workspace_id}") from exc

        limit = self.ctx.settings.checks.probe_timeout
        bound = min(request.timeout, limit) if request.timeout else limit
        probe_id = f"probe-{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        jobs = self._jobs(traffic.endpoint, deployments, probe_id, now)
        checks, live = self._run(request, jobs, deployments, bound.total_seconds(), now)
        report = ProbeReport(
            probe_id=probe_id, endpoint=traffic.endpoint, deployment=request.deployment, at=now,
            status=probe_status(checks, live), timeout_seconds=bound.total_seconds(), traffic=dict(traffic.traffic),
            deployments=tuple({"name": d.name, "model": d.model, "traffic": traffic.traffic.get(d.name, 0),
                               "instance_type": d.instance_type, "instance_count": d.instance_count,
                               "provisioning_state": d.provisioning_state} for d in deployments),
            checks=checks, live=live, by=request.by)
        self.ctx.audit.append(AUDIT_KIND, subject, report.status, {
            "probe_id": probe_id, "by": request.by, "now": now.isoformat(), "timeout_seconds": report.timeout_seconds,
            "checks": [{"check": c.check, "deployment": c.deployment, "status": c.status, "summary": c.summary,
                        "job_id": c.job_id} for c in checks],
            "live": [{"deployment": s.deployment, "status": s.status, "summary": s.summary,
                      "latency_ms": s.latency_ms, "http_status": s.http_status, "sample_source": s.sample_source}
                     for s in live]})
        return report

    def _jobs(self, endpoint: str, deployments: list[DeploymentInfo], probe_id: str, now: datetime) -> list[Job]:
        from shared.services import checks
        from shared.services.checks.fanout import PER_WORKSPACE, check_job

        workspace_id = self.ctx.azure.workspace_id
        jobs = []
        for name in checks.CHECK_MODULES:
            if name in EVENT_DRIVEN:
                continue
            if name in PER_WORKSPACE:
                jobs.append(check_job(workspace_id, name, now, probe_id, now, cause=probe_id))
            else:
                jobs += [check_job(workspace_id, name, now, probe_id, now, endpoint, d.name, cause=probe_id)
                         for d in deployments]
        return jobs

    def _run(self, request: ProbeRequest, jobs: list[Job], deployments: list[DeploymentInfo], bound: float,
             now: datetime) -> tuple[tuple[CheckOutcome, ...], tuple[LiveScore, ...]]:
        deadline = time.monotonic() + bound
        pool = ThreadPoolExecutor(max_workers=max(1, min(self.max_workers, len(jobs) + len(deployments))),
                                  thread_name_prefix="probe")
        try:
            check_futures = [(job, pool.submit(self._run_check, job, now)) for job in jobs]
            live_futures = [(d, pool.submit(self._live, request, d, deadline, now)) for d in deployments]
            wait([f for _, f in check_futures + live_futures], timeout=bound)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        checks = tuple(self._outcome(job, f, bound) for job, f in check_futures)
        live = tuple(self._live_outcome(d, f, bound) for d, f in live_futures)
        return checks, live

    @staticmethod
    def _outcome(job: Job, future: Future[CheckOutcome], bound: float) -> CheckOutcome:
        if future.done() and not future.cancelled():
            return future.result()
        started = "was still running" if future.running() else "had not started"
        return CheckOutcome(job.target["check"], job.target.get("deployment"), "timeout",
                            f"{started} when the probe's {bound:g} s bound ran out", job.id)

    @staticmethod
    def _live_outcome(d: DeploymentInfo, future: Future[LiveScore], bound: float) -> LiveScore:
        if future.done() and not future.cancelled():
            return future.result()
        return LiveScore(d.name, "timeout", f"no answer within the probe's {bound:g} s bound")

    def _run_check(self, job: Job, now: datetime) -> CheckOutcome:
        """One check, as the worker runs it (`checks.run_check`), at the probe's `now`; never raises."""
        from shared.services import checks
        from shared.services.checks.base import apply

        name, deployment = job.target["check"], job.target.get("deployment")
        started = time.monotonic()

        def failed(summary: str) -> CheckOutcome:
            return CheckOutcome(name, deployment, "error", summary, job.id, round(time.monotonic() - started, 3))

        module_name = checks.CHECK_MODULES.get(name, "")
        try:
            module = import_module(module_name)
        except ImportError as exc:
            return failed(f"check module {module_name!r} is not available ({_first_line(exc)})")
        try:
            findings = module.run(self.ctx, job, now)
            outcome = apply(self.ctx, job, findings)
        except Exception as exc:  # a probe names the failing check and still answers for the others
            return failed(_first_line(exc))
        verdicts = tuple(f.verdict for f in findings)
        if not verdicts:
            return CheckOutcome(name, deployment, "skipped", "the check returned no verdict for this target",
                                job.id, round(time.monotonic() - started, 3))
        status = worst([v.status for v in verdicts])
        summary = "; ".join(dict.fromkeys(v.summary for v in verdicts if v.status == status))
        fired = tuple(a for v in outcome["verdicts"] for a in v["alerts_fired"])
        cleared = tuple(a for v in outcome["verdicts"] for a in v["alerts_cleared"])
        return CheckOutcome(name, deployment, status, summary, job.id, round(time.monotonic() - started, 3),
                            verdicts, fired, cleared)

    def _live(self, request: ProbeRequest, deployment: DeploymentInfo, deadline: float, now: datetime) -> LiveScore:
        from shared.adapters.scoring import ScoringUnavailable

        sample, source = self._sample(request, deployment, now)
        if sample is None:
            return LiveScore(deployment.name, "skipped", "no sample row: no reference profile for its model, no "
                             "collected input in the last 24 h, and the request sent no `sample`")
        try:
            result = self.scoring.score(request.endpoint, deployment.name, [sample],
                                        timeout=max(0.1, deadline - time.monotonic()))
        except ScoringUnavailable as exc:
            return LiveScore(deployment.name, "error", str(exc), sample_source=source, sample=sample)
        status, summary, output = judge_live(result, 1)
        return LiveScore(deployment.name, status, summary, result.latency_ms, result.http_status, result.served_by,
                         source, sample, output)

    def _sample(self, request: ProbeRequest, deployment: DeploymentInfo, now: datetime
                ) -> tuple[dict[str, Any] | None, str | None]:
        row = self._reference_row(deployment)
        if row:
            return row, "reference_profile"
        row = self._last_collected(request.endpoint, deployment.name, now)
        if row:
            return row, "collected"
        if request.sample:
            return dict(request.sample), "request"
        return None, None

    def _reference_row(self, deployment: DeploymentInfo) -> dict[str, Any] | None:
        """From the reference of the model version the deployment serves: its document names the inputs'
        profile blob (`inputs.profile`); a pending reference has none yet."""
        model = parse_model_id(deployment.model)
        if model is None:
            return None
        try:
            doc = self.ctx.state.get_json(f"references/{model[0]}/{model[1]}.json")
            inputs = doc.get("inputs") if isinstance(doc, dict) else None
            if isinstance(inputs, dict) and isinstance(inputs.get("profile"), str):
                doc = self.ctx.state.get_json(inputs["profile"])
        except ValueError:  # a corrupt document: fall back to the next source
            return None
        return sample_from_profile(doc) if isinstance(doc, dict) else None

    def _last_collected(self, endpoint: str, deployment: str, now: datetime) -> dict[str, Any] | None:
        """Newest hour first, so the usual case lists one hour folder."""
        from azure.core.exceptions import AzureError

        try:
            collected = self.ctx.azure.collected
            hour = now.replace(minute=0, second=0, microsecond=0)
            for back in range(COLLECTED_LOOKBACK_HOURS + 1):
                start = hour - timedelta(hours=back)
                blobs = [b for b in collected.blobs(endpoint, deployment, INPUTS_COLLECTION, start,
                                                    start + timedelta(hours=1)) if b.size > 0]
                for blob in sorted(blobs, key=lambda b: b.name, reverse=True):
                    row = sample_from_collected(next(iter(collected.stream([blob]))))
                    if row:
                        return row
        except (AzureError, ValueError):
            return None
        return None
