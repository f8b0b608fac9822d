// The app identity's roles on the Azure ML side, deployed to the workspace's resource group:
// the custom workspace role and Monitoring Reader on the workspace, Cost Management Reader on the resource
// group (the cost queries and budgets run at that scope: shared/bootstrap.py builds the CostsAdapter on
// /subscriptions/{sub}/resourceGroups/{MODELWATCH_RESOURCE_GROUP}), and Storage Blob Data Reader on the
// workspace's default storage account (the data collector's JSONL and the training data, read for drift).
targetScope = 'resourceGroup'

@description('Name of the Azure ML workspace (in this resource group).')
param workspaceName string

@description('Object id of the Function App\'s system-assigned identity.')
param principalId string

@description('Id of the custom "modelwatch workspace operator" role (modules/roles.bicep).')
param workspaceRoleId string

resource workspace 'Microsoft.MachineLearningServices/workspaces@2024-04-01' existing = {
  name: workspaceName
}

resource workspaceOperator 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(workspace.id, principalId, workspaceRoleId)
  scope: workspace
  properties: {
    roleDefinitionId: workspaceRoleId
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Monitoring Reader: the online endpoints' metrics (RequestLatency_P*, RequestsPerMinute), child resources of
// the workspace.
resource monitoringReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(workspace.id, principalId, 'monitoring-reader')
  scope: workspace
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '43d0d8ad-25c7-4714-9337-8ba259a9fe05')
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Cost Management Reader: Microsoft.CostManagement/query/read and budgets/read at the resource group.
resource costReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, principalId, 'cost-management-reader')
  scope: resourceGroup()
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '72fafb9e-0641-4937-9268-a91bfd8191a3')
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// The workspace's default storage account (properties.storageAccount is its resource id); assumed to be in
// this resource group, as Azure ML creates it. Datastores on other accounts need the same grant there.
module workspaceStorageReader 'storage-reader.bicep' = {
  name: 'modelwatch-workspace-storage-reader'
  params: {
    storageAccountName: last(split(workspace.properties.storageAccount, '/'))
    principalId: principalId
  }
}

output location string = workspace.location
