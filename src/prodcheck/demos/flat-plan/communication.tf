resource "azapi_resource" "acs" {
  type                      = "Microsoft.Communication/communicationServices@2025-05-01-preview"
  name                      = "acs-artagent-dev-k3x9p2qa"
  location                  = "global"
  parent_id                 = azurerm_resource_group.main.id
  body                      = {
    properties = {
      dataLocation        = "United States"
      disableLocalAuth    = false
      publicNetworkAccess = "Enabled"
    }
  }
  schema_validation_enabled = true
  ignore_casing             = false
  ignore_missing_property   = true
  tags                      = local.tags

  identity {
    type = "SystemAssigned"
  }
}

resource "azurerm_email_communication_service" "main" {
  name                = "email-artagent-dev-k3x9p2qa"
  resource_group_name = azurerm_resource_group.main.name
  data_location       = "United States"
  tags                = local.tags
}

resource "azurerm_eventgrid_system_topic" "acs" {
  name                = "eg-topic-acs-k3x9p2qa"
  location            = "global"
  resource_group_name = azurerm_resource_group.main.name
  tags                = local.tags
  topic_type          = "Microsoft.Communication.CommunicationServices"
  source_resource_id  = azapi_resource.acs.id
}

resource "azapi_resource_action" "acs_keys" {
  type                   = "Microsoft.Communication/communicationServices@2025-05-01-preview"
  resource_id            = azapi_resource.acs.id
  action                 = "listKeys"
  method                 = "POST"
  response_export_values = ["primaryConnectionString"]
}
