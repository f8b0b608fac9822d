"""The replay check: a deployment's answers to its model's golden set, against the outputs recorded at evaluation.

For one (endpoint, deployment) (`check` job, check `replay`):

1. **The golden set**: the model version the deployment serves now (as Azure ML lists it) and that version's
   tags: `modelwatch.golden_set` names a data asset (`azureml:<name>:<version>`) or a datastore path, resolved
   and read from blob storage like a reference's data (shared/adapters/data_assets.py; JSON Lines or CSV;
   Parquet too); `modelwatch.golden_set.scores` / `modelwatch.golden_set.labels` name its output columns
   (comma-separated; default `score` / `label`; an empty tag: none), every other column is an input;
   `modelwatch.golden_set.tolerance` and `modelwatch.golden_set.max_mismatch` override the settings
   MODELWATCH_REPLAY_TOLERANCE (1e-6, absolute) and MODELWATCH_REPLAY_MAX_MISMATCH (0.01). A tag that cannot be
   used is named in the verdict and the setting is used instead.
2. **The replay**, bounded: the first MAX_ROWS rows, in batches of BATCH_ROWS, CONCURRENCY requests at a time,
   all within TIME_BOUND of wall time (the caller, a queue trigger or a person's probe, waits on real sockets),
   POSTed to the endpoint's scoring URI with the `azureml-model-deployment` header (shared/adapters/scoring.py),
   so the deployment answers whatever the traffic split. A batch not answered as a whole (an error, or not one
   output per row) is re-sent row by row, so one bad row or one transient 5xx does not spoil the others; a row
   refused with a 4xx is a mismatch (the deployment cannot take what the model took), a row without an answer
   is counted, never compared.
3. **The judgement** (`monitors.replay.judge_replay`): pass | fail | no_golden_set | error, with every number,
   the rule, and the worst rows (inputs, recorded and served outputs).
4. **The record**: verdict `replay` (ok | alert | no_reference | error for pass | fail | no_golden_set | error,
   the replay's own outcome and numbers in the evidence, with the model version, the golden set's data asset
   and content hash, the endpoint and deployment, the rule and thresholds); the alert `training-serving-skew`
   (Sev2, labels {endpoint, deployment}, the worst rows in its description and evidence, the HTML report),
   fired on fail and cleared on pass; a model version without a golden set alerts nothing.
5. **A running canary**: on fail, every running canary analysis of this deployment fails at once (a critical
   finding, `shared.services.canary.fail_analysis`) and its traffic goes to the rollback controller exactly as
   a judged failure's does: once, under the endpoint's lease, with its safety rules.

Triggers: a canary analysis starting (shared/services/canary.py enqueues this job, naming the analysis), and the
on-call probe (it runs every check in CHECK_MODULES for each deployment). No cadence: a golden set and the code
serving it change only when someone deploys.
"""

from __future__ import annotations

import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitors.replay import (
    ERROR,
    FAIL,
    NO_GOLDEN_SET,
    PASS,
    Answer,
    GoldenRow,
    GoldenSetError,
    ReplaySpec,
    ReplaySpecError,
    ReplayVerdict,
    answers_from_body,
    describe_row,
    judge_replay,
    no_golden_set,
    parse_golden,
    render_report,
    replay_error,
    split_golden,
)
from monitors.verdict import Verdict
from shared.services.checks.base import AlertDecision, Finding

if TYPE_CHECKING:
    from shared.adapters.azure_ml import DeploymentInfo
    from shared.adapters.scoring import ScoringAdapter
    from shared.alerts.model import AlertSignal
    from shared.config import CheckSettings
    from shared.jobs import Job
    from shared.services.checks.base import CheckContext

RULE = "training-serving-skew"
SEVERITY = "Sev2"
GOLDEN_TAG = "modelwatch.golden_set"
SCORES_TAG, LABELS_TAG = f"{GOLDEN_TAG}.scores", f"{GOLDEN_TAG}.labels"
TOLERANCE_TAG, MAX_MISMATCH_TAG = f"{GOLDEN_TAG}.tolerance", f"{GOLDEN_TAG}.max_mismatch"
MAX_ROWS = 200  # a golden set is replayed from its first rows: enough to see skew, bounded cost on the endpoint
BATCH_ROWS = 10
CONCURRENCY = 4
TIME_BOUND = timedelta(seconds=60)
REQUEST_TIMEOUT_SECONDS = 15.0
DESCRIBED_ROWS = 5  # worst rows named in the alert's description (all of `spec.worst` are in the evidence)
VERDICT_STATUS = {PASS: "ok", FAIL: "alert", NO_GOLDEN_SET: "no_reference", ERROR: "error"}
_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet",
            ".pq": "parquet"}


@dataclass
class ReplayStats:
    """How the replay went on the wire (for the evidence): requests sent, rows re-sent alone, wall seconds."""

    requests: int = 0
    batches: int = 0
    rows_resent_alone: int = 0
    seconds: float = 0.0
    http_statuses: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, status: int | None, resent_alone: bool = False) -> None:
        key = str(status) if status is not None else "none"
        with self._lock:
            self.requests += 1
            self.rows_resent_alone += int(resent_alone)
            self.http_statuses[key] = self.http_statuses.get(key, 0) + 1

    def to_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "batches": self.batches, "rows_resent_alone": self.rows_resent_alone,
                "seconds": self.seconds, "http_statuses": dict(self.http_statuses)}


# -- the declaration ------------------------------------------------------------------------------------
def _names(raw: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))


def spec_of(tags: dict[str, str], settings: CheckSettings) -> tuple[ReplaySpec, list[str]]:
    """The replay's declaration from the model version's tags, falling back on the settings; notes name every
    tag that could not be used."""
    notes: list[str] = []
    scores = _names(tags[SCORES_TAG]) if SCORES_TAG in tags else ("score",)
    labels = _names(tags[LABELS_TAG]) if LABELS_TAG in tags else ("label",)
    values = {"tolerance": settings.replay_tolerance, "max_mismatch": settings.replay_max_mismatch}
    for key, tag in (("tolerance", TOLERANCE_TAG), ("max_mismatch", MAX_MISMATCH_TAG)):
        raw = (tags.get(tag) or "").strip()
        if not raw:
            continue
        try:
            value = float(raw)
            ReplaySpec(**{**values, key: value})  # the number alone is checked here
        except (ValueError, ReplaySpecError) as exc:
            notes.append(f"tag {tag}={raw!r} ignored ({exc}); the setting {values[key]:g} is used")
            continue
        values[key] = value
    try:
        return ReplaySpec(scores, labels, **values), notes
    except ReplaySpecError as exc:
        notes.append(f"tags {SCORES_TAG} / {LABELS_TAG} ignored ({exc}); score and label are used")
        return ReplaySpec(("score",), ("label",), **values), notes


# -- reading the golden set -------------------------------------------------------------------------------
def read_golden(ctx: CheckContext, uri: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every row of the golden set `uri` names, and where they came from (location, files, content hash)."""
    from shared.services.checks.reference import data_assets

    assets = data_assets(ctx)
    location = assets.resolve(uri)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="golden-") as folder:
        data = assets.download(location, Path(folder))
        for entry in data.files:
            name = str(entry["blob"])
            suffix = Path(name).suffix.lower()
            local = Path(folder) / (Path(name).name if location.kind == "uri_file"
                                    else Path(name).relative_to(location.path.rstrip("/")))
            fmt = _FORMATS.get(suffix)
            if fmt is None:
                raise GoldenSetError(f"{name}: a golden set file is .jsonl, .csv or .parquet")
            if fmt == "parquet":
                import pyarrow.parquet as pq

                rows += pq.read_table(local).to_pylist()
            else:
                rows += parse_golden(local.read_bytes(), fmt, name)
    return rows, {**location.describe(), "sha256": data.sha256, "files": data.files, "container": data.container}


# -- the replay -------------------------------------------------------------------------------------------
def _answer_rows(scoring: ScoringAdapter, endpoint: str, deployment: str, rows: list[GoldenRow], spec: ReplaySpec,
                 deadline: float, stats: ReplayStats, alone: bool = False) -> list[Answer] | str:
    """One request for `rows`: one Answer per row, or (when the request as a whole was not answered with one
    output per row) why, as a string."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return "the replay's time bound ran out before this row was sent"
    result = scoring.score(endpoint, deployment, [r.inputs for r in rows],
                           timeout=max(0.1, min(REQUEST_TIMEOUT_SECONDS, remaining)))
    stats.count(result.http_status, resent_alone=alone)
    if result.http_status is None:
        return f"no answer: {result.error}"
    if result.served_by and result.served_by.lower() != deployment.lower():
        return f"asked {deployment!r}, answered by {result.served_by!r}"
    if result.http_status != 200:
        message = result.body.get("message") if isinstance(result.body, dict) else (result.text or "")
        return f"HTTP {result.http_status}: {str(message)[:200]}"
    outputs = answers_from_body(result.body, len(rows), spec)
    if isinstance(outputs, str):
        return outputs
    return [Answer(outputs=o) for o in outputs]


def _refusal(reason: str) -> bool:
    return reason.startswith("HTTP 4")


def replay(scoring: ScoringAdapter, endpoint: str, deployment: str, rows: list[GoldenRow], spec: ReplaySpec,
           bound: timedelta = TIME_BOUND) -> tuple[list[Answer], ReplayStats]:
    """Every row sent to the deployment (batches, then a failed batch's rows alone), within `bound`."""
    stats = ReplayStats()
    started = time.monotonic()
    deadline = started + bound.total_seconds()
    batches = [rows[i:i + BATCH_ROWS] for i in range(0, len(rows), BATCH_ROWS)]
    stats.batches = len(batches)

    def one_batch(batch: list[GoldenRow]) -> list[Answer]:
        got = _answer_rows(scoring, endpoint, deployment, batch, spec, deadline, stats)
        if not isinstance(got, str):
            return got
        if len(batch) == 1:
            return [Answer(refused=got) if _refusal(got) else Answer(unanswered=got)]
        answers = []
        for row in batch:
            alone = _answer_rows(scoring, endpoint, deployment, [row], spec, deadline, stats, alone=True)
            if isinstance(alone, str):
                alone = [Answer(refused=alone) if _refusal(alone) else Answer(unanswered=alone)]
            answers += alone
        return answers

    with ThreadPoolExecutor(max_workers=CONCURRENCY, thread_name_prefix="replay") as pool:
        answered = list(pool.map(one_batch, batches))
    stats.seconds = round(time.monotonic() - started, 3)
    return [a for batch in answered for a in batch], stats


def _replay_through_scoring_uri(ctx: CheckContext, endpoint: str, deployment: str, rows: list[GoldenRow],
                                spec: ReplaySpec) -> tuple[list[Answer], ReplayStats]:
    """The replay on one HTTP session (closed after) and the workspace's MLClient (scoring URI and key)."""
    import requests

    from shared.adapters.scoring import ScoringAdapter

    with requests.Session() as session:
        scoring = ScoringAdapter(ctx.azure.ml_client, session)  # type: ignore[attr-defined]
        return replay(scoring, endpoint, deployment, rows, spec)


# -- the check ------------------------------------------------------------------------------------------
def run(ctx: CheckContext, job: Job, now: datetime) -> list[Finding]:
    from shared.adapters.azure_ml import parse_model_id

    endpoint, deployment = job.target["endpoint"], job.target["deployment"]
    info = next((d for d in ctx.azure.ml.deployments(endpoint) if d.name.lower() == deployment.lower()), None)
    if info is None:
        return [Finding(Verdict("replay", "skipped", f"{endpoint} has no deployment {deployment!r} now", now,
                                endpoint, deployment, {"endpoint": endpoint, "deployment": deployment}))]
    base: dict[str, Any] = {"endpoint": endpoint, "deployment": info.name, "model_id": info.model,
                            "analysis_id": job.target.get("analysis")}
    served = parse_model_id(info.model)
    if served is None:
        return _record(ctx, info, now, no_golden_set(f"the deployment names its model as {info.model!r}, not a "
                                                     "registered version, so it has no golden set"), base, [])
    name, version = served
    model = ctx.azure.ml.model(name, version)
    spec, notes = spec_of(model.tags, ctx.settings.checks)
    uri = (model.tags.get(GOLDEN_TAG) or "").strip()
    base |= {"model": name, "version": version, "golden_set": uri or None}
    if not uri:
        return _record(ctx, info, now, no_golden_set(f"model {name}:{version} names no golden set (tag "
                                                     f"{GOLDEN_TAG})", spec), base, notes)
    from shared.adapters.data_assets import UnreadableData

    try:
        records, source = read_golden(ctx, uri)
    except (UnreadableData, GoldenSetError) as exc:
        return _record(ctx, info, now, replay_error(f"golden set {uri} of {name}:{version} cannot be read: {exc}",
                                                    spec), base, notes)
    base["golden_set_source"] = source
    rows = split_golden(records[:MAX_ROWS], spec)
    if not rows:
        return _record(ctx, info, now, judge_replay([], [], spec, len(records)), base, notes)
    from shared.adapters.scoring import ScoringUnavailable

    try:
        answers, stats = _replay_through_scoring_uri(ctx, endpoint, info.name, rows, spec)
    except ScoringUnavailable as exc:
        return _record(ctx, info, now, replay_error(str(exc), spec, len(records)), base, notes)
    base["replay"] = {"max_rows": MAX_ROWS, "batch_rows": BATCH_ROWS, "concurrency": CONCURRENCY,
                      "time_bound_seconds": TIME_BOUND.total_seconds(), **stats.to_dict()}
    return _record(ctx, info, now, judge_replay(rows, answers, spec, len(records)), base, notes)


def _record(ctx: CheckContext, info: DeploymentInfo, now: datetime, judged: ReplayVerdict, base: dict[str, Any],
            notes: list[str]) -> list[Finding]:
    endpoint, deployment = info.endpoint, info.name
    model = f"{base['model']}:{base['version']}" if base.get("model") else str(info.model)
    evidence = {**base, "outcome": judged.outcome, "notes": notes, **judged.to_dict()}
    what = (f"no golden set to replay to {deployment}" if judged.outcome == NO_GOLDEN_SET
            else f"{deployment} replayed the golden set of {model}: {judged.outcome}")
    summary = f"{what} ({judged.reason})" + "".join(f"; {n}" for n in notes)
    if judged.outcome not in (PASS, FAIL):
        return [Finding(Verdict("replay", VERDICT_STATUS[judged.outcome], summary, now, endpoint, deployment,
                                evidence))]
    report = render_report(judged, title=f"Golden-set replay: {endpoint}/{deployment} ({model})")
    if judged.outcome == FAIL:
        canaries = _fail_running_canaries(ctx, endpoint, deployment, judged, evidence, report, now)
        evidence = {**evidence, "canary": canaries}
    verdict = Verdict("replay", VERDICT_STATUS[judged.outcome], summary, now, endpoint, deployment, evidence)
    signal = _signal(ctx, info, model, judged, evidence, report)
    return [Finding(verdict, (AlertDecision(signal, judged.outcome == FAIL),))]


def _signal(ctx: CheckContext, info: DeploymentInfo, model: str, judged: ReplayVerdict, evidence: dict[str, Any],
            report: str) -> AlertSignal:
    from shared.alerts.model import AlertSignal

    worst = "\n".join(f"- {describe_row(r)}" for r in judged.worst_rows[:DESCRIBED_ROWS])
    description = (f"Training-serving skew: {info.name} on {info.endpoint} does not answer the golden set of "
                   f"{model} as the model did at evaluation. {judged.reason}."
                   + (f"\nWorst rows:\n{worst}" if worst else ""))
    return AlertSignal(rule=RULE, severity=SEVERITY,
                       targets=(f"{ctx.azure.endpoint_resource_id(info.endpoint)}/deployments/{info.name}",),
                       labels={"endpoint": info.endpoint, "deployment": info.name}, description=description[:4096],
                       evidence=evidence, report_html=report)


def _fail_running_canaries(ctx: CheckContext, endpoint: str, deployment: str, judged: ReplayVerdict,
                           evidence: dict[str, Any], report: str, now: datetime) -> list[dict[str, Any]]:
    """Fail every running analysis of this deployment as a canary, and hand each to the rollback controller (also
    one this check failed in an earlier run that stopped before its rollback: a retried job finishes it)."""
    from shared.services.canary import RUNNING, fail_analysis

    out = []
    for analysis in ctx.state.list_json(f"analyses/{endpoint}/"):
        unfinished = (analysis.get("status") == "fail" and analysis.get("failed_by") == "replay"
                      and "rollback" not in analysis)
        if str(analysis.get("canary", "")).lower() != deployment.lower() or not (
                analysis.get("status") == RUNNING or unfinished):
            continue
        reason = f"golden-set replay found training-serving skew: {judged.reason}"
        outcome = fail_analysis(ctx, endpoint, analysis["id"], reason=reason, failed_by="replay",
                                evidence=evidence, report_html=report, now=now)
        if outcome is not None:
            out.append({"analysis_id": analysis["id"], "rollback": outcome})
    return out
