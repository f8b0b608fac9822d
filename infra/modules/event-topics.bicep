// The two Event Grid system topics modelwatch listens to, in the workspace's resource group:
// the Azure ML workspace's own topic (model registered, run status changed, dataset drift) and the
// resource group's topic (ARM writes and deletes: online endpoints and deployments created, changed, deleted).
//
// Azure allows one system topic per source: if the workspace or the resource group already has one, pass its
// name (the PUT below then only adds a system-assigned identity to it, used for dead-lettering).
targetScope = 'resourceGroup'

param workspaceName string

@description('The workspace\'s region: its system topic must be in the same one.')
param workspaceLocation string

param workspaceTopicName string
param resourceGroupTopicName string

resource workspace 'Microsoft.MachineLearningServices/workspaces@2024-04-01' existing = {
  name: workspaceName
}

resource workspaceTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: workspaceTopicName
  location: workspaceLocation
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: workspace.id
    topicType: 'Microsoft.MachineLearningServices.Workspaces'
  }
}

resource resourceGroupTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: resourceGroupTopicName
  location: 'global'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: resourceGroup().id
    topicType: 'Microsoft.Resources.ResourceGroups'
  }
}

output workspaceTopicPrincipalId string = workspaceTopic.identity.principalId
output resourceGroupTopicPrincipalId string = resourceGroupTopic.identity.principalId
