"""The cost check through the real worker, on the emulator's Cost Management, budgets and metrics.

The test scenario bills blue (2 x Standard_DS3_v2 at 0.293/h) and green (1 x Standard_F4s_v2 at 0.169/h):
0.755 an hour, 18.12 a day. At the start (1 May 10:00) May has cost 7.55, so the month-end forecast is
7.55 x 744 h / 10 h = 561.7."""

from __future__ import annotations

from typing import Any

from shared.jobs import Job
from tests.checks.conftest import World
from tests.quotacost.helpers import check, firing, resolved, scenario, verdict


def budgets(*amounts: float) -> dict[str, Any]:
    return {"history_days": 3, "budgets": [{"name": f"b{int(a)}", "amount": a} for a in amounts]}


def quiet_endpoint(**changes: Any) -> list[dict[str, Any]]:
    """The scenario's endpoint with light traffic and no data collection (advancing hours stays quick)."""
    endpoint = {**scenario()["endpoints"][0], "requests_per_minute": 4, **changes}
    endpoint["deployments"] = [{**d, "data_collection": False} for d in endpoint["deployments"]]
    return [endpoint]


def cost_job(world: World, run: str) -> Job:
    return check(world, "cost", run)


# ---- budgets -------------------------------------------------------------------------------------------
def test_a_forecast_past_the_budget_fires_sev2(world: World) -> None:
    world.emulator.load(costs=budgets(500))
    assert world.run(cost_job(world, "1")) == "done"
    [alert] = firing(world, "cost-budget-forecast")
    assert (alert.labels, alert.severity.value) == ({"budget": "b500"}, "Sev2")
    assert alert.evidence["forecast"] == round(7.55 * 744 / 10, 6)
    assert alert.evidence["level"] == "over"


def test_a_forecast_past_80_percent_fires_sev3(world: World) -> None:
    world.emulator.load(costs=budgets(650))  # 561.7 / 650 = 86%
    world.run(cost_job(world, "1"))
    assert [(a.labels, a.severity.value) for a in firing(world, "cost-budget-forecast")] == [
        ({"budget": "b650"}, "Sev3")]


def test_a_budget_well_within_its_amount_raises_nothing(world: World) -> None:
    world.emulator.load(costs=budgets(1000))  # 56%
    world.run(cost_job(world, "1"))
    assert firing(world, "cost-budget-forecast") == []
    burn = verdict(world, "cost").evidence["budgets"][0]
    assert (burn["spend"], burn["spend_ratio"], burn["forecast_source"]) == (7.55, 0.00755, "azure")


def test_every_budget_of_the_scope_is_watched_when_none_is_named(world: World) -> None:
    world.emulator.load(costs=budgets(500, 650, 1000))
    world.run(cost_job(world, "1"))
    assert sorted((a.labels["budget"], a.severity.value) for a in firing(world, "cost-budget-forecast")) == [
        ("b500", "Sev2"), ("b650", "Sev3")]


# ---- anomalies -----------------------------------------------------------------------------------------
def test_steady_daily_costs_are_no_anomaly(world: World) -> None:
    world.emulator.load(costs={"history_days": 20})
    world.run(cost_job(world, "1"))
    v = verdict(world, "cost", "credit-ep")
    assert v.evidence["anomaly"]["status"] == "ok"
    assert v.evidence["anomaly"]["median"] == round(18.12, 6)
    assert firing(world, "cost-anomaly") == []


def test_a_cost_spike_fires_for_the_endpoint_and_the_deployment_that_caused_it(world: World) -> None:
    world.emulator.load(costs={"history_days": 20}, endpoints=quiet_endpoint(), timeline=[
        {"at": "1m", "note": "blue scaled out", "deployment": {"endpoint": "credit-ep", "deployment": "blue",
                                                               "instance_count": 10}}])
    world.advance(minutes=14 * 60 + 30)  # 2 May 00:30: 1 May, a day of 10 x blue for 14 h, is complete
    world.run(cost_job(world, "1"))
    alerts = firing(world, "cost-anomaly")
    assert sorted(tuple(sorted(a.labels.items())) for a in alerts) == [
        (("deployment", "blue"), ("endpoint", "credit-ep")), (("endpoint", "credit-ep"),)]
    endpoint_alert = next(a for a in alerts if "deployment" not in a.labels)
    assert endpoint_alert.severity.value == "Sev3"
    ev = endpoint_alert.evidence
    assert ev["day"] == "2024-05-01" and ev["median"] == round(18.12, 6)
    assert ev["excess"] > 5 and ev["floor"] == 5.0 and ev["history_days"] == 14


def test_an_anomaly_needs_a_week_of_history(world: World) -> None:
    world.run(cost_job(world, "1"))  # the test scenario bills from 28 April: two days before 30 April
    anomaly = verdict(world, "cost", "credit-ep").evidence["anomaly"]
    assert anomaly["status"] == "insufficient_data"
    assert anomaly["history_days"] == 2


# ---- idle deployments ----------------------------------------------------------------------------------
def with_spare() -> list[dict[str, Any]]:
    [endpoint] = quiet_endpoint()
    spare = {"name": "spare", "model": {"name": "credit", "version": 1}, "instance_type": "Standard_DS2_v2",
             "instance_count": 1, "data_collection": False}
    return [{**endpoint, "deployments": [*endpoint["deployments"], spare]}]


def test_a_deployment_with_instances_and_no_request_in_24h_is_idle(world: World) -> None:
    world.emulator.load(endpoints=with_spare())
    world.advance(minutes=30)  # blue and green serve requests; spare (0% traffic) serves none
    world.run(cost_job(world, "1"))
    [alert] = firing(world, "cost-idle-deployment")
    assert (alert.labels, alert.severity.value) == ({"endpoint": "credit-ep", "deployment": "spare"}, "Sev4")
    assert alert.evidence["requests"] == 0 and alert.evidence["instances"] == 1
    assert alert.evidence["cost"] == round(24 * 0.146 + 10.5 * 0.146, 6)  # 30 April and 1 May to 10:30


def test_an_idle_deployment_that_serves_again_resolves(world: World) -> None:
    world.emulator.load(endpoints=with_spare())
    world.advance(minutes=30)
    world.run(cost_job(world, "1"))
    world.emulator.control("POST", "traffic", {"requests": 3, "deployment": "spare"})
    world.advance(minutes=11)
    world.run(cost_job(world, "2"))
    assert firing(world, "cost-idle-deployment") == []
    assert [a.labels["deployment"] for a in resolved(world, "cost-idle-deployment")] == ["spare"]


def test_the_endpoint_verdict_carries_daily_costs_per_endpoint_and_deployment(world: World) -> None:
    world.emulator.load(endpoints=with_spare())
    world.advance(minutes=30)
    world.run(cost_job(world, "1"))
    evidence = verdict(world, "cost", "credit-ep").evidence
    assert evidence["daily_cost"]["2024-04-30"] == round(24 * (2 * 0.293 + 0.169 + 0.146), 6)
    assert evidence["deployments"]["blue"]["daily_cost"]["2024-04-30"] == round(48 * 0.293, 6)
    assert evidence["deployments"]["spare"]["requests_24h"] == 0
    assert evidence["deployments"]["blue"]["requests_24h"] > 0


def test_a_deployment_missing_from_a_metrics_answer_cut_at_top_10_is_not_called_idle(world: World) -> None:
    [endpoint] = with_spare()
    busy = [{"name": f"d{i}", "model": {"name": "credit", "version": 1}, "instance_type": "Standard_DS2_v2",
             "instance_count": 1, "data_collection": False, "error_rate": 0.2, "client_error_rate": 0.2}
            for i in range(4)]  # 4 deployments x 2xx, 4xx, 5xx: 12 series, more than the query's top of 10
    world.emulator.load(endpoints=[{**endpoint, "requests_per_minute": 20, "traffic": {f"d{i}": 25 for i in range(4)},
                                    "deployments": [*busy, endpoint["deployments"][-1]]}], timeline=[])
    world.services.checks.azure.metrics.top = 10  # Azure Monitor's default, which the adapter no longer asks
    world.advance(minutes=30)
    world.run(cost_job(world, "1"))
    assert firing(world, "cost-idle-deployment") == []
    spare = verdict(world, "cost", "credit-ep").evidence["deployments"]["spare"]
    assert (spare["requests_24h"], spare["idle"]["status"]) == (None, "pending")
