"""Self-contained HTML report of a drift result: sortable summary, then one section per feature.

Every name and value goes through html.escape (a column called `<script>` is text, never markup);
plots are SVG inside <img> data URIs (an image cannot run script); the only script is the fixed
table sorter below, which reads no data. No external resource is referenced, so the file can be
stored in Blob Storage and opened from an alert as is. This module never computes a metric.
"""

from __future__ import annotations

import json
from typing import Any

from monitors.drift.result import DriftResult, FeatureResult
from monitors.html_report import escape as _e
from monitors.html_report import fmt as _fmt
from monitors.html_report import page, svg_img

_STYLE = """
table.sortable th{cursor:pointer;user-select:none}
table.sortable th::after{content:" \\2195";color:#999}
.status{padding:1px 6px;border-radius:3px;font-weight:600}
.drift,.type_changed,.missing_column{background:#f8d7da}
.ok,.constant{background:#d4edda}
.insufficient_data,.all_null,.new_column{background:#fff3cd}
section.feature{border-top:1px solid #ccc;margin-top:2em}
"""

_SORTER = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, index) {
    th.addEventListener('click', function () {
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var ascending = th.getAttribute('data-dir') !== 'asc';
      th.setAttribute('data-dir', ascending ? 'asc' : 'desc');
      rows.sort(function (a, b) {
        var x = a.cells[index].getAttribute('data-sort'), y = b.cells[index].getAttribute('data-sort');
        var nx = parseFloat(x), ny = parseFloat(y);
        var order = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def _cell(value: Any, sort: Any = None) -> str:
    key = value if sort is None else sort
    return f'<td data-sort="{_e("" if key is None else key)}">{_e(_fmt(value))}</td>'


def _summary_table(result: DriftResult, anchors: dict[str, str]) -> str:
    head = (
        "feature",
        "kind",
        "status",
        "drifted",
        "method",
        "value",
        "threshold",
        "n_min",
        "n_ref",
        "n_cur",
        "null rate ref",
        "null rate cur",
    )
    rows = []
    for name, f in result.features.items():
        d = f.decision
        rows.append(
            f'<tr><td data-sort="{_e(name)}"><a href="#{anchors[name]}">{_e(name)}</a></td>'
            + _cell(f.kind)
            + f'<td data-sort="{_e(f.status)}"><span class="status {_e(f.status)}">{_e(f.status)}</span></td>'
            + _cell(f.drifted, int(f.drifted))
            + _cell(d.method)
            + _cell(d.value)
            + _cell(d.threshold)
            + _cell(d.n_min)
            + _cell(f.n_ref)
            + _cell(f.n_cur)
            + _cell(f.metrics.get("null_rate_ref"))
            + _cell(f.metrics.get("null_rate_cur"))
            + "</tr>"
        )
    header = "".join(f"<th>{_e(h)}</th>" for h in head)
    return f'<table class="sortable"><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _plot(result: DriftResult, name: str) -> str:
    from monitors.drift.categorical import CategoricalProfile
    from monitors.drift.numeric import NumericProfile
    from monitors.drift.plots import categorical_svg, numeric_svg

    if result.reference is None or result.current is None:
        return ""
    ref, cur = result.reference.features.get(name), result.current.features.get(name)
    if ref is None or cur is None or not ref.count or not cur.count:
        return "<p>No distribution to plot (one side has no values).</p>"
    if isinstance(ref, NumericProfile) and isinstance(cur, NumericProfile):
        svg = numeric_svg(ref, cur)
    elif isinstance(ref, CategoricalProfile) and isinstance(cur, CategoricalProfile):
        svg = categorical_svg(ref, cur)
    else:
        return ""
    return svg_img(svg, "reference and current distributions")


def _feature_conventions(result: DriftResult, f: FeatureResult) -> str:
    """The conventions as they applied to this feature: its bins, normaliser and approximation."""
    from monitors.drift.categorical import CategoricalProfile
    from monitors.drift.numeric import NumericProfile

    ref = result.reference.features.get(f.name) if result.reference is not None else None
    if isinstance(ref, NumericProfile) and ref.count:
        deciles = ", ".join(f"{v:.4g}" for v in ref.decile_edges)
        how = f.approximation.get("method", "binned")
        return (
            f"psi and js_distance on the reference deciles [{deciles}] (edge values count in the bin "
            f"above; psi floor 1e-4; JS log base 2); wasserstein_norm divides by the reference population "
            f"std {ref.std:.4g}; ks and wasserstein {how}"
            + (f" from {f.approximation.get('fine_bins')} fine bins" if how == "binned" else " (scipy, raw)")
        )
    if isinstance(ref, CategoricalProfile):
        cur = result.current.features.get(f.name) if result.current is not None else None
        unseen = len(cur.unseen(ref)) if isinstance(cur, CategoricalProfile) else 0
        pooled = " (top-K, rest pooled)" if ref.truncated else ""
        return (
            f"{len(ref.counts)} reference categories{pooled} and {unseen} unseen ones, compared over their "
            "union; chi2 = Pearson homogeneity on the 2 x k table, no Yates correction; psi floor 1e-4; "
            "JS log base 2"
        )
    return "no metric applies (see the status)"


def _feature_section(result: DriftResult, f: FeatureResult, anchor: str) -> str:
    d = f.decision
    metrics = "".join(f"<tr><th>{_e(k)}</th>{_cell(v)}</tr>" for k, v in f.metrics.items())
    decision = "".join(
        f"<tr><th>{_e(k)}</th>{_cell(v)}</tr>"
        for k, v in (
            ("method", d.method),
            ("rule", d.rule),
            ("threshold", d.threshold),
            ("value", d.value),
            ("test", d.test),
            ("test p-value", d.p_value),
            ("BH-adjusted p", d.p_adjusted),
            ("n_min", d.n_min),
        )
    )
    sizes = (
        f"n_ref {f.n_ref} non-null values, n_cur {f.n_cur}; rows "
        f"{f.summary.get('reference', {}).get('rows', '–')} / {f.summary.get('current', {}).get('rows', '–')}"
    )
    approx = json.dumps(f.approximation, default=str) if f.approximation else "–"
    return (
        f'<section class="feature" id="{anchor}"><h2>{_e(f.name)} '
        f'<span class="status {_e(f.status)}">{_e(f.status)}</span></h2>'
        f"<p><b>Decision:</b> {'drifted' if f.drifted else 'not drifted'} — {_e(d.reason)}</p>"
        f"{_plot(result, f.name)}"
        f'<div style="display:flex;gap:2em;flex-wrap:wrap"><table><caption>metrics ({_e(f.kind)})</caption>'
        f"{metrics}</table><table><caption>decision</caption>{decision}</table></div>"
        f"<p><b>Sample sizes:</b> {_e(sizes)}</p>"
        f"<p><b>Conventions:</b> {_e(_feature_conventions(result, f))}</p>"
        f"<p><b>Approximation:</b> <code>{_e(approx)}</code></p>"
        f"<details><summary>summary statistics</summary>"
        f"<pre>{_e(json.dumps(f.summary, indent=1, default=str))}</pre></details></section>"
    )


def _conventions(conventions: dict[str, Any]) -> str:
    items = "".join(
        f"<tr><th>{_e(k)}</th><td>{_e(json.dumps(v) if isinstance(v, dict) else v)}</td></tr>"
        for k, v in conventions.items()
    )
    return f"<table>{items}</table>"


def render_report(
    result: DriftResult, *, title: str = "Drift report", reference_name: str = "", current_name: str = ""
) -> str:
    """The whole report as one HTML string (plots inline, no external resources)."""
    anchors = {name: f"feature-{i}" for i, name in enumerate(result.features)}
    ds = result.dataset
    verdict = "DRIFT" if ds.drifted else "no drift"
    statuses = ", ".join(f"{_e(k)}: {v}" for k, v in ds.statuses.items())
    sections = "".join(_feature_section(result, f, anchors[n]) for n, f in result.features.items())
    body = (
        f"<p><b>Reference:</b> {_e(reference_name or '–')} ({ds.n_rows_ref} rows) &nbsp; "
        f"<b>Current:</b> {_e(current_name or '–')} ({ds.n_rows_cur} rows)</p>"
        f"<p><b>Data set: {_e(verdict)}</b> — drift share {ds.drift_share:.3f} of {ds.n_features} judged "
        f"features ({'importance-weighted, ' if ds.weighted else ''}threshold {ds.threshold:g}); "
        f"{statuses}</p>"
        f"<h2>Summary</h2><p>Click a column header to sort.</p>{_summary_table(result, anchors)}"
        f"{sections}<h2>Conventions</h2>{_conventions(result.conventions)}"
        f"<script>{_SORTER}</script>"
    )
    return page(title, body, css=_STYLE)
