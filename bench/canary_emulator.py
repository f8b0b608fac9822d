"""Canary decisions through the whole stack: the emulator, the app's real composition root, the real canary
analysis and rollback path, trial after trial.

`bench/canary_decisions.py` measures the pure judge on simulated samples; this measures what an on-call
engineer would see: whether a canary's traffic actually went back to the baseline, after how many intervals,
and from which data source, with everything in between real (Azurite, the emulator serving Azure's REST
shapes and the Logs query API, the Azure SDK clients, the worker, the sweep, the state documents, the lease,
the traffic change and its verification).

Each trial drives the app as tests/rollback/test_canary_flow.py does: a fresh scenario (scenarios/
test_minimal.yaml with green at 0%, no timeline, a new seed and a new storage container; a new state container
and job queue for the app), one sweep, then the release pipeline's `shift_traffic` to blue 90 / green 10
through the SDK with its `endpoint_changed` job, green's behaviour set through the control API
(`POST /_emulator/deployments/credit-ep/green/behaviour`), and per interval `advance(5 min)` + a
`scheduled_sweep` job + the canary jobs it enqueued (other jobs the sweep fans out are drained, not run, as the
test does). The endpoint serves 600 requests a minute, so the canary gets 60 a minute at 10%.

Latency is lognormal in the emulator (median p50, sigma = ln(p99/p50)/z99); blue and a healthy green have
p50 80 ms, p99 256 ms (sigma 0.5, p95 ~182 ms) and 0.1% 5xx. Regressions change green only: `latency +25%`
/ `+50%` scale p50 and p99 (so p95, and every other quantile, x1.25 / x1.5); `errors +1 pp` adds 0.01 to the
5xx rate. Healthy canaries run to the end of their lifetime (6 intervals of 5 min); regressed ones at most 3
intervals.

Safety cases (any failure: exit 1):
* `re-applied`: a canary regressed by 50% is rolled back, one more sweep runs 5 minutes later (as in the test),
  the pipeline re-applies 90/10, 30 more minutes pass: the split stays, one `rolled_back` in the audit trail,
  no new analysis; `re-applied-at-once`: the same, the pipeline re-applying right after the rollback (before
  any sweep). Whether the `canary-repromoted` alert fired is counted and shown beside them (not part of the
  pass/fail: the claim is "never a second automatic rollback");
* `baseline unhealthy`: blue and green over the 500 ms p95 objective (blue's SLO check, run from the sweep,
  alerts), green 50% slower still: the canary fails, the rollback is refused with a `rollback-refused` alert;
* `baseline without capacity`: blue scaled to 0 instances 2 minutes after the split (a timeline step), green
  50% slower: the rollback is refused with a `rollback-refused` alert.

    .venv/bin/python bench/canary_emulator.py                   # 40 trials per case; ~10 min here
    .venv/bin/python bench/canary_emulator.py --trials 200 --cases healthy,latency+25
    .venv/bin/python bench/canary_emulator.py --source metrics  # traffic log off: the per-minute fallback

No assertion on time. Loopback only; every loop is bounded by the trial and interval counts.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator.scenario import DEFAULT_LOG_ANALYTICS_WORKSPACE_ID  # noqa: E402
from shared.bootstrap import Services, build_services  # noqa: E402
from shared.jobs import Job  # noqa: E402
from tools.azurite import Azurite, free_port  # noqa: E402
from tools.emulator_process import EmulatorProcess  # noqa: E402

SCENARIO = ROOT / "scenarios" / "test_minimal.yaml"
TIME_SCALE = 20.0  # as tests/fixtures/emulator.py: LRO provisioning 1 s -> 0.05 s
ENDPOINT = "credit-ep"
RPM = 600  # at 90/10 the canary gets 60 requests a minute
SPLIT = {"blue": 90, "green": 10}
BASE_LATENCY = {"p50": 80.0, "p99": 256.0}  # lognormal sigma 0.5: p95 ~182 ms
BASE_ERROR_RATE = 0.001
INTERVAL_MIN = 5
LIFETIME_INTERVALS = 6  # the default lifetime, 30 min
REGRESSION_INTERVALS = 3
SLOW_BASELINE = {"p50": 400.0, "p99": 1200.0}  # p95 ~870 ms: over the default 500 ms objective

#: green's behaviour per statistical case (None: the same as blue)
CASES: dict[str, dict[str, Any] | None] = {
    "healthy": None,
    "latency+25": {"latency_ms": {k: v * 1.25 for k, v in BASE_LATENCY.items()}},
    "latency+50": {"latency_ms": {k: v * 1.5 for k, v in BASE_LATENCY.items()}},
    "errors+1pp": {"error_rate": BASE_ERROR_RATE + 0.01},
}
SAFETY = ("re-applied", "re-applied-at-once", "baseline-unhealthy", "baseline-no-capacity")
#: safety case -> trials in which the `canary-repromoted` alert fired
REPROMOTED_ALERTS: dict[str, int] = {}


def Emulator(storage: str, log: Path) -> EmulatorProcess:
    """The emulator on the test scenario, time scale 20, as tests/fixtures/emulator.py starts it."""
    return EmulatorProcess(SCENARIO, storage, log, time_scale=TIME_SCALE)


@dataclass
class App:
    """One trial's app around a freshly loaded scenario: what tests/checks/conftest.py's `world` is."""

    emulator: EmulatorProcess
    scenario: dict[str, Any]
    services: Services
    storage: str

    @property
    def workspace_id(self) -> str:
        ids = self.scenario["azure"]
        return (f"/subscriptions/{ids['subscription_id']}/resourceGroups/{ids['resource_group']}"
                f"/providers/Microsoft.MachineLearningServices/workspaces/{ids['workspace']}")

    @classmethod
    def load(cls, emulator: Emulator, storage: str, seed: int, *, traffic_log: bool,
             baseline: dict[str, Any] | None = None, timeline: list[dict[str, Any]] | None = None) -> App:
        base = yaml.safe_load(SCENARIO.read_text())
        endpoints = copy.deepcopy(base["endpoints"])
        endpoints[0].update(traffic={"blue": 100, "green": 0}, requests_per_minute=RPM, traffic_log=traffic_log)
        for deployment in endpoints[0]["deployments"]:
            deployment.update(latency_ms=dict(BASE_LATENCY), error_rate=BASE_ERROR_RATE,
                              data_collection=False)  # drift is not what this measures; collecting costs time
            if baseline and deployment["name"] == "blue":
                deployment.update(baseline)
        tag = uuid.uuid4().hex[:12]
        scenario = {**base, "seed": seed, "endpoints": endpoints, "timeline": timeline or [],
                    "storage_container": f"azureml-blobstore-b{tag}"}
        emulator.control("POST", "scenario", {"scenario": scenario})
        ids = scenario["azure"]
        env = {
            "AzureWebJobsStorage": storage,
            "MODELWATCH_STATE_CONTAINER": f"bench-canary-{tag}",
            "MODELWATCH_SUBSCRIPTION_ID": ids["subscription_id"],
            "MODELWATCH_RESOURCE_GROUP": ids["resource_group"],
            "MODELWATCH_WORKSPACE": ids["workspace"],
            "MODELWATCH_LOCATION": ids["location"],
            "MODELWATCH_LOG_ANALYTICS_WORKSPACE_ID": ids.get("log_analytics_workspace_id",
                                                             DEFAULT_LOG_ANALYTICS_WORKSPACE_ID),
            "MODELWATCH_AZURE_EMULATOR_URL": emulator.url,
            "MODELWATCH_AZURE_RETRY_TOTAL": "0",
            "MODELWATCH_AZURE_TIMEOUT_SECONDS": "30",
            "MODELWATCH_ALERT_KEEP_FIRING_FOR": "10m",
        }
        app = cls(emulator, scenario, None, storage)  # type: ignore[arg-type]
        env["MODELWATCH_ALLOWED_WORKSPACES"] = app.workspace_id
        app.services = build_services(env, jobs_queue=f"bench-canary-jobs-{tag}")
        return app

    def close(self) -> None:
        """Drop the trial's queue and containers, so Azurite does not grow over hundreds of trials."""
        from azure.storage.blob import BlobServiceClient

        for cleanup in (self.services.queue.delete_queue, self.services.container.delete_container,
                        lambda: BlobServiceClient.from_connection_string(self.storage)
                        .delete_container(self.scenario["storage_container"])):
            try:
                cleanup()
            except Exception:  # cleanup only; a missing container is fine
                pass

    # -- what tests/checks/conftest.py World and tests/rollback do --------------------------------------
    def advance(self, minutes: float) -> None:
        self.emulator.control("POST", "time/advance", {"minutes": minutes})

    def run(self, job: Job) -> str:
        return self.services.worker.handle(job.to_json(), f"msg-{job.id}", 1)

    def jobs(self) -> list[Job]:
        out: list[Job] = []
        for _ in range(1000):  # bounded: a drain never needs more than a few batches here
            batch = list(self.services.queue.receive_messages(max_messages=32, visibility_timeout=5))
            if not batch:
                break
            for message in batch:
                out.append(Job.from_json(message.content.decode()))
                self.services.queue.delete_message(message)
        return out

    def sweep(self, tag: str, *, run_checks: tuple[str, ...] = ()) -> None:
        """The timer: one sweep job, then the canary jobs it enqueued (and the named other checks)."""
        self.run(Job(id=f"sweep-{tag}", kind="scheduled_sweep", workspace_id=self.workspace_id,
                     source_event_id=f"timer-{tag}", source_event_type="timer"))
        for job in self.jobs():
            if job.target.get("check") in ("canary", *run_checks):
                self.run(job)

    def shift_traffic(self, traffic: dict[str, int]) -> None:
        """The release pipeline: the split through the SDK, then Azure's write event to the worker."""
        self.services.checks.azure.ml.set_traffic(ENDPOINT, traffic)
        event = f"write-{uuid.uuid4().hex[:12]}"
        self.run(Job(id=f"evt-{event}", kind="endpoint_changed", workspace_id=self.workspace_id,
                     source_event_id=event, source_event_type="Microsoft.Resources.ResourceWriteSuccess",
                     target={"endpoint": ENDPOINT}))
        self.jobs()

    def behave(self, deployment: str, behaviour: dict[str, Any]) -> None:
        self.emulator.control("POST", f"deployments/{ENDPOINT}/{deployment}/behaviour", behaviour)

    def analyses(self) -> list[dict[str, Any]]:
        return self.services.state.list_json(f"analyses/{ENDPOINT}/")

    def traffic(self) -> dict[str, int]:
        live = self.services.checks.azure.ml.endpoint_traffic(ENDPOINT).traffic
        return {k: v for k, v in live.items() if v}

    def audit(self, kind: str, decision: str) -> list[dict[str, Any]]:
        from shared.adapters.audit import parse_since

        records, _ = self.services.audit.read(parse_since("30d", self.services.clock.now()), 5000)
        return [r.details for r in records if r.kind == kind and r.decision == decision]

    def alert_rules(self) -> list[str]:
        return [a.rule for a in self.services.alerts.list_alerts()]


@dataclass
class Outcome:
    rolled_back: bool = False
    intervals: int | None = None  # intervals judged when the analysis ended (or when we stopped)
    status: str = "running"
    source: str | None = None
    reason: str = ""
    error: str | None = None


@dataclass
class Row:
    case: str
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0


def run_analysis(app: App, max_intervals: int, tag: str, run_checks: tuple[str, ...] = ()) -> Outcome:
    """Advance interval by interval until the analysis is no longer running or `max_intervals` have passed."""
    analysis: dict[str, Any] = {}
    for k in range(1, max_intervals + 1):
        app.advance(INTERVAL_MIN)
        app.sweep(f"{tag}-{k}", run_checks=run_checks)
        [analysis] = app.analyses() or [{}]
        if analysis.get("status") != "running":
            break
    rollback = analysis.get("rollback") or {}
    verdict = analysis.get("verdict") or {}
    return Outcome(rolled_back=rollback.get("action") == "rollback", intervals=analysis.get("judged_intervals"),
                   status=str(analysis.get("status")), source=analysis.get("source"),
                   reason=str(verdict.get("reason") or rollback.get("reason") or "")[:400])


def start_canary(app: App, tag: str, behaviour: dict[str, Any] | None) -> None:
    app.sweep(f"{tag}-before")
    app.shift_traffic(SPLIT)
    if behaviour:
        app.behave("green", behaviour)


def statistical_trial(emulator: Emulator, storage: str, case: str, seed: int, traffic_log: bool) -> Outcome:
    app = App.load(emulator, storage, seed, traffic_log=traffic_log)
    try:
        tag = f"{case}-{seed}"
        start_canary(app, tag, CASES[case])
        limit = LIFETIME_INTERVALS if CASES[case] is None else REGRESSION_INTERVALS
        outcome = run_analysis(app, limit, tag)
        if outcome.rolled_back and app.traffic() != {"blue": 100}:
            outcome.error = f"rolled back but traffic reads {app.traffic()}"
        return outcome
    finally:
        app.close()


def safety_trial(emulator: Emulator, storage: str, case: str, seed: int, traffic_log: bool) -> tuple[bool, str]:
    """One safety case: (held, what was seen)."""
    slower = {"latency_ms": {k: v * 1.5 for k, v in BASE_LATENCY.items()}}
    tag = f"{case}-{seed}"
    if case in ("re-applied", "re-applied-at-once"):
        app = App.load(emulator, storage, seed, traffic_log=traffic_log)
        try:
            start_canary(app, tag, slower)
            first = run_analysis(app, REGRESSION_INTERVALS, tag)
            if not first.rolled_back:
                return False, f"not exercised: the 50% regression was not rolled back ({first.status})"
            if case == "re-applied":  # as the test: the timer runs once more before the pipeline re-applies
                app.advance(INTERVAL_MIN)
                app.sweep(f"{tag}-between")
            app.shift_traffic(SPLIT)  # the pipeline re-applies the failed split
            for k in range(LIFETIME_INTERVALS):
                app.advance(INTERVAL_MIN)
                app.sweep(f"{tag}-after-{k}")
            rolled = len(app.audit("rollback", "rolled_back"))
            alerted = "canary-repromoted" in app.alert_rules()
            seen = (f"rolled back after {first.intervals} interval(s); re-applied: traffic {app.traffic()}, "
                    f"rolled_back x{rolled}, analyses {len(app.analyses())}, canary-repromoted alert: {alerted}")
            # the safety claim: no second automatic rollback, the split left as the pipeline set it, no new
            # analysis; the alert is reported (REPROMOTED_ALERTS), it is not what keeps the loop from happening
            REPROMOTED_ALERTS[case] = REPROMOTED_ALERTS.get(case, 0) + alerted
            held = app.traffic() == SPLIT and rolled == 1 and len(app.analyses()) == 1
            return held, seen
        finally:
            app.close()
    if case == "baseline-unhealthy":
        slow_both = {"latency_ms": dict(SLOW_BASELINE)}
        app = App.load(emulator, storage, seed, traffic_log=traffic_log, baseline=slow_both)
        try:
            app.advance(15)  # blue's SLO check has 15 minutes of slow traffic to judge
            app.sweep(f"{tag}-slo", run_checks=("slo",))
            app.shift_traffic(SPLIT)
            app.behave("green", {"latency_ms": {k: v * 1.5 for k, v in SLOW_BASELINE.items()}})
            outcome = run_analysis(app, REGRESSION_INTERVALS, tag, run_checks=("slo",))
            return _refused(app, outcome, "blue's SLO check is failing")
        finally:
            app.close()
    if case == "baseline-no-capacity":
        scale_down = [{"at": "2m", "note": "blue scaled to 0 instances",
                       "deployment": {"endpoint": ENDPOINT, "deployment": "blue", "instance_count": 0}}]
        app = App.load(emulator, storage, seed, traffic_log=traffic_log, timeline=scale_down)
        try:
            start_canary(app, tag, slower)
            outcome = run_analysis(app, REGRESSION_INTERVALS, tag)
            return _refused(app, outcome, "baseline blue has 0 instance(s)")
        finally:
            app.close()
    raise ValueError(case)


def _refused(app: App, outcome: Outcome, why: str) -> tuple[bool, str]:
    analysis = (app.analyses() or [{}])[0]
    action = (analysis.get("rollback") or {}).get("action")
    refused = [a for a in app.services.alerts.list_alerts() if a.rule == "rollback-refused"]
    named = any(why in a.description for a in refused)
    seen = (f"canary {outcome.status} after {outcome.intervals} interval(s); rollback action {action}; "
            f"traffic {app.traffic()}; rolled_back x{len(app.audit('rollback', 'rolled_back'))}; "
            f"rollback-refused alert naming {why!r}: {named}")
    if outcome.status != "fail":
        return False, "not exercised: " + seen
    held = (action == "refuse" and app.traffic() == SPLIT and not app.audit("rollback", "rolled_back") and named)
    return held, seen


def median(values: list[int]) -> str:
    return f"{statistics.median(values):g}" if values else "–"


def report(rows: list[Row], safety: list[tuple[str, int, int, list[str]]], args: argparse.Namespace) -> str:
    lines = ["| case | trials | rolled back | within 3 intervals | median intervals | source | goal | s/trial |",
             "|---|---:|---:|---:|---:|---|---|---:|"]
    for row in rows:
        done = [o for o in row.outcomes if o.error is None]
        n = len(row.outcomes)
        rolled = [o for o in done if o.rolled_back]
        within = [o for o in rolled if o.intervals is not None and o.intervals <= REGRESSION_INTERVALS]
        sources = Counter(o.source or "none" for o in done)
        healthy = CASES[row.case] is None
        if healthy:
            goal = "0 rollbacks: " + ("met" if not rolled and len(done) == n else "NOT met")
        else:
            goal = ">= 95% within 3: " + ("met" if n and len(within) >= 0.95 * n else "NOT met")
        lines.append(
            f"| {row.case} | {n} | {len(rolled)} ({100 * len(rolled) / max(n, 1):.1f}%) | "
            f"{len(within)} ({100 * len(within) / max(n, 1):.1f}%) | "
            f"{median([o.intervals for o in rolled if o.intervals is not None])} | "
            f"{', '.join(f'{k} {v}' for k, v in sources.most_common())} | {goal} | {row.seconds / max(n, 1):.1f} |")
    for case, trials, held, _ in safety:
        alert = (f"; canary-repromoted alert {REPROMOTED_ALERTS.get(case, 0)}/{trials}"
                 if case.startswith("re-applied") else "")
        lines.append(f"| {case} (safety) | {trials} | – | – | – | – | "
                     f"{'held' if held == trials else 'FAILED'} {held}/{trials}{alert} | – |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40, help="trials per statistical case")
    parser.add_argument("--safety-trials", type=int, default=2, help="trials per safety case")
    parser.add_argument("--cases", default=",".join([*CASES, *SAFETY]),
                        help=f"comma-separated, of {', '.join([*CASES, *SAFETY])}")
    parser.add_argument("--seed", type=int, default=1000, help="trial i of a case uses seed + i")
    parser.add_argument("--source", choices=("requests", "metrics"), default="requests",
                        help="requests: the traffic log is on (the app prefers it); metrics: off (the fallback)")
    parser.add_argument("--verbose", action="store_true", help="one line per trial")
    args = parser.parse_args()
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in CASES and c not in SAFETY]
    if unknown:
        parser.error(f"unknown case(s): {unknown}")
    traffic_log = args.source == "requests"

    tmp = Path(tempfile.mkdtemp(prefix="modelwatch-canary-bench-"))
    azurite = Azurite(tmp / "azurite", free_port(), free_port(), free_port()).start(log_path=tmp / "azurite.log")
    emulator: Emulator | None = None
    began = time.perf_counter()
    rows: list[Row] = []
    safety: list[tuple[str, int, int, list[str]]] = []
    try:
        emulator = Emulator(azurite.connection_string, tmp / "emulator.log")
        print(f"emulator {emulator.url}, Azurite blob port {azurite.blob_port}; {RPM} requests/min at "
              f"{SPLIT} (canary 60/min); source preferred: {args.source}; logs in {tmp}", flush=True)
        for case in cases:
            case_seed = args.seed + 10_000 * (list(CASES) + list(SAFETY)).index(case)
            if case in CASES:
                row = Row(case)
                t0 = time.perf_counter()
                for i in range(args.trials):
                    try:
                        outcome = statistical_trial(emulator, azurite.connection_string, case, case_seed + i,
                                                    traffic_log)
                    except Exception as exc:  # a trial that errors is counted and shown
                        outcome = Outcome(error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
                    row.outcomes.append(outcome)
                    if args.verbose or outcome.error or (CASES[case] is None and outcome.rolled_back):
                        print(f"  {case} #{i} seed {case_seed + i}: rolled_back={outcome.rolled_back} "
                              f"status={outcome.status} intervals={outcome.intervals} source={outcome.source}"
                              f"{' ERROR ' + outcome.error if outcome.error else ''}"
                              f"{' (' + outcome.reason + ')' if outcome.reason else ''}",
                              flush=True)
                row.seconds = time.perf_counter() - t0
                rolled = sum(o.rolled_back for o in row.outcomes)
                print(f"{case}: {rolled}/{len(row.outcomes)} rolled back ({row.seconds:.0f} s)", flush=True)
                rows.append(row)
            else:
                notes: list[str] = []
                held = 0
                for i in range(args.safety_trials):
                    try:
                        ok, seen = safety_trial(emulator, azurite.connection_string, case, case_seed + i,
                                                traffic_log)
                    except Exception as exc:  # an error is a failed safety case
                        ok, seen = False, f"ERROR {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                    held += ok
                    notes.append(seen)
                    print(f"  {case} #{i}: {'held' if ok else 'FAILED'}: {seen}", flush=True)
                safety.append((case, args.safety_trials, held, notes))
    finally:
        if emulator is not None:
            emulator.stop()
        azurite.stop()
    print()
    print(report(rows, safety, args))
    print(f"\n{time.perf_counter() - began:.0f} s wall; command: .venv/bin/python bench/canary_emulator.py "
          + " ".join(sys.argv[1:]))
    return 0 if all(held == trials for _, trials, held, _ in safety) else 1


if __name__ == "__main__":
    sys.exit(main())
