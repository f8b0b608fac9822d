"""Offline vs endpoint: does a deployment answer its model's golden set the way the model did at evaluation?

A golden set is a table of inputs with the outputs the model version gave them when it was evaluated. Replayed to
a deployment of that version, every row should come back the same. A deployment whose preprocessing differs from
the one the model was evaluated with (a feature in other units, a stale encoder, columns swapped) answers
differently: training-serving skew, which no latency or error metric shows.

Conventions, declared in every verdict (`rule`):

* columns: the golden set's columns named in `scores` and `labels` are outputs (those the golden set holds);
  every other column is an input, sent as recorded;
* labels are compared exactly (numbers by value, so 1 == 1.0; anything else as text); scores within an absolute
  `tolerance`, inclusive: `|served - recorded| <= tolerance` (default 1e-6);
* a row is a mismatch when an output it recorded differs, is missing from the answer or is not a number where a
  score is expected, or when the deployment refused the row (HTTP 4xx: it cannot take what the model took);
* a row the deployment did not answer (5xx, timeout, no connection, the replay's time bound) is `unanswered`:
  counted, never compared;
* mismatch rate = mismatches / compared rows (answered or refused); `fail` when it is above `max_mismatch`
  (default 1%: 2 of 200 rows differing pass, 3 fail);
* `error` when nothing can be judged: the golden set has no rows or holds none of the declared output columns,
  or fewer than `min_answered` (half) of the rows sent were answered; `no_golden_set` when the model version
  names none;
* worst rows: the mismatches with the largest score difference first (a missing, non-numeric or refused
  output counts as the largest), each with its inputs, recorded and served outputs.

Plain data in, a `ReplayVerdict` with every number out; no Azure SDK, no I/O, no clock. `parse_golden` reads a
golden file's bytes (JSON Lines or CSV) that an adapter fetched; `render_report` is the verdict as an HTML page.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

PASS, FAIL, NO_GOLDEN_SET, ERROR = "pass", "fail", "no_golden_set", "error"
OUTCOMES = (PASS, FAIL, NO_GOLDEN_SET, ERROR)
MATCH, MISMATCH, REFUSED, UNANSWERED = "match", "mismatch", "refused", "unanswered"
#: keys under which a scoring answer may hold its list of per-row outputs (Azure ML scoring scripts vary)
OUTPUT_KEYS = ("predictions", "outputs", "output", "result", "results", "data")
_INT = re.compile(r"^[+-]?\d+$")
_SLACK = 1e-12  # binary floats: 0.430264 - 0.430263 is a hair above 1e-6 and still "within 1e-6"


class ReplaySpecError(ValueError):
    """A replay declaration that cannot be judged by (negative tolerance, a rate outside 0..1, no outputs)."""


class GoldenSetError(ValueError):
    """A golden set file that cannot be read (not JSON Lines or CSV, a line that is not an object)."""


@dataclass(frozen=True)
class ReplaySpec:
    """Which golden-set columns are outputs, and how close an answer must be."""

    scores: tuple[str, ...] = ("score",)
    labels: tuple[str, ...] = ("label",)
    tolerance: float = 1e-6
    max_mismatch: float = 0.01
    min_answered: float = 0.5
    worst: int = 10

    def __post_init__(self) -> None:
        if not self.scores and not self.labels:
            raise ReplaySpecError("a golden set needs at least one output column (a score or a label)")
        if not math.isfinite(self.tolerance) or self.tolerance < 0:
            raise ReplaySpecError(f"the score tolerance must be a finite number >= 0, got {self.tolerance!r}")
        for name in ("max_mismatch", "min_answered"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ReplaySpecError(f"{name} is a fraction of rows, from 0 to 1, got {value!r}")
        if self.worst < 0:
            raise ReplaySpecError(f"worst must be >= 0, got {self.worst}")

    @property
    def outputs(self) -> tuple[str, ...]:
        return self.scores + tuple(label for label in self.labels if label not in self.scores)

    def rule(self) -> str:
        return (f"labels ({', '.join(self.labels) or 'none'}) exactly; scores ({', '.join(self.scores) or 'none'}) "
                f"within an absolute {self.tolerance:g}; a refused row (HTTP 4xx) is a mismatch, an unanswered "
                f"one is not compared; fail when more than {self.max_mismatch:.2%} of the compared rows differ; "
                f"error when fewer than {self.min_answered:.0%} of the rows sent were answered")


@dataclass(frozen=True)
class GoldenRow:
    """One row of a golden set: what to send, and what the model answered at evaluation."""

    index: int
    inputs: dict[str, Any]
    outputs: dict[str, Any]


@dataclass(frozen=True)
class Answer:
    """What the deployment did with one row: its outputs, or a refusal (HTTP 4xx), or no answer, and why."""

    outputs: Mapping[str, Any] | None = None
    refused: str | None = None
    unanswered: str | None = None


@dataclass(frozen=True)
class RowResult:
    """One row compared. `score_diff` is the largest |served - recorded| over the scores that could be compared
    (None when none could); `missing` names the outputs the answer lacks or that are not comparable numbers."""

    index: int
    status: str  # match | mismatch | refused | unanswered
    inputs: dict[str, Any]
    recorded: dict[str, Any]
    served: dict[str, Any] | None
    score_diff: float | None
    differing: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    note: str | None = None

    @property
    def sort_key(self) -> tuple[float, int]:
        """Worst first: a refused row or a missing output counts as the largest difference."""
        diff = math.inf if self.status == REFUSED or self.missing else (self.score_diff or 0.0)
        return (-diff, self.index)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ReplayVerdict:
    outcome: str  # pass | fail | no_golden_set | error
    reason: str
    rule: str
    tolerance: float
    max_mismatch: float
    scores: tuple[str, ...]
    labels: tuple[str, ...]
    rows_in_golden_set: int = 0
    rows_replayed: int = 0
    rows_compared: int = 0
    rows_matched: int = 0
    mismatches: int = 0
    label_mismatches: int = 0
    score_mismatches: int = 0
    refused: int = 0
    unanswered: int = 0
    mismatch_rate: float | None = None
    max_score_diff: float | None = None
    mean_score_diff: float | None = None
    worst_rows: tuple[RowResult, ...] = field(default_factory=tuple)
    unanswered_reasons: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["scores"], out["labels"] = list(self.scores), list(self.labels)
        out["worst_rows"] = [r.to_dict() for r in self.worst_rows]
        return out


# -- reading a golden set -------------------------------------------------------------------------------
def _cell(text: str) -> Any:
    """A CSV cell as the value it was written from: empty -> None, integers, other numbers, else the text."""
    if text == "":
        return None
    if _INT.match(text):
        return int(text)
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) or text.lower() in ("nan", "inf", "-inf") else text


def parse_golden(content: bytes, fmt: str, source: str = "golden set") -> list[dict[str, Any]]:
    """The rows of a golden file: `jsonl` (one flat JSON object a line; a `.json` file holding one array of
    objects is read too) or `csv` (a header row; cells typed back to numbers)."""
    text = content.decode("utf-8-sig")
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        return [{k: _cell(v or "") for k, v in row.items() if k is not None} for row in reader]
    if fmt != "jsonl":
        raise GoldenSetError(f"{source}: a golden set is JSON Lines or CSV, not {fmt!r}")
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            rows = json.loads(stripped)
        except ValueError as exc:
            raise GoldenSetError(f"{source}: not a JSON array of objects: {exc}") from None
        if not all(isinstance(r, dict) for r in rows):
            raise GoldenSetError(f"{source}: the JSON array must hold one object a row")
        return rows
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise GoldenSetError(f"{source}, line {number}: not JSON: {exc}") from None
        if not isinstance(row, dict):
            raise GoldenSetError(f"{source}, line {number}: expected one JSON object a row, got "
                                 f"{type(row).__name__}")
        rows.append(row)
    return rows


def split_golden(records: Sequence[Mapping[str, Any]], spec: ReplaySpec) -> list[GoldenRow]:
    """Each record's declared output columns (recorded values that are not null) apart from its inputs."""
    outputs = set(spec.outputs)
    return [GoldenRow(i, {k: v for k, v in r.items() if k not in outputs},
                      {k: v for k, v in r.items() if k in outputs and v is not None})
            for i, r in enumerate(records)]


def answers_from_body(body: Any, rows: int, spec: ReplaySpec) -> list[dict[str, Any]] | str:
    """One outputs mapping per row sent, from a scoring answer: a JSON list (or a list under one of
    OUTPUT_KEYS) of objects, or of bare values (then read as the first score, else the first label). A
    string says why the answer has not that shape."""
    items = body
    if isinstance(body, dict):
        items = next((body[k] for k in OUTPUT_KEYS if isinstance(body.get(k), list)), None)
    if not isinstance(items, list):
        keys = f" with keys {sorted(body)[:10]}" if isinstance(body, dict) else ""
        return f"expected a JSON list with one output per row, got {type(body).__name__}{keys}"
    if len(items) != rows:
        return f"sent {rows} row(s), got {len(items)} output(s)"
    name = (spec.scores or spec.labels)[0]
    return [dict(item) if isinstance(item, dict) else {name: item} for item in items]


# -- comparing ------------------------------------------------------------------------------------------
def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _same_label(recorded: Any, served: Any) -> bool:
    a, b = _number(recorded), _number(served)
    if a is not None and b is not None:
        return a == b
    return str(recorded) == str(served)


def compare(row: GoldenRow, answer: Answer, spec: ReplaySpec) -> RowResult:
    """One golden row against what the deployment did with it."""
    if answer.unanswered is not None or (answer.outputs is None and answer.refused is None):
        return RowResult(row.index, UNANSWERED, row.inputs, row.outputs, None, None,
                         note=answer.unanswered or "no answer")
    if answer.refused is not None:
        return RowResult(row.index, REFUSED, row.inputs, row.outputs, None, None, tuple(row.outputs),
                         tuple(row.outputs), f"refused: {answer.refused}")
    served = dict(answer.outputs or {})
    differing: list[str] = []
    missing: list[str] = []
    diffs: list[float] = []
    for name in spec.scores:
        if name not in row.outputs:
            continue
        recorded, got = _number(row.outputs[name]), _number(served.get(name))
        if recorded is not None and got is not None and math.isnan(recorded) and math.isnan(got):
            diffs.append(0.0)
            continue
        diff = abs(got - recorded) if recorded is not None and got is not None else math.nan
        if not math.isfinite(diff):  # absent, not a number, or an infinite / NaN score on one side
            differing.append(name)
            missing.append(name)
            continue
        diffs.append(diff)
        if diff > spec.tolerance + _SLACK:
            differing.append(name)
    for name in spec.labels:
        if name in row.outputs and name not in spec.scores:
            if name not in served:
                differing.append(name)
                missing.append(name)
            elif not _same_label(row.outputs[name], served[name]):
                differing.append(name)
    note = f"not comparable (absent or not a finite number): {', '.join(missing)}" if missing else None
    return RowResult(row.index, MISMATCH if differing else MATCH, row.inputs, row.outputs, served,
                     max(diffs) if diffs else None, tuple(differing), tuple(missing), note)


def judge_replay(rows: Sequence[GoldenRow], answers: Sequence[Answer], spec: ReplaySpec,
                 rows_in_golden_set: int | None = None) -> ReplayVerdict:
    """Compare every replayed row (answers[i] is what the deployment did with rows[i]) and decide."""
    if len(rows) != len(answers):
        raise ValueError(f"{len(rows)} golden rows but {len(answers)} answers")
    total = len(rows) if rows_in_golden_set is None else rows_in_golden_set
    base = {"rule": spec.rule(), "tolerance": spec.tolerance, "max_mismatch": spec.max_mismatch,
            "scores": spec.scores, "labels": spec.labels, "rows_in_golden_set": total, "rows_replayed": len(rows)}
    if not rows:
        return ReplayVerdict(ERROR, "the golden set has no rows to replay", **base)
    held = [name for name in spec.outputs if any(name in r.outputs for r in rows)]
    if not held:
        return ReplayVerdict(ERROR, f"the golden set records none of the declared outputs "
                                    f"({', '.join(spec.outputs)}): nothing to compare", **base)
    results = [compare(row, answer, spec) for row, answer in zip(rows, answers, strict=True)]
    by_status = {s: [r for r in results if r.status == s] for s in (MATCH, MISMATCH, REFUSED, UNANSWERED)}
    unanswered = by_status[UNANSWERED]
    reasons: dict[str, int] = {}
    for r in unanswered:
        reasons[r.note or "no answer"] = reasons.get(r.note or "no answer", 0) + 1
    compared = [r for r in results if r.status != UNANSWERED]
    bad = by_status[MISMATCH] + by_status[REFUSED]
    finite = [r.score_diff for r in compared if r.score_diff is not None]
    counts = {
        "rows_compared": len(compared), "rows_matched": len(by_status[MATCH]), "mismatches": len(bad),
        "label_mismatches": sum(1 for r in by_status[MISMATCH] if any(d in spec.labels and d not in spec.scores
                                                                       for d in r.differing)),
        "score_mismatches": sum(1 for r in by_status[MISMATCH] if any(d in spec.scores for d in r.differing)),
        "refused": len(by_status[REFUSED]), "unanswered": len(unanswered), "unanswered_reasons": reasons,
        "max_score_diff": max(finite) if finite else None,
        "mean_score_diff": sum(finite) / len(finite) if finite else None,
        "worst_rows": tuple(sorted(bad, key=lambda r: r.sort_key)[:spec.worst]),
    }
    answered = len(rows) - len(unanswered)
    if answered < spec.min_answered * len(rows) or not compared:
        common = max(reasons, key=lambda k: reasons[k]) if reasons else "no answer"
        return ReplayVerdict(ERROR, f"only {answered} of {len(rows)} rows were answered (at least "
                                    f"{spec.min_answered:.0%} needed to judge); most often: {common}", **base,
                             **counts)
    rate = len(bad) / len(compared)
    detail = (f"{counts['label_mismatches']} label(s) differ, {counts['score_mismatches']} score(s) beyond "
              f"±{spec.tolerance:g}" + (f", {counts['refused']} row(s) refused" if counts["refused"] else "")
              + (f"; largest score difference {counts['max_score_diff']:.6g}" if finite else "")
              + (f"; {len(unanswered)} row(s) unanswered, not compared" if unanswered else ""))
    if rate > spec.max_mismatch:
        reason = (f"{len(bad)} of {len(compared)} replayed rows ({rate:.1%}) differ from the outputs recorded at "
                  f"evaluation, above the {spec.max_mismatch:.2%} allowed: {detail}")
        return ReplayVerdict(FAIL, reason, **base, **counts, mismatch_rate=rate)
    reason = (f"{len(compared) - len(bad)} of {len(compared)} replayed rows match the outputs recorded at "
              f"evaluation ({rate:.1%} differ, at most {spec.max_mismatch:.2%} allowed): {detail}")
    return ReplayVerdict(PASS, reason, **base, **counts, mismatch_rate=rate)


def no_golden_set(reason: str, spec: ReplaySpec | None = None) -> ReplayVerdict:
    spec = spec or ReplaySpec()
    return ReplayVerdict(NO_GOLDEN_SET, reason, spec.rule(), spec.tolerance, spec.max_mismatch, spec.scores,
                         spec.labels)


def replay_error(reason: str, spec: ReplaySpec | None = None, rows_in_golden_set: int = 0) -> ReplayVerdict:
    spec = spec or ReplaySpec()
    return ReplayVerdict(ERROR, reason, spec.rule(), spec.tolerance, spec.max_mismatch, spec.scores, spec.labels,
                         rows_in_golden_set=rows_in_golden_set)


def describe_row(row: RowResult, limit: int = 160) -> str:
    """A worst row in one line, for an alert's description."""
    def short(values: Mapping[str, Any] | None) -> str:
        return json.dumps(values, separators=(",", ":"), default=str) if values is not None else "-"

    diff = f" (score diff {row.score_diff:.6g})" if row.score_diff is not None else ""
    text = (f"row {row.index}: recorded {short(row.recorded)}, served {short(row.served)}{diff}"
            + (f" [{row.note}]" if row.note else "") + f"; inputs {short(row.inputs)}")
    return text if len(text) <= limit else text[:limit - 1] + "…"


# -- the report -----------------------------------------------------------------------------------------
def render_report(verdict: ReplayVerdict, *, title: str) -> str:
    """The verdict as one self-contained HTML page: the outcome, every count, the rule, the worst rows."""
    e = html.escape

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return e(f"{value:.6g}")
        if isinstance(value, dict):
            return e(json.dumps(value, separators=(", ", ": "), default=str))
        return e("" if value is None else str(value))

    numbers = [("outcome", verdict.outcome), ("rows in the golden set", verdict.rows_in_golden_set),
               ("rows replayed", verdict.rows_replayed), ("rows compared", verdict.rows_compared),
               ("rows matching", verdict.rows_matched), ("mismatches", verdict.mismatches),
               ("label mismatches", verdict.label_mismatches), ("score mismatches", verdict.score_mismatches),
               ("refused (HTTP 4xx)", verdict.refused), ("unanswered", verdict.unanswered),
               ("mismatch rate", None if verdict.mismatch_rate is None else f"{verdict.mismatch_rate:.2%}"),
               ("allowed mismatch rate", f"{verdict.max_mismatch:.2%}"), ("score tolerance", verdict.tolerance),
               ("largest score difference", verdict.max_score_diff),
               ("mean score difference", verdict.mean_score_diff)]
    summary = "".join(f"<tr><th>{e(k)}</th><td>{cell(v)}</td></tr>" for k, v in numbers)
    worst = "".join(
        f"<tr><td>{r.index}</td><td>{e(r.status)}</td><td>{cell(r.score_diff)}</td>"
        f"<td>{e(', '.join(r.differing))}</td><td>{cell(r.recorded)}</td><td>{cell(r.served)}</td>"
        f"<td>{cell(r.inputs)}</td><td>{e(r.note or '')}</td></tr>" for r in verdict.worst_rows)
    worst_table = (f"<h2>Worst rows</h2><table><tr><th>row</th><th>status</th><th>score diff</th><th>differs</th>"
                   f"<th>recorded</th><th>served</th><th>inputs</th><th>note</th></tr>{worst}</table>"
                   if verdict.worst_rows else "<p>No row differs.</p>")
    reasons = "".join(f"<li>{e(k)}: {v}</li>" for k, v in verdict.unanswered_reasons.items())
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title><style>"
            "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}</style></head><body>"
            f"<h1>{e(title)}</h1><p><b>{e(verdict.outcome.upper())}</b>: {e(verdict.reason)}</p>"
            f"<table>{summary}</table><h2>Rule</h2><p>{e(verdict.rule)}</p>{worst_table}"
            + (f"<h2>Unanswered rows</h2><ul>{reasons}</ul>" if reasons else "") + "</body></html>")
