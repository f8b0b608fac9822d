"""Cost Management: daily cost of online endpoints and their deployments, and budgets.

Managed online endpoint costs accrue on the workspace resource, attributed by the tags
`azuremlendpoint` / `azuremldeployment` (Azure ML's cost-attribution tags), so queries group by one tag and
filter by the other. Columns are read by name (Azure names the cost column after the agreement
type). The client is a parameter. Cost APIs are throttled (a few calls per scope per minute) and the
data is hours old: callers cache and poll rarely (shared/adapters/cost_cache.py). Every call takes the
SDK's per-operation options (`retry_total=0` lets the cache, not the SDK, answer a 429).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.mgmt.costmanagement import CostManagementClient

ENDPOINT_TAG = "azuremlendpoint"
DEPLOYMENT_TAG = "azuremldeployment"
COST_COLUMNS = ("Cost", "PreTaxCost", "CostUSD", "totalCost")


@dataclass(frozen=True)
class CostRow:
    day: date
    endpoint: str | None
    deployment: str | None
    cost: float
    currency: str


@dataclass(frozen=True)
class CostReport:
    rows: list[CostRow]
    complete: bool  # False when Azure has more pages (nextLink) than this call read

    def total(self) -> float:
        return sum(r.cost for r in self.rows)


@dataclass(frozen=True)
class BudgetStatus:
    name: str
    amount: float
    current_spend: float
    forecast_spend: float | None
    unit: str
    time_grain: str

    @property
    def burn(self) -> float:
        return self.current_spend / self.amount if self.amount else 0.0


def _day(value: Any) -> date:
    text = str(int(value)) if isinstance(value, (int, float)) else str(value)
    if re.fullmatch(r"\d{8}", text):
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    return datetime.fromisoformat(text.replace("Z", "+00:00")).date()


class CostsAdapter:
    def __init__(self, client: CostManagementClient, scope: str) -> None:
        self._client = client
        self._scope = "/" + scope.strip("/")

    def endpoint_costs(self, start: datetime, end: datetime, **options: Any) -> CostReport:
        """Daily cost per online endpoint (grouped by the `azuremlendpoint` tag)."""
        return self._query(start, end, group_tag=ENDPOINT_TAG, endpoint=None, options=options)

    def deployment_costs(self, endpoint: str, start: datetime, end: datetime, **options: Any) -> CostReport:
        """Daily cost per deployment of one endpoint (filtered by endpoint tag, grouped by deployment tag)."""
        return self._query(start, end, group_tag=DEPLOYMENT_TAG, endpoint=endpoint, options=options)

    def _query(self, start: datetime, end: datetime, group_tag: str, endpoint: str | None,
               options: dict[str, Any] | None = None) -> CostReport:
        from azure.mgmt.costmanagement.models import (
            QueryAggregation,
            QueryComparisonExpression,
            QueryDataset,
            QueryDefinition,
            QueryFilter,
            QueryGrouping,
            QueryTimePeriod,
        )

        query_filter = None
        if endpoint is not None:
            query_filter = QueryFilter(tags=QueryComparisonExpression(name=ENDPOINT_TAG, operator="In",
                                                                      values_property=[endpoint]))
        definition = QueryDefinition(
            type="ActualCost", timeframe="Custom", time_period=QueryTimePeriod(from_property=start, to=end),
            dataset=QueryDataset(
                granularity="Daily",
                aggregation={"totalCost": QueryAggregation(name="Cost", function="Sum")},
                grouping=[QueryGrouping(type="TagKey", name=group_tag)],
                filter=query_filter,
            ),
        )
        result = self._client.query.usage(self._scope, definition, **(options or {}))
        if result is None:  # 204: no cost data for the period
            return CostReport(rows=[], complete=True)
        props = result.properties
        columns = [c.name for c in props.columns]
        rows = [_row(dict(zip(columns, r, strict=False)), group_tag, endpoint) for r in props.rows or []]
        # The SDK's query.usage cannot follow nextLink; say so instead of silently dropping pages.
        return CostReport(rows=rows, complete=not props.next_link)

    def budget(self, name: str, **options: Any) -> BudgetStatus:
        return _budget_of(self._client.budgets.get(self._scope, name, **options))

    def budgets(self, **options: Any) -> list[BudgetStatus]:
        """Every budget defined at this scope."""
        return [_budget_of(b) for b in self._client.budgets.list(self._scope, **options)]


def _budget_of(b: Any) -> BudgetStatus:
    props = b.properties
    forecast = getattr(props, "forecast_spend", None)
    return BudgetStatus(
        name=b.name, amount=float(props.amount), current_spend=float(props.current_spend.amount),
        forecast_spend=float(forecast.amount) if forecast is not None else None,
        unit=str(props.current_spend.unit), time_grain=str(props.time_grain),
    )


def _row(cells: dict[str, Any], group_tag: str, endpoint: str | None) -> CostRow:
    cost_key = next((k for k in COST_COLUMNS if k in cells), None)
    if cost_key is None:
        raise ValueError(f"cost query answer has no cost column: columns are {sorted(cells)}")
    value = cells.get("TagValue", cells.get(group_tag))
    value = str(value) if value not in (None, "") else None
    return CostRow(
        day=_day(cells.get("UsageDate", cells.get("BillingMonth"))),
        endpoint=value if group_tag == ENDPOINT_TAG else endpoint,
        deployment=value if group_tag == DEPLOYMENT_TAG else None,
        cost=float(cells[cost_key]),
        currency=str(cells.get("Currency", "USD")),
    )
