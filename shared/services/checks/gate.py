"""Model registered -> evaluation gate: is the new version at least as good as the version serving most traffic?

For a `model_registered` job (target model, version):

1. **The declaration** (`GateSpec`): the candidate version's tags `modelwatch.gate.metric`,
   `modelwatch.gate.direction` (higher | lower) and `modelwatch.gate.margin` (`0.01` absolute, `2%` relative),
   each falling back on the settings `MODELWATCH_GATE_METRIC` / `_DIRECTION` / `_MARGIN` (auc, higher, 0.01).
   A tag that cannot be used is named in the verdict and the setting is used instead.
2. **The candidate's metric**: its model properties (Azure ML keeps evaluation results there as strings,
   `auc: "0.81"`); when they do not name the metric and the version names its training job (`job_name`), the
   job's properties (where a sweep or a pipeline records its results). Run metrics logged through MLflow are not
   read: the app ships no MLflow client and the emulator serves no run history, so such a candidate is
   `no_metrics` and the verdict says so.
3. **The baseline**: the version of the same model served by the deployment with the most live traffic across
   the workspace's endpoints (another version than the candidate; a deployment at 0% serves nothing). A
   deployment names its model as an ARM id / `azureml:` id (`.../models/<name>/versions/<version>`) or as
   `<name>:<version>`; any other form (`<name>@latest`, an inline model) is listed as not understood.
4. **The judgement** (`monitors.gate.judge_gate`): pass | fail | no_baseline | no_metrics, with every number.
5. **The record**, as deployment evidence: the tag `modelwatch.gate=<status>` and `modelwatch.gate.detail` on the
   model version (GET, merge tags, PUT through the MLClient); a `gate` verdict and audit record through
   `base.apply` (status ok | alert | no_reference | insufficient_data for pass | fail | no_baseline | no_metrics,
   the gate's own status in the evidence); and on `fail` the alert `model-gate-failed` (Sev3, labels {model},
   target the model version's ARM id), cleared when a later evaluation of the version does not fail.

A tag that cannot be written is recorded in the verdict's evidence, then raised so the job is retried (the
gate is idempotent: the same inputs give the same verdict, the alert keeps its fingerprint).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitors.gate import (
    DIRECTIONS,
    FAIL,
    NO_BASELINE,
    NO_METRICS,
    PASS,
    GateSpec,
    GateSpecError,
    GateVerdict,
    find_metric,
    judge_gate,
    parse_margin,
)
from monitors.verdict import Verdict
from shared.services.checks.base import AlertDecision, Finding

if TYPE_CHECKING:
    from shared.adapters.azure_ml import AzureMLAdapter, ModelVersion
    from shared.alerts.model import AlertSignal
    from shared.config import CheckSettings
    from shared.jobs import Job
    from shared.services.checks.base import CheckContext

RULE = "model-gate-failed"
SEVERITY = "Sev3"
TAG, DETAIL_TAG = "modelwatch.gate", "modelwatch.gate.detail"
METRIC_TAG, DIRECTION_TAG, MARGIN_TAG = "modelwatch.gate.metric", "modelwatch.gate.direction", "modelwatch.gate.margin"
DETAIL_MAX = 256  # a tag value stays short: the verdict and the audit record carry the rest
VERDICT_STATUS = {PASS: "ok", FAIL: "alert", NO_BASELINE: "no_reference", NO_METRICS: "insufficient_data"}

_VERSIONED_ID = re.compile(r"/models/(?P<name>[^/]+)/versions/(?P<version>[^/]+)/?$", re.IGNORECASE)
_SHORT_REF = re.compile(r"^(?:azureml:)?(?P<name>[^:/@]+):(?P<version>[^:/@]+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Serving:
    """A deployment serving some version of the model, and its share of its endpoint's live traffic."""

    endpoint: str
    deployment: str
    version: str
    traffic: int


@dataclass(frozen=True)
class Metrics:
    """A version's metrics as read, where they came from, and what could not be read on the way."""

    values: dict[str, str] | None
    source: str  # "model properties" | "job <name> properties" | "" (no such version)
    notes: tuple[str, ...] = ()


def model_version_id(workspace_id: str, name: str, version: str) -> str:
    return f"{workspace_id}/models/{name}/versions/{version}"


def parse_model_ref(ref: str | None) -> tuple[str, str] | None:
    """(name, version) of a deployment's model reference, or None for a form that names no version."""
    text = (ref or "").strip()
    match = _VERSIONED_ID.search(text) or _SHORT_REF.match(text)
    return (match.group("name"), match.group("version")) if match else None


# -- the handler -------------------------------------------------------------------------------------------
def evaluate_gate(ctx: CheckContext, job: Job, now: datetime) -> dict[str, Any]:
    """Judge the registered version against the version serving most traffic; tag, record, alert on fail."""
    from shared.adapters.azure_ml import ResourceMissing
    from shared.services.checks.base import apply

    name, version = job.target.get("model", ""), job.target.get("version", "")
    model_id = model_version_id(job.workspace_id, name, version)
    ml = ctx.azure.ml
    try:
        candidate = ml.model(name, version)
    except ResourceMissing as exc:
        verdict = Verdict("gate", "error", f"gate for {name}:{version} not evaluated: {exc}", now,
                          evidence={"model": name, "version": version, "model_id": model_id, "error": str(exc),
                                    "job_id": job.id})
        return {"status": "error", "error": str(exc), **apply(ctx, job, [Finding(verdict)])}
    spec, spec_sources, spec_notes = spec_of(candidate.tags, ctx.settings.checks)
    cand = metrics_of(ml, candidate, spec.metric)
    serving, not_understood = serving_versions(ml, name)
    baseline = pick_baseline(serving, version)
    base = baseline_metrics(ml, name, baseline.version, spec.metric) if baseline else Metrics(None, "")
    judged = judge_gate(cand.values, base.values, spec, f"{name}:{version}",
                        f"{name}:{baseline.version}" if baseline else None)

    notes = [*spec_notes, *cand.notes, *base.notes]
    if baseline is None and serving:
        notes.append("served only by " + ", ".join(f"{s.endpoint}/{s.deployment} ({name}:{s.version} at "
                                                   f"{s.traffic}%)" for s in serving))
    if baseline is None and not_understood:
        notes.append("deployments whose model reference names no version: " + ", ".join(not_understood))
    tag_result, tag_error = write_tags(ml, name, version, judged)
    summary = f"gate {judged.status} for {name}:{version}: {judged.reason}" + "".join(f"; {n}" for n in notes)
    evidence = {
        "model": name, "version": version, "model_id": model_id, "gate": judged.status, "metric": spec.metric,
        "direction": spec.direction, "margin": spec.margin, "margin_kind": spec.margin_kind, "rule": judged.rule,
        "spec_sources": spec_sources, "numbers": judged.numbers(), "reason": judged.reason, "notes": notes,
        "candidate": {"id": judged.candidate_id, "source": cand.source, "metric": _named(cand, spec.metric)},
        "baseline": None if baseline is None else {
            "id": judged.baseline_id, "model_id": model_version_id(job.workspace_id, name, baseline.version),
            "endpoint": baseline.endpoint, "deployment": baseline.deployment, "traffic": baseline.traffic,
            "source": base.source, "metric": _named(base, spec.metric)},
        "serving": [asdict(s) for s in serving], "tag": tag_result, "job_id": job.id,
    }
    verdict = Verdict("gate", VERDICT_STATUS[judged.status], summary, now, evidence=evidence)
    signal = _signal(model_id, name, judged, baseline, summary)
    outcome = apply(ctx, job, [Finding(verdict, (AlertDecision(signal, judged.status == FAIL),))])
    if tag_error is not None:
        raise tag_error
    return {"status": judged.status, "reason": judged.reason, "baseline": judged.baseline_id,
            "tag": tag_result, **outcome}


# -- the declaration ----------------------------------------------------------------------------------------
def spec_of(tags: dict[str, str], checks: CheckSettings) -> tuple[GateSpec, dict[str, str], list[str]]:
    """The gate declared by the version's tags, each part falling back on the settings; unusable tags named."""
    notes: list[str] = []
    sources = {"metric": "setting", "direction": "setting", "margin": "setting"}
    metric = (tags.get(METRIC_TAG) or "").strip()
    if metric:
        sources["metric"] = "tag"
    direction = (tags.get(DIRECTION_TAG) or "").strip().lower()
    if direction and direction not in DIRECTIONS:
        notes.append(f"tag {DIRECTION_TAG}={tags[DIRECTION_TAG]!r} is not higher|lower; the setting "
                     f"{checks.gate_direction!r} is used")
        direction = ""
    if direction:
        sources["direction"] = "tag"
    margin, kind = checks.gate_margin, checks.gate_margin_kind
    raw_margin = (tags.get(MARGIN_TAG) or "").strip()
    if raw_margin:
        try:
            margin, kind = parse_margin(raw_margin)
            sources["margin"] = "tag"
        except GateSpecError as exc:
            notes.append(f"tag {MARGIN_TAG}: {exc}; the setting is used")
    spec = GateSpec(metric or checks.gate_metric, direction or checks.gate_direction, margin, kind)
    return spec, sources, notes


# -- the metrics --------------------------------------------------------------------------------------------
def metrics_of(ml: AzureMLAdapter, model: ModelVersion, metric: str) -> Metrics:
    """The version's model properties; the training job's properties when only those name the metric."""
    from shared.adapters.azure_ml import ResourceMissing

    owner = f"{model.name}:{model.version}"
    if find_metric(model.properties, metric) is not None or not model.job_name:
        return Metrics(model.properties, "model properties")
    try:
        job_props = ml.job_properties(model.job_name)
    except ResourceMissing:
        return Metrics(model.properties, "model properties",
                       (f"{owner}'s training job {model.job_name!r} does not exist",))
    if find_metric(job_props, metric) is not None:
        return Metrics(job_props, f"job {model.job_name} properties")
    return Metrics(model.properties, "model properties", (
        f"{owner}'s training job {model.job_name!r} records no property {metric!r} either; run metrics logged "
        "through MLflow are not read (no MLflow client in the app, no run history in the emulator)",))


def _named(metrics: Metrics, metric: str) -> dict[str, str]:
    """The property the gate read, as it was written (`{"auc": "0.81"}`); empty when there was none."""
    key = find_metric(metrics.values, metric)
    return {key: metrics.values[key]} if key is not None and metrics.values is not None else {}


def baseline_metrics(ml: AzureMLAdapter, name: str, version: str, metric: str) -> Metrics:
    from shared.adapters.azure_ml import ResourceMissing

    try:
        return metrics_of(ml, ml.model(name, version), metric)
    except ResourceMissing:
        return Metrics(None, "", (f"the served version {name}:{version} is not registered in the workspace",))


# -- the baseline -------------------------------------------------------------------------------------------
def serving_versions(ml: AzureMLAdapter, model: str) -> tuple[list[Serving], list[str]]:
    """Every deployment serving a version of `model` with its live traffic share; and the deployments whose
    model reference could not be read as name and version."""
    from shared.adapters.azure_ml import ResourceMissing

    serving: list[Serving] = []
    not_understood: list[str] = []
    for endpoint in ml.endpoints():
        shares = {k.lower(): v for k, v in endpoint.traffic.items()}
        try:
            deployments = ml.deployments(endpoint.endpoint)
        except ResourceMissing:
            continue  # deleted while we looked: it serves nothing
        for d in deployments:
            ref = parse_model_ref(d.model)
            if ref is None:
                if d.model:
                    not_understood.append(f"{endpoint.endpoint}/{d.name} ({d.model})")
                continue
            if ref[0].lower() == model.lower():
                serving.append(Serving(endpoint.endpoint, d.name, ref[1], int(shares.get(d.name.lower(), 0))))
    return sorted(serving, key=lambda s: (-s.traffic, s.endpoint, s.deployment)), not_understood


def pick_baseline(serving: list[Serving], candidate_version: str) -> Serving | None:
    """The deployment with the most live traffic serving another version than the candidate (ties: by
    endpoint and deployment name, so the choice is stable)."""
    others = [s for s in serving if s.version != candidate_version and s.traffic > 0]
    return others[0] if others else None


# -- the record ---------------------------------------------------------------------------------------------
def write_tags(ml: AzureMLAdapter, name: str, version: str, judged: GateVerdict
               ) -> tuple[dict[str, Any], Exception | None]:
    """Tag the version with the verdict. Returns what was written (or why not) and the error to raise after
    the verdict is recorded (None when written, or when the version no longer exists: retrying cannot help)."""
    from shared.adapters.azure_ml import ResourceMissing

    tags = {TAG: judged.status, DETAIL_TAG: detail_of(judged)}
    try:
        ml.set_model_tags(name, version, tags)
    except ResourceMissing as exc:
        return {"tags": tags, "written": False, "error": str(exc)}, None
    except Exception as exc:  # recorded in the verdict, then raised for a retry
        first = str(exc).splitlines()[0] if str(exc) else ""
        return {"tags": tags, "written": False, "error": f"{type(exc).__name__}: {first}"}, exc
    return {"tags": tags, "written": True}, None


def detail_of(judged: GateVerdict) -> str:
    text = judged.reason
    return text if len(text) <= DETAIL_MAX else text[: DETAIL_MAX - 1] + "…"


def _signal(model_id: str, name: str, judged: GateVerdict, baseline: Serving | None, summary: str) -> AlertSignal:
    from shared.alerts.model import AlertSignal

    where = f" (served by {baseline.endpoint}/{baseline.deployment} at {baseline.traffic}%)" if baseline else ""
    description = (f"Model {judged.candidate_id} is worse than {judged.baseline_id}{where} on {judged.metric} by "
                   f"more than the declared margin: {judged.reason}. Rule: {judged.rule}. Do not promote it "
                   f"without a look at its evaluation.") if judged.status == FAIL else summary
    return AlertSignal(rule=RULE, severity=SEVERITY, signal_type="Metric", targets=(model_id,),
                       labels={"model": name}, description=description[:4096],
                       evidence={"gate": judged.status, "metric": judged.metric, "candidate": judged.candidate_id,
                                 "baseline": judged.baseline_id, "numbers": judged.numbers(), "rule": judged.rule,
                                 "reason": judged.reason})
