"""Profiles on shared edges merge into the profile of the union; profiles round-trip through JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest

from monitors.drift import DatasetProfile, ProfileFormatError, build_profile, compare, evaluate
from monitors.drift.window import profile_window
from tests.drift.conftest import chunked

EXACT_FIELDS = (
    "edges",
    "decile_edges",
    "counts",
    "n_rows",
    "null_count",
    "min",
    "max",
    "categories",
    "other_count",
    "unseen_other_count",
    "truncated",
    "family",
    "kind",
)
FLOAT_FIELDS = ("offsets", "mean", "m2")


def _data(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    x = rng.normal(3, 2, n)
    x[rng.random(n) < 0.05] = np.nan
    colours = np.array(["red", "green", "blue", None], dtype=object)
    return {"x": x, "k": rng.poisson(7, n).astype(float), "c": colours[rng.integers(0, 4, n)]}


def assert_same_profile(a: DatasetProfile, b: DatasetProfile) -> None:
    """Integers, edges and extremes bit-identical; float sums equal to rounding."""
    da, db = a.to_dict(), b.to_dict()
    assert da["n_rows"] == db["n_rows"] and set(da["features"]) == set(db["features"])
    for name, fa in da["features"].items():
        fb = db["features"][name]
        for key in EXACT_FIELDS:
            if key in fa:
                assert fa[key] == fb[key], (name, key)
        for key in FLOAT_FIELDS:
            if key in fa:
                assert np.allclose(fa[key], fb[key], rtol=1e-12, atol=1e-9), (name, key)
        if fa.get("kind") == "categorical":
            assert dict(zip(fa["categories"], fa["counts"], strict=True)) == dict(
                zip(fb["categories"], fb["counts"], strict=True)
            )


def test_reference_partitions_on_one_plan_merge_into_the_union(rng: np.random.Generator) -> None:
    parts = [_data(rng, n) for n in (4_000, 2_500, 6_100)]
    union = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    plan = build_profile([union])
    a, b, c = (build_profile(chunked(p, 1_000), plan=plan) for p in parts)
    assert_same_profile(a.merged(b).merged(c), plan)


def test_merge_is_associative(rng: np.random.Generator) -> None:
    parts = [_data(rng, n) for n in (3_000, 1_000, 5_000)]
    plan = build_profile([{k: np.concatenate([p[k] for p in parts]) for k in parts[0]}])
    a, b, c = (build_profile([p], plan=plan) for p in parts)
    assert_same_profile(a.merged(b).merged(c), a.merged(b.merged(c)))


def test_window_partitions_merge_into_the_whole_window_and_the_same_verdict(rng: np.random.Generator) -> None:
    reference = build_profile([_data(rng, 20_000)])
    window = _data(rng, 9_000)
    window["x"] = window["x"] + 0.4
    whole = profile_window(reference, [window])
    halves = [profile_window(reference, [p]) for p in chunked(window, 4_500)]
    merged = halves[0].merged(halves[1], reference)
    assert_same_profile(merged, whole)
    got, want = evaluate(reference, merged).features, evaluate(reference, whole).features
    for name, feature in want.items():
        assert (got[name].status, got[name].drifted, got[name].n_cur) == (
            feature.status,
            feature.drifted,
            feature.n_cur,
        )
        for metric, value in feature.metrics.items():
            assert got[name].metrics[metric] == pytest.approx(value, rel=1e-9, abs=1e-12), (name, metric)


def test_merging_profiles_on_different_edges_is_refused(rng: np.random.Generator) -> None:
    a = build_profile([{"x": rng.normal(0, 1, 500)}])
    b = build_profile([{"x": rng.normal(0, 1, 500)}])
    with pytest.raises(ValueError, match="different bin edges"):
        a.merged(b)


def test_profile_json_round_trip_is_lossless(rng: np.random.Generator) -> None:
    profile = build_profile([_data(rng, 5_000)])
    text = profile.to_json()
    again = DatasetProfile.from_json(text)
    assert again.to_json() == text
    current = _data(rng, 3_000)
    assert compare(again, [current]).to_dict() == compare(profile, [current]).to_dict()


def test_profile_json_declares_format_and_version(rng: np.random.Generator) -> None:
    doc = json.loads(build_profile([_data(rng, 100)]).to_json())
    assert doc["format"] == "modelwatch.drift.profile" and doc["version"] == 1


def test_unknown_profile_version_is_rejected_with_a_clear_message(rng: np.random.Generator) -> None:
    doc = json.loads(build_profile([_data(rng, 100)]).to_json())
    doc["version"] = 99
    with pytest.raises(ProfileFormatError, match="version 99 is not supported"):
        DatasetProfile.from_json(json.dumps(doc), source="p.json")


def test_inconsistent_counts_are_rejected_naming_the_feature(rng: np.random.Generator) -> None:
    doc = json.loads(build_profile([_data(rng, 100)]).to_json())
    doc["features"]["x"]["counts"][3] += 1
    with pytest.raises(ProfileFormatError, match=r"'x'.*add up"):
        DatasetProfile.from_json(json.dumps(doc))


def test_non_profile_json_is_rejected() -> None:
    with pytest.raises(ProfileFormatError, match="not a drift profile"):
        DatasetProfile.from_json('{"hello": 1}')
    with pytest.raises(ProfileFormatError, match="not JSON"):
        DatasetProfile.from_json("{")


def test_window_pass_memory_does_not_grow_with_the_number_of_rows(rng: np.random.Generator) -> None:
    import tracemalloc

    import pyarrow as pa

    labels = pa.array(rng.integers(0, 3, 20_000).astype(str))
    reference = build_profile([{"x": rng.normal(0, 1, 20_000), "c": labels}])

    def peak_for(n_chunks: int) -> int:
        lazily = ({"x": rng.normal(0, 1, 20_000), "c": labels} for _ in range(n_chunks))
        tracemalloc.start()
        profile_window(reference, lazily)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    small, large = peak_for(3), peak_for(60)  # 60k rows versus 1.2M rows
    assert large < 1.5 * small
