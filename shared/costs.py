"""Cost Management: daily cost rows for online endpoints and budgets, via azure-mgmt-costmanagement.

Rows are read by column name (Azure names the cost column after the agreement type), resource ids are
lower-cased by Azure and normalized here, and endpoint / deployment come from the resource id or the
`azuremlendpoint` / `azuremldeployment` tags. The client is a parameter. Cost APIs are throttled
(a few calls per scope per minute): callers cache.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from azure.mgmt.costmanagement import CostManagementClient

_DEPLOYMENT = re.compile(r"/onlineendpoints/(?P<ep>[^/]+)(?:/deployments/(?P<dep>[^/]+))?", re.IGNORECASE)
COST_COLUMNS = ("Cost", "PreTaxCost", "CostUSD", "totalCost")


@dataclass(frozen=True)
class CostRow:
    day: date
    resource_id: str
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


def _day(value: Any) -> date:
    text = str(int(value)) if isinstance(value, (int, float)) else str(value)
    if re.fullmatch(r"\d{8}", text):
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    return datetime.fromisoformat(text.replace("Z", "+00:00")).date()


class CostsAdapter:
    def __init__(self, client: CostManagementClient, scope: str) -> None:
        self._client = client
        self._scope = scope.strip("/")

    def daily_costs(self, start: datetime, end: datetime) -> CostReport:
        from azure.mgmt.costmanagement.models import (
            QueryAggregation,
            QueryDataset,
            QueryDefinition,
            QueryGrouping,
            QueryTimePeriod,
        )

        definition = QueryDefinition(
            type="ActualCost", timeframe="Custom", time_period=QueryTimePeriod(from_property=start, to=end),
            dataset=QueryDataset(
                granularity="Daily",
                aggregation={"totalCost": QueryAggregation(name="Cost", function="Sum")},
                grouping=[QueryGrouping(type="Dimension", name="ResourceId"),
                          QueryGrouping(type="TagKey", name="azuremlendpoint"),
                          QueryGrouping(type="TagKey", name="azuremldeployment")],
            ),
        )
        result = self._client.query.usage(f"/{self._scope}", definition)
        if result is None:  # 204: no cost data for the period
            return CostReport(rows=[], complete=True)
        props = result.properties
        columns = [c.name for c in props.columns]
        rows = [_row(dict(zip(columns, r, strict=False))) for r in props.rows or []]
        # The SDK's query.usage cannot follow nextLink; say so instead of silently dropping pages.
        return CostReport(rows=rows, complete=not props.next_link)

    def budget(self, name: str) -> BudgetStatus:
        b = self._client.budgets.get(f"/{self._scope}", name)
        props = b.properties
        forecast = getattr(props, "forecast_spend", None)
        return BudgetStatus(
            name=b.name, amount=float(props.amount), current_spend=float(props.current_spend.amount),
            forecast_spend=float(forecast.amount) if forecast is not None else None,
            unit=str(props.current_spend.unit), time_grain=str(props.time_grain),
        )


def _row(cells: dict[str, Any]) -> CostRow:
    cost_key = next((k for k in COST_COLUMNS if k in cells), None)
    if cost_key is None:
        raise ValueError(f"cost query answer has no cost column: columns are {sorted(cells)}")
    resource = str(cells.get("ResourceId", "")).lower()
    match = _DEPLOYMENT.search(resource)
    endpoint = cells.get("azuremlendpoint") or (match.group("ep") if match else None)
    deployment = cells.get("azuremldeployment") or (match.group("dep") if match else None)
    day_value = cells.get("UsageDate", cells.get("BillingMonth"))
    return CostRow(day=_day(day_value), resource_id=resource, endpoint=endpoint, deployment=deployment,
                   cost=float(cells[cost_key]), currency=str(cells.get("Currency", "USD")))
