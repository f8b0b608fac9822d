"""Cost Management query and budgets through the real azure-mgmt-costmanagement client."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from azure.mgmt.costmanagement.models import (
    QueryAggregation,
    QueryComparisonExpression,
    QueryDataset,
    QueryDefinition,
    QueryFilter,
    QueryGrouping,
    QueryTimePeriod,
)

from shared.adapters.azure_clients import cost_client
from tests.fixtures.emulator import EmulatorHandle


def _daily(grouping: QueryGrouping, query_filter: QueryFilter | None = None) -> QueryDefinition:
    return QueryDefinition(
        type="ActualCost",
        timeframe="Custom",
        time_period=QueryTimePeriod(
            from_property=datetime(2024, 4, 29, tzinfo=UTC), to=datetime(2024, 4, 30, 23, 59, 59, tzinfo=UTC)
        ),
        dataset=QueryDataset(
            granularity="Daily",
            aggregation={"totalCost": QueryAggregation(name="Cost", function="Sum")},
            grouping=[grouping],
            filter=query_filter,
        ),
    )


def _scope(emulator: EmulatorHandle) -> str:
    s = emulator.settings()
    return f"/subscriptions/{s.subscription_id}/resourceGroups/{s.resource_group}"


def test_daily_cost_by_deployment_tag_is_instance_hours_times_price(emulator: EmulatorHandle) -> None:
    result = cost_client(emulator.settings()).query.usage(
        _scope(emulator), _daily(QueryGrouping(type="TagKey", name="azuremldeployment"))
    )
    assert [c.name for c in result.columns] == ["Cost", "UsageDate", "TagKey", "TagValue", "Currency"]
    rows = {(r[1], r[3]): r[0] for r in result.rows}
    assert rows[(20240429, "blue")] == pytest.approx(2 * 24 * 0.293)  # 2 x Standard_DS3_v2, whole day
    assert rows[(20240429, "green")] == pytest.approx(1 * 24 * 0.169)  # 1 x Standard_F4s_v2
    assert set(rows) == {(20240429, "blue"), (20240429, "green"), (20240430, "blue"), (20240430, "green")}


def test_cost_grouped_by_resource_id_bills_the_workspace_in_lower_case(emulator: EmulatorHandle) -> None:
    result = cost_client(emulator.settings()).query.usage(
        _scope(emulator), _daily(QueryGrouping(type="Dimension", name="ResourceId"))
    )
    assert {r[2] for r in result.rows} == {emulator.settings().workspace_id.lower()}


def test_cost_filter_on_endpoint_tag_keeps_only_that_endpoint(emulator: EmulatorHandle) -> None:
    only_other = QueryFilter(
        tags=QueryComparisonExpression(name="azuremlendpoint", operator="In", values_property=["other-ep"])
    )
    result = cost_client(emulator.settings()).query.usage(
        _scope(emulator), _daily(QueryGrouping(type="Dimension", name="ResourceId"), only_other)
    )
    assert result.rows == []


def test_budget_reports_month_to_date_spend(emulator: EmulatorHandle) -> None:
    emulator.control("POST", "time/advance", {"hours": 12})
    budget = cost_client(emulator.settings()).budgets.get(_scope(emulator), "ml-monthly")
    assert budget.amount == 300
    # 1 May 00:00 -> 22:00: 22 h x (2 x 0.293 + 1 x 0.169)
    assert budget.current_spend.amount == pytest.approx(22 * (2 * 0.293 + 0.169), rel=1e-6)
    assert budget.notifications["Actual_GreaterThan_80_Percent"].threshold == 80
