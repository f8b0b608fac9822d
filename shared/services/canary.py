"""Canary analyses: started when traffic moves to a deployment that had none, judged interval by interval as
the app's clock passes each one, ended by the judge's outcome (and, on Fail, by the rollback controller).

Scheduling is the serverless way: nothing sleeps. An analysis is a state document with its start, interval
and lifetime; every sweep (the timer) enqueues a `check` job (check `canary`) for each running analysis with
an interval due by the app's clock, so advancing the emulator's clock and running the timer advances an
analysis, while a delayed queue message alone would wait for wall time. Job ids name the analysis and the
interval, so duplicates run once.

Traffic is observed from two places, the endpoint's write events and every sweep (in case an event was
lost), into one snapshot per endpoint. The analysis id comes from the snapshot the change was seen against,
so the two observers of the same change create the same analysis, once. A new change supersedes a
running analysis. A canary whose earlier rollback is still sticky gets a `canary-repromoted` alert, not a
new analysis: a person decides (`POST /api/endpoints/{endpoint}/analyses/{id}/retry`).

Per endpoint, tags set the analysis: `modelwatch.canary.interval` and `modelwatch.canary.lifetime` its
schedule, `modelwatch.canary.alpha` and `modelwatch.canary.confirm_alpha` (a level, or `none`) the judge's
levels in the first and second half of the lifetime: a quiet endpoint that would rather catch fewer small
5xx rises within 15 minutes than page for a healthy canary sets 0.005 / 0.0005 (bench/README.md). They are
read once, when the analysis starts, and kept in its document (`levels`); a tag that does not parse is named
there (`tag_notes`) and the default is used, for the schedule tags as for the levels.

Starting an analysis also enqueues a `replay` check of the canary (its model's golden set replayed to it,
checks/replay.py). An analysis fails either by its judge (checks/canary.py) or, at once, by a critical
finding such as that replay's training-serving skew (`fail_analysis`); both hand it to the rollback controller
the same way (`roll_back`).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.jobs import Job

if TYPE_CHECKING:
    from shared.adapters.azure_ml import EndpointTraffic
    from shared.services.checks.base import CheckContext

INTERVAL_TAG = "modelwatch.canary.interval"
LIFETIME_TAG = "modelwatch.canary.lifetime"
ALPHA_TAG = "modelwatch.canary.alpha"
CONFIRM_ALPHA_TAG = "modelwatch.canary.confirm_alpha"
RUNNING = "running"


def snapshot_name(endpoint: str) -> str:
    return f"traffic/{endpoint}.json"


def analysis_name(endpoint: str, analysis_id: str) -> str:
    return f"analyses/{endpoint}/{analysis_id}.json"


def _duration_tag(tags: dict[str, str], name: str, default: timedelta, notes: list[str]) -> timedelta:
    """The duration a tag sets (at least a minute), else `default`; a tag refused is noted with why."""
    from shared.config import parse_duration

    raw = (tags.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = parse_duration(raw)
    except ValueError as exc:
        notes.append(f"tag {name}={raw!r} ignored ({exc}); the default is used")
        return default
    if value < timedelta(minutes=1):
        notes.append(f"tag {name}={raw!r} ignored (shorter than a minute); the default is used")
        return default
    return value


def judge_levels(tags: dict[str, str]) -> tuple[dict[str, float | None], list[str]]:
    """The judge's levels an endpoint's tags set (CanaryConfig fields), and a note for each tag refused."""
    from monitors.canary import CanaryConfig, CanaryInputError

    levels: dict[str, float | None] = {}
    notes: list[str] = []
    for tag, field in ((ALPHA_TAG, "alpha"), (CONFIRM_ALPHA_TAG, "confirm_alpha")):
        raw = (tags.get(tag) or "").strip()
        if not raw:
            continue
        try:
            value = None if field == "confirm_alpha" and raw.lower() == "none" else float(raw)
            CanaryConfig(**{**levels, field: value})
        except (ValueError, CanaryInputError) as exc:
            notes.append(f"tag {tag}={raw!r} ignored ({exc}); the default is used")
            continue
        levels[field] = value
    return levels, notes


def new_canaries(previous: dict[str, int] | None, current: dict[str, int]) -> list[str]:
    """Deployments that now carry traffic and had none before, while another deployment carries the rest."""
    if previous is None:
        return []
    gained = [name for name, share in current.items() if share > 0 and previous.get(name, 0) <= 0]
    return [name for name in gained if any(v > 0 for k, v in current.items() if k != name)]


def observe_traffic(ctx: CheckContext, workspace_id: str, endpoint: EndpointTraffic, now: datetime,
                    cause: str) -> list[str]:
    """Record the endpoint's split; start (or refuse to start) an analysis for each new canary. Returns the
    ids of analyses this call created."""
    from shared.services.rollback import REPROMOTED_RULE, previous_rollback

    name = snapshot_name(endpoint.endpoint)
    seen: dict[str, Any] = {}

    def change(current: dict[str, Any] | None) -> dict[str, Any] | None:
        seen["previous"] = current
        if current is not None and current.get("traffic") == endpoint.traffic:
            return None  # nothing moved
        return {"traffic": endpoint.traffic, "mirror": endpoint.mirror_traffic, "at": now.isoformat(), "cause": cause}

    written = ctx.state.update_json(name, change)
    previous = seen.get("previous")
    if written is None or previous is None:
        return []
    started = []
    sticky = previous_rollback(ctx, endpoint.endpoint)
    for canary in new_canaries(previous.get("traffic"), endpoint.traffic):
        if sticky is not None and sticky.canary == canary and not sticky.released:
            _repromoted_alert(ctx, endpoint, canary, sticky.at, cause, REPROMOTED_RULE)
            continue
        baselines = sorted((k for k, v in endpoint.traffic.items() if v > 0 and k != canary),
                           key=lambda k: -endpoint.traffic[k])
        digest = hashlib.sha256(f"{previous.get('at')}|{canary}".encode()).hexdigest()[:10]
        analysis_id = f"{canary}-{now:%Y%m%dT%H%M}-{digest}"
        if start_analysis(ctx, workspace_id, endpoint, canary, baselines, now, analysis_id, cause):
            started.append(analysis_id)
    return started


def start_analysis(ctx: CheckContext, workspace_id: str, endpoint: EndpointTraffic, canary: str,
                   baselines: list[str], now: datetime, analysis_id: str, cause: str) -> bool:
    checks = ctx.settings.checks
    duration_notes: list[str] = []
    interval = _duration_tag(endpoint.tags, INTERVAL_TAG, checks.canary_interval, duration_notes)
    lifetime = max(_duration_tag(endpoint.tags, LIFETIME_TAG, checks.canary_lifetime, duration_notes), interval)
    levels, level_notes = judge_levels(endpoint.tags)
    tag_notes = duration_notes + level_notes
    doc = {"id": analysis_id, "endpoint": endpoint.endpoint, "canary": canary, "baselines": baselines,
           "started_at": now.isoformat(), "interval_seconds": int(interval.total_seconds()),
           "lifetime_seconds": int(lifetime.total_seconds()), "status": RUNNING, "cause": cause,
           "traffic": endpoint.traffic, "judged_intervals": 0, "verdict": None, "workspace_id": workspace_id,
           "levels": levels, "tag_notes": tag_notes}
    if not ctx.state.create_json(analysis_name(endpoint.endpoint, analysis_id), doc):
        return False  # the other observer of the same change created it
    for other in ctx.state.list_json(f"analyses/{endpoint.endpoint}/"):
        if other["id"] != analysis_id and other.get("status") == RUNNING:
            ctx.state.update_json(analysis_name(endpoint.endpoint, other["id"]),
                                  lambda cur: {**cur, "status": "superseded", "superseded_by": analysis_id}
                                  if cur and cur.get("status") == RUNNING else None)
            ctx.audit.append("canary", f"{workspace_id}/onlineEndpoints/{endpoint.endpoint}", "superseded",
                             {"analysis_id": other["id"], "by": analysis_id})
    ctx.audit.append("canary", f"{workspace_id}/onlineEndpoints/{endpoint.endpoint}/deployments/{canary}",
                     "started", {"analysis_id": analysis_id, "baselines": baselines, "traffic": endpoint.traffic,
                                 "interval_seconds": doc["interval_seconds"],
                                 "lifetime_seconds": doc["lifetime_seconds"], "cause": cause})
    _enqueue_replay(ctx, workspace_id, endpoint.endpoint, canary, analysis_id, now)
    return True


def _enqueue_replay(ctx: CheckContext, workspace_id: str, endpoint: str, canary: str, analysis_id: str,
                    now: datetime) -> None:
    """The canary's golden-set replay, at once (its id names the analysis, so a duplicate runs once)."""
    from shared.services.checks.fanout import check_job

    job = check_job(workspace_id, "replay", now, analysis_id, now, endpoint, canary, cause=analysis_id,
                    analysis=analysis_id)
    ctx.send_job(job.to_json())


def fail_analysis(ctx: CheckContext, endpoint: str, analysis_id: str, *, reason: str, failed_by: str,
                  evidence: dict[str, Any], report_html: str | None, now: datetime) -> dict[str, Any] | None:
    """A critical finding about the canary (not its judge's interval verdict) fails its running analysis at once,
    and the rollback controller takes over. Returns the rollback's outcome, or None when the analysis was not
    running (ended, superseded, or failed by something else meanwhile). A retried job whose earlier run failed
    the analysis but stopped before the rollback finishes it (the controller does a rollback once per analysis)."""
    name = analysis_name(endpoint, analysis_id)

    def change(current: dict[str, Any] | None) -> dict[str, Any] | None:
        if current is None or current.get("status") != RUNNING:
            return None
        return {**current, "status": "fail", "failed_by": failed_by, "fail_reason": reason, "critical": True,
                "updated_at": now.isoformat()}

    written = ctx.state.update_json(name, change)
    if written is None:
        current = ctx.state.get_json(name)
        if not current or current.get("failed_by") != failed_by or "rollback" in current:
            return None
        written = current  # failed by an earlier run of this check, which stopped before the rollback
    else:
        ctx.audit.append("canary", f"{ctx.azure.workspace_id}/onlineEndpoints/{endpoint}/deployments/"
                                   f"{written['canary']}", "failed",
                         {"analysis_id": analysis_id, "failed_by": failed_by, "reason": reason, "critical": True})
    if report_html:
        ctx.state.put_bytes(f"analyses/{endpoint}/{analysis_id}.html", report_html.encode(),
                            "text/html; charset=utf-8")
    return roll_back(ctx, written, reason=reason, evidence=evidence, report_html=report_html, now=now)


def roll_back(ctx: CheckContext, analysis: dict[str, Any], *, reason: str, evidence: dict[str, Any],
              report_html: str | None, now: datetime) -> dict[str, Any]:
    """Hand a failed analysis to the rollback controller and record its outcome on the analysis (a `busy` answer,
    another instance rolling back the same endpoint, never overwrites that instance's outcome)."""
    from shared.services.rollback import RollbackController

    endpoint, analysis_id = analysis["endpoint"], analysis["id"]
    outcome = RollbackController(ctx, ctx.leases).handle(
        endpoint=endpoint, canary=analysis["canary"], baselines=analysis["baselines"], now=now, reason=reason,
        analysis_id=analysis_id, evidence=evidence, report_html=report_html)

    def record(current: dict[str, Any] | None) -> dict[str, Any] | None:
        if current is None or (outcome.get("action") == "busy" and "rollback" in current):
            return None
        return {**current, "rollback": outcome}

    ctx.state.update_json(analysis_name(endpoint, analysis_id), record)
    return outcome


def intervals_due(analysis: dict[str, Any], now: datetime) -> int:
    """How many whole intervals have passed since the start (capped by the lifetime)."""
    start = datetime.fromisoformat(analysis["started_at"])
    elapsed = (now - start).total_seconds()
    count = int(elapsed // analysis["interval_seconds"]) if elapsed > 0 else 0
    return min(count, analysis["lifetime_seconds"] // analysis["interval_seconds"])


def due_jobs(ctx: CheckContext, workspace_id: str, endpoints: list[str], now: datetime, source: str) -> list[Job]:
    """One `check` job for every running analysis with an interval not yet judged."""
    jobs = []
    for endpoint in endpoints:
        for analysis in ctx.state.list_json(f"analyses/{endpoint}/"):
            if analysis.get("status") != RUNNING:
                continue
            due = intervals_due(analysis, now)
            if due > analysis.get("judged_intervals", 0):
                jobs.append(Job(id=f"chk-canary-{analysis['id']}-{due}", kind="check", workspace_id=workspace_id,
                                source_event_id=source, source_event_type="check",
                                target={"check": "canary", "endpoint": endpoint, "deployment": analysis["canary"],
                                        "analysis": analysis["id"], "interval": str(due)},
                                created_at=now.isoformat()))
    return jobs


def _repromoted_alert(ctx: CheckContext, endpoint: EndpointTraffic, canary: str, rolled_back_at: datetime,
                      cause: str, rule: str) -> None:
    from shared.alerts.model import AlertSignal

    target = f"{ctx.azure.endpoint_resource_id(endpoint.endpoint)}/deployments/{canary}"
    ctx.alerts.fire(AlertSignal(
        rule=rule, severity="Sev1", targets=(target,), labels={"endpoint": endpoint.endpoint, "deployment": canary},
        description=(f"{canary} on {endpoint.endpoint} was rolled back at {rolled_back_at.isoformat()} and has "
                     f"traffic again ({endpoint.traffic}). Not rolling back again automatically: decide, then "
                     f"POST /api/endpoints/{endpoint.endpoint}/analyses/<id>/retry to analyse it anew."),
        evidence={"traffic": endpoint.traffic, "rolled_back_at": rolled_back_at.isoformat(), "cause": cause}))
    ctx.audit.append("canary", f"{ctx.azure.workspace_id}/onlineEndpoints/{endpoint.endpoint}/deployments/{canary}",
                     "repromoted", {"traffic": endpoint.traffic, "rolled_back_at": rolled_back_at.isoformat(),
                                    "cause": cause})
