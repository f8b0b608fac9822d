"""Calibration of the drift decision rules: false alarms, withheld windows and power, per window size.

For every window size and every rule (`DriftConfig.rule`: calibrated, azureml) this simulates
feature-windows through the real engine (build_profile, profile_window, evaluate) and counts:

  false alarms   share of feature-windows judged `drift` when nothing drifted (8 features per window,
                 so Benjamini-Hochberg spreads alpha over 8 tests)
  ... alone      the same windows decided as if each feature were the only one (no BH help: the
                 raw p-value against alpha), the worst case for a one-feature model
  withheld       share of those no-drift feature-windows judged `insufficient_data`
  power          share of drifted feature-windows judged `drift`: a 0.2-sigma mean shift (numeric) or a
                 20% re-weighting of the categories (categorical)

Data: 8 features, 5 numeric (normal, lognormal(0, 0.75), Poisson(5) integers with ties, Student-t(4),
a bimodal normal mixture) and 3 categorical (3, 10 and 50 Zipf-weighted levels). The reference has
--n-ref rows and is drawn again every 25 windows, so the rates average over references instead of
describing one draw. A no-drift window is a fresh sample of the same distributions. A drift window
moves exactly one feature (in turn), so Benjamini-Hochberg sees one signal among 7 nulls, its
hardest case: a numeric feature gets + 0.2 population sd; a categorical one has the share of every
other category multiplied by 1.2 and of the rest by 0.8, then renormalised. Both rules judge the same
windows. Seeded: the same arguments print the same table.

Run:  .venv/bin/python bench/drift_calibration.py [--sizes 200,500,1000,2000,5000,10000,100000]
      [--reps 300] [--n-ref 10000] [--seed 2026] [--by-feature]   (~3.5 minutes at the defaults)
Goal (issue 10): at most 1% false alarms at n = 1,000 and 5,000 with at most 5% withheld; at least
95% power for both drifts at n = 2,000. No rate is asserted here; tests/drift/test_calibration.py
checks a small seeded version in CI. This script only prints.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitors.drift import DriftConfig, FeatureResult, build_profile
from monitors.drift.conventions import RULES
from monitors.drift.decisions import calibrated_drifted
from monitors.drift.engine import evaluate
from monitors.drift.window import profile_window

SIZES = (200, 500, 1_000, 2_000, 5_000, 10_000, 100_000)
REFERENCE_EVERY = 25  # windows per reference draw
LARGE = 50_000  # windows this large get a third of the repetitions (each one costs ~0.1 s)
SHIFT_SD = 0.2
REWEIGHT = 0.2
BIMODAL_SD = math.sqrt(0.3 * (0.25 + 4.0) + 0.7 * (1.0 + 9.0) - 1.5**2)  # 0.3 N(-2, .5) + 0.7 N(3, 1)
LOGNORMAL_SD = math.sqrt((math.exp(0.75**2) - 1) * math.exp(0.75**2))

# name -> (draw(rng, n), population sd)
NUMERIC = {
    "normal": (lambda rng, n: rng.normal(0.0, 1.0, n), 1.0),
    "lognormal": (lambda rng, n: rng.lognormal(0.0, 0.75, n), LOGNORMAL_SD),
    "poisson": (lambda rng, n: rng.poisson(5, n).astype(np.float64), math.sqrt(5)),
    "t4": (lambda rng, n: rng.standard_t(4, n), math.sqrt(2)),
    "bimodal": (
        lambda rng, n: np.where(rng.random(n) < 0.3, rng.normal(-2.0, 0.5, n), rng.normal(3.0, 1.0, n)),
        BIMODAL_SD,
    ),
}
CATEGORICAL = {"cat3": 3, "cat10": 10, "cat50": 50}
FEATURES = (*NUMERIC, *CATEGORICAL)


def zipf(levels: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, levels + 1)
    return weights / weights.sum()


def reweighted(p: np.ndarray) -> np.ndarray:
    """Every other category's share x (1 + REWEIGHT), the others x (1 - REWEIGHT), renormalised."""
    factors = np.where(np.arange(p.size) % 2 == 0, 1 + REWEIGHT, 1 - REWEIGHT)
    return p * factors / (p * factors).sum()


def draw(rng: np.random.Generator, n: int, drifted: str | None = None) -> dict[str, np.ndarray]:
    columns: dict[str, np.ndarray] = {}
    for name, (sample, sd) in NUMERIC.items():
        values = sample(rng, n)
        columns[name] = values + SHIFT_SD * sd if name == drifted else values
    for name, levels in CATEGORICAL.items():
        p = reweighted(zipf(levels)) if name == drifted else zipf(levels)
        labels = np.array([f"{name}_{i}" for i in range(levels)], dtype=object)
        columns[name] = labels[rng.choice(levels, size=n, p=p)]
    return columns


def drifted_alone(feature: FeatureResult, alpha: float) -> bool:
    """The verdict had the feature been the only one tested (BH over one test is the raw p-value)."""
    d = feature.decision
    if feature.status not in ("ok", "drift") or d.p_value is None:
        return feature.status == "drift"
    if d.method == d.test:
        return d.p_value <= alpha
    return calibrated_drifted(float(d.value), float(d.threshold), d.p_value, alpha)  # type: ignore[arg-type]


def simulate(n: int, reps: int, n_ref: int, rng: np.random.Generator) -> dict[str, Counter[str]]:
    """Counts per rule of (scenario, outcome) over `reps` no-drift and `reps` drift windows of size n."""
    configs = {rule: DriftConfig(rule=rule) for rule in RULES}
    counts: dict[str, Counter[str]] = {rule: Counter() for rule in RULES}
    reference = None
    for rep in range(2 * reps):
        if rep % REFERENCE_EVERY == 0:
            reference = build_profile([draw(rng, n_ref)])
        assert reference is not None
        drifted = None if rep < reps else FEATURES[rep % len(FEATURES)]
        window = profile_window(reference, [draw(rng, n, drifted)])
        for rule, config in configs.items():
            for name, feature in evaluate(reference, window, config).features.items():
                if drifted is None:
                    counts[rule]["null"] += 1
                    counts[rule][f"null:{feature.status}"] += 1
                    counts[rule]["null:alone"] += drifted_alone(feature, config.fdr_alpha)
                elif name == drifted:
                    scenario = "shift" if name in NUMERIC else "reweight"
                    for key in (scenario, name):
                        counts[rule][key] += 1
                        counts[rule][f"{key}:{feature.status}"] += 1
    return counts


def _rate(part: int, whole: int, digits: int = 1) -> str:
    return f"{100 * part / whole:.{digits}f}%" if whole else "-"


def table(results: dict[int, dict[str, Counter[str]]]) -> str:
    lines = [
        "| n | rule | false alarms | ... alone | withheld | power: 0.2-sigma shift | power: 20% re-weighting |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for n, by_rule in results.items():
        for rule, c in by_rule.items():
            lines.append(
                f"| {n:,} | {rule} | {_rate(c['null:drift'], c['null'], 2)} "
                f"| {_rate(c['null:alone'], c['null'], 2)} | {_rate(c['null:insufficient_data'], c['null'])} "
                f"| {_rate(c['shift:drift'], c['shift'])} | {_rate(c['reweight:drift'], c['reweight'])} |"
            )
    return "\n".join(lines)


def feature_table(results: dict[int, dict[str, Counter[str]]]) -> str:
    """Power per drifted feature (detected / drifted windows)."""
    lines = [f"| n | rule | {' | '.join(FEATURES)} |", "|---:|---|" + "---:|" * len(FEATURES)]
    for n, by_rule in results.items():
        for rule, c in by_rule.items():
            cells = " | ".join(f"{c[f'{name}:drift']}/{c[name]}" for name in FEATURES)
            lines.append(f"| {n:,} | {rule} | {cells} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--reps", type=int, default=300, help="no-drift and drift windows per size")
    parser.add_argument("--n-ref", type=int, default=10_000, help="reference rows")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--by-feature", action="store_true", help="also print the power per feature")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    results: dict[int, dict[str, Counter[str]]] = {}
    started = time.perf_counter()
    for n in (int(s) for s in args.sizes.split(",")):
        reps = args.reps if n < LARGE else max(args.reps // 3, 1)
        results[n] = simulate(n, reps, args.n_ref, rng)
        c = next(iter(results[n].values()))
        print(
            f"n={n:,}: {c['null']} no-drift feature-windows, {c['shift']} shifted, {c['reweight']} "
            f"re-weighted ({time.perf_counter() - started:.0f} s)",
            file=sys.stderr,
        )
    print(table(results))
    if args.by_feature:
        print()
        print(feature_table(results))


if __name__ == "__main__":
    main()
