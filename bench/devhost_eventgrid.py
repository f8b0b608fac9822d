"""How fast the devhost acknowledges Event Grid deliveries (target: p99 under 50 ms per batch).

Starts Azurite and a devhost on free ports with a small app whose Event Grid function does what an
acknowledging handler does (decode, enqueue one message per event through a queue output binding),
then posts batches over one keep-alive connection and prints latency percentiles per batch size.

    .venv/bin/python bench/devhost_eventgrid.py [--requests 300] [--batch 1 --batch 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devhost.process import start_devhost  # noqa: E402
from tools.azurite import Azurite, free_port  # noqa: E402

APP = """
import azure.functions as func

app = func.FunctionApp()


@app.event_grid_trigger(arg_name="event")
@app.queue_output(arg_name="out", queue_name="bench-jobs", connection="AzureWebJobsStorage")
def on_event(event: func.EventGridEvent, out: func.Out[str]) -> None:
    out.set(event.id)
"""


def event() -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()), "topic": "/subscriptions/s", "subject": "models/m:1",
        "eventType": "Microsoft.MachineLearningServices.ModelRegistered",
        "eventTime": "2024-05-01T10:00:00Z", "data": {"modelName": "m"}, "dataVersion": "2",
    }  # fmt: skip


def measure(url: str, batch: int, count: int) -> list[float]:
    session = requests.Session()
    headers = {"aeg-event-type": "Notification"}
    for _ in range(20):  # warm-up: connections, thread pool, queue creation
        session.post(url, json=[event() for _ in range(batch)], headers=headers, timeout=10)
    samples = []
    for _ in range(count):
        body = [event() for _ in range(batch)]
        start = time.perf_counter()
        response = session.post(url, json=body, headers=headers, timeout=10)
        samples.append((time.perf_counter() - start) * 1000)
        if response.status_code != 202:
            raise RuntimeError(f"delivery failed: {response.status_code} {response.text}")
    session.close()
    return sorted(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--batch", type=int, action="append")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "app"
        app.mkdir()
        (app / "function_app.py").write_text(textwrap.dedent(APP))
        (app / "host.json").write_text('{"version": "2.0"}')
        azurite = Azurite(Path(tmp) / "azurite", free_port(), free_port(), free_port()).start()
        try:
            env = {"AzureWebJobsStorage": azurite.connection_string, "DEVHOST_LOG_LEVEL": "WARNING"}
            with start_devhost(app, env=env, log_path=Path(tmp) / "devhost.log") as host:
                url = host.url("/runtime/webhooks/eventgrid?functionName=on_event")
                for batch in args.batch or [1, 10]:
                    ms = measure(url, batch, args.requests)
                    p = statistics.quantiles(ms, n=100)
                    print(
                        f"batch of {batch:>3}: {len(ms)} deliveries, p50 {p[49]:.1f} ms, p95 {p[94]:.1f} ms, "
                        f"p99 {p[98]:.1f} ms, max {ms[-1]:.1f} ms (ack includes enqueueing every event)"
                    )
        finally:
            azurite.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
