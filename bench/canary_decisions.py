"""Canary judge decisions on simulated canaries: false fails when healthy, detection of regressions.

Simulates a canary at 60 requests a minute next to a baseline with 9x its traffic (a 90/10 split),
three 5-minute intervals per analysis, request durations lognormal (median 80 ms, sigma 0.5, rounded
to whole ms as the traffic log's RequestDurationMs is) and 5xx as independent Bernoulli draws. Each
scenario runs `--trials` analyses through `judge_analysis` with the default CanaryConfig, from two
sources built from the same simulated requests:

  requests  request-level data: every duration, 5xx and request counts (the traffic log)
  metrics   the fallback: per-minute P95 latency, per-minute requests and 5xx (Azure Monitor)

Scenarios (canary only; the baseline is always healthy):
  healthy        same latency and error distributions as the baseline        -> count Fail (goal 0)
  latency +25%   every request 25% slower (p50, p95 and mean all x1.25)       -> share Fail (goal >= 95%)
  latency +50%   every request 50% slower
  p95 +25% tail  only the tail: sigma raised so p95 is x1.25, median unchanged (not a goal; reported)
  errors +1 pp   5xx rate 1 percentage point above the baseline's

Error scenarios run at each baseline 5xx rate in --error-rates (default 0.1%, 0.5%, 1%): a +1 pp
rise is a 11x, 3x or 2x rate ratio, and with ~900 canary requests in 15 minutes the evidence differs
accordingly. "Fail within 3 intervals" = the analysis outcome is Fail (it stops at the first failed
interval). Deterministic for a given --seed. No timing is asserted; this script only prints.

Run:  .venv/bin/python bench/canary_decisions.py [--trials 200] [--seed 9] [--only healthy,"errors +1 pp"]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitors.canary import CanaryConfig, IntervalData, MinuteMetrics, RequestWindow, judge_analysis

MEDIAN_MS, SIGMA = 80.0, 0.5
MINUTES, INTERVALS = 5, 3
START = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
Z95 = 1.6448536269514722


@dataclass(frozen=True)
class Scenario:
    name: str
    scale: float = 1.0  # every canary duration multiplied by this
    sigma: float = SIGMA  # canary lognormal sigma (a tail-only regression raises it)
    error_rise: float = 0.0  # added to the canary's 5xx rate
    goal: str = ""


def _scenarios() -> list[Scenario]:
    tail_sigma = SIGMA + math.log(1.25) / Z95  # p95 = median * exp(1.645 sigma): x1.25 with the same median
    return [
        Scenario("healthy", goal="0 Fail"),
        Scenario("latency +25%", scale=1.25, goal=">= 95% Fail"),
        Scenario("latency +50%", scale=1.5, goal=">= 95% Fail"),
        Scenario("p95 +25% tail", sigma=tail_sigma, goal="(reported)"),
        Scenario("errors +1 pp", error_rise=0.01, goal=">= 95% Fail"),
    ]


def _minute(rng: np.random.Generator, rpm: float, sigma: float, scale: float, error_rate: float):
    n = int(rng.poisson(rpm))
    durations = np.round(scale * rng.lognormal(math.log(MEDIAN_MS), sigma, n))
    return durations, n, int(rng.binomial(n, error_rate))


def _side(rng, rpm, sigma, scale, error_rate) -> tuple[RequestWindow, MinuteMetrics]:
    """One deployment over one interval, as both sources (built from the same requests)."""
    minutes = [_minute(rng, rpm, sigma, scale, error_rate) for _ in range(MINUTES)]
    durations = np.concatenate([d for d, _, _ in minutes])
    requests = sum(n for _, n, _ in minutes)
    errors = sum(e for _, _, e in minutes)
    p95 = [float(np.percentile(d, 95)) if d.size else math.nan for d, _, _ in minutes]
    per_minute = MinuteMetrics(p95, [n for _, n, _ in minutes], [e for _, _, e in minutes], "P95")
    return RequestWindow(durations, requests, errors), per_minute


def _analysis(rng, scenario: Scenario, base_rate: float, canary_rpm: float, baseline_rpm: float):
    by_source: dict[str, list[IntervalData]] = {"requests": [], "metrics": []}
    for k in range(INTERVALS):
        start = START + timedelta(minutes=MINUTES * k)
        end = start + timedelta(minutes=MINUTES)
        canary = _side(rng, canary_rpm, scenario.sigma, scenario.scale, base_rate + scenario.error_rise)
        baseline = _side(rng, baseline_rpm, SIGMA, 1.0, base_rate)
        by_source["requests"].append(IntervalData(start, end, canary[0], baseline[0]))
        by_source["metrics"].append(IntervalData(start, end, canary[1], baseline[1]))
    return by_source


def _run(scenario, base_rate, args, config, seed):
    rng = np.random.default_rng(seed)
    outcomes = {"requests": Counter(), "metrics": Counter()}
    decided_at = {"requests": [], "metrics": []}
    seconds = 0.0
    for _ in range(args.trials):
        for source, intervals in _analysis(rng, scenario, base_rate, args.canary_rpm, args.baseline_rpm).items():
            began = time.perf_counter()
            verdict = judge_analysis(intervals, config)
            seconds += time.perf_counter() - began
            outcomes[source][verdict.outcome] += 1
            if verdict.outcome == "Fail":
                decided_at[source].append(verdict.decided_by + 1)
    return outcomes, decided_at, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--canary-rpm", type=float, default=60.0)
    parser.add_argument("--baseline-rpm", type=float, default=540.0)
    parser.add_argument("--error-rates", default="0.001,0.005,0.01", help="baseline 5xx rates (fractions)")
    parser.add_argument("--only", default="", help="comma-separated scenario names (default: all)")
    args = parser.parse_args()
    config = CanaryConfig()
    rates = [float(r) for r in args.error_rates.split(",")]
    print(
        f"{args.trials} analyses per row; canary {args.canary_rpm:g} req/min, baseline {args.baseline_rpm:g} req/min; "
        f"{INTERVALS} x {MINUTES}-minute intervals ({config.window} window); default CanaryConfig"
    )
    header = (
        f"{'scenario':<15} {'base 5xx':>8} {'goal':>11} | {'requests: Fail':>14} {'Pass':>5} {'Inc':>4} {'@int':>5} |"
        f" {'metrics: Fail':>13} {'Pass':>5} {'Inc':>4} {'@int':>5} | {'ms/analysis':>11}"
    )
    print(header)
    print("-" * len(header))
    seed = args.seed
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    for scenario in _scenarios():
        if only and scenario.name not in only:
            continue
        for rate in rates if scenario.name in ("healthy", "errors +1 pp") else rates[:1]:
            seed += 1
            outcomes, decided_at, seconds = _run(scenario, rate, args, config, seed)
            cells = []
            for source in ("requests", "metrics"):
                counts = outcomes[source]
                fails = counts["Fail"]
                share = f"{fails:>4} {fails / args.trials:6.1%}"
                mean_at = f"{np.mean(decided_at[source]):.2f}" if decided_at[source] else "–"
                width = 14 if source == "requests" else 13
                cells.append(f"{share:>{width}} {counts['Pass']:>5} {counts['Inconclusive']:>4} {mean_at:>5}")
            per_analysis = 1000 * seconds / (2 * args.trials)
            row = f"{scenario.name:<15} {rate:>8.1%} {scenario.goal:>11} | {cells[0]} | {cells[1]}"
            print(f"{row} | {per_analysis:>11.1f}")
    print("Fail = share of analyses failed within 3 intervals; @int = mean interval of the failure (1-3);")
    print("Inc = Inconclusive (never a pass: too few requests or points). ms/analysis: both sources averaged.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
