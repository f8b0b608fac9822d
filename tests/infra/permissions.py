"""What the app's identity must be allowed to do, adapter method by adapter method: the table the role
definitions in infra/ are checked against.

Every public method of every adapter that reaches Azure (a class in shared/adapters/ built on an Azure SDK
client) has an entry here, listing the Azure RBAC actions (and data actions) its calls need and where it needs
them. tests/infra/test_permissions.py fails when an adapter gains a method that is not in this table (decide
what it needs, then grant it), when infra/modules/roles.bicep grants an Azure ML action no entry needs, or
lacks one an entry needs, and when a built-in role an entry relies on is not assigned at the right scope.
tests/infra/test_adapter_calls.py runs the Azure ML adapters against the emulator and checks that every ARM
request they send maps to an action listed for that method, so this table cannot drift from the code.

Action names are Azure's ("Azure permissions for AI + machine learning", storage data actions, Monitor, Cost
Management, Log Analytics); RBAC compares them case-insensitively.
"""

from __future__ import annotations

from dataclasses import dataclass

WS = "Microsoft.MachineLearningServices/workspaces"
LOC = "Microsoft.MachineLearningServices/locations"
BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
CONTAINERS = "Microsoft.Storage/storageAccounts/blobServices/containers"

# Where an action is needed.
WORKSPACE = "workspace"  # the Azure ML workspace (and its children: endpoints, models, ...)
SUBSCRIPTION = "subscription"  # /subscriptions/{sub}/providers/Microsoft.MachineLearningServices/locations/...
WORKSPACE_RG = "workspace resource group"  # the cost queries' scope
LOG_ANALYTICS = "log analytics workspace"  # where the endpoints' traffic logs go
WORKSPACE_STORAGE = "workspace storage"  # the workspace's datastore account (collected data, training data)
APP_STORAGE = "app storage"  # the Function App's own storage account (state, audit, claims, leases)


@dataclass(frozen=True)
class Need:
    action: str
    on: str


def _ws(*actions: str) -> frozenset[Need]:
    return frozenset(Need(a, WORKSPACE) for a in actions)


def _sub(*actions: str) -> frozenset[Need]:
    return frozenset(Need(a, SUBSCRIPTION) for a in actions)


def _on(where: str, *actions: str) -> frozenset[Need]:
    return frozenset(Need(a, where) for a in actions)


#: azure-ai-ml's online_endpoints.get also lists the endpoint's deployments (seen on the emulator).
_ENDPOINT_GET = (f"{WS}/onlineEndpoints/read", f"{WS}/onlineEndpoints/deployments/read")
_PROBE_KEYS = (*_ENDPOINT_GET, f"{WS}/onlineendpoints/listkeys/action",
               f"{WS}/onlineendpoints/token/action")  # token: endpoints with auth_mode aml_token

_ENDPOINT_PUT = (
    _ws(f"{WS}/onlineEndpoints/deployments/read", f"{WS}/onlineEndpoints/read", f"{WS}/onlineEndpoints/write",
        f"{WS}/read")  # azure-ai-ml reads the workspace (its location) before the PUT
    | _sub(f"{LOC}/mfeOperationsStatus/read", f"{LOC}/mfeOperationResults/read")  # the long-running PUT's status
)

#: "Class.method" of shared/adapters -> what its calls need.
ADAPTER_NEEDS: dict[str, frozenset[Need]] = {
    # shared/adapters/azure_ml.py (MLClient)
    "AzureMLAdapter.endpoints": _ws(f"{WS}/onlineEndpoints/read"),
    "AzureMLAdapter.endpoint_traffic": _ws(*_ENDPOINT_GET),
    "AzureMLAdapter.deployments": _ws(f"{WS}/onlineEndpoints/deployments/read"),
    "AzureMLAdapter.set_traffic": _ENDPOINT_PUT,
    "AzureMLAdapter.model_versions": _ws(f"{WS}/models/versions/read"),
    "AzureMLAdapter.model": _ws(f"{WS}/models/versions/read"),
    "AzureMLAdapter.set_model_tags": _ws(f"{WS}/models/versions/read", f"{WS}/models/versions/write"),
    "AzureMLAdapter.job_properties": _ws(f"{WS}/jobs/read"),
    "AzureMLAdapter.quota_usage": _ws(f"{WS}/read") | _sub(f"{LOC}/usages/read"),
    "AzureMLAdapter.vm_sizes": _ws(f"{WS}/read") | _sub(f"{LOC}/vmsizes/read"),
    # shared/adapters/scoring.py (MLClient + an HTTP session to the scoring URI)
    "ScoringAdapter.credentials": _ws(*_PROBE_KEYS),
    # POST to the scoring URI with the endpoint's key (no Azure RBAC), after `credentials` on first use
    "ScoringAdapter.score": _ws(*_PROBE_KEYS),
    # shared/adapters/data_assets.py (MLClient + the datastore's ContainerClient, found with datastores.get)
    "DataAssets.model_source": _ws(f"{WS}/models/versions/read"),
    "DataAssets.job_inputs": _ws(f"{WS}/jobs/read"),
    "DataAssets.resolve": _ws(f"{WS}/data/versions/read", f"{WS}/data/read", f"{WS}/datastores/read")
    | _on(WORKSPACE_STORAGE, f"{BLOBS}/read"),  # data/read: an `@latest` label reads the asset's container
    "DataAssets.download": _ws(f"{WS}/datastores/read") | _on(WORKSPACE_STORAGE, f"{BLOBS}/read"),
    # shared/adapters/collected_data.py (the workspace datastore's ContainerClient)
    "CollectedData.blobs": _on(WORKSPACE_STORAGE, f"{BLOBS}/read"),
    "CollectedData.stream": _on(WORKSPACE_STORAGE, f"{BLOBS}/read"),
    # shared/adapters/metrics.py (MetricsClient, metrics:getBatch on the endpoints)
    "MetricsAdapter.per_deployment": _on(WORKSPACE, "Microsoft.Insights/metrics/read"),
    "MetricsAdapter.per_deployment_metrics": _on(WORKSPACE, "Microsoft.Insights/metrics/read"),
    "MetricsAdapter.requests_by_status": _on(WORKSPACE, "Microsoft.Insights/metrics/read"),
    # shared/adapters/costs.py (CostManagementClient at the workspace's resource group)
    "CostsAdapter.endpoint_costs": _on(WORKSPACE_RG, "Microsoft.CostManagement/query/read"),
    "CostsAdapter.deployment_costs": _on(WORKSPACE_RG, "Microsoft.CostManagement/query/read"),
    "CostsAdapter.budget": _on(WORKSPACE_RG, "Microsoft.CostManagement/budgets/read"),
    "CostsAdapter.budgets": _on(WORKSPACE_RG, "Microsoft.CostManagement/budgets/read"),
    # shared/adapters/traffic_log.py (LogsQueryClient.query_workspace)
    "TrafficLog.requests": _on(LOG_ANALYTICS, "Microsoft.OperationalInsights/workspaces/query/read"),
    "TrafficLog.windows": _on(LOG_ANALYTICS, "Microsoft.OperationalInsights/workspaces/query/read"),
    # the app's own storage (shared/adapters/audit.py, idempotency.py, leases.py, state.py)
    "AuditLog.append": _on(APP_STORAGE, f"{BLOBS}/read", f"{BLOBS}/write", f"{BLOBS}/add/action",
                           f"{CONTAINERS}/read"),
    "AuditLog.read": _on(APP_STORAGE, f"{BLOBS}/read"),
    "IdempotencyStore.claim": _on(APP_STORAGE, f"{BLOBS}/read", f"{BLOBS}/write"),
    "IdempotencyStore.complete": _on(APP_STORAGE, f"{BLOBS}/write"),
    "IdempotencyStore.release": _on(APP_STORAGE, f"{BLOBS}/read", f"{BLOBS}/delete"),
    "BlobLeases.hold": _on(APP_STORAGE, f"{BLOBS}/write"),  # acquiring / releasing a blob lease is a write
    "BlobStateStore.get_bytes": _on(APP_STORAGE, f"{BLOBS}/read"),
    "BlobStateStore.put_bytes": _on(APP_STORAGE, f"{BLOBS}/write"),
    "BlobStateStore.get_json": _on(APP_STORAGE, f"{BLOBS}/read"),
    "BlobStateStore.put_json": _on(APP_STORAGE, f"{BLOBS}/write"),
    "BlobStateStore.create_json": _on(APP_STORAGE, f"{BLOBS}/write"),
    "BlobStateStore.update_json": _on(APP_STORAGE, f"{BLOBS}/read", f"{BLOBS}/write"),
    "BlobStateStore.list_json": _on(APP_STORAGE, f"{BLOBS}/read"),
    "BlobVerdictStore.put": _on(APP_STORAGE, f"{BLOBS}/write"),
    "BlobVerdictStore.for_endpoint": _on(APP_STORAGE, f"{BLOBS}/read"),
    "BlobVerdictStore.for_workspace": _on(APP_STORAGE, f"{BLOBS}/read"),
}

#: Azure SDK calls made outside the adapters (the composition root and the reference builder look up
#: datastores to give CollectedData and DataAssets their containers): `<operations group>.<method>` of the
#: MLClient -> what they need. tests/infra/test_permissions.py greps shared/ for `ml_client.<group>.<method>(`.
SDK_CALL_NEEDS: dict[str, frozenset[Need]] = {
    "datastores.get_default": _ws(f"{WS}/datastores/read"),
    "datastores.get": _ws(f"{WS}/datastores/read"),
    # shared/bootstrap.py LazyAzure.location: the workspace's region, when MODELWATCH_LOCATION is not set
    "workspaces.get": _ws(f"{WS}/read"),
}

#: Actions the emulator cannot show being sent, with the code path that sends them in Azure.
NOT_SEEN_ON_THE_EMULATOR: dict[str, str] = {
    f"{WS}/onlineendpoints/token/action": "ScoringAdapter.credentials on an endpoint with auth_mode aml_token",
    f"{WS}/data/read": "DataAssets.resolve of `azureml:<name>@latest` (the SDK reads the data container)",
    f"{LOC}/mfeOperationResults/read": "a long-running endpoint PUT that Azure answers with a Location header",
}


@dataclass(frozen=True)
class BuiltIn:
    """A built-in role the templates assign, what it covers and where (file, `scope:` symbol)."""

    name: str
    guid: str
    on: str
    covers: tuple[str, ...]  # fnmatch patterns of actions, case-insensitive
    template: str
    scope: str


BUILT_IN_ROLES = (
    BuiltIn("Monitoring Reader", "43d0d8ad-25c7-4714-9337-8ba259a9fe05", WORKSPACE, ("*/read",),
            "modules/workspace-access.bicep", "workspace"),
    BuiltIn("Cost Management Reader", "72fafb9e-0641-4937-9268-a91bfd8191a3", WORKSPACE_RG,
            ("Microsoft.CostManagement/*/read", "Microsoft.Consumption/*/read"),
            "modules/workspace-access.bicep", "resourceGroup()"),
    BuiltIn("Log Analytics Reader", "73c42c96-874c-492b-b04d-ab87d138a893", LOG_ANALYTICS, ("*/read",),
            "main.bicep", "logAnalytics"),
    BuiltIn("Storage Blob Data Reader", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", WORKSPACE_STORAGE,
            (f"{BLOBS}/read", f"{CONTAINERS}/read"), "modules/storage-reader.bicep", "storageAccount"),
    BuiltIn("Storage Blob Data Owner", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b", APP_STORAGE,
            (f"{CONTAINERS}/*",), "main.bicep", "storage"),
    BuiltIn("Storage Queue Data Contributor", "974c5e8b-45b9-4653-ba55-5f855dd0fb88", APP_STORAGE,
            ("Microsoft.Storage/storageAccounts/queueServices/queues/messages/*",), "main.bicep", "storage"),
)

#: The Azure ML actions go to the custom roles of infra/modules/roles.bicep, by where they are needed.
CUSTOM_ROLE_VARIABLES = {WORKSPACE: "workspaceActions", SUBSCRIPTION: "subscriptionActions"}


def all_needs() -> frozenset[Need]:
    return frozenset(n for table in (ADAPTER_NEEDS, SDK_CALL_NEEDS) for needs in table.values() for n in needs)


def custom_role_needs(on: str) -> set[str]:
    """The Azure ML actions needed at `on` (WORKSPACE or SUBSCRIPTION), lower-cased."""
    return {n.action.lower() for n in all_needs()
            if n.on == on and n.action.startswith("Microsoft.MachineLearningServices/")}


def arm_action(method: str, path: str) -> str:
    """The RBAC action ARM checks for a request: provider + resource types + read/write/delete, or the POST's
    action name + /action. `/subscriptions/s/resourceGroups/g/providers/P/workspaces/w/onlineEndpoints/e/listKeys`
    with POST is `P/workspaces/onlineEndpoints/listKeys/action`."""
    parts = [p for p in path.split("?")[0].split("/") if p]
    lowered = [p.lower() for p in parts]
    if "providers" not in lowered:
        raise ValueError(f"not an ARM resource path: {path}")
    at = len(lowered) - 1 - lowered[::-1].index("providers")
    provider, rest = parts[at + 1], parts[at + 2:]
    action_name = rest.pop() if method.upper() == "POST" and len(rest) % 2 == 1 else None
    types = rest[0::2]
    if action_name is not None:
        return "/".join([provider, *types, action_name, "action"])
    verb = {"GET": "read", "HEAD": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}[method.upper()]
    return "/".join([provider, *types, verb])
