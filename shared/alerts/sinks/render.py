"""Small text helpers the chat sinks share: pick the facts worth showing from a common-schema document.

Pure; no I/O.
"""

from __future__ import annotations

import json
from typing import Any

MAX_EVIDENCE_FACTS = 12


def short(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def evidence_facts(evidence: dict[str, Any], limit: int = MAX_EVIDENCE_FACTS) -> list[tuple[str, str]]:
    """Scalars first-level and one level down (`thresholds.p95_ms`), so a chat card shows the numbers
    without dumping nested structures; the report has the rest."""
    facts: list[tuple[str, str]] = []
    for key, value in evidence.items():
        if isinstance(value, dict):
            facts += [(f"{key}.{k}", short(v)) for k, v in value.items() if not isinstance(v, dict | list)]
        else:
            facts.append((key, short(value)))
        if len(facts) >= limit:
            break
    return facts[:limit]


def summary_facts(document: dict[str, Any]) -> list[tuple[str, str]]:
    """The facts an on-call engineer reads first, then the labels, then the evidence."""
    essentials = document["data"]["essentials"]
    context = document["data"]["alertContext"]
    facts = [
        ("Severity", essentials["severity"]),
        ("Condition", essentials["monitorCondition"]),
        ("Rule", essentials["alertRule"]),
        ("Target", ", ".join(essentials.get("configurationItems") or essentials["alertTargetIDs"])),
        ("Fired", essentials["firedDateTime"]),
    ]
    if essentials.get("resolvedDateTime"):
        facts.append(("Resolved", essentials["resolvedDateTime"]))
    facts.append(("Occurrences", str(context.get("occurrences", 1))))
    facts += [(name, value) for name, value in (context.get("labels") or {}).items()]
    facts += evidence_facts(context.get("evidence") or {})
    facts.append(("Alert ID", essentials["alertId"]))
    return facts


def absolute_links(document: dict[str, Any]) -> dict[str, str]:
    links = document["data"]["alertContext"].get("links") or {}
    return {k: v for k, v in links.items() if isinstance(v, str) and v.startswith(("https://", "http://"))}
