"""Canary judge decisions on simulated canaries: false fails when healthy, detection of regressions.

Simulates a canary at 60 requests a minute next to a baseline with 9x its traffic (a 90/10 split),
an analysis of six 5-minute intervals (the app's default 30-minute lifetime), request durations
lognormal (median 80 ms, sigma 0.5, rounded to whole ms as the traffic log's RequestDurationMs is)
and 5xx as independent Bernoulli draws. Each scenario runs `--trials` analyses through
`judge_analysis` with the default CanaryConfig (or --alpha / --confirm-alpha), from two sources
built from the same simulated requests:

  requests  request-level data: every duration, 5xx and request counts (the traffic log)
  metrics   the fallback: per-minute P95 latency, per-minute requests and 5xx (Azure Monitor)

Scenarios (canary only; the baseline is always healthy):
  healthy        same latency and error distributions as the baseline        -> count Fail over the whole
                                                                                lifetime (goal 0)
  latency +25%   every request 25% slower (p50, p95 and mean all x1.25)       -> share Fail within 3
                                                                                intervals (goal >= 95%)
  latency +50%   every request 50% slower
  p95 +25% tail  only the tail: sigma raised so p95 is x1.25, median unchanged (not a goal; reported)
  errors +1 pp   5xx rate 1 percentage point above the baseline's

Error scenarios run at each baseline 5xx rate in --error-rates (default 0.1%, 0.5%, 1%): a +1 pp
rise is a 11x, 3x or 2x rate ratio, and with ~900 canary requests in 15 minutes the evidence differs
accordingly. Healthy false fails are broken down by the metric that failed. Deterministic for a
given --seed. No timing is asserted; this script only prints.

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
MINUTES, WITHIN = 5, 3  # interval length; regressions count as caught when failed within 3 intervals
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


def _analysis(rng, scenario: Scenario, base_rate: float, args):
    by_source: dict[str, list[IntervalData]] = {"requests": [], "metrics": []}
    for k in range(args.intervals):
        start = START + timedelta(minutes=MINUTES * k)
        end = start + timedelta(minutes=MINUTES)
        canary = _side(rng, args.canary_rpm, scenario.sigma, scenario.scale, base_rate + scenario.error_rise)
        baseline = _side(rng, args.baseline_rpm, SIGMA, 1.0, base_rate)
        by_source["requests"].append(IntervalData(start, end, canary[0], baseline[0]))
        by_source["metrics"].append(IntervalData(start, end, canary[1], baseline[1]))
    return by_source


@dataclass
class Tally:
    outcomes: Counter
    decided_at: list[int]  # 1-based interval of each Fail
    failed_by: Counter  # metric names behind each Fail


def _run(scenario, base_rate, args, config, seed) -> tuple[dict[str, Tally], float]:
    rng = np.random.default_rng(seed)
    tallies = {source: Tally(Counter(), [], Counter()) for source in ("requests", "metrics")}
    seconds = 0.0
    for _ in range(args.trials):
        for source, intervals in _analysis(rng, scenario, base_rate, args).items():
            began = time.perf_counter()
            verdict = judge_analysis(intervals, config)
            seconds += time.perf_counter() - began
            tally = tallies[source]
            tally.outcomes[verdict.outcome] += 1
            if verdict.outcome == "Fail":
                tally.decided_at.append(verdict.decided_by + 1)
                failed = verdict.intervals[verdict.decided_by].metrics
                tally.failed_by["+".join(m.name for m in failed if m.failed) or "score"] += 1
    return tallies, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--canary-rpm", type=float, default=60.0)
    parser.add_argument("--baseline-rpm", type=float, default=540.0)
    parser.add_argument("--intervals", type=int, default=6, help="lifetime in 5-minute intervals (the app's 30 min)")
    parser.add_argument("--alpha", type=float, default=None, help="CanaryConfig.alpha (default: its default)")
    parser.add_argument("--confirm-alpha", default="default",
                        help="CanaryConfig.confirm_alpha: a level, 'none' (alpha throughout) or 'default'")
    parser.add_argument("--error-rates", default="0.001,0.005,0.01", help="baseline 5xx rates (fractions)")
    parser.add_argument("--only", default="", help="comma-separated scenario names (default: all)")
    args = parser.parse_args()
    overrides: dict = {"lifetime_intervals": args.intervals}
    if args.alpha is not None:
        overrides["alpha"] = args.alpha
    if args.confirm_alpha != "default":
        overrides["confirm_alpha"] = None if args.confirm_alpha == "none" else float(args.confirm_alpha)
    config = CanaryConfig(**overrides)
    rates = [float(r) for r in args.error_rates.split(",")]
    within = min(WITHIN, args.intervals)
    print(
        f"{args.trials} analyses per row; canary {args.canary_rpm:g} req/min, baseline {args.baseline_rpm:g} req/min; "
        f"{args.intervals} x {MINUTES}-minute intervals ({config.window} window); alpha {config.alpha:g}, "
        f"confirm_alpha {config.confirm_alpha} from interval {config.confirm_from + 1}"
    )
    header = (
        f"{'scenario':<15} {'base 5xx':>8} {'goal':>11} | {'requests: Fail':>14} {'Pass':>5} {'Inc':>4} {'@int':>5} |"
        f" {'metrics: Fail':>13} {'Pass':>5} {'Inc':>4} {'@int':>5} | {'ms/analysis':>11}"
    )
    print(header)
    print("-" * len(header))
    seed = args.seed
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    notes = []
    for scenario in _scenarios():
        if only and scenario.name not in only:
            continue
        healthy = scenario.name == "healthy"
        for rate in rates if scenario.name in ("healthy", "errors +1 pp") else rates[:1]:
            seed += 1
            tallies, seconds = _run(scenario, rate, args, config, seed)
            cells = []
            for source in ("requests", "metrics"):
                tally = tallies[source]
                fails = len(tally.decided_at) if healthy else sum(at <= within for at in tally.decided_at)
                share = f"{fails:>4} {fails / args.trials:6.1%}"
                mean_at = f"{np.mean(tally.decided_at):.2f}" if tally.decided_at else "–"
                width = 14 if source == "requests" else 13
                passed = tally.outcomes["Pass"]
                cells.append(f"{share:>{width}} {passed:>5} {tally.outcomes['Inconclusive']:>4} {mean_at:>5}")
                if healthy and tally.failed_by:
                    notes.append(f"healthy at {rate:.1%}, {source}: failed on {dict(tally.failed_by)}, "
                                 f"at intervals {dict(sorted(Counter(tally.decided_at).items()))}")
            per_analysis = 1000 * seconds / (2 * args.trials)
            row = f"{scenario.name:<15} {rate:>8.1%} {scenario.goal:>11} | {cells[0]} | {cells[1]}"
            print(f"{row} | {per_analysis:>11.1f}", flush=True)
    print(f"Fail = healthy: analyses failed at any interval of the lifetime; regressions: failed within {within} "
          "intervals.")
    print("@int = mean interval of the failures (any interval); Inc = Inconclusive (never a pass: too few requests "
          "or points). ms/analysis: both sources averaged.")
    for note in notes:
        print(note)
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
