"""One sweep over 50 endpoints x 3 deployments on the emulator: wall time, Azure calls, cost cache hits.

Generates a scenario (N endpoints, 3 deployments each, manual clock, Cost Management throttled at 4 queries
per scope per minute as Azure does, one endpoint in ten keeping a third deployment at 0% traffic), starts
Azurite and the emulator on free ports, builds the real app with `shared.bootstrap.build_services`, and then,
as the queue trigger would, runs one `scheduled_sweep` job through the worker and every `check` job it fans
out (SLO and drift per deployment, quota and cost per workspace). Prints the wall time per check kind, the
Azure calls the emulator saw per route (its call log, `GET /_emulator/state`), and the cost check's cache
counters. A second pass re-runs the workspace checks in the same cadence slot (as a retried job or a manual
run would): Cost Management is then not asked at all. A third runs the cost check once the Retry-After of the
cold run's 429 has passed: only the answers still missing are asked for.

    .venv/bin/python bench/sweep_50x3.py [--endpoints 50] [--collect] [--throttle 4] [--keep-logs]

`--collect` turns the data collector on (drift then reads real JSONL; advancing the clock gets slower).
No test asserts on these figures; bench/README.md records them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.bootstrap import Services, build_services  # noqa: E402
from shared.jobs import Job  # noqa: E402
from tools.azurite import Azurite, free_port  # noqa: E402
from tools.emulator_process import EmulatorProcess  # noqa: E402

SUB, RG, WS = "00000000-0000-0000-0000-0000000000b5", "rg-bench", "mlw-bench"
WORKSPACE_ID = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.MachineLearningServices/workspaces/{WS}"
START = "2024-05-10T12:00:00Z"


def scenario(endpoints: int, collect: bool, throttle: int) -> dict[str, Any]:
    """N endpoints x (blue, green, shadow); every tenth endpoint sends nothing to shadow (an idle deployment)."""
    features = [{"name": "income", "dist": "normal", "mean": 50000, "std": 12000, "decimals": 0},
                {"name": "age", "dist": "normal", "mean": 40, "std": 10, "decimals": 0},
                {"name": "region", "dist": "categorical", "values": {"north": 0.5, "south": 0.3, "west": 0.2}}]
    eps = []
    for i in range(endpoints):
        idle = i % 10 == 9
        deployments = [
            {"name": name, "model": {"name": "credit", "version": version}, "instance_type": size,
             "instance_count": count, "data_collection": collect, "latency_ms": {"p50": 20, "p99": 90}}
            for name, version, size, count in (("blue", 1, "Standard_DS3_v2", 2), ("green", 2, "Standard_DS2_v2", 1),
                                               ("shadow", 2, "Standard_F4s_v2", 1))]
        eps.append({"name": f"ep-{i:03d}", "traffic": {"blue": 80, "green": 20} if idle else
                    {"blue": 70, "green": 20, "shadow": 10}, "requests_per_minute": 10, "features": features,
                    "deployments": deployments})
    return {
        "name": f"bench-{endpoints}x3", "seed": 5, "clock": {"start": START, "mode": "manual"},
        "azure": {"subscription_id": SUB, "resource_group": RG, "workspace": WS, "location": "eastus"},
        "quota": {"standardDSv2Family": 4000, "standardFSv2Family": 1000}, "total_vcpu_limit": 5000,
        "collector_batch": 10, "lro": {"seconds": 1},
        "models": [{"name": "credit", "versions": [
            {"version": 1, "predictor": {"kind": "logistic", "intercept": -2.0, "weights": {"income": 0.00002}}},
            {"version": 2, "predictor": {"kind": "logistic", "intercept": -1.5, "weights": {"income": 0.00002}}}]}],
        "endpoints": eps,
        "costs": {"history_days": 20, "throttle": {"queries_per_minute": throttle},
                  "budgets": [{"name": "ml-monthly", "amount": 50000}]},
    }


class Emulator(EmulatorProcess):
    """The emulator on the generated scenario; `calls()` counts the Azure calls it served, per route."""

    def __init__(self, scenario_path: Path, storage: str, log: Path) -> None:
        super().__init__(scenario_path, storage, log, time_scale=20)

    def calls(self) -> Counter[str]:
        return Counter(self.control("GET", "state")["calls"])


def drain(services: Services) -> list[Job]:
    out = []
    while batch := list(services.queue.receive_messages(max_messages=32, visibility_timeout=300)):
        for message in batch:
            out.append(Job.from_json(message.content.decode()))
            services.queue.delete_message(message)
    return out


def run_jobs(services: Services, jobs: list[Job]) -> tuple[dict[str, float], Counter[str], Counter[str]]:
    seconds: dict[str, float] = defaultdict(float)
    counts: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for job in jobs:
        kind = job.target.get("check", job.kind)
        began = time.perf_counter()
        try:
            services.worker.handle(job.to_json(), f"msg-{job.id}", 1)
        except Exception as exc:  # a failing check is counted, not fatal: the bench measures the sweep
            failed[f"{kind}: {type(exc).__name__}: {str(exc).splitlines()[0][:100]}"] += 1
        seconds[kind] += time.perf_counter() - began
        counts[kind] += 1
    return seconds, counts, failed


def cost_cache(services: Services) -> dict[str, Any]:
    workspace = [v for v in services.verdicts.for_workspace() if v.check == "cost"]
    return workspace[0].evidence.get("cost_cache", {}) if workspace else {}


def show_calls(title: str, calls: Counter[str]) -> None:
    print(f"\n{title}: {sum(calls.values())} Azure calls")
    for route, n in sorted(calls.items(), key=lambda kv: -kv[1]):
        print(f"  {n:6d}  {route}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=50)
    parser.add_argument("--collect", action="store_true", help="data collection on (drift reads real JSONL)")
    parser.add_argument("--throttle", type=int, default=4, help="Cost Management queries per scope per minute")
    parser.add_argument("--warm-minutes", type=int, default=30, help="simulated traffic before the sweep")
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="modelwatch-sweep-bench-"))
    path = tmp / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario(args.endpoints, args.collect, args.throttle), sort_keys=False))
    azurite = Azurite(tmp / "azurite", free_port(), free_port(), free_port()).start(log_path=tmp / "azurite.log")
    emulator = None
    try:
        emulator = Emulator(path, azurite.connection_string, tmp / "emulator.log")
        began = time.perf_counter()
        emulator.control("POST", "time/advance", {"minutes": args.warm_minutes})
        print(f"{args.endpoints} endpoints x 3 deployments; {args.warm_minutes} simulated minutes of traffic "
              f"generated in {time.perf_counter() - began:.1f} s; data collection "
              f"{'on' if args.collect else 'off'}; Cost Management throttled at {args.throttle}/min/scope")
        env = {"AzureWebJobsStorage": azurite.connection_string, "MODELWATCH_ALLOWED_WORKSPACES": WORKSPACE_ID,
               "MODELWATCH_STATE_CONTAINER": "bench-sweep", "MODELWATCH_SUBSCRIPTION_ID": SUB,
               "MODELWATCH_RESOURCE_GROUP": RG, "MODELWATCH_WORKSPACE": WS, "MODELWATCH_LOCATION": "eastus",
               "MODELWATCH_AZURE_EMULATOR_URL": emulator.url, "MODELWATCH_AZURE_RETRY_TOTAL": "0"}
        services = build_services(env, jobs_queue="bench-sweep-jobs")

        calls_before = emulator.calls()
        began = time.perf_counter()
        sweep = Job(id="bench-sweep-1", kind="scheduled_sweep", workspace_id=WORKSPACE_ID,
                    source_event_id="bench-timer-1", source_event_type="timer")
        seconds, counts, failed = run_jobs(services, [sweep])
        seconds_checks, counts_checks, failed_checks = run_jobs(services, drain(services))
        wall = time.perf_counter() - began
        calls = emulator.calls() - calls_before
        seconds.update(seconds_checks)
        counts.update(counts_checks)
        failed.update(failed_checks)
        print(f"\ncold sweep: {wall:.1f} s wall for {sum(counts.values())} jobs")
        for kind in sorted(counts):
            print(f"  {kind:16s} {counts[kind]:4d} jobs  {seconds[kind]:7.2f} s  "
                  f"({1000 * seconds[kind] / counts[kind]:.0f} ms/job)")
        for why, n in failed.items():
            print(f"  FAILED x{n}: {why}")
        show_calls("cold sweep", calls)
        print(f"  cost cache: {cost_cache(services)}")

        # the workspace checks again in the same slot (a retry or a manual run): fresh answers come from the cache
        now = services.clock.now()
        again = [Job(id=f"bench-again-{c}", kind="check", workspace_id=WORKSPACE_ID, source_event_id="bench",
                     source_event_type="check", target={"check": c, "slot": now.isoformat()})
                 for c in ("quota", "cost")]
        calls_before = emulator.calls()
        began = time.perf_counter()
        seconds, counts, failed = run_jobs(services, again)
        wall = time.perf_counter() - began
        print(f"\nwarm re-run of quota + cost: {wall:.1f} s wall "
              f"(quota {seconds['quota']:.2f} s, cost {seconds['cost']:.2f} s)")
        for why, n in failed.items():
            print(f"  FAILED x{n}: {why}")
        show_calls("warm re-run", emulator.calls() - calls_before)
        print(f"  cost cache: {cost_cache(services)}")

        # past the Retry-After of the cold run's 429: the deployment costs still missing are asked for
        emulator.control("POST", "time/advance", {"minutes": 2})
        calls_before = emulator.calls()
        began = time.perf_counter()
        seconds, _, failed = run_jobs(services, [Job(id="bench-after-429", kind="check", workspace_id=WORKSPACE_ID,
                                                     source_event_id="bench", source_event_type="check",
                                                     target={"check": "cost", "slot": now.isoformat()})])
        print(f"\ncost again 2 simulated minutes later (after the Retry-After): {time.perf_counter() - began:.1f} s")
        for why, n in failed.items():
            print(f"  FAILED x{n}: {why}")
        show_calls("after the Retry-After", emulator.calls() - calls_before)
        print(f"  cost cache: {cost_cache(services)}")
        services.queue.delete_queue()
    finally:
        if emulator is not None:
            emulator.stop()
        azurite.stop()
        if args.keep_logs:
            print(f"\nlogs in {tmp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
