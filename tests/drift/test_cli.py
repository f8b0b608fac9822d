"""`python -m monitors drift|profile`: JSON contract, exit codes 0 / 1 / 2, messages that say where."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from monitors.drift.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _write(path: Path, rng: np.random.Generator, n: int, shift: float = 0.0, extra: str = "") -> Path:
    lines = ["x,k,c" + extra]
    for x, k, c in zip(rng.normal(shift, 1, n), rng.poisson(4, n), rng.choice(list("abc"), n), strict=True):
        lines.append(f"{x:.6f},{k},{c}" + ("," + str(k) if extra else ""))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def files(tmp_path: Path, rng: np.random.Generator) -> dict[str, Path]:
    return {
        "ref": _write(tmp_path / "ref.csv", rng, 3_000),
        "same": _write(tmp_path / "same.csv", rng, 2_000),
        "moved": _write(tmp_path / "moved.csv", rng, 2_000, shift=1.0),
    }


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_no_drift_exits_0_with_the_json_contract(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(
        capsys, "drift", "--reference", str(files["ref"]), "--current", str(files["same"]), "--json"
    )
    doc = json.loads(out)
    assert code == 0
    assert set(doc) == {"features", "dataset", "conventions"}
    assert {"drift_share", "drifted", "n_features"} <= set(doc["dataset"])
    for feature in doc["features"].values():
        assert {"kind", "status", "drifted", "metrics", "n_ref", "n_cur"} <= set(feature)
    assert set(doc["features"]["x"]["metrics"]) >= {
        "psi",
        "js_distance",
        "wasserstein_norm",
        "ks_stat",
        "ks_pvalue",
        "null_rate_ref",
        "null_rate_cur",
    }
    assert set(doc["features"]["c"]["metrics"]) >= {
        "psi",
        "js_distance",
        "chi2_stat",
        "chi2_pvalue",
        "linf",
        "unseen_share",
        "null_rate_ref",
        "null_rate_cur",
    }


def test_drift_exits_1(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "drift", "--reference", str(files["ref"]), "--current", str(files["moved"]))
    assert code == 1 and "DRIFT" in out and "x" in out


def test_saved_profile_gives_the_same_result_as_the_raw_reference(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "ref.profile.json"
    assert _run(capsys, "profile", "--reference", str(files["ref"]), "--out", str(profile))[0] == 0
    _, from_profile, _ = _run(
        capsys, "drift", "--reference-profile", str(profile), "--current", str(files["moved"]), "--json"
    )
    _, from_raw, _ = _run(
        capsys, "drift", "--reference", str(files["ref"]), "--current", str(files["moved"]), "--json"
    )
    assert json.loads(from_profile) == json.loads(from_raw)


def test_features_and_kind_overrides_are_applied(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(
        capsys,
        "drift",
        "--reference",
        str(files["ref"]),
        "--current",
        str(files["same"]),
        "--json",
        "--features",
        "k,c",
        "--categorical",
        "k",
    )
    doc = json.loads(out)
    assert code == 0 and set(doc["features"]) == {"k", "c"} and doc["features"]["k"]["kind"] == "categorical"


def test_exact_option_reports_exact_computation(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = _run(
        capsys,
        "drift",
        "--reference",
        str(files["ref"]),
        "--current",
        str(files["moved"]),
        "--json",
        "--exact",
    )
    assert json.loads(out)["features"]["x"]["approximation"]["method"] == "exact"


def test_report_is_written(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "out.html"
    _run(
        capsys,
        "drift",
        "--reference",
        str(files["ref"]),
        "--current",
        str(files["moved"]),
        "--report",
        str(report),
    )
    assert report.read_text().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--current", "{missing}"], "missing.csv: file not found"),
        (["--current", "{same}", "--features", "x,nope"], "'nope' is not a column of the reference"),
        (["--current", "{bad}"], "bad.csv, row 700001, column 'x': 'oops' is not a number"),
        (["--current", "{same}", "--config", "{config}"], "numeric_threshold"),
        (["--current", "{same}", "--categorical", "x", "--numeric", "x"], "both --categorical and --numeric"),
    ],
)
def test_bad_input_exits_2_saying_what_and_where(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    # the bad value comes after the first 4 MB block, from which the reader inferred the column's type
    (tmp_path / "bad.csv").write_text("x,k,c\n" + "1.5,1,a\n" * 700_000 + "oops,3,c\n")
    (tmp_path / "config.json").write_text('{"numeric_threshold": -1}')
    paths = {
        "missing": tmp_path / "missing.csv",
        "bad": tmp_path / "bad.csv",
        "config": tmp_path / "config.json",
        **files,
    }
    filled = [a.format(**{k: str(v) for k, v in paths.items()}) for a in argv]
    code, out, err = _run(capsys, "drift", "--reference", str(files["ref"]), *filled)
    assert code == 2 and out == "" and message in err


def test_exact_with_a_profile_is_refused(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "p.json"
    _run(capsys, "profile", "--reference", str(files["ref"]), "--out", str(profile))
    code, _, err = _run(
        capsys, "drift", "--reference-profile", str(profile), "--current", str(files["same"]), "--exact"
    )
    assert code == 2 and "--exact needs the raw reference" in err


def test_override_that_contradicts_the_profile_is_refused(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = tmp_path / "p.json"
    _run(capsys, "profile", "--reference", str(files["ref"]), "--out", str(profile))
    code, _, err = _run(
        capsys,
        "drift",
        "--reference-profile",
        str(profile),
        "--current",
        str(files["same"]),
        "--categorical",
        "x",
    )
    assert code == 2 and "rebuild it with `python -m monitors profile --categorical x`" in err


def test_text_where_the_reference_has_numbers_is_a_type_change_not_a_crash(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "text.csv").write_text("x,k,c\nlow,1,a\nhigh,2,b\n")
    code, out, err = _run(
        capsys, "drift", "--reference", str(files["ref"]), "--current", str(tmp_path / "text.csv"), "--json"
    )
    assert code == 0 and json.loads(out)["features"]["x"]["status"] == "type_changed"
    assert "warning: x: type_changed" in err and "text.csv row 1" in err


def test_schema_changes_are_warned_on_stderr(
    files: dict[str, Path], tmp_path: Path, rng: np.random.Generator, capsys: pytest.CaptureFixture[str]
) -> None:
    current = _write(tmp_path / "wider.csv", rng, 1_000, extra=",added")
    code, _, err = _run(capsys, "drift", "--reference", str(files["ref"]), "--current", str(current))
    assert code == 0 and "warning: added: new_column" in err


def test_module_entry_point_runs_and_returns_the_exit_code(files: dict[str, Path]) -> None:
    command = [
        sys.executable,
        "-m",
        "monitors",
        "drift",
        "--reference",
        str(files["ref"]),
        "--current",
        str(files["moved"]),
        "--json",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and json.loads(done.stdout)["dataset"]["drifted"] is True
