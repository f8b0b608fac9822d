"""Reference-vs-current distribution plots for the HTML report, drawn with matplotlib from profiles.

matplotlib is imported inside the functions (never at import time) and used through its
object-oriented API with the SVG canvas, so no global backend or pyplot state is touched. Plots
carry no feature names (those live in the escaped HTML) and are returned as SVG bytes for an <img>
data URI, which cannot run script. This module never computes a metric.
"""

from __future__ import annotations

import numpy as np

from monitors.drift.categorical import CategoricalProfile
from monitors.drift.metrics import category_table
from monitors.drift.numeric import NumericProfile
from monitors.html_report import figure_svg

_REF, _CUR = "#4C72B0", "#DD8452"
_DISPLAY_BINS = 50
_TOP_CATEGORIES = 20


def _cdf_points(profile: NumericProfile) -> tuple[np.ndarray, np.ndarray]:
    """(x, F(x)) at the edges, extended to the profile's own min and max; F linear inside a bin."""
    below = np.cumsum(profile.counts)[:-1] / profile.count
    x, f = profile.edges, below
    if profile.min is not None and profile.min < x[0]:
        x, f = np.concatenate(([profile.min], x)), np.concatenate(([0.0], f))
    if profile.max is not None and profile.max >= x[-1]:
        x, f = np.concatenate((x, [np.nextafter(profile.max, np.inf)])), np.concatenate((f, [1.0]))
    return x, f


def _quantile(points: tuple[np.ndarray, np.ndarray], q: float) -> float:
    x, f = points
    return float(np.interp(q, f, x))


def numeric_svg(ref: NumericProfile, cur: NumericProfile) -> bytes:
    from matplotlib.figure import Figure

    ref_pts, cur_pts = _cdf_points(ref), _cdf_points(cur)
    low = min(_quantile(ref_pts, 0.001), _quantile(cur_pts, 0.001))
    high = max(_quantile(ref_pts, 0.999), _quantile(cur_pts, 0.999))
    if not high > low:
        low, high = low - 0.5, high + 0.5
    display = np.linspace(low, high, _DISPLAY_BINS + 1)
    figure = Figure(figsize=(9, 2.8))
    hist, ecdf = figure.subplots(1, 2)
    for points, color, label in ((ref_pts, _REF, "reference"), (cur_pts, _CUR, "current")):
        mass = np.diff(np.interp(display, points[0], points[1], left=0.0, right=1.0))
        hist.stairs(mass, display, color=color, label=label, linewidth=1.6)
        ecdf.plot(points[0], points[1], color=color, label=label, linewidth=1.4, drawstyle="default")
    hist.set_xlabel("value (50 equal-width bins, 0.1-99.9% range)")
    hist.set_ylabel("share of values")
    ecdf.set_xlabel("value")
    ecdf.set_ylabel("cumulative share")
    ecdf.set_xlim(low, high)
    hist.legend(frameon=False, fontsize=8)
    return figure_svg(figure)


def categorical_svg(ref: CategoricalProfile, cur: CategoricalProfile) -> bytes:
    from matplotlib.figure import Figure

    names, p, q = category_table(ref, cur)
    p, q = p / max(p.sum(), 1.0), q / max(q.sum(), 1.0)
    order = np.argsort(-np.maximum(p, q), kind="stable")
    shown = order[:_TOP_CATEGORIES]
    unseen = set(cur.unseen(ref))
    labels = [
        (names[i] if len(names[i]) <= 30 else names[i][:29] + "…")
        + (" (unseen)" if names[i] in unseen else "")
        for i in shown
    ]
    p_shown, q_shown = p[shown], q[shown]
    if order.size > _TOP_CATEGORIES:
        labels.append(f"({order.size - _TOP_CATEGORIES} more)")
        p_shown = np.append(p_shown, p[order[_TOP_CATEGORIES:]].sum())
        q_shown = np.append(q_shown, q[order[_TOP_CATEGORIES:]].sum())
    figure = Figure(figsize=(9, 0.6 + 0.28 * len(labels)))
    axes = figure.subplots()
    y = np.arange(len(labels))
    axes.barh(y - 0.2, p_shown, height=0.4, color=_REF, label="reference")
    axes.barh(y + 0.2, q_shown, height=0.4, color=_CUR, label="current")
    axes.set_yticks(y, labels, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("share of values")
    axes.legend(frameon=False, fontsize=8)
    return figure_svg(figure)

