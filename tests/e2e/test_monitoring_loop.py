"""The monitoring loop on the demo scenario, through the whole stack: the emulator's clock is the app's clock,
the sweep timer is run by hand after each 5-minute step, and what an on-call engineer sees is read over HTTP.

The demo (scenarios/demo.yaml) runs with a manual clock: at +1h50m the pipeline takes green out of rotation,
at +2h05m gives it 10% again (a canary), at +2h10m green's latency regresses and it fails 5% of requests, at
+2h20m income and age drift, at +2h30m credit-default:3 is registered, at +2h50m the pipeline re-applies
green's 10%, at +3h10m green heals. The tests run in order, as one story.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import yaml

from tests.e2e.stack import REPO, Stack

START = "2026-03-02T08:00:00Z"


class Demo:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.minute = 0

    def step_to(self, minute: int) -> None:
        """Advance the emulator to `minute` after the start in steps of at most 5 minutes, sweeping after each."""
        while self.minute < minute:
            step = min(5, minute - self.minute)
            self.stack.advance(minutes=step)
            self.minute += step
            self.stack.sweep()

    def alerts(self, **params: str) -> list[dict[str, Any]]:
        return self.stack.alerts(**params)

    def get(self, path: str) -> Any:
        answer = requests.get(f"{self.stack.app}{path}", timeout=30)
        assert answer.ok, answer.text
        return answer.json()

    def traffic(self) -> dict[str, int]:
        state = requests.get(f"{self.stack.emulator}/_emulator/state", timeout=30).json()
        return {k: v for k, v in state["endpoints"]["credit-ep"]["traffic"].items() if v}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    tmp = tmp_path_factory.mktemp("demo")
    scenario = yaml.safe_load((REPO / "scenarios" / "demo.yaml").read_text())
    scenario["clock"] = {"start": START, "mode": "manual"}
    path = tmp / "demo-manual.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    # The test runs the timers by hand after each jump of the clock, so their wall-clock schedules are off
    # (AzureWebJobs.<function>.Disabled, as in Azure; a disabled function still runs through /admin).
    stack = Stack(tmp, scenario=path, env={"AzureWebJobs.scheduled_sweep.Disabled": "true",
                                          "AzureWebJobs.alerts_outbox_timer.Disabled": "true"})
    try:
        stack.wait_until_running()
        demo = Demo(stack)
        demo.step_to(120)  # two hours of history
        yield demo
    finally:
        stack.stop()


def firing(alerts: list[dict[str, Any]], rule: str, **labels: str) -> list[dict[str, Any]]:
    return [a for a in alerts if a["rule"] == rule and a["state"] != "resolved"
            and all(a["labels"].get(k) == v for k, v in labels.items())]


def test_a_healthy_endpoint_raises_no_slo_drift_or_canary_alert(demo: Demo) -> None:
    rules = [a["rule"] for a in demo.alerts(endpoint="credit-ep")]
    assert [r for r in rules if r.startswith(("slo-", "drift-inputs", "rollback", "canary"))] == []


def test_the_pipeline_giving_green_traffic_starts_a_canary_analysis(demo: Demo) -> None:
    demo.step_to(125)
    [analysis] = demo.get("/api/endpoints/credit-ep/analyses")["analyses"]
    assert (analysis["canary"], analysis["baselines"], analysis["status"]) == ("green", ["blue"], "running")


def test_greens_failed_canary_is_rolled_back_to_blue_once_with_every_step_audited(demo: Demo) -> None:
    demo.step_to(145)  # the regression started at +2h10m
    [analysis] = demo.get("/api/endpoints/credit-ep/analyses")["analyses"]
    assert analysis["status"] == "fail", analysis["verdict"]["reason"]
    assert demo.traffic() == {"blue": 100}
    steps = [r["decision"] for r in demo.stack.audit() if r["kind"] == "rollback"]
    assert steps == ["lease_acquired", "decided", "traffic_change_requested", "verified", "rolled_back"]
    [alert] = firing(demo.alerts(endpoint="credit-ep"), "rollback-canary", deployment="green")
    assert alert["severity"] == "Sev1"


def test_a_re_applied_split_raises_a_re_promotion_alert_and_no_second_rollback(demo: Demo) -> None:
    demo.step_to(170)  # the pipeline re-applied green's 10% at +2h50m
    assert demo.traffic() == {"blue": 90, "green": 10}
    assert firing(demo.alerts(endpoint="credit-ep"), "canary-repromoted", deployment="green")
    rolled_back = [r for r in demo.stack.audit() if r["kind"] == "rollback" and r["decision"] == "rolled_back"]
    assert len(rolled_back) == 1


def test_greens_latency_regression_fires_on_green_not_blue_within_two_sweeps_of_serving_again(demo: Demo) -> None:
    # The canary caught the regression first and took green's traffic away (an idle deployment is neither
    # healthy nor failing). Re-promoted at +2h50m, green serves slowly again: two sweeps later the SLO says so.
    demo.step_to(180)
    alerts = demo.alerts(endpoint="credit-ep")
    assert firing(alerts, "slo-latency-p95", deployment="green")
    assert not firing(alerts, "slo-latency-p95", deployment="blue")


def test_income_and_age_drift_fire_a_drift_alert_naming_them_and_not_the_stable_features(demo: Demo) -> None:
    demo.step_to(182)
    [listed] = firing(demo.alerts(endpoint="credit-ep"), "drift-inputs", deployment="blue")
    alert = demo.stack.alert(listed["id"])
    drifted = set(alert["evidence"]["drifted_features"])
    assert {"income", "age"} <= drifted and not drifted & {"utilization", "employment"}


def test_greens_errors_burn_the_error_budget_fast(demo: Demo) -> None:
    alerts = demo.alerts(endpoint="credit-ep")
    assert firing(alerts, "slo-error-budget-fast-burn", deployment="green")
    assert not firing(alerts, "slo-error-budget-fast-burn", deployment="blue")


def test_the_registered_model_version_gets_a_reference_profile_and_a_gate_verdict(demo: Demo) -> None:
    records = [r for r in demo.stack.audit() if r["kind"] == "check"]
    references = [r for r in records if r["details"].get("check") == "reference" and r["decision"] == "ok"
                  and r["details"]["evidence"].get("model") == "credit-default"
                  and str(r["details"]["evidence"].get("version")) == "3"]
    assert references, "no reference profile for credit-default:3"
    evidence = references[-1]["details"]["evidence"]
    assert evidence["rows"] > 0 and evidence["content_hash"] and evidence["source"] and evidence["provenance"]
    gates = [r for r in records if r["details"].get("check") == "gate"]
    assert gates and gates[-1]["details"]["evidence"]["gate"] == "pass"  # auc 0.81 vs blue's 0.78, margin 0.01


def test_when_green_heals_its_latency_alert_resolves_after_keep_firing(demo: Demo) -> None:
    demo.step_to(220)  # healed at +3h10m; keep-firing is 10 minutes
    demo.stack.run_timer("alerts_outbox_timer")
    latency = [a for a in demo.alerts(endpoint="credit-ep") if a["rule"] == "slo-latency-p95"
               and a["labels"].get("deployment") == "green"]
    assert latency and all(a["state"] == "resolved" for a in latency)


@pytest.mark.parametrize("rule", ["quota-headroom", "cost-budget-forecast", "cost-idle-deployment"])
def test_the_demos_quota_budget_and_idle_cases_each_raise_their_alert(demo: Demo, rule: str) -> None:
    assert firing(demo.alerts(), rule), f"no {rule} alert; alerts: {[a['rule'] for a in demo.alerts()]}"


def test_the_probe_answers_every_check_and_a_live_latency_per_deployment(demo: Demo) -> None:
    answer = requests.post(f"{demo.stack.app}/api/endpoints/credit-ep/probe", json={"by": "e2e"}, timeout=60)
    assert answer.ok, answer.text
    report = answer.json()
    assert {c["check"] for c in report["checks"]} >= {"slo", "drift", "quota", "cost"}
    live = {s["deployment"]: s for s in report["live"]}
    assert live["blue"]["latency_ms"] is not None and live["green"]["latency_ms"] is not None
