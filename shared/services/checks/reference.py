"""Model registered -> reference profile: the summary of the data a model version learned from, kept so that
the drift check can judge every deployment serving that version against it.

Where the reference data comes from, in this order (the first that can be read wins; each one tried is
recorded with why it could not be used):

1. a model tag naming it, `modelwatch.reference_data` (or `reference_data`, `training_data`): a data asset
   `azureml:<name>:<version>` / `azureml:<name>@latest` / its id, or a datastore path
   `azureml://datastores/<store>/paths/<file or folder/>`;
2. the inputs of the job that trained the version (the model's `job_name`): the input named `training_data`,
   else the first whose name says train, then validation or reference, else the first input that is data;
3. otherwise the reference is *pending*: the drift check completes it from the first window of a serving
   deployment's own collected inputs (`complete_from_collected`), at least one drift window long and
   REFERENCE_MIN_ROWS rows (up to the longest drift window), and only from data collected since the version
   existed. A pending reference is recorded (verdict `pending`), not alerted.

The prediction baseline (model outputs) always comes from the first window of collected outputs the same way:
training data holds no predictions of this version.

Stored in the state container: `references/{model}/{version}.json` (status ready | pending, provenance,
hashes) and `references/{model}/{version}/{inputs|outputs}-{sha256[:16]}.profile.json` (the mergeable profile
from monitors/drift, named by its content). Provenance names the data (data asset id and version, datastore
path, job and input, or the collected window and blobs), its row count, a SHA-256 of the bytes read
(`content_hash`), the profile's SHA-256 and when it was built. A reference is built once per version: a
repeated event or a backfill finds it and leaves it alone. Two deployments' checks completing the same pending
part race benignly: the document is re-read just before it is written and the first completion wins. Every
outcome is a `reference` verdict and an audit record on the model version.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitors.verdict import Verdict
from shared.services.checks.collected_windows import (
    HOUR,
    HourReader,
    ReadStats,
    floor_hour,
    label,
    lookback,
    whole_hours,
)

if TYPE_CHECKING:
    from monitors.drift import DatasetProfile
    from shared.adapters.data_assets import DataAssets, DataLocation, ModelSource
    from shared.jobs import Job
    from shared.services.checks.base import CheckContext

REFERENCE_TAGS = ("modelwatch.reference_data", "reference_data", "training_data")
REFERENCE_MIN_ROWS = 500  # a collected reference waits for this many rows (or the longest drift window)
READY, PENDING = "ready", "pending"


def document_name(model: str, version: str) -> str:
    return f"references/{model}/{version}.json"


def profile_name(model: str, version: str, part: str, sha256: str) -> str:
    """Named by content: two builders racing for the same version never overwrite each other's profile, so the
    document always names a profile that matches its hash."""
    return f"references/{model}/{version}/{part}-{sha256[:16]}.profile.json"


def model_id(workspace_id: str, model: str, version: str) -> str:
    return f"{workspace_id}/models/{model}/versions/{version}"


@dataclass
class ReferencePart:
    """One profiled side of a model version: its inputs (features) or its outputs (predictions)."""

    profile: str  # state blob of the profile JSON
    profile_hash: str  # SHA-256 of that JSON
    rows: int
    content_hash: str  # SHA-256 of the data read (names and bytes, in order)
    source: str  # model_tag | job_inputs | collected
    built_at: str
    features: dict[str, str]  # name -> numeric | categorical | unknown
    provenance: dict[str, Any]


@dataclass
class Reference:
    model: str
    version: str
    status: str  # ready | pending
    since: str  # collected data before this is not this version's
    registered_at: str
    job_id: str
    event_id: str
    inputs: ReferencePart | None = None
    outputs: ReferencePart | None = None
    attempts: list[dict[str, str]] = field(default_factory=list)  # sources tried that could not be used

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Reference:
        parts = {k: ReferencePart(**raw[k]) if raw.get(k) else None for k in ("inputs", "outputs")}
        return cls(**{**raw, **parts})


def load(ctx: CheckContext, model: str, version: str) -> Reference | None:
    raw = ctx.state.get_json(document_name(model, version))
    return Reference.from_dict(raw) if raw else None


def save(ctx: CheckContext, reference: Reference) -> None:
    ctx.state.put_json(document_name(reference.model, reference.version), asdict(reference))


def load_profile(ctx: CheckContext, part: ReferencePart) -> DatasetProfile:
    """The stored profile; a missing or altered one is an error naming it (it no longer matches its hash)."""
    from monitors.drift import DatasetProfile, ProfileFormatError

    raw = ctx.state.get_bytes(part.profile)
    if raw is None:
        raise ProfileFormatError("the reference profile is missing from the state container", source=part.profile)
    if hashlib.sha256(raw).hexdigest() != part.profile_hash:
        raise ProfileFormatError(f"the reference profile does not match its hash {part.profile_hash}",
                                 source=part.profile)
    return DatasetProfile.from_json(raw, source=part.profile)


def store_part(ctx: CheckContext, reference: Reference, which: str, profile: DatasetProfile, *, rows: int,
               content_hash: str, source: str, now: datetime, provenance: dict[str, Any]) -> ReferencePart:
    body = profile.to_json().encode()
    digest = hashlib.sha256(body).hexdigest()
    name = profile_name(reference.model, reference.version, which, digest)
    ctx.state.put_bytes(name, body, "application/json")
    part = ReferencePart(profile=name, profile_hash=digest, rows=rows,
                         content_hash=content_hash, source=source, built_at=now.isoformat(),
                         features=profile.kinds(), provenance=provenance)
    setattr(reference, which, part)
    return part


# -- the handler -------------------------------------------------------------------------------------------
def on_model_registered(ctx: CheckContext, job: Job, now: datetime) -> dict[str, Any]:
    from shared.adapters.data_assets import UnreadableData

    name, version = job.target.get("model", ""), job.target.get("version", "")
    existing = load(ctx, name, version)
    if existing is not None:
        return {"reference": existing.status, "note": "already built; a reference is built once per version"}
    assets = data_assets(ctx)
    try:
        source = assets.model_source(name, version)
    except UnreadableData as exc:
        verdict = Verdict(check="reference", status="error", summary=f"model {name}:{version}: {exc}", at=now,
                          evidence={"model": name, "version": version,
                                    "model_id": model_id(job.workspace_id, name, version), "error": str(exc)})
        record(ctx, job, verdict)
        return {"reference": "error", "error": str(exc)}
    since = source.created_at if source.created_at is not None and source.created_at <= now else now
    reference = Reference(name, version, PENDING, since.isoformat(), now.isoformat(), job.id, job.source_event_id)
    for what, uri, extra in candidates(assets, source, reference):
        try:
            _build_from(ctx, assets, reference, what, uri, extra, now)
            break
        except UnreadableData as exc:
            reference.attempts.append({"source": what, "uri": uri, "error": str(exc)})
    save(ctx, reference)
    record(ctx, job, verdict_of(job.workspace_id, reference, now))
    sent = drift_now(ctx, job, reference, now) if reference.status == READY else []
    return {"reference": reference.status, "attempts": reference.attempts, "drift_jobs": sent}


def candidates(assets: DataAssets, source: ModelSource, reference: Reference) -> Iterator[tuple[str, str, dict]]:
    """The data the model version names, in the order of preference (module docstring); lazily, so the job is
    only looked up when the tag is absent or unreadable."""
    from shared.adapters.data_assets import UnreadableData

    tag = next((t for t in REFERENCE_TAGS if source.tags.get(t)), None)
    if tag is not None:
        yield "model_tag", source.tags[tag], {"tag": tag}
    if not source.job_name:
        return
    try:
        inputs = assets.job_inputs(source.job_name)
    except UnreadableData as exc:
        reference.attempts.append({"source": "job_inputs", "uri": source.job_name, "error": str(exc)})
        return
    if not inputs:
        reference.attempts.append({"source": "job_inputs", "uri": source.job_name,
                                   "error": "the job has no input that names data"})
        return
    best = min(inputs, key=lambda i: _input_rank(i.name))
    yield "job_inputs", best.uri, {"job": source.job_name, "input": best.name, "input_type": best.kind}


def _input_rank(name: str) -> tuple[int, str]:
    lowered = name.lower()
    if lowered == "training_data":
        return 0, lowered
    if "train" in lowered:
        return 1, lowered
    if "valid" in lowered or "ref" in lowered:
        return 2, lowered
    return 3, lowered


def _build_from(ctx: CheckContext, assets: DataAssets, reference: Reference, what: str, uri: str,
                extra: dict[str, Any], now: datetime) -> None:
    """Resolve, download (to a temporary folder) and profile the data; three bounded passes over the files."""
    from monitors.drift import BadInputError, build_profile, read_path
    from shared.adapters.data_assets import UnreadableData

    location: DataLocation = assets.resolve(uri)
    with tempfile.TemporaryDirectory(prefix="modelwatch-ref-") as folder:
        data = assets.download(location, Path(folder))
        rows: list[int] = []

        def chunks() -> Any:
            rows.clear()
            for batch in read_path(folder):
                rows.append(batch.num_rows)
                yield batch

        try:
            profile = build_profile(chunks)
        except BadInputError as exc:
            raise UnreadableData(f"{uri} cannot be profiled: {exc}") from exc
    provenance = {**extra, **location.describe(), "container": data.container, "files": data.files,
                  "bytes": data.total_bytes}
    store_part(ctx, reference, "inputs", profile, rows=sum(rows), content_hash=data.sha256, source=what, now=now,
               provenance=provenance)
    reference.status = READY


# -- completing from collected data (called by the drift check) -----------------------------------------------
def complete_from_collected(ctx: CheckContext, reference: Reference, which: str, reader: HourReader,
                            now: datetime) -> ReferencePart | None:
    """Profile the first window of `collection` collected since the version existed, once it is complete.

    The window starts at the first hour folder with data (looking back at most the longest drift window) and
    grows hour by hour until it spans the shortest drift window and holds REFERENCE_MIN_ROWS rows, or spans
    the longest drift window. None while that has not happened yet (the reference stays pending)."""
    from monitors.drift.build import ReferenceBuilder

    windows = ctx.settings.checks.drift_windows
    shortest, longest = min(whole_hours(w) for w in windows), max(whole_hours(w) for w in windows)
    end = floor_hour(now)
    since = floor_hour(datetime.fromisoformat(reference.since))
    listing = {h: b for h, b in reader.listing(end - lookback(windows), end).items() if h >= since}
    if not listing:
        return None
    first = min(listing)
    builder, stats, digest = ReferenceBuilder(), ReadStats(), hashlib.sha256()
    hour = first
    while hour < end:
        for chunk in reader.chunks(listing.get(hour, []), stats, digest):
            builder.add(chunk)
        hour += HOUR
        span = int((hour - first) / HOUR)
        if (span >= shortest and stats.rows >= REFERENCE_MIN_ROWS) or span >= longest:
            break
    else:
        return None
    if stats.rows == 0:
        return None
    provenance = {"endpoint": reader.endpoint, "deployment": reader.deployment, "collection": reader.collection,
                  "start": first.isoformat(), "end": hour.isoformat(), "window": label(hour - first),
                  **stats.to_dict()}
    latest = load(ctx, reference.model, reference.version)  # another deployment's check may have been first
    if latest is not None and getattr(latest, which) is not None:
        setattr(reference, which, getattr(latest, which))
        reference.status = latest.status
        return getattr(latest, which)  # type: ignore[no-any-return]
    part = store_part(ctx, reference, which, builder.finish(), rows=stats.rows, content_hash=digest.hexdigest(),
                      source="collected", now=now, provenance=provenance)
    if latest is not None:  # keep what the other part gained meanwhile
        other = "outputs" if which == "inputs" else "inputs"
        setattr(reference, other, getattr(reference, other) or getattr(latest, other))
    if reference.inputs is not None:
        reference.status = READY
    save(ctx, reference)
    return part


# -- recording -------------------------------------------------------------------------------------------------
def verdict_of(workspace_id: str, reference: Reference, now: datetime) -> Verdict:
    """The `reference` verdict: ok (built) or pending, with the provenance as evidence."""
    part = reference.inputs
    evidence: dict[str, Any] = {
        "model": reference.model, "version": reference.version,
        "model_id": model_id(workspace_id, reference.model, reference.version), "status": reference.status,
        "state": document_name(reference.model, reference.version), "attempts": reference.attempts,
        "since": reference.since,
    }
    if part is None:
        tried = "; ".join(f"{a['source']} {a['uri']}: {a['error']}" for a in reference.attempts)
        summary = (f"reference of {reference.model}:{reference.version} pending: no tag or training job names "
                   "readable data" + (f" ({tried})" if tried else "") + "; it will be built from the first "
                   "window of a serving deployment's collected inputs")
        return Verdict(check="reference", status="pending", summary=summary, at=now,
                       evidence={**evidence, "source": None, "rows": 0, "content_hash": None})
    evidence.update(source=part.source, rows=part.rows, content_hash=part.content_hash,
                    profile_hash=part.profile_hash, built_at=part.built_at, features=part.features,
                    provenance=part.provenance, profile=part.profile)
    where = part.provenance.get("data_asset") or part.provenance.get("uri") or (
        f"{part.provenance.get('endpoint')}/{part.provenance.get('deployment')} "
        f"{part.provenance.get('collection')} {part.provenance.get('start')}..{part.provenance.get('end')}")
    summary = (f"reference of {reference.model}:{reference.version} built from {part.source} ({where}): "
               f"{part.rows} rows, {len(part.features)} features")
    return Verdict(check="reference", status="ok", summary=summary, at=now, evidence=evidence)


def record(ctx: CheckContext, job: Job, verdict: Verdict) -> None:
    """Latest verdict and one audit record on the model version (a reference belongs to no endpoint)."""
    ctx.verdicts.put(verdict)
    subject = verdict.evidence.get("model_id") or job.workspace_id
    ctx.audit.append("check", subject, verdict.status, {"check": verdict.check, "job_id": job.id,
                                                        "summary": verdict.summary, "evidence": verdict.evidence})


def drift_now(ctx: CheckContext, job: Job, reference: Reference, now: datetime) -> list[str]:
    """A new reference: drift-check at once every deployment serving the version (a backfill then converges
    in one step instead of waiting for the next cadence slot)."""
    from shared.services.checks.fanout import check_job, slot_start

    wanted = f"/models/{reference.model}/versions/{reference.version}".lower()
    slot = slot_start(now, ctx.settings.checks.drift_every)
    sent = []
    for endpoint in ctx.azure.ml.endpoints():
        for deployment in ctx.azure.ml.deployments(endpoint.endpoint):
            if (deployment.model or "").lower().endswith(wanted):
                child = check_job(job.workspace_id, "drift", slot, job.id, now, endpoint.endpoint, deployment.name,
                                  cause=job.id)
                ctx.send_job(child.to_json())
                sent.append(child.id)
    return sent


def data_assets(ctx: CheckContext) -> DataAssets:
    """The data-assets adapter on the workspace's MLClient; blobs through the datastore's container."""
    from shared.adapters.data_assets import DataAssets

    azure: Any = ctx.azure
    return DataAssets(azure.ml_client, lambda store: _container_for(azure, store))


def _container_for(azure: Any, store: str) -> Any:
    """The datastore's container, on the datastore's own storage account (shared.adapters.azure_clients)."""
    from shared.adapters.azure_clients import datastore_container

    return datastore_container(azure.settings, azure.ml_client, store)
