"""REST JSON of the emulated Azure ML resources, in the shapes azure-ai-ml 1.35.2 deserializes.

Follows the minimal JSON azure-ai-ml 1.35 deserializes (verified against the SDK) and the 2024-04-01
ARM examples: systemData always carries both createdAt and lastModifiedAt (the SDK crashes on one without the other),
`properties.properties` is always a dict, usages and VM sizes use the camelCase REST names.
Pure functions of the world state; no I/O.
"""

from __future__ import annotations

import math
from typing import Any

from emulator.clock import iso
from emulator.world import ML, DeploymentState, EndpointState, ModelContainerState, ModelVersionState, World


def arm_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def system_data(
    created_at: Any, modified_at: Any, created_by: str, modified_by: str | None = None
) -> dict[str, Any]:
    return {
        "createdAt": iso(created_at),
        "createdBy": created_by,
        "createdByType": "User",
        "lastModifiedAt": iso(modified_at),
        "lastModifiedBy": modified_by or created_by,
        "lastModifiedByType": "User",
    }


def workspace(world: World) -> dict[str, Any]:
    sub_rg = world.rg_id
    return {
        "id": world.workspace_id,
        "name": world.workspace,
        "type": f"{ML}/workspaces",
        "location": world.location,
        "kind": "Default",
        "tags": {},
        "sku": {"name": "Basic", "tier": "Basic"},
        "identity": {
            "type": "SystemAssigned",
            "principalId": world.workspace_guid,
            "tenantId": world.tenant_id,
        },
        "properties": {
            "friendlyName": world.workspace,
            "description": "emulated workspace",
            "workspaceId": world.workspace_guid,
            "storageAccount": f"{sub_rg}/providers/Microsoft.Storage/storageAccounts/devstoreaccount1",
            "keyVault": f"{sub_rg}/providers/Microsoft.KeyVault/vaults/kv-{world.workspace}",
            "applicationInsights": f"{sub_rg}/providers/Microsoft.Insights/components/ai-{world.workspace}",
            "discoveryUrl": f"https://{world.location}.api.azureml.ms/discovery",
            "mlFlowTrackingUri": f"azureml://{world.location}.api.azureml.ms/mlflow/v1.0{world.workspace_id}",
            "provisioningState": "Succeeded",
            "publicNetworkAccess": "Enabled",
            "hbiWorkspace": False,
            "v1LegacyMode": False,
            "storageHnsEnabled": False,
        },
        "systemData": system_data(world.clock.start, world.clock.start, "scenario"),
    }


def endpoint(
    world: World, ep: EndpointState, public_url: str, override: dict[str, Any] | None = None
) -> dict[str, Any]:
    body = override or ep.body
    props = dict(body.get("properties") or {})
    props.setdefault("authMode", "Key")
    if not isinstance(props.get("properties"), dict):
        props["properties"] = {}
    base = public_url.rstrip("/")
    props.update(
        {
            "scoringUri": f"{base}/score/{ep.name}",
            "swaggerUri": f"{base}/score/{ep.name}/swagger.json",
            "provisioningState": ep.provisioning_state,
            "publicNetworkAccess": props.get("publicNetworkAccess", "Enabled"),
        }
    )
    if override is None:
        props["traffic"], props["mirrorTraffic"] = dict(ep.traffic), dict(ep.mirror_traffic)
    identity = dict(body.get("identity") or {"type": "SystemAssigned"})
    if identity.get("type", "").lower() != "none":
        identity.setdefault("principalId", world.workspace_guid)
        identity.setdefault("tenantId", world.tenant_id)
    return {
        "id": world.endpoint_id(ep.name),
        "name": ep.name,
        "type": f"{ML}/workspaces/onlineEndpoints",
        "location": world.location,
        "kind": "Managed",
        "tags": dict(body.get("tags") or {}),
        "identity": identity,
        "properties": props,
        "systemData": system_data(ep.created_at, ep.modified_at, ep.created_by),
    }


def deployment(world: World, dep: DeploymentState) -> dict[str, Any]:
    props = dict(dep.body.get("properties") or {})
    props.update({"provisioningState": dep.provisioning_state, "instanceType": dep.instance_type})
    props.setdefault("endpointComputeType", "Managed")
    defaults = {
        "properties": {},
        "environmentVariables": {},
        "scaleSettings": {"scaleType": "Default"},
        "requestSettings": {
            "maxConcurrentRequestsPerInstance": 1,
            "requestTimeout": "PT5S",
            "maxQueueWait": "PT0.5S",
        },
    }
    for key, value in defaults.items():
        if not isinstance(props.get(key), dict):
            props[key] = value
    sku = dict(dep.body.get("sku") or {"name": "Default"})
    sku["capacity"] = dep.capacity
    return {
        "id": world.deployment_id(dep.endpoint, dep.name),
        "name": dep.name,
        "type": f"{ML}/workspaces/onlineEndpoints/deployments",
        "location": world.location,
        "kind": dep.body.get("kind", "Managed"),
        "tags": dict(dep.body.get("tags") or {}),
        "sku": sku,
        "properties": props,
        "systemData": system_data(dep.created_at, dep.modified_at, dep.created_by),
    }


def model_container(world: World, container: ModelContainerState) -> dict[str, Any]:
    latest = container.latest_version()
    next_version = str(int(latest) + 1) if latest and latest.isdigit() else "1"
    return {
        "id": f"{world.workspace_id}/models/{container.name}",
        "name": container.name,
        "type": f"{ML}/workspaces/models",
        "properties": {
            "description": container.description,
            "tags": dict(container.tags),
            "properties": {},
            "latestVersion": latest,
            "nextVersion": next_version,
            "isArchived": False,
        },
        "systemData": system_data(container.created_at, container.created_at, "scenario"),
    }


def model_version(world: World, version: ModelVersionState) -> dict[str, Any]:
    props = dict(version.properties)
    for key in ("properties", "tags", "flavors"):
        if not isinstance(props.get(key), dict):
            props[key] = {}
    props.setdefault("isArchived", False)
    return {
        "id": world.model_version_id(version.name, version.version),
        "name": version.version,
        "type": f"{ML}/workspaces/models/versions",
        "properties": props,
        "systemData": system_data(version.created_at, version.created_at, "scenario"),
    }


def datastore(world: World, name: str, blob_endpoint: str) -> dict[str, Any]:
    return {
        "id": f"{world.workspace_id}/datastores/{name}",
        "name": name,
        "type": f"{ML}/workspaces/datastores",
        "properties": {
            "datastoreType": "AzureBlob",
            "accountName": "devstoreaccount1",
            "containerName": world.container,
            "endpoint": blob_endpoint,
            "protocol": "https",
            "credentials": {"credentialsType": "AccountKey"},
            "isDefault": True,
            "description": "workspace blob store (Azurite)",
            "properties": {},
            "tags": {},
            "serviceDataAccessAuthIdentity": "None",
        },
        "systemData": system_data(world.clock.start, world.clock.start, "scenario"),
    }


def usages(world: World, location: str) -> list[dict[str, Any]]:
    """Regional vCPU usage: the total, then one entry per VM family, then the workspace's share."""
    sub = f"/subscriptions/{world.subscription_id}"
    in_use = world.vcpus_in_use()
    families = sorted({s.family for s in world.vm_sizes.values()} | set(world.scenario.quota))
    items = [
        _usage(
            f"{sub}/usages",
            f"{ML}/dedicatedCores/usages",
            sum(in_use.values()),
            world.scenario.total_vcpu_limit,
            "Total Cluster Dedicated Regional vCPUs",
            "Total Cluster Dedicated Regional vCPUs",
            location,
        )
    ]
    for family in families:
        label = _family_label(family)
        limit = world.scenario.quota.get(family, 24)
        items.append(
            _usage(
                f"{sub}/usages/{label.replace(' ', '_')}",
                f"{ML}/vmFamily/usages",
                in_use.get(family, 0),
                limit,
                family,
                label,
                location,
            )
        )
        if in_use.get(family):
            items.append(
                _usage(
                    f"{world.workspace_id}/usages/{label.replace(' ', '_')}",
                    f"{ML}/workspaces/usages",
                    in_use[family],
                    limit,
                    family,
                    label,
                    location,
                )
            )
    return items


def _family_label(family: str) -> str:
    core = family.removeprefix("standard").removesuffix("Family")
    return f"Standard {core} Family Cluster Dedicated vCPUs"


def _usage(
    uid: str, utype: str, current: int, limit: int, value: str, localized: str, loc: str
) -> dict[str, Any]:
    return {
        "id": uid,
        "amlWorkspaceLocation": loc,
        "type": utype,
        "unit": "Count",
        "currentValue": current,
        "limit": limit,
        "name": {"value": value, "localizedValue": localized},
    }


def vm_sizes(world: World) -> list[dict[str, Any]]:
    out = []
    for name, size in sorted(world.vm_sizes.items()):
        out.append(
            {
                "name": name,
                "family": size.family,
                "vCPUs": size.vcpus,
                "gpus": size.gpus,
                "osVhdSizeMB": 1047552,
                "maxResourceVolumeMB": size.vcpus * 7168,
                "memoryGB": float(size.memory_gb),
                "lowPriorityCapable": True,
                "premiumIO": True,
                "estimatedVMPrices": {
                    "billingCurrency": world.scenario.costs.currency,
                    "unitOfMeasure": "OneHour",
                    "values": [{"retailPrice": size.price_per_hour, "osType": "Linux", "vmTier": "Standard"}],
                },
                "supportedComputeTypes": ["AmlCompute", "ComputeInstance", "ManagedOnlineEndpoint"],
            }
        )
    return out


def surge_vcpus(count: int, vcpus: int) -> int:
    """vCPUs a managed deployment reserves: ceil(1.2 x instances) x cores (the 20% upgrade reserve)."""
    return math.ceil(1.2 * count) * vcpus
