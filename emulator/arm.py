"""ARM: Microsoft.MachineLearningServices workspace, online endpoints and deployments.

Paths as azure-ai-ml 1.35.2 sends them (any api-version accepted). Writes are long-running as in
Azure: 201/200 (PUT) or 202 (PATCH/DELETE) with `Azure-AsyncOperation`, provisioningState Updating
until the simulated provisioning time has passed, 409 Conflict for a second write meanwhile; traffic
and mirror traffic are validated (400 with an ARM error body). A completed write raises the ARM
resource event (ResourceWriteSuccess / ResourceDeleteSuccess) on Event Grid.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator import arm_shapes as shapes
from emulator.clock import iso
from emulator.core import Emulator
from emulator.routing import SUB, WS, ArmError, caller, json_response, read_json, route
from emulator.world import EndpointState

BUSY = ("Creating", "Updating", "Deleting")


def check_workspace(emu: Emulator, g: dict[str, str]) -> None:
    world = emu.world
    if g["sub"].lower() != world.subscription_id.lower():
        raise ArmError(404, "SubscriptionNotFound", f"The subscription '{g['sub']}' could not be found.")
    if g["rg"].lower() != world.resource_group.lower():
        raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{g['rg']}' could not be found.")
    if g["ws"].lower() != world.workspace.lower():
        raise ArmError(
            404,
            "ResourceNotFound",
            f"The Resource 'Microsoft.MachineLearningServices/workspaces/"
            f"{g['ws']}' under resource group '{g['rg']}' was not found.",
        )


def get_endpoint(emu: Emulator, g: dict[str, str]) -> EndpointState:
    check_workspace(emu, g)
    name = g["ep"]
    for key, ep in emu.world.endpoints.items():
        if key.lower() == name.lower():
            return ep
    raise ArmError(
        404,
        "ResourceNotFound",
        f"The Resource 'Microsoft.MachineLearningServices/workspaces/"
        f"{g['ws']}/onlineEndpoints/{name}' under resource group "
        f"'{g['rg']}' was not found.",
    )


def operation_headers(emu: Emulator, op_id: str) -> dict[str, str]:
    base = (
        f"https://management.azure.com/subscriptions/{emu.world.subscription_id}/providers/"
        f"Microsoft.MachineLearningServices/locations/{emu.world.location}"
    )
    return {
        "Azure-AsyncOperation": f"{base}/mfeOperationsStatus/{op_id}?api-version=2024-04-01",
        "Location": f"{base}/mfeOperationResults/{op_id}?api-version=2024-04-01",
        "x-ms-async-operation-timeout": "PT1H",
    }


def ensure_idle(ep: EndpointState, what: str) -> None:
    if ep.provisioning_state in BUSY:
        raise ArmError(
            409,
            "Conflict",
            f"Cannot {what} because endpoint '{ep.name}' is in "
            f"{ep.provisioning_state} provisioning state. Retry after the current "
            f"operation completes.",
        )


# ---- workspace ---------------------------------------------------------------------------------
@route("GET", WS, "workspace")
async def get_workspace(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    check_workspace(emu, g)
    return json_response(shapes.workspace(emu.world))


@route("GET", WS + r"/datastores", "datastores")
async def list_datastores(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    check_workspace(emu, g)
    return json_response({"value": [shapes.datastore(emu.world, "workspaceblobstore", emu.blob_endpoint)]})


@route("GET", WS + r"/datastores/(?P<name>[^/]+)", "datastore")
async def get_datastore(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    check_workspace(emu, g)
    if g["name"].lower() != "workspaceblobstore":
        raise ArmError(404, "ResourceNotFound", f"Datastore '{g['name']}' was not found.")
    return json_response(shapes.datastore(emu.world, "workspaceblobstore", emu.blob_endpoint))


# ---- online endpoints --------------------------------------------------------------------------
@route("GET", WS + r"/onlineEndpoints", "onlineEndpoints")
async def list_endpoints(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    check_workspace(emu, g)
    items = [shapes.endpoint(emu.world, ep, emu.public_url) for ep in emu.world.endpoints.values()]
    return json_response({"value": items, "nextLink": None})


@route("GET", WS + r"/onlineEndpoints/(?P<ep>[^/]+)", "onlineEndpoint")
async def get_endpoint_route(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    return json_response(shapes.endpoint(emu.world, get_endpoint(emu, g), emu.public_url))


@route("POST", WS + r"/onlineEndpoints/(?P<ep>[^/]+)/listKeys", "onlineEndpoint/listKeys")
async def list_keys(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    ep = get_endpoint(emu, g)
    return json_response({"primaryKey": ep.keys[0], "secondaryKey": ep.keys[1]})


@route("POST", WS + r"/onlineEndpoints/(?P<ep>[^/]+)/token", "onlineEndpoint/token")
async def get_token(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    ep = get_endpoint(emu, g)
    expiry = int(datetime.now(UTC).timestamp()) + 3600
    return json_response(
        {
            "accessToken": ep.keys[0],
            "tokenType": "Bearer",
            "expiryTimeUtc": expiry,
            "refreshAfterTimeUtc": expiry - 600,
        }
    )


def validate_traffic(ep: EndpointState | None, traffic: dict[str, Any], mirror: dict[str, Any]) -> None:
    existing = set(ep.deployments) if ep else set()
    for field, split in (("traffic", traffic), ("mirrorTraffic", mirror)):
        for name, value in split.items():
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
                raise ArmError(
                    400,
                    "BadArgument",
                    f"{field}['{name}'] must be an integer between 0 and 100, got {value!r}.",
                )
            if name.lower() not in existing:
                raise ArmError(
                    400,
                    "BadArgument",
                    f"{field} refers to deployment '{name}', which does not exist "
                    f"in endpoint '{ep.name if ep else '?'}'. Existing: "
                    f"{sorted(existing)}.",
                )
    total = sum(traffic.values())
    if traffic and total not in (0, 100):
        raise ArmError(
            400,
            "BadArgument",
            f"Traffic values need to sum to 100 (or 0 to disable traffic); got {total} for {traffic}.",
        )
    if sum(mirror.values()) > 50:
        raise ArmError(400, "BadArgument", f"Mirror traffic values need to sum to at most 50; got {mirror}.")
    if len([v for v in mirror.values() if v]) > 1:
        raise ArmError(400, "BadArgument", "You can only mirror traffic to one deployment.")
    both = sorted(n for n, v in mirror.items() if v and traffic.get(n, 0) > 0)
    if both:
        raise ArmError(
            400, "BadArgument", f"A deployment can only be set to live or mirror traffic, not both: {both}."
        )


@route("PUT", WS + r"/onlineEndpoints/(?P<ep>[^/]+)", "onlineEndpoint")
async def put_endpoint(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    check_workspace(emu, g)
    body = await read_json(request)
    props = body.get("properties")
    if not isinstance(props, dict) or not props.get("authMode"):
        raise ArmError(400, "BadArgument", "properties.authMode is required (Key, AMLToken or AADToken).")
    ep = next((e for k, e in emu.world.endpoints.items() if k.lower() == g["ep"].lower()), None)
    if ep is not None:
        ensure_idle(ep, f"update endpoint '{ep.name}'")
    traffic, mirror = dict(props.get("traffic") or {}), dict(props.get("mirrorTraffic") or {})
    validate_traffic(ep, traffic, mirror)
    return await _write_endpoint(emu, request, g["ep"], ep, body, traffic, mirror, "PUT")


@route("PATCH", WS + r"/onlineEndpoints/(?P<ep>[^/]+)", "onlineEndpoint")
async def patch_endpoint(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    ep = get_endpoint(emu, g)
    ensure_idle(ep, f"update endpoint '{ep.name}'")
    patch = await read_json(request)
    props = patch.get("properties") or {}
    traffic = dict(props["traffic"]) if "traffic" in props else dict(ep.traffic)
    mirror = dict(props["mirrorTraffic"]) if "mirrorTraffic" in props else dict(ep.mirror_traffic)
    validate_traffic(ep, traffic, mirror)
    body = {**ep.body, **{k: v for k, v in patch.items() if k != "properties"}}
    body["properties"] = {**(ep.body.get("properties") or {}), **props}
    return await _write_endpoint(emu, request, ep.name, ep, body, traffic, mirror, "PATCH")


async def _write_endpoint(
    emu: Emulator,
    request: Request,
    name: str,
    ep: EndpointState | None,
    body: dict[str, Any],
    traffic: dict[str, int],
    mirror: dict[str, int],
    method: str,
) -> Response:
    world, who = emu.world, caller(request)
    created = ep is None
    if ep is None:
        now = world.clock.now()
        ep = EndpointState(
            name=name,
            body=body,
            traffic={},
            mirror_traffic={},
            keys=(world.next_id("key")[:32], world.next_id("key")[:32]),
            created_at=now,
            modified_at=now,
            created_by=who,
            requests_per_minute=0.0,
            rows_per_request=1,
            features=[],
        )
        world.endpoints[name] = ep
    ep.provisioning_state = "Creating" if created else "Updating"
    stored = {k: v for k, v in body.items() if k != "properties"}
    stored["properties"] = {
        k: v
        for k, v in (body.get("properties") or {}).items()
        if k not in ("traffic", "mirrorTraffic", "provisioningState", "scoringUri", "swaggerUri")
    }
    wall = iso(datetime.now(UTC))

    def complete() -> None:
        ep.body = stored
        ep.modified_at = world.clock.now()
        world.set_traffic(ep.name, traffic, mirror, who, f"arm {method}", wall)
        ep.provisioning_state = "Succeeded"
        emu.arm_event(world.endpoint_id(ep.name), "onlineEndpoints/write", method, who)

    op = emu.start_operation(world.endpoint_id(ep.name), "onlineEndpoints/write", complete)
    preview = {**stored, "properties": {**stored["properties"], "traffic": traffic, "mirrorTraffic": mirror}}
    rendered = shapes.endpoint(world, ep, emu.public_url, override=preview)
    status = 201 if created else (202 if method == "PATCH" else 200)
    return json_response(rendered, status, operation_headers(emu, op.id))


@route("DELETE", WS + r"/onlineEndpoints/(?P<ep>[^/]+)", "onlineEndpoint")
async def delete_endpoint(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    try:
        ep = get_endpoint(emu, g)
    except ArmError as exc:
        if exc.status == 404 and exc.code == "ResourceNotFound":
            return Response(status_code=204)
        raise
    ensure_idle(ep, f"delete endpoint '{ep.name}'")
    ep.provisioning_state = "Deleting"
    world, who = emu.world, caller(request)

    def complete() -> None:
        for dep in list(ep.deployments):
            world.delete_deployment(ep.name, dep, world.clock.now())
        world.endpoints.pop(ep.name, None)
        emu.arm_event(world.endpoint_id(ep.name), "onlineEndpoints/delete", "DELETE", who, delete=True)

    op = emu.start_operation(world.endpoint_id(ep.name), "onlineEndpoints/delete", complete)
    return Response(status_code=202, headers=operation_headers(emu, op.id))


# ---- operation status --------------------------------------------------------------------------
@route(
    "GET",
    SUB + r"/providers/Microsoft\.MachineLearningServices/locations/(?P<loc>[^/]+)/"
    r"mfeOperationsStatus/(?P<op>[^/]+)",
    "operationStatus",
)
async def operation_status(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    op = emu.operations.get(g["op"])
    if op is None:
        raise ArmError(404, "ResourceNotFound", f"Operation '{g['op']}' was not found.")
    body: dict[str, Any] = {
        "id": request.url.path,
        "name": op.id,
        "status": op.status,
        "startTime": iso(op.started),
    }
    if op.ended:
        body["endTime"] = iso(op.ended)
    if op.error:
        body["error"] = op.error
    return json_response(body)


@route(
    "GET",
    SUB + r"/providers/Microsoft\.MachineLearningServices/locations/(?P<loc>[^/]+)/"
    r"mfeOperationResults/(?P<op>[^/]+)",
    "operationResult",
)
async def operation_result(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    op = emu.operations.get(g["op"])
    if op is None:
        raise ArmError(404, "ResourceNotFound", f"Operation '{g['op']}' was not found.")
    if op.status == "InProgress":
        return Response(
            status_code=202, headers={"Location": str(request.url).replace("http://", "https://")}
        )
    if op.status == "Failed":
        raise ArmError(
            500, (op.error or {}).get("code", "InternalServerError"), (op.error or {}).get("message", "")
        )
    return Response(status_code=204)


# ---- quota -------------------------------------------------------------------------------------
@route(
    "GET", SUB + r"/providers/Microsoft\.MachineLearningServices/locations/(?P<loc>[^/]+)/usages", "usages"
)
async def list_usages(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    if g["sub"].lower() != emu.world.subscription_id.lower():
        raise ArmError(404, "SubscriptionNotFound", f"The subscription '{g['sub']}' could not be found.")
    items = shapes.usages(emu.world, g["loc"]) if g["loc"].lower() == emu.world.location.lower() else []
    return json_response({"value": items, "nextLink": None})


@route(
    "GET", SUB + r"/providers/Microsoft\.MachineLearningServices/locations/(?P<loc>[^/]+)/vmSizes", "vmSizes"
)
async def list_vm_sizes(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    if g["sub"].lower() != emu.world.subscription_id.lower():
        raise ArmError(404, "SubscriptionNotFound", f"The subscription '{g['sub']}' could not be found.")
    return json_response({"value": shapes.vm_sizes(emu.world)})
