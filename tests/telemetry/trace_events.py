"""Run Event Grid events through the app's real entry points with telemetry on, in a process of their own, and
print what was traced and counted as one JSON document (stdout's last line).

    python -m tests.telemetry.trace_events < request.json

Request: {"env": {app settings}, "steps": [...]}, each step, in order, one of
    {"function": "on_ml_event" | "on_resource_event", "event": {...}}   an Event Grid delivery, then its jobs;
    {"module": "rollouts", "function": "endpoint_rollback", "route": {...}, "body": {...}}   an HTTP call;
    {"module": "alerts", "function": "alerts_outbox_timer"}   a timer run.
The process sets APPLICATIONINSIGHTS_CONNECTION_STRING to an ingestion endpoint served here on loopback, so the
Azure Monitor distro is configured for real (on the first invocation, as in Azure) and its exporter really sends;
the test's in-memory span exporter and metric reader are added through `shared.telemetry.configure_once`. Each
event goes to its Event Grid function and the job queue is drained into `job_worker` until empty, as the Functions
host would. A process of its own, because OpenTelemetry's providers are global and set once.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Ingestion:
    """Application Insights' ingestion endpoint (`POST /v2.1/track`), answering as it does; counts envelopes."""

    def __init__(self) -> None:
        self.envelopes: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    raw = gzip.decompress(raw)
                items = json.loads(raw or b"[]")
                items = items if isinstance(items, list) else [items]
                owner.envelopes += items
                body = json.dumps({"itemsReceived": len(items), "itemsAccepted": len(items), "errors": []}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def connection_string(self) -> str:
        return ("InstrumentationKey=00000000-0000-0000-0000-0000000000a1;"
                f"IngestionEndpoint=http://127.0.0.1:{self.server.server_port}/")


def grid_event(raw: dict[str, Any]) -> Any:
    from datetime import datetime

    import azure.functions as func

    return func.EventGridEvent(id=raw["id"], data=raw["data"], topic=raw.get("topic", ""), subject=raw["subject"],
                               event_type=raw["eventType"], event_time=datetime.fromisoformat(raw["eventTime"]),
                               data_version=raw.get("dataVersion", ""))


def drain(rounds: int = 10) -> int:
    """Hand every queued job to job_worker, as the queue trigger would, until the queue stays empty."""
    import azure.functions as func

    from shared.entrypoints import jobs
    from shared.entrypoints.wiring import services

    queue, ran = services().queue, 0
    for _ in range(rounds):
        batch = list(queue.receive_messages(max_messages=32, visibility_timeout=30))
        if not batch:
            return ran
        for message in batch:
            jobs.job_worker(func.QueueMessage(id=message.id, body=message.content))
            queue.delete_message(message)
            ran += 1
    return ran


def main() -> int:
    request = json.loads(sys.stdin.read())
    ingestion = Ingestion()
    os.environ.update(request["env"])
    os.environ.update({"APPLICATIONINSIGHTS_CONNECTION_STRING": ingestion.connection_string,
                       "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",  # no calls to Microsoft from a test
                       "OTEL_TRACES_SAMPLER": "always_on"})  # the distro's default samples by rate

    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from shared import telemetry
    from shared.entrypoints import events

    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    assert telemetry.configure_once(os.environ, span_processors=[SimpleSpanProcessor(spans)],
                                    metric_readers=[reader])
    jobs_run, statuses = 0, []
    for step in request["steps"]:
        if "event" in step:
            getattr(events, step["function"])(grid_event(step["event"]))
            jobs_run += drain()
        else:
            statuses.append(call(step))

    from opentelemetry import trace

    trace.get_tracer_provider().force_flush()
    print(json.dumps({"spans": [span_record(s) for s in spans.get_finished_spans()],
                      "metrics": metric_records(reader), "jobs_run": jobs_run, "alerts": alert_records(),
                      "statuses": statuses,
                      "exported": sorted({e.get("name", "") for e in ingestion.envelopes})}))
    return 0


def call(item: dict[str, Any]) -> int | None:
    """Call an HTTP or timer function as the host would; the HTTP status (None for a timer)."""
    from importlib import import_module

    import azure.functions as func
    from azure.functions.timer import TimerRequest

    function = getattr(import_module(f"shared.entrypoints.{item['module']}"), item["function"])
    if "body" not in item:
        function(TimerRequest(past_due=False))
        return None
    request = func.HttpRequest(item.get("method", "POST"), f"http://localhost:7071/api/{item['function']}?code=k",
                               headers={"content-type": "application/json"}, params={"code": "k"},
                               route_params=item.get("route", {}), body=json.dumps(item["body"]).encode())
    return int(function(request).status_code)


def span_record(span: Any) -> dict[str, Any]:
    return {"name": span.name, "trace_id": f"{span.context.trace_id:032x}", "span_id": f"{span.context.span_id:016x}",
            "parent_id": f"{span.parent.span_id:016x}" if span.parent else None, "kind": span.kind.name,
            "scope": span.instrumentation_scope.name, "status": span.status.status_code.name,
            "attributes": {k: list(v) if isinstance(v, tuple) else v for k, v in (span.attributes or {}).items()}}


def metric_records(reader: Any) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            if scope.scope.name != "modelwatch":  # the distro's own HTTP histograms are not ours to check
                continue
            for metric in scope.metrics:
                out[metric.name] = [{"attributes": dict(p.attributes or {}), "value": p.value}
                                    for p in metric.data.data_points]
    return out


def alert_records() -> list[dict[str, Any]]:
    from shared.entrypoints.wiring import services

    return [{"rule": a.rule, "evidence": a.evidence} for a in services().alerts.list_alerts()]


if __name__ == "__main__":
    sys.exit(main())
