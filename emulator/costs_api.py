"""HTTP routes for Cost Management: POST {scope}/providers/Microsoft.CostManagement/query and Budgets.

Budgets are served under both Microsoft.CostManagement and Microsoft.Consumption (same body shape).
Budgets come from the scenario; a PUT adds or replaces one. Scopes: the subscription or the resource
group of the emulated workspace (other scopes simply have no cost). Queries are throttled per scope when
the scenario sets `costs.throttle.queries_per_minute`: 429 with `Retry-After` and Cost Management's
`x-ms-ratelimit-microsoft.costmanagement-qpu-*` headers, as Azure answers programmatic callers.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from starlette.requests import Request
from starlette.responses import Response

from emulator import costs
from emulator.core import Emulator
from emulator.routing import ArmError, json_response, read_json, route
from emulator.scenario import Budget, Notification

SCOPE = r"/+(?P<scope>subscriptions/[^/]+(?:/resourceGroups/[^/]+)?)"
PROVIDER = r"/providers/(?P<provider>Microsoft\.CostManagement|Microsoft\.Consumption)"


#: one throttle per loaded scenario (a reload starts with a fresh minute, as a new world should)
_throttles: WeakKeyDictionary[Emulator, costs.Throttle] = WeakKeyDictionary()


def throttle_of(emu: Emulator) -> costs.Throttle:
    if emu not in _throttles:
        _throttles[emu] = costs.Throttle(emu.scenario.costs.throttle)
    return _throttles[emu]


@route("POST", SCOPE + r"/providers/Microsoft\.CostManagement/query", "costManagement/query")
async def cost_query(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    admitted, headers = throttle_of(emu).admit(emu.world, g["scope"])
    if not admitted:
        raise ArmError(429, "429", "Too many requests. Please retry.", headers)
    body = await read_json(request)
    result = costs.query(emu.world, g["scope"], body, emu.scenario.costs.currency)
    query_id = emu.world.next_id("costquery")
    return json_response(
        {
            "id": f"{g['scope']}/providers/Microsoft.CostManagement/query/{query_id}",
            "name": query_id,
            "type": "Microsoft.CostManagement/query",
            "location": None,
            "sku": None,
            "eTag": None,
            "properties": {"nextLink": None, **result},
        },
        headers=headers,
    )


def _budget(emu: Emulator, g: dict[str, str]) -> Budget:
    if not costs.scope_matches(emu.world, g["scope"]):
        raise ArmError(404, "NotFound", f"Scope '{g['scope']}' is not a scope of the emulated subscription.")
    for budget in emu.scenario.costs.budgets:
        if budget.name.lower() == g["name"].lower():
            return budget
    raise ArmError(404, "NotFound", f"Budget '{g['name']}' was not found at scope '{g['scope']}'.")


@route("GET", SCOPE + PROVIDER + r"/budgets", "budgets")
async def list_budgets(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    cur = emu.scenario.costs.currency
    provider = g["provider"]
    items = [
        costs.budget_resource(emu.world, g["scope"], b, cur, provider) for b in emu.scenario.costs.budgets
    ]
    return json_response({"value": items if costs.scope_matches(emu.world, g["scope"]) else []})


@route("GET", SCOPE + PROVIDER + r"/budgets/(?P<name>[^/]+)", "budget")
async def get_budget(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    budget = _budget(emu, g)
    return json_response(
        costs.budget_resource(emu.world, g["scope"], budget, emu.scenario.costs.currency, g["provider"])
    )


@route("PUT", SCOPE + PROVIDER + r"/budgets/(?P<name>[^/]+)", "budget")
async def put_budget(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    if not costs.scope_matches(emu.world, g["scope"]):
        raise ArmError(404, "NotFound", f"Scope '{g['scope']}' is not a scope of the emulated subscription.")
    props = (await read_json(request)).get("properties") or {}
    try:
        notes = {
            name: Notification(
                enabled=n.get("enabled", True),
                operator=n.get("operator", "GreaterThan"),
                threshold=n.get("threshold", 80),
                threshold_type=n.get("thresholdType", "Actual"),
                contact_emails=n.get("contactEmails") or [],
            )
            for name, n in (props.get("notifications") or {}).items()
        }
        budget = Budget(
            name=g["name"],
            amount=props.get("amount"),
            time_grain=props.get("timeGrain", "Monthly"),
            notifications=notes,
            scope="resource_group" if "/resourcegroups/" in g["scope"].lower() else "subscription",
        )
    except ValueError as exc:
        raise ArmError(400, "BadRequest", f"Invalid budget: {exc}") from None
    existing = [b for b in emu.scenario.costs.budgets if b.name.lower() != budget.name.lower()]
    created = len(existing) == len(emu.scenario.costs.budgets)
    emu.scenario.costs.budgets = [*existing, budget]
    return json_response(
        costs.budget_resource(emu.world, g["scope"], budget, emu.scenario.costs.currency, g["provider"]),
        201 if created else 200,
    )
