"""docs/runbook.md stays true to the app: a section for every alert rule the code fires, only routes and
functions the app has, and a dead-letter redrive that really puts notifications back on their way."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import ContainerClient

from tests.infra import code_facts

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = (ROOT / "docs" / "runbook.md").read_text(encoding="utf-8")
_RULE_NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)+$")


def fired_rules() -> set[str]:
    """Alert rule names in shared/: constants named *RULE* (a string or a dict of strings) and rule="..." literals."""
    rules: set[str] = set()
    for path in (ROOT / "shared").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        rules.update(re.findall(r"""\brule=["']([a-z0-9-]+)["']""", text))
        for node in ast.parse(text).body:
            if not isinstance(node, ast.Assign) or not any(
                    isinstance(t, ast.Name) and "RULE" in t.id for t in node.targets):
                continue
            values = node.value.values if isinstance(node.value, ast.Dict) else [node.value]
            rules.update(v.value for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    return {r for r in rules if _RULE_NAME.match(r)}


def routes() -> list[re.Pattern[str]]:
    found = []
    for path in (ROOT / "shared" / "entrypoints").glob("*.py"):
        for route in re.findall(r"""route=["']([^"']+)["']""", path.read_text(encoding="utf-8")):
            found.append(re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(route)) + "$"))
    return found


def test_the_rules_found_include_the_known_ones() -> None:
    """Guards the guard: the rule scan finds constants, dict values and the delivery meta-alert."""
    assert {"slo-latency-p95", "slo-error-budget-fast-burn", "rollback-canary", "drift-no-reference",
            "modelwatch-alert-delivery-failed", "cost-idle-deployment"} <= fired_rules()


@pytest.mark.parametrize("rule", sorted(fired_rules()))
def test_every_rule_the_code_fires_has_a_section_in_the_runbook(rule: str) -> None:
    assert re.search(rf"(?m)^###[^\n]*\b{re.escape(rule)}\b", RUNBOOK), f"no ### section names {rule}"
    assert f"| `{rule}` |" in RUNBOOK, f"{rule} is not in the runbook's table of alerts"


def test_every_api_path_in_the_runbook_is_a_route_of_the_app() -> None:
    paths = {re.sub(r"<[^>]+>", "x", p) for p in re.findall(r"/api/([A-Za-z0-9_<>{}./-]+)", RUNBOOK)}
    assert paths, "the runbook names no /api/ path"
    patterns = routes()
    assert sorted(p for p in paths if not any(r.match(p.rstrip("/")) for r in patterns)) == []


def test_every_function_the_runbook_invokes_by_name_exists() -> None:
    names = set(re.findall(r"functionName=(\w+)", RUNBOOK)) | set(re.findall(r"/admin/functions/(\w+)", RUNBOOK))
    assert names >= {"on_ml_event", "alerts_outbox_timer"}
    assert sorted(names - set(code_facts.indexed_functions())) == []


# ---- the alert dead-letter redrive, run as written ----------------------------------------------------------
def redrive_code() -> str:
    block = re.search(r"<!-- redrive-alert-deadletters -->\s*```python\n(.*?)```", RUNBOOK, re.S)
    assert block, "the runbook's redrive snippet (after <!-- redrive-alert-deadletters -->) is missing"
    return block.group(1)


@pytest.fixture
def state(storage_connection_string: str, unique_name: str) -> Iterator[ContainerClient]:
    client = ContainerClient.from_connection_string(storage_connection_string, unique_name)
    client.create_container()
    yield client
    client.delete_container()


@pytest.fixture
def hook() -> Iterator[Any]:
    from tests.alerts.receivers import Receiver, Reply

    receiver = Receiver(Reply(500, "webhook down")).start()
    yield receiver
    receiver.stop()


def test_the_runbooks_redrive_sends_dead_lettered_notifications_again(state: ContainerClient, hook: Any) -> None:
    from shared.alerts.bootstrap import build_alert_service
    from shared.alerts.model import AlertSignal
    from shared.alerts.repository import AlertRepository
    from tests.alerts.receivers import Reply

    env = {"MODELWATCH_ALERT_WEBHOOK_URL": hook.url(), "MODELWATCH_ALERT_OUTBOX_MAX_ATTEMPTS": "1",
           "MODELWATCH_ALERT_HTTP_TIMEOUT": "2s"}
    service = build_alert_service(env, container=state, clock=lambda: datetime.now(UTC))
    alert = service.fire(AlertSignal(rule="slo-latency-p95", severity="Sev2", targets=("/subscriptions/s/ep",),
                                      labels={"endpoint": "credit-ep", "deployment": "green"},
                                      description="p95 over objective")).alert
    [dead] = [d for d in AlertRepository(state).dead_letters() if d.notification.alert_id == alert.id]
    hook.default = Reply(200, "ok")  # the sink is fixed

    namespace: dict[str, Any] = {}
    exec(compile(redrive_code(), "docs/runbook.md", "exec"), namespace)  # the snippet exactly as printed
    assert namespace["redrive"](state, "webhook") == [dead.delivery_id]
    service.tick()  # what POST /admin/functions/alerts_outbox_timer runs

    sent = [r.json["data"]["essentials"]["alertId"] for r in hook.requests]
    assert sent.count(alert.id) == 2  # the failed attempt, then the redrive
    assert [d for d in AlertRepository(state).dead_letters() if d.notification.alert_id == alert.id] == []
    assert AlertRepository(state).get_done(dead.delivery_id).outcome == "delivered"
