"""Self-contained HTML report of a canary verdict: the outcome, the rule in words, the series, the tests.

Every name, reason and value goes through html.escape (a deployment called `<script>` is text, never
markup); the plots are SVG inside <img> data URIs (an image cannot run script) and carry no names;
the page has no script and references no external resource, so it can be stored in Blob Storage and
opened from an alert as is. matplotlib is imported only when a plot is drawn, through its
object-oriented API (no pyplot state). This module never computes a statistic: it shows the verdict's.
"""

from __future__ import annotations

import math
from dataclasses import fields
from typing import Any

from monitors.canary.judge import CanaryVerdict, IntervalResult, MetricResult
from monitors.html_report import escape as _e
from monitors.html_report import figure_svg, page, svg_img
from monitors.html_report import fmt as _fmt

_CANARY, _BASELINE = "#DD8452", "#4C72B0"

# appended to the base: the 14-column test table needs a wider page and a smaller font
_STYLE = """
body{max-width:1300px}
table{font-size:13px}
.badge{padding:2px 8px;border-radius:3px;font-weight:600}
.Fail,.High,.Low{background:#f8d7da}
.Pass{background:#d4edda}
.Inconclusive,.NoData,.Marginal{background:#fff3cd}
td.reason{max-width:480px}
section.interval{border-top:1px solid #ccc;margin-top:1.5em}
"""


def _badge(label: str) -> str:
    return f'<span class="badge {_e(label)}">{_e(label)}</span>'


def _row(*cells: Any, head: bool = False) -> str:
    tag = "th" if head else "td"
    return "<tr>" + "".join(f"<{tag}>{_e(_fmt(c))}</{tag}>" for c in cells) + "</tr>"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.3%}"


# -- plots ---------------------------------------------------------------------------------------------


def _latency_axes(axes: Any, verdict: CanaryVerdict) -> None:
    intervals = verdict.intervals
    if verdict.source == "metrics":
        minute = 0
        for i, interval in enumerate(intervals):
            sides = ((interval.canary, _CANARY, "canary"), (interval.baseline, _BASELINE, "baseline"))
            for side, color, label in sides:
                values = side.minute_latency_ms
                axes.plot(
                    range(minute, minute + len(values)), values, marker=".", color=color,
                    label=label if i == 0 else None,
                )  # fmt: skip
            minute += max(len(interval.canary.minute_latency_ms), len(interval.baseline.minute_latency_ms))
            axes.axvline(minute - 0.5, color="#bbb", linewidth=0.8)
        axes.set_xlabel("minute since the analysis started (grey: interval ends)")
        axes.set_ylabel("per-minute percentile latency (ms)")
    else:
        x = [i + 1 for i in range(len(intervals))]
        for attr, style in (("latency_p50_ms", "--"), ("latency_p95_ms", "-")):
            for who, color in (("canary", _CANARY), ("baseline", _BASELINE)):
                y = [getattr(getattr(r, who), attr) for r in intervals]
                y = [math.nan if v is None else v for v in y]
                label = f"{who} {attr.split('_')[1]}"
                axes.plot(x, y, style, marker="o", color=color, label=label)
        axes.set_xticks(x)
        axes.set_xlabel("interval (its own requests)")
        axes.set_ylabel("request duration (ms)")
    axes.legend(frameon=False, fontsize=8)


def _errors_axes(axes: Any, verdict: CanaryVerdict) -> None:
    x = [i + 1 for i in range(len(verdict.intervals))]
    width = 0.38
    for offset, who, color in ((-width / 2, "canary", _CANARY), (width / 2, "baseline", _BASELINE)):
        rates = [getattr(r, who).error_rate for r in verdict.intervals]
        axes.bar([v + offset for v in x], [0.0 if v is None else 100 * v for v in rates], width, color=color, label=who)
    axes.set_xticks(x)
    axes.set_xlabel("interval (its own requests)")
    axes.set_ylabel("5xx rate (%)")
    axes.legend(frameon=False, fontsize=8)


def _plots(verdict: CanaryVerdict) -> str:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 3))
    latency, errors = figure.subplots(1, 2)
    _latency_axes(latency, verdict)
    _errors_axes(errors, verdict)
    return svg_img(figure_svg(figure), "canary and baseline series")


# -- tables --------------------------------------------------------------------------------------------


def _metric_rows(metrics: tuple[MetricResult, ...]) -> str:
    head = _row(
        "metric", "classification", "critical", "data", "test", "n canary", "n baseline", "statistic",
        "p-value (one-sided)", "estimate", "CI", "effect size", "thresholds", "reason", head=True,
    )  # fmt: skip
    rows = []
    for m in metrics:
        thresholds = ", ".join(f"{k} {_fmt(v)}" for k, v in m.thresholds.items())
        ci = "–" if m.ci_low is None else f"{_fmt(m.ci_low)} to {_fmt(m.ci_high)} ({m.ci_level * 100:.4g}%)"
        rows.append(
            "<tr>"
            + f"<td>{_e(m.name)}</td><td>{_badge(m.classification)}</td>"
            + "".join(
                f"<td>{_e(c)}</td>"
                for c in (
                    _fmt(m.critical),
                    m.data,
                    m.test,
                    m.n_canary,
                    m.n_baseline,
                    f"{m.statistic_name} = {_fmt(m.statistic)}",
                    _fmt(m.p_value),
                    f"{m.estimate_name} = {_fmt(m.estimate)}",
                    ci,
                    f"{m.effect_measure} = {_fmt(m.effect_size)}",
                    thresholds,
                )
            )
            + f'<td class="reason">{_e(m.reason)}</td></tr>'
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _series_table(verdict: CanaryVerdict) -> str:
    head = _row(
        "interval", "deployment", "requests", "5xx", "5xx rate", "latency points", "mean ms", "p50 ms", "p95 ms",
        head=True,
    )  # fmt: skip
    rows = []
    for r in verdict.intervals:
        for who in ("canary", "baseline"):
            s = getattr(r, who)
            cells = (s.requests, s.errors, _pct(s.error_rate), s.latency_n)
            rows.append(_row(r.index + 1, who, *cells, s.latency_mean_ms, s.latency_p50_ms, s.latency_p95_ms))
    return f"<table>{head}{''.join(rows)}</table>"


def _interval_section(r: IntervalResult) -> str:
    return (
        f'<section class="interval"><h3>Interval {r.index + 1}: {_badge(r.outcome)} score {_e(_fmt(r.score))}</h3>'
        f"<p>{_e(r.start.isoformat())} to {_e(r.end.isoformat())}; data judged from "
        f"{_e(r.window_start.isoformat())}; source <code>{_e(r.source)}</code></p>"
        f"<p><b>Why:</b> {_e(r.reason)}</p>{_metric_rows(r.metrics)}</section>"
    )


def _config_table(verdict: CanaryVerdict) -> str:
    rows = "".join(_row(f.name, getattr(verdict.config, f.name)) for f in fields(verdict.config))
    return f"<table>{_row('setting', 'value', head=True)}{rows}</table>"


def render_report(
    verdict: CanaryVerdict,
    *,
    title: str = "Canary analysis",
    canary_name: str = "canary",
    baseline_name: str = "baseline",
) -> str:
    """The whole report as one HTML string (plots inline, no script, no external resource)."""
    config = verdict.config
    decided = "–" if verdict.decided_by is None else f"interval {verdict.decided_by + 1}"
    overview = (
        _row("outcome", verdict.outcome)
        + _row("finished", verdict.finished)
        + _row("decided by", decided)
        + _row("intervals judged", f"{len(verdict.intervals)} (lifetime {config.lifetime_intervals})")
        + _row("source", verdict.source)
        + _row("canary deployment", canary_name)
        + _row("baseline deployment", baseline_name)
    )
    rule = "".join(f"<li>{_e(line)}</li>" for line in verdict.rule)
    intervals = "".join(
        _row(r.index + 1, f"{r.start.isoformat()} to {r.end.isoformat()}", r.outcome, r.score, r.reason)
        for r in verdict.intervals
    )
    body = (
        f"<p>{_badge(verdict.outcome)} <b>{_e(canary_name)}</b> against <b>{_e(baseline_name)}</b>: "
        f"{_e(verdict.reason)}</p><table>{overview}</table>"
        f"<h2>Decision rule</h2><ol>{rule}</ol>"
        f"<h2>Canary vs baseline</h2>{_plots(verdict)}{_series_table(verdict)}"
        f"<h2>Intervals</h2><table>{_row('interval', 'window', 'outcome', 'score', 'reason', head=True)}"
        f"{intervals}</table>"
        f"<h2>Test results</h2>{''.join(_interval_section(r) for r in verdict.intervals)}"
        f"<h2>Configuration</h2>{_config_table(verdict)}"
    )
    return page(title, body, css=_STYLE)
