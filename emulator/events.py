"""The events Azure raises for what happens in the emulator, in the Event Grid schema.

Azure ML system events (`Microsoft.MachineLearningServices.ModelRegistered`, topic = the workspace id,
subject `models/{name}:{version}`) and ARM resource events (`Microsoft.Resources.ResourceWriteSuccess` /
`ResourceDeleteSuccess`, topic = the resource group, subject = the resource id) with the data fields of
the documented Event Grid samples (event-schema-machine-learning, event-schema-resource-groups).
Pure functions: building an event never sends it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from emulator.clock import iso
from emulator.world import World


def model_registered(
    world: World,
    event_id: str,
    at: datetime,
    name: str,
    version: str,
    tags: dict[str, str],
    properties: dict[str, str],
) -> dict[str, Any]:
    return {
        "topic": world.workspace_id,
        "subject": f"models/{name}:{version}",
        "eventType": "Microsoft.MachineLearningServices.ModelRegistered",
        "eventTime": iso(at),
        "id": event_id,
        "data": {
            "ModelName": name,
            "ModelVersion": version,
            "ModelTags": dict(tags),
            "ModelProperties": dict(properties),
        },
        "dataVersion": "",
        "metadataVersion": "1",
    }


def resource_event(
    world: World,
    event_id: str,
    at: datetime,
    resource_id: str,
    action: str,
    method: str,
    url: str,
    who: str,
    correlation_id: str,
    delete: bool = False,
) -> dict[str, Any]:
    """ResourceWriteSuccess / ResourceDeleteSuccess for a write through the emulator's ARM API."""
    event_type = (
        "Microsoft.Resources.ResourceDeleteSuccess" if delete else "Microsoft.Resources.ResourceWriteSuccess"
    )
    data: dict[str, Any] = {
        "authorization": {"scope": resource_id, "action": action, "evidence": {"role": "Contributor"}},
        "claims": {"name": who, "appid": who},
        "correlationId": correlation_id,
        "httpRequest": {
            "clientRequestId": correlation_id,
            "clientIpAddress": "127.0.0.1",
            "method": method,
            "url": url,
        },
        "resourceProvider": "Microsoft.MachineLearningServices",
        "resourceUri": resource_id,
        "operationName": action,
        "status": "Succeeded",
        "subscriptionId": world.subscription_id,
        "tenantId": world.tenant_id,
    }
    return {
        "subject": resource_id,
        "eventType": event_type,
        "eventTime": iso(at),
        "id": event_id,
        "data": data,
        "dataVersion": "2",
        "metadataVersion": "1",
        "topic": world.rg_id,
    }
