// The diagnostic setting that sends one online endpoint's AmlOnlineEndpointTrafficLog (one row per request:
// TimeGenerated, DeploymentName, ResponseCode, TotalDurationMs, ...) to a Log Analytics workspace: the canary
// judge's request-level source (shared/adapters/traffic_log.py; MODELWATCH_LOG_ANALYTICS_WORKSPACE_ID is that
// workspace's id). Without it canaries are judged on per-minute metrics.
//
// main.bicep applies it to the endpoints named in `endpointNames`; for an endpoint created later, run it alone
// in the workspace's resource group (infra/README.md):
//   az deployment group create -g $WS_RG -f infra/modules/endpoint-diagnostics.bicep \
//     -p workspaceName=$WS endpointName=$EP logAnalyticsWorkspaceId=$LAW_RESOURCE_ID
// Logs can take up to an hour to start flowing after the setting is created.
targetScope = 'resourceGroup'

param workspaceName string
param endpointName string

@description('Resource id of the Log Analytics workspace (not its GUID).')
param logAnalyticsWorkspaceId string

resource workspace 'Microsoft.MachineLearningServices/workspaces@2024-04-01' existing = {
  name: workspaceName
}

resource endpoint 'Microsoft.MachineLearningServices/workspaces/onlineEndpoints@2024-04-01' existing = {
  parent: workspace
  name: endpointName
}

resource trafficLog 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'modelwatch-traffic-log'
  scope: endpoint
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'AmlOnlineEndpointTrafficLog'
        enabled: true
      }
    ]
  }
}
