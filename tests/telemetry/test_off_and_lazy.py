"""Telemetry costs nothing unless asked for: `import function_app` loads no OpenTelemetry, an invocation without
APPLICATIONINSIGHTS_CONNECTION_STRING configures nothing, and with one the distro is configured on the first
invocation, not at import. Each case runs in a fresh interpreter, as a cold worker would."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from shared import telemetry
from shared.jobs import Job, MalformedJob

REPO = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent("""
    import json, os, sys
    loaded = lambda: sorted(m for m in sys.modules if m.startswith(("opentelemetry", "azure.monitor.opentelemetry")))
    import function_app
    at_import = loaded()
    import azure.functions as func
    from shared import telemetry
    from shared.entrypoints import health
    health.health(func.HttpRequest("GET", "http://localhost/api/health", body=b""))
    print(json.dumps({"at_import": at_import, "after_invocation": loaded(), "enabled": telemetry.enabled()}))
    sys.stdout.flush()
    os._exit(0)  # no exporter flush at exit: there is no ingestion endpoint here
""")


def cold_start(**env: str) -> dict[str, object]:
    base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true"}
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**base, **env})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_function_app_loads_no_opentelemetry() -> None:
    assert cold_start()["at_import"] == []


def test_without_a_connection_string_an_invocation_configures_nothing() -> None:
    seen = cold_start()
    assert (seen["enabled"], seen["after_invocation"]) == (False, [])


def test_with_a_connection_string_the_first_invocation_configures_the_distro_not_the_import() -> None:
    connection = "InstrumentationKey=00000000-0000-0000-0000-0000000000a1;IngestionEndpoint=http://127.0.0.1:9/"
    seen = cold_start(APPLICATIONINSIGHTS_CONNECTION_STRING=connection)
    assert seen["at_import"] == []
    assert seen["enabled"] is True
    assert "azure.monitor.opentelemetry" in seen["after_invocation"]


def test_off_a_span_is_a_no_op_and_there_is_no_trace_context() -> None:
    assert not telemetry.enabled()
    with telemetry.span("job check", job_kind="check") as span:
        span.set(decision="done")
        assert span.trace_id is None
    assert telemetry.current_traceparent() is None


def test_off_a_job_message_is_sent_unchanged() -> None:
    sent: list[str] = []
    telemetry.with_trace_context(sent.append)('{"id": "j1"}')
    assert sent == ['{"id": "j1"}']


def test_a_job_carries_its_traceparent_through_the_queue() -> None:
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    job = Job("j1", "run_failed", "/ws", "e1", "t", traceparent=parent)
    assert Job.from_json(job.to_json()).traceparent == parent


def test_a_job_without_trace_context_keeps_its_message_as_before() -> None:
    assert "traceparent" not in Job("j1", "run_failed", "/ws", "e1", "t").to_json()


def test_a_traceparent_that_is_not_text_is_a_malformed_job() -> None:
    raw = json.dumps({"id": "j1", "kind": "run_failed", "workspace_id": "/ws", "source_event_id": "e1",
                      "source_event_type": "t", "traceparent": 7})
    with pytest.raises(MalformedJob, match="traceparent"):
        Job.from_json(raw)
