"""Render an alert as an Azure Monitor common alert schema document: the one canonical notification.

Every sink starts from this document (the generic webhook sends it as-is; Teams, Slack, PagerDuty and
Event Grid reformat it), so what an on-call engineer sees anywhere comes from one place. Our evidence goes
in `alertContext`; `essentials` keeps Azure's field names and meanings (alerts-common-schema.md).
Pure: no I/O, no clock (times are passed in).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from shared.alerts.model import Alert, EventKind, Severity

SCHEMA_ID = "azureMonitorCommonAlertSchema"
MONITORING_SERVICE = "modelwatch"
# Azure caps a common-schema alert at 256 KB; bigger evidence is replaced by a pointer to the report.
MAX_EVIDENCE_BYTES = 128 * 1024


def iso(moment: datetime | None) -> str | None:
    """UTC ISO 8601 with a Z, the form Azure uses for firedDateTime (naive times are taken as UTC)."""
    if moment is None:
        return None
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.isoformat().replace("+00:00", "Z")


def links(alert_id: str, has_report: bool, base_url: str | None) -> dict[str, str]:
    """Where to read more. Absolute when a public base URL is configured, else paths on this app."""
    root = (base_url or "").rstrip("/")
    out = {"alert": f"{root}/api/alerts/{alert_id}"}
    if has_report:
        out["report"] = f"{root}/api/alerts/{alert_id}/report"
    return out


def _target_parts(target: str) -> tuple[str | None, str | None]:
    """Resource group and provider type of an ARM id (None when it is not one)."""
    parts = [p for p in target.split("/") if p]
    lowered = [p.lower() for p in parts]
    group = parts[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered[:-1] else None
    rtype = None
    if "providers" in lowered[:-1]:
        i = len(lowered) - 1 - lowered[::-1].index("providers")
        tail = parts[i + 1 :]
        rtype = "/".join([tail[0], *tail[1::2]]) if len(tail) >= 3 else None
    return group, rtype


def bounded_evidence(evidence: dict[str, Any]) -> dict[str, Any]:
    """The evidence itself, or a marker when it would push the alert past Azure's size limit.
    Never raises: an alert must not be lost because its evidence is large."""
    size = len(json.dumps(evidence, default=str).encode())
    if size <= MAX_EVIDENCE_BYTES:
        return evidence
    return {"truncated": True, "bytes": size, "note": "evidence too large for a notification; see the report"}


def _essentials(alert: Alert, resolved: bool, at: datetime, alert_links: dict[str, str]) -> dict[str, Any]:
    """Azure's essentials, field for field (alerts-common-schema.md)."""
    essentials: dict[str, Any] = {
        "alertId": alert.id,
        "alertRule": alert.rule,
        "severity": alert.severity.value,
        "signalType": alert.signal_type.value,
        "monitorCondition": "Resolved" if resolved else "Fired",
        "monitoringService": MONITORING_SERVICE,
        "alertTargetIDs": list(alert.targets),
        "configurationItems": list(alert.configuration_items),
        "originAlertId": alert.fingerprint,
        "firedDateTime": iso(alert.fired_at),
        "description": alert.description,
        "essentialsVersion": "1.0",
        "alertContextVersion": "1.0",
    }
    if resolved:
        essentials["resolvedDateTime"] = iso(alert.resolved_at or at)
    group, rtype = _target_parts(alert.targets[0])
    if group:
        essentials["targetResourceGroup"] = group
    if rtype:
        essentials["targetResourceType"] = rtype
    if "report" in alert_links:
        essentials["investigationLink"] = alert_links["report"]
    return essentials


def common_alert(
    alert: Alert, kind: EventKind, at: datetime, event_id: str, base_url: str | None = None
) -> dict[str, Any]:
    """The notification document for one event of an alert."""
    resolved = kind is EventKind.RESOLVED
    alert_links = links(alert.id, alert.has_report, base_url)
    context = {
        "check": alert.rule,
        "fingerprint": alert.fingerprint,
        "labels": dict(alert.labels),
        "evidence": bounded_evidence(alert.evidence),
        "occurrences": alert.occurrences,
        "lastFiredDateTime": iso(alert.last_fired_at),
        "state": alert.state.value,
        "acknowledgedBy": alert.acknowledged_by,
        "resolvedBy": alert.resolved_by if resolved else None,
        "notification": {"kind": kind.value, "eventId": event_id, "sentFor": iso(at)},
        "links": {**alert_links, "audit": list(alert.audit_ids)},
    }
    return {
        "schemaId": SCHEMA_ID,
        "data": {
            "essentials": _essentials(alert, resolved, at, alert_links),
            "alertContext": context,
            "customProperties": dict(alert.labels) or None,
        },
    }


def headline(document: dict[str, Any]) -> str:
    """One line for chat titles and PagerDuty summaries: [Sev1] FIRED latency-p95 on churn-prod/green."""
    essentials = document["data"]["essentials"]
    labels = document["data"]["alertContext"].get("labels") or {}
    where = "/".join(v for v in (labels.get("endpoint"), labels.get("deployment")) if v)
    where = where or ", ".join(essentials.get("configurationItems") or []) or essentials["alertTargetIDs"][0]
    condition = "RESOLVED" if essentials["monitorCondition"] == "Resolved" else "FIRED"
    kind = document["data"]["alertContext"].get("notification", {}).get("kind")
    if kind == EventKind.TEST.value:
        condition = "TEST"
    return f"[{essentials['severity']}] {condition} {essentials['alertRule']} on {where}"


def severity_of(document: dict[str, Any]) -> Severity:
    return Severity(document["data"]["essentials"]["severity"])
