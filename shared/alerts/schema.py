"""Render an alert as an Azure Monitor common alert schema document: the one canonical notification.

Every sink starts from this document (the generic webhook sends it as-is; Teams, Slack, PagerDuty and
Event Grid reformat it), so what an on-call engineer sees anywhere comes from one place. Our evidence goes
in `alertContext`; `essentials` keeps Azure's field names and meanings (alerts-common-schema.md).

Size: Azure caps a common-schema alert at 256 KB (alerts-common-schema.md, "upper size of 256 KB per
alert"), measured here as the UTF-8 JSON a receiver gets. Description, labels, evidence and the id lists
each get a share of that budget; whatever is shortened ends in a visible marker (`…` in text, an
`alertContext.truncated` entry naming what was left out) with a link to the full alert or report when a
public base URL is configured. Labels go in full (within their share) to `alertContext.labels` only;
`customProperties`, Azure's slot for a rule's custom key/values, repeats them only while they are small.
Pure: no I/O, no clock (times are passed in).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shared.alerts.model import Alert, EventKind, Severity

SCHEMA_ID = "azureMonitorCommonAlertSchema"
MONITORING_SERVICE = "modelwatch"

MAX_ALERT_BYTES = 256 * 1024  # Azure's cap for one common-schema alert
MAX_DESCRIPTION_BYTES = 16 * 1024
MAX_LABELS_BYTES = 32 * 1024
MAX_CUSTOM_PROPERTIES_BYTES = 2 * 1024  # the repeat of the labels in Azure's customProperties
MAX_ID_LIST_BYTES = 16 * 1024  # alertTargetIDs, configurationItems, links.audit: each
MAX_EVIDENCE_BYTES = 128 * 1024
MAX_OMITTED_KEYS = 20  # evidence keys named in the truncation marker
IDENTITY_LABELS = ("endpoint", "deployment")  # kept first when labels must be shortened
ELLIPSIS = "…"

# -- sizes and shortening, shared with the sinks ------------------------------------------------------


def encode_json(value: Any) -> bytes:
    """Compact UTF-8 JSON, as every HTTP sink posts it (RFC 8259: JSON on the wire is UTF-8, so an emoji
    costs 4 bytes instead of a 12-byte `\\ud83d\\udd25`). A lone surrogate, which UTF-8 cannot carry, goes
    out as its JSON escape rather than failing the send."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return text.encode("utf-8", errors="backslashreplace")


def json_size(value: Any) -> int:
    return len(encode_json(value))


def char_bytes(char: str) -> int:
    """What one character costs inside a JSON string (quotes, backslashes and controls are escaped)."""
    if " " <= char <= "~":
        return 2 if char in '"\\' else 1
    return json_size(char) - 2


def prefix_within(text: str, budget: int, cost: Callable[[str], int] = len) -> str:
    """The longest prefix of `text` whose characters cost at most `budget` in total."""
    spent = 0
    for index, char in enumerate(text):
        spent += cost(char)
        if spent > budget:
            return text[:index]
    return text


def clip(text: str, budget: int, note: str = "", cost: Callable[[str], int] = len) -> str:
    """`text` if it costs at most `budget` (characters by default, or `cost` per character); otherwise a
    prefix, `…` and `note`, together within the budget. The note is dropped when it alone does not fit."""
    if sum(cost(c) for c in text) <= budget:
        return text
    tail = ELLIPSIS + note
    if sum(cost(c) for c in tail) > budget:
        tail = ELLIPSIS
    room = budget - sum(cost(c) for c in tail)
    return prefix_within(text, max(room, 0), cost) + tail if room >= 0 else ""


def clip_bytes(text: str, max_bytes: int, note: str = "") -> str:
    """`clip` with the budget in bytes of UTF-8 JSON."""
    return clip(text, max_bytes, note, cost=char_bytes)


# -- the document ---------------------------------------------------------------------------------------


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
    """The notification document for one event of an alert, within Azure's 256 KB."""
    resolved = kind is EventKind.RESOLVED
    alert_links = links(alert.id, alert.has_report, base_url)
    context = {
        "check": alert.rule,
        "fingerprint": alert.fingerprint,
        "labels": dict(alert.labels),
        "evidence": alert.evidence,
        "occurrences": alert.occurrences,
        "lastFiredDateTime": iso(alert.last_fired_at),
        "state": alert.state.value,
        "acknowledgedBy": alert.acknowledged_by,
        "resolvedBy": alert.resolved_by if resolved else None,
        "notification": {"kind": kind.value, "eventId": event_id, "sentFor": iso(at)},
        "links": {**alert_links, "audit": list(alert.audit_ids)},
    }
    document = {
        "schemaId": SCHEMA_ID,
        "data": {
            "essentials": _essentials(alert, resolved, at, alert_links),
            "alertContext": context,
            "customProperties": dict(alert.labels) or None,
        },
    }
    return fit_document(document)


# -- keeping the document within Azure's limit ------------------------------------------------------------


def full_details_link(document: dict[str, Any]) -> str | None:
    """Where the untruncated alert can be read from outside: the report if there is one, else the alert
    record (GET /api/alerts/{id} carries full description, labels and evidence). None without a public
    base URL, since a path on this app means nothing to a receiver."""
    found = document["data"]["alertContext"].get("links") or {}
    for name in ("report", "alert"):
        url = found.get(name)
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            return url
    return None


def _text_note(original_chars: int, link: str | None) -> str:
    where = f"; full text: {link}" if link else "; full text in the alert record"
    return f" [shortened from {original_chars:,} characters{where}]"


def bounded_labels(labels: dict[str, str], max_bytes: int) -> tuple[dict[str, str], int]:
    """The labels that fit in `max_bytes` of JSON (identity labels first, then in order, whole labels only:
    a cut label value would match silences wrongly), in their original order, and how many were left out."""
    if json_size(labels) <= max_bytes:
        return dict(labels), 0
    order = [k for k in IDENTITY_LABELS if k in labels] + [k for k in labels if k not in IDENTITY_LABELS]
    chosen: set[str] = set()
    spent = 2
    for name in order:
        cost = json_size({name: labels[name]}) - 1  # the pair plus its comma
        if spent + cost <= max_bytes:
            chosen.add(name)
            spent += cost
    return {k: v for k, v in labels.items() if k in chosen}, len(labels) - len(chosen)


def bounded_evidence(
    evidence: dict[str, Any], max_bytes: int = MAX_EVIDENCE_BYTES, link: str | None = None
) -> dict[str, Any]:
    """The evidence itself, or as many of its top-level entries as fit (small ones are kept even after a big
    one is dropped: model, version, hashes and thresholds matter more than raw rows), plus a `_truncated`
    entry naming what was left out. Never raises: an alert must not be lost because its evidence is large."""
    size = json_size(evidence)
    if size <= max_bytes:
        return evidence
    kept: dict[str, Any] = {}
    omitted: list[str] = []
    room = max_bytes - 1024 - (len(link) if link else 0)  # what the marker needs
    spent = 2
    for key, value in evidence.items():
        cost = json_size({key: value}) - 1
        if spent + cost <= room:
            kept[key] = value
            spent += cost
        else:
            omitted.append(str(key))
    marker: dict[str, Any] = {
        "originalBytes": size,
        "omittedKeys": [clip(k, 40) for k in omitted[:MAX_OMITTED_KEYS]],
        "omittedCount": len(omitted),
        "see": link or "the alert record or its report",
    }
    while kept and json_size({**kept, "_truncated": marker}) > max_bytes:
        kept.pop(next(reversed(kept)))
        marker["omittedCount"] += 1
    result = {**kept, "_truncated": marker}
    return result if json_size(result) <= max_bytes else {"_truncated": {"originalBytes": size}}


def _bounded_ids(ids: list[Any]) -> tuple[list[Any], int]:
    """A list of ids (targets, audit records) within MAX_ID_LIST_BYTES, first ones first."""
    kept: list[Any] = []
    spent = 2
    for item in ids:
        spent += json_size(item) + 1
        if spent > MAX_ID_LIST_BYTES and kept:
            break
        kept.append(item)
    return kept, len(ids) - len(kept)


def fit_document(document: dict[str, Any], max_bytes: int = MAX_ALERT_BYTES) -> dict[str, Any]:
    """The document with description, labels, id lists and evidence shortened to their shares of
    `max_bytes`. Idempotent, so a sink can apply it to a document rendered by an older version."""
    data = document["data"]
    essentials, context = dict(data["essentials"]), dict(data["alertContext"])
    link = full_details_link(document)
    truncated: dict[str, Any] = dict(context.get("truncated") or {})

    description = essentials.get("description") or ""
    essentials["description"] = clip_bytes(
        description, MAX_DESCRIPTION_BYTES, _text_note(len(description), link)
    )
    if essentials["description"] != description:
        truncated["description"] = {"originalChars": len(description)}

    for field in ("alertTargetIDs", "configurationItems"):
        essentials[field], left_out = _bounded_ids(list(essentials.get(field) or []))
        if left_out:
            truncated[field] = {"omitted": left_out}
    context_links = dict(context.get("links") or {})
    if "audit" in context_links:
        context_links["audit"], left_out = _bounded_ids(list(context_links["audit"]))
        if left_out:
            truncated["audit"] = {"omitted": left_out}
    context["links"] = context_links

    labels, left_out = bounded_labels(
        context.get("labels") or data.get("customProperties") or {}, MAX_LABELS_BYTES
    )
    context["labels"] = labels
    if left_out:
        truncated["labels"] = {"shown": len(labels), "omitted": left_out}
    custom, left_out = bounded_labels(labels, MAX_CUSTOM_PROPERTIES_BYTES)
    if left_out:
        truncated["customProperties"] = {"omitted": left_out, "see": "alertContext.labels"}
    if truncated and link:
        truncated["see"] = link

    # Evidence gets what is left. Measured without the entries its own shortening may add (reserved
    # instead), so a second pass computes the same room and leaves an already bounded evidence alone.
    evidence = context.get("evidence") or {}
    context.update(
        evidence={}, truncated={k: v for k, v in truncated.items() if k not in ("evidence", "see")}
    )
    rest = {**data, "essentials": essentials, "alertContext": context, "customProperties": custom or None}
    room = max_bytes - json_size({**document, "data": rest}) - 128 - 2 * len(link or "")
    context["evidence"] = bounded_evidence(evidence, min(MAX_EVIDENCE_BYTES, max(room, 0)), link)
    if context["evidence"] is not evidence:
        truncated["evidence"] = {"originalBytes": json_size(evidence)}
        if link:
            truncated["see"] = link
    context["truncated"] = truncated
    if not truncated:
        del context["truncated"]
    return {**document, "data": rest}


def labels_of(document: dict[str, Any]) -> dict[str, str]:
    """The alert's labels: `alertContext.labels`, or `customProperties` in a document that lacks them."""
    data = document["data"]
    return data["alertContext"].get("labels") or data.get("customProperties") or {}


def headline(document: dict[str, Any]) -> str:
    """One line for chat titles and PagerDuty summaries: [Sev1] FIRED latency-p95 on churn-prod/green."""
    essentials = document["data"]["essentials"]
    labels = labels_of(document)
    where = "/".join(v for v in (labels.get("endpoint"), labels.get("deployment")) if v)
    where = where or ", ".join(essentials.get("configurationItems") or []) or essentials["alertTargetIDs"][0]
    condition = "RESOLVED" if essentials["monitorCondition"] == "Resolved" else "FIRED"
    kind = document["data"]["alertContext"].get("notification", {}).get("kind")
    if kind == EventKind.TEST.value:
        condition = "TEST"
    return f"[{essentials['severity']}] {condition} {essentials['alertRule']} on {where}"


def severity_of(document: dict[str, Any]) -> Severity:
    return Severity(document["data"]["essentials"]["severity"])
