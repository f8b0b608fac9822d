"""The HTML report: self-contained, the numbers behind the verdict, everything escaped."""

from __future__ import annotations

import re

import numpy as np
import pytest

from monitors.canary import CanaryVerdict, judge_analysis, render_report
from tests.canary.builders import interval, minutes, requests

EVIL = "<script>alert('green')</script>"


@pytest.fixture
def failed() -> CanaryVerdict:
    rng = np.random.default_rng(51)
    return judge_analysis([interval(requests(rng, 900, scale=1.4), requests(rng, 8_100), k) for k in range(3)])


def test_report_carries_the_outcome_the_rule_and_the_numbers(failed: CanaryVerdict) -> None:
    page = render_report(failed)
    latency = failed.intervals[0].metric("latency")
    assert "Fail" in page and "Decision rule" in page and "Mann-Whitney" in page
    for number in (latency.p_value, latency.estimate, latency.ci_low, latency.effect_size, latency.statistic):
        assert f"{number:.4g}" in page
    assert "n canary" in page and str(latency.n_canary) in page


def test_report_escapes_names_and_reasons_so_nothing_injected_runs(failed: CanaryVerdict) -> None:
    page = render_report(failed, title=EVIL, canary_name=EVIL, baseline_name="<b>blue</b>")
    assert EVIL not in page and "<b>blue</b>" not in page
    assert "&lt;script&gt;alert(&#x27;green&#x27;)&lt;/script&gt;" in page
    assert "<script" not in page  # the page has no script at all
    assert " &lt; alpha 0.01" in page  # reasons contain "<" and are escaped too


def test_report_is_self_contained_with_inline_svg_plots(failed: CanaryVerdict) -> None:
    page = render_report(failed)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "data:image/svg+xml;base64," in page


def test_report_of_the_metrics_fallback_says_so() -> None:
    rng = np.random.default_rng(52)
    verdict = judge_analysis([interval(minutes(rng, 60), minutes(rng, 540), k) for k in range(3)])
    page = render_report(verdict)
    assert "<code>metrics</code>" in page and "per-minute P95 latency (ms)" in page
