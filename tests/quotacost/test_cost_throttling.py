"""Cost Management throttles (a few queries per scope per minute, then 429 with Retry-After): the emulator
does the same when the scenario asks, and the cost check's cache honours it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.costmanagement.models import QueryAggregation, QueryDataset, QueryDefinition, QueryTimePeriod

from shared.adapters.azure_clients import cost_client
from shared.adapters.cost_cache import retry_after
from shared.jobs import Job
from tests.checks.conftest import World
from tests.fixtures.emulator import EmulatorHandle
from tests.quotacost.helpers import check, scenario, verdict
from tests.quotacost.test_cost_check import quiet_endpoint, with_spare

QUERY = QueryDefinition(
    type="ActualCost", timeframe="Custom",
    time_period=QueryTimePeriod(from_property=datetime(2024, 4, 29, tzinfo=UTC),
                                to=datetime(2024, 4, 30, 23, 59, 59, tzinfo=UTC)),
    dataset=QueryDataset(granularity="Daily", aggregation={"totalCost": QueryAggregation(name="Cost", function="Sum")}))
QUERIES = "POST costManagement/query"


def throttled(per_minute: int, **costs: Any) -> dict[str, Any]:
    return {"history_days": 3, "budgets": [{"name": "ml-monthly", "amount": 300}],
            "throttle": {"queries_per_minute": per_minute}, **costs}


def rg_scope(emulator: EmulatorHandle) -> str:
    s = emulator.settings()
    return f"/subscriptions/{s.subscription_id}/resourceGroups/{s.resource_group}"


def spend_the_minute(emulator: EmulatorHandle, queries: int) -> None:
    """Another caller (the portal, a FinOps export) uses the scope's queries for this minute."""
    client = cost_client(emulator.settings())
    for _ in range(queries):
        client.query.usage(rg_scope(emulator), QUERY)


# ---- the emulator --------------------------------------------------------------------------------------
def test_the_emulator_does_not_throttle_unless_the_scenario_asks(emulator: EmulatorHandle) -> None:
    spend_the_minute(emulator, 8)


def test_the_emulator_answers_429_with_cost_managements_retry_after_headers(emulator: EmulatorHandle) -> None:
    emulator.load(costs=throttled(3))
    spend_the_minute(emulator, 3)
    with pytest.raises(HttpResponseError) as raised:
        cost_client(emulator.settings()).query.usage(rg_scope(emulator), QUERY)
    assert raised.value.status_code == 429
    headers = raised.value.response.headers
    assert headers["x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after"] == "60"
    assert headers["Retry-After"] == "60"


def test_the_emulator_admits_queries_again_a_minute_later(emulator: EmulatorHandle) -> None:
    emulator.load(costs=throttled(3))
    spend_the_minute(emulator, 3)
    emulator.control("POST", "time/advance", {"minutes": 1})
    spend_the_minute(emulator, 3)


def test_the_emulator_counts_each_scope_on_its_own(emulator: EmulatorHandle) -> None:
    emulator.load(costs=throttled(1))
    spend_the_minute(emulator, 1)
    subscription = f"/subscriptions/{emulator.settings().subscription_id}"
    cost_client(emulator.settings()).query.usage(subscription, QUERY)


def test_the_longest_rate_limit_header_is_the_wait() -> None:
    now = datetime(2024, 5, 1, tzinfo=UTC)
    headers = {"Retry-After": "10", "x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after": "45",
               "x-ms-ratelimit-microsoft.costmanagement-qpu-remaining": "0"}
    assert retry_after(headers, now) == timedelta(seconds=45)
    assert retry_after({"x-ms-ratelimit-microsoft.consumption-retry-after": "7"}, now) == timedelta(seconds=7)
    assert retry_after({"retry-after": "Wed, 01 May 2024 00:00:30 GMT"}, now) == timedelta(seconds=30)
    assert retry_after({"x-ms-ratelimit-microsoft.costmanagement-qpu-consumed": "3"}, now) is None


# ---- the cost check's cache ----------------------------------------------------------------------------
def query_calls(world: World) -> int:
    return int(world.emulator.state()["calls"].get(QUERIES, 0))


def first_run_then_a_throttled_minute(world: World) -> None:
    """Run 1 caches the answers; 7 h later (stale) another caller has used the scope's 2 queries a minute."""
    world.emulator.load(costs=throttled(2), endpoints=quiet_endpoint())
    world.run(check(world, "cost", "1"))
    world.advance(minutes=7 * 60)
    spend_the_minute(world.emulator, 2)


def test_a_429_serves_the_cached_answer_and_the_verdict_says_so(world: World) -> None:
    first_run_then_a_throttled_minute(world)
    world.run(check(world, "cost", "2"))
    v = verdict(world, "cost", "credit-ep")
    assert v.evidence["cost_data"]["source"] == "cache-after-429"
    assert v.evidence["cost_data"]["fetched_at"] == "2024-05-01T10:00:00+00:00"
    assert "429" in v.evidence["cost_data"]["note"]
    assert "from cache after a 429" in v.summary
    assert v.evidence["cost_cache"]["throttled"] == 1
    assert v.evidence["daily_cost"]["2024-04-30"] == round(24 * (2 * 0.293 + 0.169), 6)


def test_no_query_is_sent_before_the_retry_after_has_passed(world: World) -> None:
    first_run_then_a_throttled_minute(world)
    world.run(check(world, "cost", "2"))
    assert verdict(world, "cost", "credit-ep").evidence["cost_cache"]["throttled_until"] == "2024-05-01T17:01:00+00:00"
    before = query_calls(world)
    world.run(check(world, "cost", "3"))
    assert query_calls(world) == before
    assert verdict(world, "cost", "credit-ep").evidence["cost_cache"]["held_back"] == 1
    world.advance(minutes=2)
    world.run(check(world, "cost", "4"))
    assert query_calls(world) == before + 1
    assert verdict(world, "cost", "credit-ep").evidence["cost_data"]["source"] == "azure"


def test_a_fresh_answer_is_served_from_the_cache_without_asking_azure(world: World) -> None:
    world.emulator.load(costs=throttled(2), endpoints=quiet_endpoint())
    world.run(check(world, "cost", "1"))
    before = query_calls(world)
    world.advance(minutes=60)  # within the 6 h cost cadence
    world.run(check(world, "cost", "2"))
    assert query_calls(world) == before
    assert verdict(world, "cost", "credit-ep").evidence["cost_data"]["source"] == "cache"


def test_throttled_with_nothing_cached_is_pending_and_names_the_wait(world: World) -> None:
    world.emulator.load(costs=throttled(1), endpoints=quiet_endpoint())
    spend_the_minute(world.emulator, 1)
    world.run(check(world, "cost", "1"))
    v = verdict(world, "cost", "credit-ep")
    assert v.status == "pending"
    assert "429" in v.summary and "2024-05-01T10:01:00+00:00" in v.summary
    assert verdict(world, "cost").status == "alert"  # budgets are not Cost Management queries: still judged


def test_endpoints_left_waiting_by_a_429_are_asked_for_first_on_the_next_run(world: World) -> None:
    [first] = with_spare()
    second = {**first, "name": "other-ep"}
    models = [{**m, "versions": [{k: v for k, v in version.items() if k != "training_data"}
                                 for version in m["versions"]]} for m in scenario()["models"]]
    world.emulator.load(costs=throttled(2), endpoints=[first, second], models=models, timeline=[])
    world.advance(minutes=30)
    world.run(check(world, "cost", "1"))  # all endpoints, then credit-ep's deployments; other-ep's get 429
    assert verdict(world, "cost", "other-ep").evidence["deployment_cost_data"]["source"] == "unavailable"
    world.advance(minutes=7 * 60)  # every answer is stale now
    world.run(check(world, "cost", "2"))
    sources = {ep: verdict(world, "cost", ep).evidence["deployment_cost_data"]["source"]
               for ep in ("credit-ep", "other-ep")}
    assert sources == {"other-ep": "azure", "credit-ep": "cache-after-429"}


def _sweep(world: World, tag: str) -> list[Job]:
    """The timer's sweep, then what it fanned out."""
    world.run(Job(id=f"sweep-{tag}", kind="scheduled_sweep", workspace_id=world.workspace_id,
                  source_event_id=f"timer-{tag}", source_event_type="timer"))
    return world.jobs()


def test_a_cost_run_left_pending_by_a_429_runs_again_at_the_first_sweep_after_the_wait(world: World) -> None:
    world.emulator.load(costs=throttled(1), endpoints=quiet_endpoint())
    _sweep(world, "first")  # the regular cost slot is enqueued (not run) here, so the next sweep does not
    spend_the_minute(world.emulator, 1)
    world.run(check(world, "cost", "1"))
    assert verdict(world, "cost", "credit-ep").status == "pending"  # 429, nothing cached: wait a minute
    assert not [j for j in _sweep(world, "within-the-wait") if j.target.get("check") == "cost"]
    world.advance(minutes=5)
    [follow_up] = [j for j in _sweep(world, "after-the-wait") if j.target.get("check") == "cost"]
    assert follow_up.id.endswith("-follow-up")
    world.run(follow_up)
    v = verdict(world, "cost", "credit-ep")
    assert v.status != "pending" and v.evidence["cost_data"]["source"] == "azure"
    assert not [j for j in _sweep(world, "later") if j.target.get("check") == "cost"]  # once
