"""Small text helpers the chat sinks share: pick the facts worth showing from a common-schema document,
within a receiver's size budget, and say what was left out.

A chat message is read on a phone at 3 a.m.: it shows the facts that decide what to do first (severity,
condition, rule, target, times, alert id), then as many labels and evidence numbers as the receiver's
budget allows, then one line saying how many more there are and where to read them (the full report when a
public base URL is configured). Pure; no I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shared.alerts.schema import IDENTITY_LABELS, clip, full_details_link, json_size, labels_of

MAX_EVIDENCE_FACTS = 12
MAX_FACT_TITLE = 100  # characters of a fact's name
MAX_FACT_VALUE = 300  # characters of a fact's value: a number, a name, an id; the report has the rest

Fact = tuple[str, str]


def short(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, separators=(", ", ": "))
    return clip(text, limit)


def evidence_facts(evidence: dict[str, Any], limit: int = MAX_EVIDENCE_FACTS) -> list[Fact]:
    """Scalars first-level and one level down (`thresholds.p95_ms`), so a chat card shows the numbers
    without dumping nested structures; the report has the rest."""
    facts: list[Fact] = []
    for key, value in evidence.items():
        if isinstance(value, dict):
            facts += [(f"{key}.{k}", short(v)) for k, v in value.items() if not isinstance(v, dict | list)]
        else:
            facts.append((key, short(value)))
        if len(facts) >= limit:
            break
    return facts[:limit]


def _evidence_fact_count(evidence: dict[str, Any]) -> int:
    """How many facts the whole evidence would give, to count what a card leaves out."""
    return sum(
        sum(1 for v in value.values() if not isinstance(v, dict | list)) if isinstance(value, dict) else 1
        for value in evidence.values()
    )


def head_facts(document: dict[str, Any]) -> list[Fact]:
    """The facts an on-call engineer reads first; always shown."""
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
    return facts


@dataclass(frozen=True)
class FactList:
    """The facts a card shows, and how many labels and evidence entries it (or the document) left out."""

    facts: list[Fact]
    omitted: int
    link: str | None

    def omission(self) -> str | None:
        """The plain-text note for the left-out facts (a sink adds its own link syntax), or None."""
        if not self.omitted:
            return None
        noun = "entry" if self.omitted == 1 else "entries"
        return f"{self.omitted:,} more label and evidence {noun}"


def fact_bytes(fact: Fact) -> int:
    """What one fact costs in a card's JSON: {"title":...,"value":...} and a comma."""
    return json_size({"title": fact[0], "value": fact[1]}) + 1


def fitted_facts(document: dict[str, Any], max_facts: int, max_bytes: int) -> FactList:
    """The head facts and the alert id always; then, while they fit in `max_facts` facts and `max_bytes`
    of card JSON, the identity labels, the evidence numbers and the other labels, in that priority, shown
    in the usual order (labels, then evidence). Room is kept for the omission line whenever something is
    left out. Values are clipped to MAX_FACT_VALUE characters."""
    context = document["data"]["alertContext"]
    evidence = context.get("evidence") or {}
    labels = labels_of(document)
    fixed_head = [(clip(t, MAX_FACT_TITLE), clip(v, MAX_FACT_VALUE)) for t, v in head_facts(document)]
    tail = [("Alert ID", document["data"]["essentials"]["alertId"])]
    optional = [
        (clip(t, MAX_FACT_TITLE), clip(v, MAX_FACT_VALUE))
        for t, v in [*labels.items(), *evidence_facts(evidence)]
    ]
    identity = [i for i, name in enumerate(labels) if name in IDENTITY_LABELS]
    priority = (
        identity
        + list(range(len(labels), len(optional)))
        + [i for i in range(len(labels)) if i not in identity]
    )
    upstream = (context.get("truncated") or {}).get("labels", {}).get("omitted", 0)
    upstream += max(0, _evidence_fact_count(evidence) - MAX_EVIDENCE_FACTS)
    fixed = fixed_head + tail
    count_room = max_facts - len(fixed)
    byte_room = max_bytes - sum(fact_bytes(f) for f in fixed)
    if len(optional) > count_room or sum(fact_bytes(f) for f in optional) > byte_room or upstream:
        count_room -= 1  # the omission line
        byte_room -= 512
    chosen: list[int] = []
    for index in priority:
        if len(chosen) >= count_room or fact_bytes(optional[index]) > byte_room:
            break
        chosen.append(index)
        byte_room -= fact_bytes(optional[index])
    return FactList(
        facts=fixed_head + [optional[i] for i in sorted(chosen)] + tail,
        omitted=upstream + len(optional) - len(chosen),
        link=full_details_link(document),
    )


def absolute_links(document: dict[str, Any]) -> dict[str, str]:
    links = document["data"]["alertContext"].get("links") or {}
    return {k: v for k, v in links.items() if isinstance(v, str) and v.startswith(("https://", "http://"))}
