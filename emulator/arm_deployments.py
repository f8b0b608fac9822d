"""ARM: online deployments (list, get, PUT, PATCH, DELETE, getLogs) of an emulated endpoint.

`sku.capacity` is the instance count and `properties.instanceType` the VM size; a write is checked
against the VM family's vCPU quota (with the 20% upgrade reserve), is rejected with 409 while the
endpoint is busy, and a deployment that still has live traffic cannot be deleted, as in Azure.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator import arm_shapes as shapes
from emulator.arm import ensure_idle, get_endpoint, operation_headers
from emulator.core import Emulator
from emulator.routing import WS, ArmError, caller, json_response, read_json, route
from emulator.world import DeploymentState, EndpointState

DEP = WS + r"/onlineEndpoints/(?P<ep>[^/]+)/deployments"


def get_deployment(emu: Emulator, g: dict[str, str]) -> tuple[EndpointState, DeploymentState]:
    ep = get_endpoint(emu, g)
    dep = ep.deployments.get(g["dep"].lower())
    if dep is None:
        raise ArmError(
            404,
            "ResourceNotFound",
            f"The Resource 'Microsoft.MachineLearningServices/workspaces/"
            f"{g['ws']}/onlineEndpoints/{ep.name}/deployments/{g['dep']}' "
            f"under resource group '{g['rg']}' was not found.",
        )
    return ep, dep


@route("GET", DEP, "deployments")
async def list_deployments(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    ep = get_endpoint(emu, g)
    return json_response(
        {"value": [shapes.deployment(emu.world, d) for d in ep.deployments.values()], "nextLink": None}
    )


@route("GET", DEP + r"/(?P<dep>[^/]+)", "deployment")
async def get_deployment_route(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    _, dep = get_deployment(emu, g)
    return json_response(shapes.deployment(emu.world, dep))


@route("POST", DEP + r"/(?P<dep>[^/]+)/getLogs", "deployment/getLogs")
async def get_logs(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    _, dep = get_deployment(emu, g)
    lines = [f"{dep.name}: inference server listening (emulated)", f"{dep.name}: instances={dep.capacity}"]
    return json_response({"content": "\n".join(lines)})


def check_quota(emu: Emulator, ep: EndpointState, name: str, instance_type: str, capacity: int) -> None:
    world = emu.world
    size = world.vm_sizes.get(instance_type)
    if size is None:
        raise ArmError(
            400,
            "BadArgument",
            f"Instance type '{instance_type}' is not supported; supported: {sorted(world.vm_sizes)}.",
        )
    if not 0 <= capacity <= 50:
        raise ArmError(
            400, "BadArgument", f"sku.capacity must be between 0 and 50 instances, got {capacity}."
        )
    used = 0
    for other_ep in world.endpoints.values():
        for other in other_ep.deployments.values():
            other_size = world.vm_sizes.get(other.instance_type)
            if (
                other_size
                and other_size.family == size.family
                and not (other_ep is ep and other.name == name)
            ):
                used += shapes.surge_vcpus(other.capacity, other_size.vcpus)
    needed = shapes.surge_vcpus(capacity, size.vcpus)
    limit = world.scenario.quota.get(size.family, 24)
    if used + needed > limit:
        raise ArmError(
            400,
            "QuotaExceeded",
            f"Not enough quota for {capacity} x {instance_type}: needs {needed} "
            f"{size.family} vCPUs (ceil(1.2 x instances) x {size.vcpus} cores), "
            f"{used} already reserved, limit {limit}.",
        )


@route("PUT", DEP + r"/(?P<dep>[^/]+)", "deployment")
async def put_deployment(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    ep = get_endpoint(emu, g)
    body = await read_json(request)
    return await _write(emu, request, ep, g["dep"].lower(), body, "PUT")


@route("PATCH", DEP + r"/(?P<dep>[^/]+)", "deployment")
async def patch_deployment(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    ep, dep = get_deployment(emu, g)
    patch = await read_json(request)
    body = {**dep.body, **{k: v for k, v in patch.items() if k not in ("properties", "sku")}}
    body["properties"] = {**(dep.body.get("properties") or {}), **(patch.get("properties") or {})}
    body["sku"] = {**(dep.body.get("sku") or {}), **(patch.get("sku") or {})}
    return await _write(emu, request, ep, dep.name, body, "PATCH")


async def _write(
    emu: Emulator, request: Request, ep: EndpointState, name: str, body: dict[str, Any], method: str
) -> Response:
    ensure_idle(ep, f"create or update deployment '{name}'")
    existing = ep.deployments.get(name)
    if existing is not None and existing.provisioning_state in ("Creating", "Updating", "Deleting"):
        raise ArmError(409, "Conflict", f"Deployment '{name}' is in {existing.provisioning_state} state.")
    props = body.get("properties")
    if not isinstance(props, dict) or not props.get("model"):
        raise ArmError(400, "BadArgument", "properties.model (a model version ARM id) is required.")
    instance_type = props.get("instanceType") or "Standard_DS3_v2"
    capacity = (body.get("sku") or {}).get("capacity", 1)
    if not isinstance(capacity, int):
        raise ArmError(400, "BadArgument", f"sku.capacity must be an integer, got {capacity!r}.")
    check_quota(emu, ep, name, instance_type, capacity)
    body = {
        **body,
        "sku": {"name": "Default", **(body.get("sku") or {}), "capacity": capacity},
        "properties": {**props, "instanceType": instance_type},
    }
    world, who = emu.world, caller(request)
    behaviour = existing.behaviour if existing else emu.behaviour_for_new_deployment(props["model"])
    if existing:
        behaviour.predictor = world.behaviour_for_model(props["model"])
        existing.provisioning_state = "Updating"
    ep.provisioning_state = "Updating"

    def complete() -> None:
        state = world.put_deployment(ep.name, name, body, behaviour, world.clock.now(), who)
        state.provisioning_state = "Succeeded"
        ep.provisioning_state = "Succeeded"
        emu.arm_event(world.deployment_id(ep.name, name), "onlineEndpoints/deployments/write", method, who)

    op = emu.start_operation(
        world.deployment_id(ep.name, name), "onlineEndpoints/deployments/write", complete
    )
    preview = DeploymentState(
        ep.name,
        name,
        body,
        instance_type,
        capacity,
        behaviour,
        world.clock.now(),
        world.clock.now(),
        who,
        "Creating" if existing is None else "Updating",
    )
    status = 201 if existing is None else (202 if method == "PATCH" else 200)
    return json_response(shapes.deployment(world, preview), status, operation_headers(emu, op.id))


@route("DELETE", DEP + r"/(?P<dep>[^/]+)", "deployment")
async def delete_deployment(emu: Emulator, request: Request, g: dict[str, str]) -> Response:
    ep = get_endpoint(emu, g)
    dep = ep.deployments.get(g["dep"].lower())
    if dep is None:
        return Response(status_code=204)
    ensure_idle(ep, f"delete deployment '{dep.name}'")
    if ep.traffic.get(dep.name, 0) > 0:
        raise ArmError(
            400,
            "BadArgument",
            f"Deployment '{dep.name}' has {ep.traffic[dep.name]}% live traffic; "
            f"set its traffic to 0 before deleting it.",
        )
    if ep.mirror_traffic.get(dep.name, 0) > 0:
        raise ArmError(
            400, "BadArgument", f"Deployment '{dep.name}' receives mirrored traffic; remove it first."
        )
    world, who = emu.world, caller(request)
    dep.provisioning_state = ep.provisioning_state = "Deleting"

    def complete() -> None:
        world.delete_deployment(ep.name, dep.name, world.clock.now())
        ep.provisioning_state = "Succeeded"
        emu.arm_event(
            world.deployment_id(ep.name, dep.name),
            "onlineEndpoints/deployments/delete",
            "DELETE",
            who,
            delete=True,
        )

    op = emu.start_operation(
        world.deployment_id(ep.name, dep.name), "onlineEndpoints/deployments/delete", complete
    )
    return Response(status_code=202, headers=operation_headers(emu, op.id))
