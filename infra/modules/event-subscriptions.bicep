// Event Grid subscriptions: the workspace's system topic -> on_ml_event, the resource group's system topic ->
// on_resource_event (online endpoints of the workspace only). Both retry, then dead-letter to a blob container
// of the app's storage account, written with the topic's own identity (the account has no shared keys).
//
// The included event types are exactly those shared/events.py acts on (tests/infra checks both ways):
// route_ml_event enqueues a job for ModelRegistered, RunStatusChanged (failed runs) and DatasetDriftDetected;
// route_resource_event for ResourceWriteSuccess and ResourceDeleteSuccess under .../onlineEndpoints.
//
// Event Grid checks that the destination function exists when a subscription is created: deploy these only
// after the code is published (main.bicep's subscribeEvents).
targetScope = 'resourceGroup'

param workspaceName string
param workspaceTopicName string
param resourceGroupTopicName string

@description('Resource id of the Function App.')
param functionAppId string

@description('Resource id of the storage account holding the dead-letter container.')
param deadLetterStorageId string
param deadLetterContainer string

@description('Attempts before an event is dead-lettered (Event Grid: at most 30).')
param maxDeliveryAttempts int = 30

@description('Minutes an event is retried before it is dead-lettered (Event Grid: at most 1440).')
param eventTimeToLiveInMinutes int = 1440

var retryPolicy = {
  maxDeliveryAttempts: maxDeliveryAttempts
  eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
}

var deadLetter = {
  identity: {
    type: 'SystemAssigned'
  }
  deadLetterDestination: {
    endpointType: 'StorageBlob'
    properties: {
      resourceId: deadLetterStorageId
      blobContainerName: deadLetterContainer
    }
  }
}

resource workspaceTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: workspaceTopicName
}

resource resourceGroupTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: resourceGroupTopicName
}

resource mlEvents 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: workspaceTopic
  name: 'modelwatch-ml'
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionAppId}/functions/on_ml_event'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.MachineLearningServices.ModelRegistered'
        'Microsoft.MachineLearningServices.RunStatusChanged'
        'Microsoft.MachineLearningServices.DatasetDriftDetected'
      ]
    }
    retryPolicy: retryPolicy
    deadLetterWithResourceIdentity: deadLetter
  }
}

resource resourceEvents 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: resourceGroupTopic
  name: 'modelwatch-endpoints'
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionAppId}/functions/on_resource_event'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Resources.ResourceWriteSuccess'
        'Microsoft.Resources.ResourceDeleteSuccess'
      ]
      subjectBeginsWith: '${resourceGroup().id}/providers/Microsoft.MachineLearningServices/workspaces/${workspaceName}/onlineEndpoints'
      isSubjectCaseSensitive: false
    }
    retryPolicy: retryPolicy
    deadLetterWithResourceIdentity: deadLetter
  }
}
