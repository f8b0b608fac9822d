"""Self-contained HTML report of an SLO judgement: the numbers per objective, then the latency P95 series
and the error-rate series against the objectives.

The plots are drawn from the judgement's own per-minute data (the six hours the judge was given): per-minute
P95 and the judged p95 of the trailing latency window against the latency objective; the error rate over each burn
alert's long and short windows against the error-rate objective and the burn thresholds. matplotlib is
imported inside the functions (never at import time), used through its object-oriented API with the SVG
canvas (no pyplot state), and the SVG goes in an <img> data URI, which cannot run script. Every name and
value goes through html.escape; no external resource is referenced, so the file can be stored in Blob
Storage and opened from an alert as is. This module never decides anything: the judge did.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from monitors.html_report import escape as _e
from monitors.html_report import figure_svg, page, svg_img
from monitors.slo import P95, BurnResult, SloJudgement, pooled_quantile

_STYLE = """
.status{padding:1px 6px;border-radius:3px;font-weight:600}
.alert{background:#f8d7da}.ok{background:#d4edda}.insufficient_data{background:#fff3cd}
"""
_P95, _LONG, _SHORT = "#4C72B0", "#DD8452", "#55A868"
_OBJECTIVE, _THRESHOLD = "#2CA02C", "#C44E52"


def _num(value: float | None, unit: str = "", digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}g}{unit}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.3g}%"


def render_slo_report(judgement: SloJudgement, *, endpoint: str | None = None, deployment: str | None = None,
                      title: str | None = None) -> str:
    """The whole report as one HTML string."""
    where = "/".join(p for p in (endpoint, deployment) if p) or "deployment"
    heading = title or f"SLO report: {where}"
    objectives = judgement.objectives
    parts = [
        f"<p><span class='status {_e(judgement.status)}'>{_e(judgement.status)}</span> at "
        f"{_e(judgement.now.isoformat())} (windows end {_e(judgement.end.isoformat())})</p>",
        f"<p>{_e(judgement.summary)}</p>",
        "<h2>Objectives</h2><table><tr><th>objective</th><th>value</th><th>from</th></tr>",
        f"<tr><td>latency p95</td><td>{_e(_num(objectives.latency_p95_ms, ' ms'))}</td>"
        f"<td>{_e(objectives.sources.get('latency_p95_ms', ''))}</td></tr>",
        f"<tr><td>error rate (1 - SLO target)</td><td>{_e(_pct(objectives.error_rate))}</td>"
        f"<td>{_e(objectives.sources.get('error_rate', ''))}</td></tr></table>",
        _latency_table(judgement),
        _burn_table(judgement.burns),
        "<h2>Latency</h2>",
        svg_img(latency_svg(judgement), "per-minute P95 latency and its window estimate against the objective"),
        "<h2>Errors (5xx)</h2>",
        svg_img(errors_svg(judgement), "error rate over the burn windows against the objective and thresholds"),
        "<h2>Conventions</h2><ul>",
        *(f"<li><b>{_e(k)}</b>: {_e(v)}</li>" for k, v in judgement.evidence()["conventions"].items()),
        "</ul>",
    ]
    return page(heading, "\n".join(parts), css=_STYLE)


def _latency_table(judgement: SloJudgement) -> str:
    lat = judgement.latency
    return (
        "<h2>Latency objective</h2><table><tr><th>status</th><th>observed p95</th><th>objective</th>"
        "<th>requests slower than the objective</th><th>window</th><th>requests</th><th>minutes with a value</th>"
        "<th>median / max minute p95</th>"
        "<th>min requests</th></tr>"
        f"<tr><td><span class='status {_e(lat.status)}'>{_e(lat.status)}</span></td>"
        f"<td>{_e(_num(lat.observed_p95_ms, ' ms'))}</td><td>{_e(_num(lat.objective_ms, ' ms'))}</td>"
        f"<td>{_e(_pct(lat.share_slower))} (alert above {_e(_pct(1 - P95))})</td>"
        f"<td>{_e(lat.window_start.isoformat())} – {_e(lat.window_end.isoformat())}</td>"
        f"<td>{lat.requests}</td><td>{lat.minutes_with_value}</td>"
        f"<td>{_e(_num(lat.median_minute_p95_ms, ' ms'))} / {_e(_num(lat.max_minute_p95_ms, ' ms'))}</td>"
        f"<td>{lat.min_requests}</td></tr></table>"
    )


def _burn_table(burns: tuple[BurnResult, ...]) -> str:
    rows = []
    for b in burns:
        for label, w in (("long", b.long), ("short", b.short)):
            rows.append(
                f"<tr><td>{_e(b.alert.name)} ({_e(b.alert.severity)})</td>"
                f"<td><span class='status {_e(b.status)}'>{_e(b.status)}</span></td><td>{label}</td>"
                f"<td>{_e(w.start.isoformat())} – {_e(w.end.isoformat())}</td><td>{w.requests}</td><td>{w.errors}</td>"
                f"<td>{_e(_pct(w.error_rate))}</td><td>{_e(_num(w.burn_rate, 'x'))}</td>"
                f"<td>{_e(_num(b.alert.burn_rate, 'x'))} ({_e(_pct(b.threshold_error_rate))})</td>"
                f"<td>{b.min_requests if label == 'long' else 1}</td></tr>"
            )
    spent = "; ".join(f"{b.alert.name}: {_pct(b.budget_spent_in_long_window)} of the budget in its long window"
                      for b in burns)
    return (
        "<h2>Error budget burn</h2><table><tr><th>alert</th><th>status</th><th>window</th><th>span</th>"
        "<th>requests</th><th>5xx</th><th>error rate</th><th>burn rate</th><th>threshold</th>"
        "<th>min requests</th></tr>" + "".join(rows) + f"</table><p>{_e(spent)}</p>"
    )


def _grid(judgement: SloJudgement) -> list[datetime]:
    start = judgement.end - judgement.policy.lookback
    steps = int(judgement.policy.lookback / timedelta(minutes=1))
    return [start + timedelta(minutes=i) for i in range(steps)]


def trailing_error_rate(judgement: SloJudgement, span: timedelta) -> list[float | None]:
    """Error rate over the `span` ending after each minute of the grid (None without requests)."""
    by_minute = {m.at: m for m in judgement.minutes}
    grid = _grid(judgement)
    width = int(span / timedelta(minutes=1))
    requests = [by_minute[t].requests if t in by_minute else 0 for t in grid]
    errors = [by_minute[t].errors if t in by_minute else 0 for t in grid]
    out: list[float | None] = []
    for i in range(len(grid)):
        n, k = sum(requests[max(0, i - width + 1): i + 1]), sum(errors[max(0, i - width + 1): i + 1])
        out.append(k / n if n else None)
    return out


def trailing_p95(judgement: SloJudgement) -> list[float | None]:
    """The judge's p95 (pooled over the latency window) for the window ending after each minute of the grid."""
    window = judgement.policy.latency_window
    minutes = judgement.minutes
    return [pooled_quantile([m for m in minutes if t - window < m.at <= t], P95) for t in _grid(judgement)]


def latency_svg(judgement: SloJudgement) -> bytes:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 3.2))
    axes = figure.subplots()
    valued = [m for m in judgement.minutes if m.p95 is not None]
    axes.scatter([m.at for m in valued], [m.p95 for m in valued], s=6, color=_P95, alpha=0.45,
                 label="per-minute P95 (Azure)")
    window = int(judgement.policy.latency_window / timedelta(minutes=1))
    axes.plot(_grid(judgement), _nan(trailing_p95(judgement)), color=_P95, linewidth=1.6,
              label=f"p95 of the trailing {window} min (as judged)")
    axes.axhline(judgement.objectives.latency_p95_ms, color=_OBJECTIVE, linestyle="--", linewidth=1.4,
                 label=f"objective {judgement.objectives.latency_p95_ms:g} ms")
    axes.axvspan(judgement.latency.window_start, judgement.latency.window_end, color="#999", alpha=0.12,
                 label="judged window")
    axes.set_ylabel("ms")
    axes.set_ylim(bottom=0)
    axes.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _time_axis(axes)
    return figure_svg(figure)


def errors_svg(judgement: SloJudgement) -> bytes:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 3.2))
    axes = figure.subplots()
    grid = _grid(judgement)
    spans = sorted({b.alert.long for b in judgement.burns} | {b.alert.short for b in judgement.burns})
    palette = [_SHORT, _LONG, "#8172B3", "#937860", "#DA8BC3"]
    for i, span in enumerate(spans):
        rates = trailing_error_rate(judgement, span)
        minutes = int(span / timedelta(minutes=1))
        label = f"trailing {minutes // 60} h" if minutes % 60 == 0 else f"trailing {minutes} min"
        axes.plot(grid, _nan([None if r is None else 100 * r for r in rates]), color=palette[i % len(palette)],
                  linewidth=1.3, label=label)
    objective = judgement.objectives.error_rate
    axes.axhline(100 * objective, color=_OBJECTIVE, linestyle="--", linewidth=1.4,
                 label=f"objective {100 * objective:.3g}%")
    for b, style in zip(judgement.burns, (":", "-.", "--", ":"), strict=False):
        axes.axhline(100 * b.threshold_error_rate, color=_THRESHOLD, linestyle=style, linewidth=1.2,
                     label=f"{b.alert.name} threshold {b.alert.burn_rate:g}x = {100 * b.threshold_error_rate:.3g}%")
    # linear up to the objective, logarithmic above: 0, the objective, both thresholds and a 40% outage all show
    axes.set_yscale("symlog", linthresh=100 * objective)
    axes.set_ylabel("5xx share of requests (%)")
    axes.set_ylim(bottom=0)
    axes.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _time_axis(axes)
    return figure_svg(figure)


def _nan(values: list[float | None]) -> list[float]:
    return [float("nan") if v is None else v for v in values]


def _time_axis(axes: Any) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    axes.set_xlabel("UTC")
