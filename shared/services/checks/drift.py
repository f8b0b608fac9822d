"""The drift check, per deployment: what the deployment's data collector saw over each drift window, against the
reference profile of the model version that deployment serves.

For one (endpoint, deployment): the model version comes from the deployment as Azure ML lists it now; its
reference from the state container (reference.py). Inputs (`model_inputs`) are judged against the reference
profile, outputs (`model_outputs`: prediction drift) against the version's prediction baseline, over every
window of `MODELWATCH_DRIFT_WINDOWS` (default the last 1 h and 24 h, in whole collector hours ending at the last
complete hour; collected_windows.py). monitors/drift decides; every result declares its conventions.

Outcomes, one verdict per deployment (check `drift`):

* `alert`: some window's data set drifted (the engine's drift share, 30% of the judged features by default):
  one alert per deployment, rule `drift-inputs` (Sev3), labels {endpoint, deployment}, naming the drifted
  inputs (and outputs) in its description and in `evidence.drifted_features` / `drifted_outputs`, with the
  drift report (HTML) of the first drifted window;
* `ok`: a window was judged and nothing drifted: the drift alert clears (after keep-firing);
* `insufficient_data`: no window had enough rows to judge any feature: audited, not alerted (the drift alert
  is neither fired nor cleared: nothing is known);
* `no_reference`: the version has no reference profile: one `drift-no-reference` alert (Sev4), not silence,
  and a build of the reference is requested (a version registered before modelwatch watched the workspace
  gets one this way);
* `pending`: the reference waits for the first window of this deployment's collected inputs (reference.py);
  when that window is complete the reference is built from it here, recorded, and the windows judged.

Per model version, its tags tune the decision (each falls back on the engine's default; a tag that does not
parse is ignored and named in `evidence.config_notes`, never a failed check): `modelwatch.drift.share` (the
share of judged features that flags the data set, default 0.3), `modelwatch.drift.numeric_threshold` and
`modelwatch.drift.categorical_threshold` (the per-feature distance thresholds), `modelwatch.drift.rule`
(`calibrated` | `azureml`). Separate small tags rather than one JSON document: tag values are short strings.

Evidence: model name and version, reference and prediction-baseline hashes and provenance, every window with
its start, end, blobs, records and rows, the per-feature statuses and decisions, the thresholds (and which
tag set each) and the conventions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitors.verdict import Verdict
from shared.jobs import Job
from shared.services.checks import reference as references
from shared.services.checks.base import AlertDecision, Finding
from shared.services.checks.collected_windows import (
    INPUTS,
    OUTPUTS,
    HourReader,
    WindowJudgement,
    judge_windows,
    label,
)

if TYPE_CHECKING:
    from monitors.drift import DatasetProfile, DriftConfig
    from shared.alerts.model import AlertSignal
    from shared.services.checks.base import CheckContext
    from shared.services.checks.reference import Reference, ReferencePart

RULE = "drift-inputs"
NO_REFERENCE_RULE = "drift-no-reference"
MAX_NAMED = 20  # features named in an alert's description (all of them are in the evidence)
#: model version tag -> DriftConfig field it sets
CONFIG_TAGS = {
    "modelwatch.drift.share": "drift_share",
    "modelwatch.drift.numeric_threshold": "numeric_threshold",
    "modelwatch.drift.categorical_threshold": "categorical_threshold",
    "modelwatch.drift.rule": "rule",
}


@dataclass(frozen=True)
class Target:
    endpoint: str
    deployment: str
    resource_id: str

    @property
    def labels(self) -> dict[str, str]:
        return {"endpoint": self.endpoint, "deployment": self.deployment}



def run(ctx: CheckContext, job: Job, now: datetime) -> list[Finding]:
    from shared.adapters.azure_ml import ResourceMissing, parse_model_id

    endpoint, deployment = job.target.get("endpoint", ""), job.target.get("deployment", "")
    target = Target(endpoint, deployment, f"{ctx.azure.endpoint_resource_id(endpoint)}/deployments/{deployment}")
    try:
        listed = {d.name: d for d in ctx.azure.ml.deployments(endpoint)}
    except ResourceMissing as exc:
        listed, gone = {}, str(exc)
    else:
        gone = f"deployment {endpoint}/{deployment} does not exist"
    if deployment not in listed:  # deleted since the sweep: its delete event resolves its alerts
        return [Finding(Verdict(check="drift", status="skipped", summary=gone, at=now, endpoint=endpoint,
                                deployment=deployment, evidence={"reason": gone}))]
    model = parse_model_id(listed[deployment].model)
    if model is None:
        why = f"deployment serves {listed[deployment].model!r}, not a registered model version"
        return [_no_reference(ctx, job, target, None, why, now)]
    name, version = model
    reference = references.load(ctx, name, version)
    if reference is None:
        return [_no_reference(ctx, job, target, model, "the model version has no reference profile", now)]
    completed = False
    readers = {c: HourReader(ctx.azure.collected, endpoint, deployment, c) for c in (INPUTS, OUTPUTS)}
    if reference.inputs is None:
        if references.complete_from_collected(ctx, reference, "inputs", readers[INPUTS], now) is None:
            return [_pending(target, reference, now)]
        references.record(ctx, job, references.verdict_of(job.workspace_id, reference, now))
        completed = True
    assert reference.inputs is not None
    try:
        profile = references.load_profile(ctx, reference.inputs)
    except ValueError as exc:  # ProfileFormatError: missing or altered profile
        return [_no_reference(ctx, job, target, model, f"the reference profile cannot be read: {exc}", now,
                              backfill=False)]
    return [_judge(ctx, target, reference, profile, readers, completed, now)]


@dataclass(frozen=True)
class ModelDriftConfig:
    """The decision settings for one model version: the config, the tag behind each setting, what was ignored."""

    config: DriftConfig
    sources: dict[str, str]
    notes: list[str]


def config_of(tags: dict[str, str]) -> ModelDriftConfig:
    """The drift settings a model version's tags declare; a tag the engine refuses is named and ignored."""
    from pydantic import ValidationError

    from monitors.drift import DriftConfig

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    notes: list[str] = []
    for tag, name in CONFIG_TAGS.items():
        raw = (tags.get(tag) or "").strip()
        if not raw:
            continue
        value: Any = raw.lower() if name == "rule" else raw
        try:
            DriftConfig(**{**values, name: value})
        except ValidationError as exc:
            why = "; ".join(str(e["msg"]) for e in exc.errors())
            notes.append(f"tag {tag}={raw!r} ignored ({why}); the default is used")
            continue
        values[name], sources[name] = value, tag
    return ModelDriftConfig(DriftConfig(**values), sources, notes)


def _model_config(ctx: CheckContext, reference: Reference) -> ModelDriftConfig:
    from monitors.drift import DriftConfig
    from shared.adapters.azure_ml import ResourceMissing

    try:
        tags = ctx.azure.ml.model(reference.model, reference.version).tags
    except ResourceMissing as exc:
        return ModelDriftConfig(DriftConfig(), {}, [f"the model version's tags could not be read ({exc}); "
                                                    "the defaults are used"])
    return config_of(tags)


def _judge(ctx: CheckContext, target: Target, reference: Reference, profile: DatasetProfile,
           readers: dict[str, HourReader], completed: bool, now: datetime) -> Finding:
    declared = _model_config(ctx, reference)
    config = declared.config
    windows = ctx.settings.checks.drift_windows
    judged = judge_windows(readers[INPUTS], profile, windows, now, config)
    baseline, note = _prediction_baseline(ctx, reference, readers[OUTPUTS], now)
    if baseline is not None:
        judged += judge_windows(readers[OUTPUTS], baseline, windows, now, config)
    drifted = [j for j in judged if j.drifted]
    inputs = _union(j.drifted_features() for j in drifted if j.collection == INPUTS)
    outputs = _union(j.drifted_features() for j in drifted if j.collection == OUTPUTS)
    evidence = _evidence(ctx, target, reference, judged, config, completed, note)
    evidence.update(config_sources=declared.sources, config_notes=declared.notes)
    evidence.update(drifted_features=inputs, drifted_outputs=outputs)
    signal = _drift_signal(target, reference, evidence, drifted, inputs, outputs)
    clear_no_reference = AlertDecision(_no_reference_signal(target, None, "", {}), False)
    if drifted:
        status, alerts = "alert", (AlertDecision(signal, True), clear_no_reference)
    elif any(j.judged for j in judged):
        status, alerts = "ok", (AlertDecision(signal, False), clear_no_reference)
    else:
        status, alerts = "insufficient_data", (clear_no_reference,)
    summary = _summary(status, target, reference, judged, inputs, outputs, completed)
    verdict = Verdict(check="drift", status=status, summary=summary, at=now, endpoint=target.endpoint,
                      deployment=target.deployment, evidence=evidence)
    return Finding(verdict, alerts)


def _prediction_baseline(ctx: CheckContext, reference: Reference, reader: HourReader, now: datetime
                         ) -> tuple[DatasetProfile | None, str | None]:
    """The version's outputs profile, completed from this deployment's first collected outputs if need be."""
    part: ReferencePart | None = reference.outputs
    if part is None:
        part = references.complete_from_collected(ctx, reference, "outputs", reader, now)
        if part is None:
            return None, ("prediction baseline pending: waits for the first window of collected outputs since "
                          f"{reference.since}")
    try:
        return references.load_profile(ctx, part), None
    except ValueError as exc:
        return None, f"prediction baseline cannot be read: {exc}"


def _union(groups: Any) -> list[str]:
    out: dict[str, None] = {}
    for group in groups:
        out.update(dict.fromkeys(group))
    return list(out)


def _evidence(ctx: CheckContext, target: Target, reference: Reference, judged: list[WindowJudgement],
              config: DriftConfig, completed: bool, note: str | None) -> dict[str, Any]:
    def part(p: ReferencePart | None) -> dict[str, Any] | None:
        if p is None:
            return None
        return {"profile": p.profile, "profile_hash": p.profile_hash, "source": p.source, "rows": p.rows,
                "content_hash": p.content_hash, "built_at": p.built_at, "provenance": p.provenance}

    return {
        "endpoint": target.endpoint, "deployment": target.deployment, "target": target.resource_id,
        "model": reference.model, "version": reference.version,
        "model_id": references.model_id(ctx.azure.workspace_id, reference.model, reference.version),
        "reference": part(reference.inputs), "prediction_baseline": part(reference.outputs),
        "prediction_baseline_note": note, "reference_completed_now": completed,
        "windows": [j.to_evidence() for j in judged],
        "thresholds": config.settings(),
        "conventions": judged[0].result.conventions if judged else {},
    }


def _summary(status: str, target: Target, reference: Reference, judged: list[WindowJudgement],
             inputs: list[str], outputs: list[str], completed: bool) -> str:
    where = f"{target.endpoint}/{target.deployment} (model {reference.model}:{reference.version})"
    rows = ", ".join(f"{j.collection} {label(j.window)}: {j.stats.rows} rows" for j in judged)
    built = "; reference built now from the first collected window" if completed else ""
    if status == "alert":
        named = ", ".join(inputs[:MAX_NAMED]) or "none"
        extra = f"; prediction drift: {', '.join(outputs[:MAX_NAMED])}" if outputs else ""
        return f"drift on {where}: inputs {named}{extra} ({rows}){built}"
    if status == "ok":
        return f"no drift on {where} ({rows}){built}"
    return f"not enough collected data on {where} to judge any feature ({rows}){built}"


def _drift_signal(target: Target, reference: Reference, evidence: dict[str, Any], drifted: list[WindowJudgement],
                  inputs: list[str], outputs: list[str]) -> AlertSignal:
    from monitors.drift import render_report
    from shared.alerts.model import AlertSignal

    first = drifted[0] if drifted else None
    parts = []
    if inputs:
        parts.append(f"inputs drifted: {', '.join(inputs[:MAX_NAMED])}" + (" ..." if len(inputs) > MAX_NAMED else ""))
    if outputs:
        parts.append(f"predictions drifted: {', '.join(outputs[:MAX_NAMED])}")
    windows = ", ".join(f"{j.collection} last {label(j.window)} (drift share {j.result.dataset.drift_share:.2f}, "
                        f"{j.stats.rows} rows)" for j in drifted)
    description = (f"Drift on {target.endpoint}/{target.deployment} against the reference of model "
                   f"{reference.model}:{reference.version}: {'; '.join(parts)} in {windows}.")[:4096]
    report = None
    if first is not None:
        ref_part = reference.inputs if first.collection == INPUTS else reference.outputs
        source = f" ({ref_part.source}, profile sha256 {ref_part.profile_hash[:12]})" if ref_part else ""
        report = render_report(
            first.result,
            title=f"Drift of {target.endpoint}/{target.deployment} {first.collection}, last {label(first.window)}",
            reference_name=f"model {reference.model}:{reference.version}{source}",
            current_name=f"{first.collection} {first.start.isoformat()} .. {first.end.isoformat()}",
        )
    return AlertSignal(rule=RULE, severity="Sev3", signal_type="Log", targets=(target.resource_id,),
                       labels=target.labels, description=description, evidence=evidence, report_html=report)


def _no_reference_signal(target: Target, model: tuple[str, str] | None, why: str,
                         evidence: dict[str, Any]) -> AlertSignal:
    from shared.alerts.model import AlertSignal

    served = f"model {model[0]}:{model[1]}" if model else "no model version"
    return AlertSignal(rule=NO_REFERENCE_RULE, severity="Sev4", signal_type="Log", targets=(target.resource_id,),
                       labels=target.labels, evidence=evidence,
                       description=(f"No reference profile for {target.endpoint}/{target.deployment} ({served}): "
                                    f"{why}; its drift cannot be judged.")[:4096])


def _no_reference(ctx: CheckContext, job: Job, target: Target, model: tuple[str, str] | None, why: str,
                  now: datetime, *, backfill: bool = True) -> Finding:
    evidence: dict[str, Any] = {"endpoint": target.endpoint, "deployment": target.deployment, "reason": why,
                                "model": model[0] if model else None, "version": model[1] if model else None}
    if model is not None:
        evidence["model_id"] = references.model_id(ctx.azure.workspace_id, *model)
        evidence["state"] = references.document_name(*model)
        if backfill:
            evidence["reference_build_job"] = _request_reference(ctx, job, model, now)
    signal = _no_reference_signal(target, model, why, evidence)
    verdict = Verdict(check="drift", status="no_reference", summary=signal.description, at=now,
                      endpoint=target.endpoint, deployment=target.deployment, evidence=evidence)
    return Finding(verdict, (AlertDecision(signal, True),))


def _request_reference(ctx: CheckContext, job: Job, model: tuple[str, str], now: datetime) -> str:
    """Ask for the reference to be built as if the version had just been registered. The job id names the
    version, so the worker builds it once however many checks ask."""
    name, version = model
    child = Job(id=f"ref-{name}-{version}"[:300], kind="model_registered", workspace_id=job.workspace_id,
                source_event_id=job.id, source_event_type="check",
                target={"model": name, "version": version, "reason": "drift check found no reference"},
                created_at=now.isoformat())
    ctx.send_job(child.to_json())
    return child.id


def _pending(target: Target, reference: Reference, now: datetime) -> Finding:
    summary = (f"reference of {reference.model}:{reference.version} pending for {target.endpoint}/"
               f"{target.deployment}: waiting for a complete first window of collected inputs since "
               f"{reference.since} ({references.REFERENCE_MIN_ROWS} rows or the longest drift window)")
    evidence = {"endpoint": target.endpoint, "deployment": target.deployment, "model": reference.model,
                "version": reference.version, "state": references.document_name(reference.model, reference.version),
                "since": reference.since, "attempts": reference.attempts}
    return Finding(Verdict(check="drift", status="pending", summary=summary, at=now, endpoint=target.endpoint,
                           deployment=target.deployment, evidence=evidence))
