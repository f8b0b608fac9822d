"""The function app indexes as the Functions worker would, and loads without any heavy SDK."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
import azure.functions as func
import function_app
apps = [v for v in vars(function_app).values() if isinstance(v, func.FunctionRegister)]
fns = {f.get_function_name(): f.get_trigger().get_binding_name() for f in apps[0].get_functions()}
heavy = sorted(m for m in sys.modules if (m.startswith('azure.') and not m.startswith('azure.functions'))
               or m.split('.')[0] in ('numpy', 'scipy', 'pyarrow', 'matplotlib', 'pydantic', 'requests'))
print(json.dumps({"apps": len(apps), "functions": fns, "heavy": heavy}))
"""


def probe() -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_exactly_one_function_app_with_the_core_functions() -> None:
    result = probe()
    assert result["apps"] == 1
    for name, trigger in {"health": "httpTrigger", "audit": "httpTrigger", "on_ml_event": "eventGridTrigger",
                          "on_resource_event": "eventGridTrigger", "job_worker": "queueTrigger",
                          "scheduled_sweep": "timerTrigger"}.items():
        assert result["functions"].get(name) == trigger, name


def test_loading_the_app_imports_no_sdk_beyond_azure_functions() -> None:
    assert probe()["heavy"] == []


def test_a_job_claim_outlives_the_longest_function_run() -> None:
    from datetime import timedelta

    from shared.bootstrap import WORKER_CLAIM_TIMEOUT

    timeout = json.loads((ROOT / "host.json").read_text())["functionTimeout"]
    hours, minutes, seconds = (int(x) for x in timeout.split(":"))
    longest_run = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    assert longest_run < WORKER_CLAIM_TIMEOUT
