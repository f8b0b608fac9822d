"""The HTML report: one self-contained file, sortable summary, plots per feature, everything escaped."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from monitors.drift import DriftResult, build_profile, compare, render_report

ROOT = Path(__file__).resolve().parents[2]
EVIL_COLUMN = "<script>alert('column')</script>"
EVIL_CATEGORY = '<img src=x onerror="alert(1)">'


@pytest.fixture
def result(rng: np.random.Generator) -> DriftResult:
    n = 3_000
    cats = np.array(["a", "b", EVIL_CATEGORY], dtype=object)
    reference = build_profile(
        [
            {
                EVIL_COLUMN: rng.normal(0, 1, n),
                "c": cats[rng.integers(0, 3, n)],
                "gone": rng.normal(0, 1, n),
            }
        ]
    )
    current = {
        EVIL_COLUMN: rng.normal(0.7, 1, n),
        "c": cats[rng.integers(0, 2, n)],
        "new": rng.normal(0, 1, n),
    }
    return compare(reference, [current])


def test_report_is_self_contained(result: DriftResult) -> None:
    html = render_report(result)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html and "@import" not in html


def test_names_and_values_are_escaped_so_nothing_injected_runs(result: DriftResult) -> None:
    html = render_report(result, title="<b>t</b>", reference_name="<i>ref</i>")
    assert EVIL_COLUMN not in html and EVIL_CATEGORY not in html and "<b>t</b>" not in html
    assert "&lt;script&gt;alert(&#x27;column&#x27;)&lt;/script&gt;" in html
    assert html.count("<script>") == 1  # the fixed table sorter, nothing else


def test_summary_table_is_sortable_and_lists_every_feature(result: DriftResult) -> None:
    html = render_report(result)
    table = html[html.index('<table class="sortable">') : html.index("</table>")]
    assert table.count("<tr>") == 1 + len(result.features)
    assert "data-sort=" in table and "addEventListener('click'" in html


def test_each_feature_has_a_section_with_decision_sizes_and_plots(result: DriftResult) -> None:
    html = render_report(result)
    sections = html.split('<section class="feature"')[1:]
    assert len(sections) == len(result.features)
    for section, feature in zip(sections, result.features.values(), strict=True):
        assert feature.status in section and "Decision:" in section and "Sample sizes:" in section
    plots = re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(plots) == 2  # the numeric and the categorical feature; missing / new columns have none
    for encoded in plots:
        svg = base64.b64decode(encoded).decode()
        assert "<svg" in svg and "<script" not in svg


def test_conventions_are_in_the_report(result: DriftResult) -> None:
    html = render_report(result)
    assert "<h2>Conventions</h2>" in html and "log base 2" in html and "Benjamini-Hochberg" in html


def test_importing_the_engine_loads_no_heavy_library() -> None:
    code = (
        "import sys, monitors.drift, monitors.drift.cli, monitors.__main__; "
        "heavy = ('numpy', 'scipy', 'pyarrow', 'matplotlib', 'pydantic'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]"


def test_matplotlib_is_imported_only_when_a_report_is_drawn() -> None:
    code = "import sys, monitors.drift.report; print('matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False"
