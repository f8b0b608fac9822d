"""The SLO report: one self-contained HTML file with the numbers per objective and the latency and error
series plotted against the objectives; every name escaped."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta

import pytest

from monitors.slo import Minute, Objectives, SloJudgement, judge
from monitors.slo_report import render_slo_report, trailing_error_rate

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
EVIL = "<script>alert('dep')</script>"


@pytest.fixture
def judgement() -> SloJudgement:
    """Six healthy hours, then the last 20 minutes slow and failing 20% of requests."""
    minutes = []
    for i in range(360):
        bad = i >= 340
        minutes.append(Minute(NOW - timedelta(minutes=360 - i), 100, 20 if bad else 0, {0.95: 450.0 if bad else 90.0}))
    return judge(minutes, Objectives(200.0, 0.001, {"latency_p95_ms": "tag modelwatch.slo.latency_p95_ms"}), NOW)


def test_report_plots_the_latency_and_the_error_series(judgement: SloJudgement) -> None:
    html = render_slo_report(judgement, endpoint="credit-ep", deployment="green")
    images = re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", html)
    assert len(images) == 2
    latency, errors = (base64.b64decode(i).decode() for i in images)
    assert "objective 200 ms" in latency and "trailing 10 min" in latency
    assert "objective 0.1%" in errors and "14.4x" in errors and "6x" in errors


def test_report_states_every_objective_with_its_numbers(judgement: SloJudgement) -> None:
    html = render_slo_report(judgement, endpoint="credit-ep", deployment="green")
    assert "SLO report: credit-ep/green" in html
    assert "450 ms" in html and "200 ms" in html  # observed p95 vs objective
    assert "tag modelwatch.slo.latency_p95_ms" in html
    assert "fast_burn (Sev1)" in html and "slow_burn (Sev2)" in html
    assert "20%" in html  # the 5 min error rate


def test_report_is_self_contained_and_escapes_names(judgement: SloJudgement) -> None:
    html = render_slo_report(judgement, endpoint="credit-ep", deployment=EVIL)
    assert EVIL not in html and "&lt;script&gt;" in html
    assert "<script" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)


def test_trailing_error_rate_follows_the_window(judgement: SloJudgement) -> None:
    rates = trailing_error_rate(judgement, timedelta(minutes=5))
    assert rates[-1] == pytest.approx(0.2)
    assert rates[-21] == 0.0  # the minute before the errors began
