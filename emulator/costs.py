"""Cost Management: the Query API (columns + rows) and Budgets, from simulated instance hours.

Cost accrues per deployment as instance hours x the VM size's hourly price (scenario `vm_sizes`), on
the workspace resource with the tags `azuremlendpoint` / `azuremldeployment`, as Azure bills managed
online endpoints. Deployments declared in the scenario are billed from `costs.history_days` before the
start, so month-to-date and day-over-day views have history. Queries are rate-limited per scope as Cost
Management does (`Throttle`, off unless the scenario sets `costs.throttle`). Pure computation; the HTTP
routes are in costs_api.py.
"""

from __future__ import annotations

import calendar
import math
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from emulator.routing import ArmError
from emulator.scenario import CostThrottle
from emulator.world import World, stable_uuid


@dataclass
class CostRow:
    day: date
    endpoint: str
    deployment: str
    instance_type: str
    cost: float
    hours: float


def _segments(world: World) -> list[tuple[str, str, str, int, datetime, datetime]]:
    """(endpoint, deployment, size, capacity, from, to) spans of constant capacity, up to now."""
    now = world.clock.now()
    by_key: dict[tuple[str, str], list[Any]] = {}
    for change in world.capacity_history:
        by_key.setdefault((change.endpoint, change.deployment), []).append(change)
    spans = []
    for (ep, dep), changes in by_key.items():
        for i, change in enumerate(changes):
            end = changes[i + 1].at if i + 1 < len(changes) else now
            if change.capacity > 0 and end > change.at:
                spans.append((ep, dep, change.instance_type, change.capacity, change.at, min(end, now)))
    return spans


def daily_costs(world: World, start: datetime, end: datetime) -> list[CostRow]:
    rows: dict[tuple[date, str, str, str], CostRow] = {}
    for ep, dep, size, capacity, s_from, s_to in _segments(world):
        price = world.vm_sizes[size].price_per_hour if size in world.vm_sizes else 0.0
        cursor = max(s_from, start)
        stop = min(s_to, end)
        while cursor < stop:
            day_end = datetime.combine(cursor.date() + timedelta(days=1), datetime.min.time(), UTC)
            piece_end = min(day_end, stop)
            hours = (piece_end - cursor).total_seconds() / 3600 * capacity
            key = (cursor.date(), ep, dep, size)
            row = rows.setdefault(key, CostRow(cursor.date(), ep, dep, size, 0.0, 0.0))
            row.hours += hours
            row.cost += hours * price
            cursor = piece_end
    return sorted(rows.values(), key=lambda r: (r.day, r.endpoint, r.deployment))


# ---- scopes ------------------------------------------------------------------------------------
def scope_matches(world: World, scope: str) -> bool:
    parts = [p for p in scope.strip("/").split("/") if p]
    if (
        len(parts) < 2
        or parts[0].lower() != "subscriptions"
        or parts[1].lower() != world.subscription_id.lower()
    ):
        return False
    if len(parts) == 2:
        return True
    return (
        len(parts) == 4
        and parts[2].lower() == "resourcegroups"
        and parts[3].lower() == world.resource_group.lower()
    )


# ---- query -------------------------------------------------------------------------------------
def timeframe_window(body: dict[str, Any], now: datetime) -> tuple[datetime, datetime]:
    frame = str(body.get("timeframe") or "MonthToDate").lower()
    today = datetime.combine(now.date(), datetime.min.time(), UTC)
    month = today.replace(day=1)
    if frame in ("monthtodate", "billingmonthtodate"):
        return month, now
    if frame == "thecurrentmonth":
        return month, month + timedelta(days=calendar.monthrange(month.year, month.month)[1])
    if frame in ("thelastmonth", "thelastbillingmonth"):
        prev = (month - timedelta(days=1)).replace(day=1)
        return prev, month
    if frame == "weektodate":
        return today - timedelta(days=today.weekday()), now
    if frame == "custom":
        period = body.get("timePeriod") or {}
        try:
            start = _parse(period["from"])
            end = _parse(period["to"])
        except (KeyError, ValueError) as exc:
            raise ArmError(
                400,
                "BadRequest",
                f"timeframe Custom needs timePeriod.from and timePeriod.to as ISO dates: {exc}",
            ) from None
        if end.time() == datetime.min.time() or end.strftime("%H:%M:%S") == "23:59:59":
            end = datetime.combine(end.date() + timedelta(days=1), datetime.min.time(), UTC)
        return start, end
    raise ArmError(
        400,
        "BadRequest",
        f"Unsupported timeframe {body.get('timeframe')!r}; use MonthToDate, "
        f"TheCurrentMonth, TheLastMonth, WeekToDate, BillingMonthToDate or Custom.",
    )


def _parse(text: str) -> datetime:
    value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def row_dims(world: World, row: CostRow) -> tuple[dict[str, str], dict[str, str]]:
    dims = {
        "resourceid": world.workspace_id.lower(),
        "resourcegroup": world.resource_group.lower(),
        "resourcegroupname": world.resource_group.lower(),
        "resourcetype": "microsoft.machinelearningservices/workspaces",
        "resourcelocation": world.location,
        "servicename": "Azure Machine Learning",
        "metercategory": "Virtual Machines",
        "metersubcategory": row.instance_type,
        "subscriptionid": world.subscription_id,
        "chargetype": "Usage",
        "publishertype": "Azure",
    }
    tags = {"azuremlendpoint": row.endpoint, "azuremldeployment": row.deployment}
    return dims, tags


def _passes(flt: dict[str, Any] | None, dims: dict[str, str], tags: dict[str, str]) -> bool:
    if not flt:
        return True
    if flt.get("and"):
        return all(_passes(f, dims, tags) for f in flt["and"])
    if flt.get("or"):
        return any(_passes(f, dims, tags) for f in flt["or"])
    if flt.get("not"):
        return not _passes(flt["not"], dims, tags)
    for kind, table in (("dimensions", dims), ("tags", tags)):
        expr = flt.get(kind)
        if expr:
            name = str(expr.get("name", "")).lower()
            values = {str(v).lower() for v in expr.get("values") or []}
            if kind == "dimensions" and name not in table:
                raise ArmError(
                    400,
                    "BadRequest",
                    f"Invalid dimension {expr.get('name')!r} in filter; supported: {sorted(table)}.",
                )
            return str(table.get(name, "")).lower() in values
    return True


def query(world: World, scope: str, body: dict[str, Any], currency: str) -> dict[str, Any]:
    dataset = body.get("dataset") or {}
    granularity = str(dataset.get("granularity") or "None").lower()
    if granularity not in ("daily", "monthly", "none"):
        raise ArmError(
            400,
            "BadRequest",
            f"Unsupported granularity {dataset.get('granularity')!r}; use Daily, Monthly or None.",
        )
    aggregation = dataset.get("aggregation") or {"totalCost": {"name": "PreTaxCost", "function": "Sum"}}
    groupings = dataset.get("grouping") or []
    if len(groupings) > 2:
        raise ArmError(400, "BadRequest", "At most two grouping clauses are allowed.")
    if sum(1 for g in groupings if str(g.get("type", "")).lower() == "tagkey") > 1:
        raise ArmError(400, "BadRequest", "The emulator supports at most one TagKey grouping per query.")
    start, end = timeframe_window(body, world.clock.now())
    rows = daily_costs(world, start, end) if scope_matches(world, scope) else []
    columns = [{"name": spec.get("name", alias), "type": "Number"} for alias, spec in aggregation.items()]
    columns += (
        [{"name": "UsageDate", "type": "Number"}]
        if granularity == "daily"
        else [{"name": "BillingMonth", "type": "Datetime"}]
        if granularity == "monthly"
        else []
    )
    for grp in groupings:
        if str(grp.get("type", "")).lower() == "tagkey":
            columns += [{"name": "TagKey", "type": "String"}, {"name": "TagValue", "type": "String"}]
        else:
            columns.append({"name": grp.get("name"), "type": "String"})
    columns.append({"name": "Currency", "type": "String"})
    return {
        "columns": columns,
        "rows": _aggregate(world, rows, dataset, aggregation, groupings, granularity, currency),
    }


def _aggregate(
    world: World,
    rows: list[CostRow],
    dataset: dict[str, Any],
    aggregation: dict[str, Any],
    groupings: list[dict[str, Any]],
    granularity: str,
    currency: str,
) -> list[list[Any]]:
    totals: dict[tuple[Any, ...], list[float]] = {}
    for row in rows:
        dims, tags = row_dims(world, row)
        if not _passes(dataset.get("filter"), dims, tags):
            continue
        key: list[Any] = []
        if granularity == "daily":
            key.append(int(row.day.strftime("%Y%m%d")))
        elif granularity == "monthly":
            key.append(row.day.replace(day=1).strftime("%Y-%m-%dT00:00:00"))
        for grp in groupings:
            name = str(grp.get("name", ""))
            if str(grp.get("type", "")).lower() == "tagkey":
                key += [name.lower(), tags.get(name.lower())]
            else:
                if name.lower() not in dims:
                    raise ArmError(
                        400, "BadRequest", f"Invalid grouping dimension {name!r}; supported: {sorted(dims)}."
                    )
                key.append(dims[name.lower()])
        sums = totals.setdefault(tuple(key), [0.0] * len(aggregation))
        for i, spec in enumerate(aggregation.values()):
            sums[i] += row.hours if str(spec.get("name", "")).lower() == "usagequantity" else row.cost
    return [[*sums, *key, currency] for key, sums in sorted(totals.items(), key=lambda kv: str(kv[0]))]


# ---- budgets -----------------------------------------------------------------------------------
def budget_resource(world: World, scope: str, budget: Any, currency: str, provider: str) -> dict[str, Any]:
    now = world.clock.now()
    month = datetime.combine(now.date().replace(day=1), datetime.min.time(), UTC)
    days = calendar.monthrange(month.year, month.month)[1]
    spent = sum(r.cost for r in daily_costs(world, month, now))
    elapsed = max((now - month).total_seconds(), 3600.0)
    forecast = spent * (days * 86400) / elapsed
    notifications = {
        name: {
            "enabled": n.enabled,
            "operator": n.operator,
            "threshold": n.threshold,
            "contactEmails": list(n.contact_emails),
            "contactRoles": [],
            "contactGroups": [],
            "thresholdType": n.threshold_type,
        }
        for name, n in budget.notifications.items()
    }
    start = (world.clock.start - timedelta(days=world.scenario.costs.history_days)).date().replace(day=1)
    return {
        "id": f"{scope.strip('/')}/providers/{provider}/budgets/{budget.name}",
        "name": budget.name,
        "type": f"{provider}/budgets",
        "eTag": f'"{stable_uuid("budget", budget.name, budget.amount)[:15]}"',
        "properties": {
            "category": "Cost",
            "amount": budget.amount,
            "timeGrain": budget.time_grain,
            "timePeriod": {
                "startDate": f"{start.isoformat()}T00:00:00Z",
                "endDate": f"{start.year + 2}-{start.month:02d}-01T00:00:00Z",
            },
            "currentSpend": {"amount": round(spent, 6), "unit": currency},
            "forecastSpend": {"amount": round(forecast, 6), "unit": currency},
            "notifications": notifications,
        },
    }


# ---- throttling --------------------------------------------------------------------------------
#: Cost Management's rate-limit headers (QPU = query processing units): what was used, what is left, and
#: how long to wait after a 429 (the headers Cost Management sends on its query API).
QPU_CONSUMED = "x-ms-ratelimit-microsoft.costmanagement-qpu-consumed"
QPU_REMAINING = "x-ms-ratelimit-microsoft.costmanagement-qpu-remaining"
QPU_RETRY_AFTER = "x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after"
WINDOW_SECONDS = 60.0


@dataclass
class Throttle:
    """A sliding one-minute window of admitted queries per scope, as Cost Management throttles
    programmatic callers ("~4-5 calls per scope per minute" before 429).

    `clock` "simulated" counts the minute on the emulator's clock (manual mode: the window only moves when
    a test advances time, so throttling is deterministic); "wall" on the real clock."""

    spec: CostThrottle
    admitted: dict[str, deque[float]] = field(default_factory=dict)
    throttled: int = 0
    served: int = 0

    def _now(self, world: World) -> float:
        if self.spec.clock == "wall":
            return time.monotonic()
        return world.clock.now().timestamp()

    def admit(self, world: World, scope: str) -> tuple[bool, dict[str, str]]:
        """(admitted, headers): on a refusal the headers say when to come back."""
        limit = self.spec.queries_per_minute
        if limit <= 0:
            self.served += 1
            return True, {}
        now = self._now(world)
        seen = self.admitted.setdefault(scope.strip("/").lower(), deque())
        while seen and seen[0] <= now - WINDOW_SECONDS:
            seen.popleft()
        if len(seen) >= limit:
            self.throttled += 1
            wait = str(max(1, math.ceil(seen[0] + WINDOW_SECONDS - now)))
            return False, {QPU_RETRY_AFTER: wait, "retry-after": wait, QPU_REMAINING: "0", QPU_CONSUMED: "0"}
        seen.append(now)
        self.served += 1
        return True, {QPU_CONSUMED: "1", QPU_REMAINING: str(limit - len(seen))}
