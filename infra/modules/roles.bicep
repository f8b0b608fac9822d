// The two custom roles of modelwatch's identity, and the subscription-scope assignment of the second.
//
// Least privilege: each list holds exactly the Azure RBAC actions the app's adapters call (shared/adapters/),
// no wildcard. tests/infra/permissions.py maps every adapter method to its actions and tests/infra checks
// that these lists equal what the adapters need: a new adapter call fails the tests until it is granted here.
// Action names: "Azure permissions for AI + machine learning" (Microsoft.MachineLearningServices).
//
// Deployed at subscription scope (role definitions live there); the deployer needs
// Microsoft.Authorization/roleDefinitions/write and roleAssignments/write on the subscription
// (Owner or User Access Administrator).
targetScope = 'subscription'

@description('Resource id of the Azure ML workspace the app watches (the workspace role is assigned there only).')
param workspaceId string

@description('Resource id of the workspace\'s resource group: where the workspace role can be assigned (custom roles take management groups, subscriptions or resource groups as assignable scopes, not single resources).')
param workspaceResourceGroupId string

@description('Object id of the Function App\'s system-assigned identity.')
param principalId string

@description('Distinguishes the role names of several modelwatch installations in one tenant.')
param appName string

// Read endpoints, deployments, models, data assets, jobs and datastores; write an endpoint's traffic (GET,
// change, PUT back: a rollback); read the workspace (azure-ai-ml reads its location before an endpoint PUT and
// a usage list); the keys (or token, for aml_token endpoints) of an endpoint for the on-call probe; write a
// model version's tags (the evaluation gate records its verdict there).
var workspaceActions = [
  'Microsoft.MachineLearningServices/workspaces/read'
  'Microsoft.MachineLearningServices/workspaces/onlineEndpoints/read'
  'Microsoft.MachineLearningServices/workspaces/onlineEndpoints/write'
  'Microsoft.MachineLearningServices/workspaces/onlineendpoints/listkeys/action'
  'Microsoft.MachineLearningServices/workspaces/onlineendpoints/token/action'
  'Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments/read'
  'Microsoft.MachineLearningServices/workspaces/models/versions/read'
  'Microsoft.MachineLearningServices/workspaces/models/versions/write'
  'Microsoft.MachineLearningServices/workspaces/data/read'
  'Microsoft.MachineLearningServices/workspaces/data/versions/read'
  'Microsoft.MachineLearningServices/workspaces/jobs/read'
  'Microsoft.MachineLearningServices/workspaces/datastores/read'
]

// Subscription-level paths (/subscriptions/{sub}/providers/Microsoft.MachineLearningServices/locations/{loc}/...):
// vCPU usage and VM sizes for the quota check, and the status of the long-running endpoint PUT a rollback
// waits for (Azure-AsyncOperation points at locations/{loc}/mfeOperationsStatus/{id}).
var subscriptionActions = [
  'Microsoft.MachineLearningServices/locations/usages/read'
  'Microsoft.MachineLearningServices/locations/vmsizes/read'
  'Microsoft.MachineLearningServices/locations/mfeOperationsStatus/read'
  'Microsoft.MachineLearningServices/locations/mfeOperationResults/read'
]

resource workspaceRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, workspaceId, appName, 'modelwatch-workspace')
  properties: {
    roleName: 'modelwatch workspace operator (${appName})'
    description: 'What modelwatch reads and changes in one Azure ML workspace: endpoints, deployments, models, data, jobs, datastores; endpoint traffic; endpoint keys for probes; model version tags.'
    type: 'CustomRole'
    permissions: [
      {
        actions: workspaceActions
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: [
      workspaceResourceGroupId
    ]
  }
}

resource subscriptionRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, appName, 'modelwatch-ml-locations')
  properties: {
    roleName: 'modelwatch ML quota reader (${appName})'
    description: 'Azure ML usages and VM sizes of a region, and the status of Azure ML long-running operations.'
    type: 'CustomRole'
    permissions: [
      {
        actions: subscriptionActions
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: [
      subscription().id
    ]
  }
}

resource subscriptionRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, subscriptionRole.id)
  properties: {
    roleDefinitionId: subscriptionRole.id
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output workspaceRoleId string = workspaceRole.id
