"""How fast the real app acknowledges Event Grid deliveries on the devhost (DESIGN target: p99 < 50 ms).

Starts Azurite and a devhost serving the real function_app.py on free ports, then posts batches of
fresh ModelRegistered events to on_ml_event over one keep-alive connection. Each acknowledgement
includes the whole intake path: route, claim the event id (If-None-Match), enqueue the job, mark the
claim done, append the audit record. Prints latency percentiles per batch size.

    .venv/bin/python bench/intake_ack.py [--requests 200] [--batch 1 --batch 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devhost.process import start_devhost  # noqa: E402
from tests.fixtures.events import WORKSPACE, fresh_id, model_registered  # noqa: E402
from tools.azurite import Azurite, free_port  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--batch", type=int, action="append")
    args = parser.parse_args()
    batches = args.batch or [1, 10]
    with tempfile.TemporaryDirectory() as tmp:
        azurite = Azurite(Path(tmp) / "azurite", free_port(), free_port(), free_port()).start()
        env = {"AzureWebJobsStorage": azurite.connection_string, "MODELWATCH_ALLOWED_WORKSPACES": WORKSPACE,
               "AzureFunctionsWebHost__hostid": "bench-intake"}
        try:
            with start_devhost(ROOT, env=env, log_path=Path(tmp) / "devhost.log") as host:
                url = host.url("/runtime/webhooks/eventgrid?functionName=on_ml_event")
                session = requests.Session()
                headers = {"aeg-event-type": "Notification", "Content-Type": "application/json"}
                for size in batches:
                    for _ in range(5):  # warm-up: connections, first blob writes
                        session.post(url, json=[fresh_id(model_registered()) for _ in range(size)], headers=headers)
                    times = []
                    for _ in range(args.requests):
                        body = [fresh_id(model_registered()) for _ in range(size)]
                        started = time.perf_counter()
                        answer = session.post(url, json=body, headers=headers, timeout=30)
                        times.append((time.perf_counter() - started) * 1000)
                        if answer.status_code != 202:
                            print(f"unexpected {answer.status_code}: {answer.text}", file=sys.stderr)
                            return 1
                    print(f"batch of {size:>3}: {args.requests} deliveries, p50 {statistics.median(times):.1f} ms, "
                          f"p95 {percentile(times, 0.95):.1f} ms, p99 {percentile(times, 0.99):.1f} ms, "
                          f"max {max(times):.1f} ms (route + claim + enqueue + complete + audit per event)")
        finally:
            azurite.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
