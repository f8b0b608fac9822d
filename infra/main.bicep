// modelwatch in Azure: one resource-group deployment (az deployment group create -f infra/main.bicep).
//
// Creates, in the target resource group: the Function App on Flex Consumption (Python, system-assigned
// identity), its storage account with shared keys disabled (host storage, app state, job queues, package,
// Event Grid dead letters: all through the identity), Application Insights on a Log Analytics workspace (which
// also receives the endpoints' traffic logs), and a Key Vault for webhook URLs and keys (app settings are Key
// Vault references). Around an existing Azure ML workspace (possibly in another resource group of the same
// subscription): the Event Grid system topics and subscriptions to the app, the identity's roles (least
// privilege: modules/roles.bicep), and optionally the endpoints' diagnostic settings.
//
// Never run from this repository (no Azure subscription here): tests/infra checks these templates against the
// code (settings, event types, RBAC actions, function names), not against Azure. See infra/README.md.
targetScope = 'resourceGroup'

@description('Region of the app\'s resources.')
param location string = resourceGroup().location

@description('Function App name (also the host name: https://<appName>.azurewebsites.net).')
@minLength(2)
@maxLength(60)
param appName string

@description('The Azure ML workspace to watch.')
param workspaceName string

@description('Resource group of the workspace (same subscription).')
param workspaceResourceGroup string = resourceGroup().name

@description('Name of the workspace\'s Event Grid system topic; an existing one must be named here (one per source).')
param workspaceTopicName string = '${workspaceName}-events'

@description('Name of the workspace resource group\'s Event Grid system topic; an existing one must be named here.')
param resourceGroupTopicName string = '${workspaceResourceGroup}-events'

@description('Create the Event Grid subscriptions. Event Grid needs the functions to exist: false on the first run, before the code is published.')
param subscribeEvents bool = true

@description('Online endpoints whose AmlOnlineEndpointTrafficLog goes to the Log Analytics workspace (modules/endpoint-diagnostics.bicep).')
param endpointNames array = []

@allowed([
  '3.11'
  '3.12'
])
param pythonVersion string = '3.11'

param maximumInstanceCount int = 40

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@allowed([
  'auto'
  'recommend'
  'off'
])
@description('MODELWATCH_ROLLBACK_MODE: what a failed canary does.')
param rollbackMode string = 'auto'

@description('MODELWATCH_COST_BUDGET: the Cost Management budget the cost check watches (empty: none).')
param costBudget string = ''

@description('MODELWATCH_EVENTGRID_TOPIC_ENDPOINT: an Event Grid custom topic for alerts (empty: none).')
param alertTopicEndpoint string = ''

@secure()
@description('Generic webhook (common alert schema); stored in Key Vault.')
param alertWebhookUrl string = ''

@secure()
@description('Teams Workflows webhook URL; stored in Key Vault.')
param teamsWebhookUrl string = ''

@secure()
@description('Slack incoming webhook URL; stored in Key Vault.')
param slackWebhookUrl string = ''

@secure()
@description('PagerDuty Events v2 routing key; stored in Key Vault.')
param pagerDutyRoutingKey string = ''

@secure()
@description('Key of the alert Event Grid topic; stored in Key Vault. Empty: the identity publishes (grant it EventGrid Data Sender on the topic).')
param alertTopicKey string = ''

@description('More app settings (infra/README.md lists the optional ones), merged over the ones set here.')
param extraAppSettings object = {}

param logRetentionDays int = 30

var suffix = uniqueString(resourceGroup().id, appName)
var storageName = 'st${suffix}'
var keyVaultName = 'kv${suffix}'
var packageContainer = 'app-package'
var stateContainer = 'modelwatch'
var deadLetterContainerName = 'eventgrid-deadletter'
var jobsQueue = 'modelwatch-jobs'

// ---- storage: shared keys off, everything through Entra ID -------------------------------------------------
resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageName
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource packageBlobs 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: packageContainer
}

resource stateBlobs 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: stateContainer
}

resource deadLetterBlobs 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deadLetterContainerName
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource jobs 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: jobsQueue
}

resource poisonJobs 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: '${jobsQueue}-poison'
}

// ---- telemetry ------------------------------------------------------------------------------------------
resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${appName}'
  location: location
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${appName}'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    IngestionMode: 'LogAnalytics'
  }
}

// ---- secrets ----------------------------------------------------------------------------------------------
resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
  }
}

var secrets = [
  {
    name: 'alert-webhook-url'
    value: alertWebhookUrl
  }
  {
    name: 'teams-webhook-url'
    value: teamsWebhookUrl
  }
  {
    name: 'slack-webhook-url'
    value: slackWebhookUrl
  }
  {
    name: 'pagerduty-routing-key'
    value: pagerDutyRoutingKey
  }
  {
    name: 'eventgrid-topic-key'
    value: alertTopicKey
  }
]

resource secretValues 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [
  for secret in secrets: if (!empty(secret.value)) {
    parent: keyVault
    name: secret.name
    properties: {
      value: secret.value
    }
  }
]

// A Key Vault reference (versionless: the app picks up a rotated secret within a day); empty when not given.
var vaultUri = keyVault.properties.vaultUri

// ---- the Function App ---------------------------------------------------------------------------------------
resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${appName}'
  location: location
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
  location: location
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${packageContainer}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
  }
}

resource workspace 'Microsoft.MachineLearningServices/workspaces@2024-04-01' existing = {
  name: workspaceName
  scope: resourceGroup(workspaceResourceGroup)
}

// Every app setting the code reads is here or listed as optional (with its default) in infra/README.md;
// tests/infra/test_app_settings.py keeps the two in step with shared/.
var appSettings = {
  // host storage through the identity (no connection string: the account has no shared keys)
  AzureWebJobsStorage__accountName: storage.name
  AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
  AzureWebJobsStorage__credential: 'managedidentity'
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  // the watched workspace
  MODELWATCH_ALLOWED_WORKSPACES: workspace.id
  MODELWATCH_SUBSCRIPTION_ID: subscription().subscriptionId
  MODELWATCH_RESOURCE_GROUP: workspaceResourceGroup
  MODELWATCH_WORKSPACE: workspaceName
  MODELWATCH_LOCATION: workspace.location
  MODELWATCH_LOG_ANALYTICS_WORKSPACE_ID: logAnalytics.properties.customerId
  // the app's own state, through the identity
  MODELWATCH_STATE_CONTAINER: stateContainer
  MODELWATCH_STORAGE_ACCOUNT_URL: storage.properties.primaryEndpoints.blob
  MODELWATCH_CLOCK: 'system'
  MODELWATCH_PUBLIC_BASE_URL: 'https://${functionApp.properties.defaultHostName}'
  MODELWATCH_ROLLBACK_MODE: rollbackMode
  MODELWATCH_COST_BUDGET: costBudget
  MODELWATCH_EVENTGRID_TOPIC_ENDPOINT: alertTopicEndpoint
  // secrets: Key Vault references, resolved by the platform with the app's identity (Key Vault Secrets User)
  MODELWATCH_ALERT_WEBHOOK_URL: empty(alertWebhookUrl) ? '' : '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/alert-webhook-url/)'
  MODELWATCH_TEAMS_WEBHOOK_URL: empty(teamsWebhookUrl) ? '' : '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/teams-webhook-url/)'
  MODELWATCH_SLACK_WEBHOOK_URL: empty(slackWebhookUrl) ? '' : '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/slack-webhook-url/)'
  MODELWATCH_PAGERDUTY_ROUTING_KEY: empty(pagerDutyRoutingKey) ? '' : '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/pagerduty-routing-key/)'
  MODELWATCH_EVENTGRID_TOPIC_KEY: empty(alertTopicKey) ? '' : '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/eventgrid-topic-key/)'
}

resource functionAppSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: union(appSettings, extraAppSettings)
  dependsOn: [
    blobDataOwner
    queueDataContributor
    secretsUser
    secretValues
  ]
}

// ---- the identity's roles on the app's own resources ------------------------------------------------------
// Storage Blob Data Owner: host storage (timer leases, the package container), state, audit, alerts, claims.
resource blobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionApp.id, 'storage-blob-data-owner')
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b')
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Storage Queue Data Contributor: the job queue and its poison queue (trigger, intake, worker re-queue).
resource queueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionApp.id, 'storage-queue-data-contributor')
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '974c5e8b-45b9-4653-ba55-5f855dd0fb88')
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Key Vault Secrets User: resolving the Key Vault references of the app settings.
resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, functionApp.id, 'key-vault-secrets-user')
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Log Analytics Reader: the request-level traffic log the canary judge queries (AmlOnlineEndpointTrafficLog).
resource logReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(logAnalytics.id, functionApp.id, 'log-analytics-reader')
  scope: logAnalytics
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '73c42c96-874c-492b-b04d-ab87d138a893')
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// ---- the identity's roles on the Azure ML side --------------------------------------------------------------
module roles 'modules/roles.bicep' = {
  name: 'modelwatch-roles-${suffix}'
  scope: subscription()
  params: {
    workspaceId: workspace.id
    workspaceResourceGroupId: subscriptionResourceId('Microsoft.Resources/resourceGroups', workspaceResourceGroup)
    principalId: functionApp.identity.principalId
    appName: appName
  }
}

module workspaceAccess 'modules/workspace-access.bicep' = {
  name: 'modelwatch-workspace-access-${suffix}'
  scope: resourceGroup(workspaceResourceGroup)
  params: {
    workspaceName: workspaceName
    principalId: functionApp.identity.principalId
    workspaceRoleId: roles.outputs.workspaceRoleId
  }
}

// ---- events -----------------------------------------------------------------------------------------------
module topics 'modules/event-topics.bicep' = {
  name: 'modelwatch-event-topics-${suffix}'
  scope: resourceGroup(workspaceResourceGroup)
  params: {
    workspaceName: workspaceName
    workspaceLocation: workspace.location
    workspaceTopicName: workspaceTopicName
    resourceGroupTopicName: resourceGroupTopicName
  }
}

// Each topic's identity writes its dead letters into the one container, nothing else.
resource workspaceTopicDeadLetters 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetterBlobs.id, workspaceTopicName, 'storage-blob-data-contributor')
  scope: deadLetterBlobs
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')
    principalId: topics.outputs.workspaceTopicPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource resourceGroupTopicDeadLetters 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetterBlobs.id, resourceGroupTopicName, 'storage-blob-data-contributor')
  scope: deadLetterBlobs
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')
    principalId: topics.outputs.resourceGroupTopicPrincipalId
    principalType: 'ServicePrincipal'
  }
}

module subscriptions 'modules/event-subscriptions.bicep' = if (subscribeEvents) {
  name: 'modelwatch-event-subscriptions-${suffix}'
  scope: resourceGroup(workspaceResourceGroup)
  params: {
    workspaceName: workspaceName
    workspaceTopicName: workspaceTopicName
    resourceGroupTopicName: resourceGroupTopicName
    functionAppId: functionApp.id
    deadLetterStorageId: storage.id
    deadLetterContainer: deadLetterContainerName
  }
  dependsOn: [
    topics
    workspaceTopicDeadLetters
    resourceGroupTopicDeadLetters
    functionAppSettings
  ]
}

module endpointDiagnostics 'modules/endpoint-diagnostics.bicep' = [
  for endpointName in endpointNames: {
    name: 'modelwatch-diagnostics-${endpointName}'
    scope: resourceGroup(workspaceResourceGroup)
    params: {
      workspaceName: workspaceName
      endpointName: endpointName
      logAnalyticsWorkspaceId: logAnalytics.id
    }
  }
]

output functionAppName string = functionApp.name
output functionAppUrl string = 'https://${functionApp.properties.defaultHostName}'
output principalId string = functionApp.identity.principalId
output storageAccountName string = storage.name
output keyVaultName string = keyVault.name
output logAnalyticsWorkspaceId string = logAnalytics.id
output logAnalyticsCustomerId string = logAnalytics.properties.customerId
output deadLetterContainer string = deadLetterContainerName
