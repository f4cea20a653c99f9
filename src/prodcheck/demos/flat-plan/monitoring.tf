resource "azurerm_log_analytics_workspace" "main" {
  name                         = "log-k3x9p2qa"
  location                     = "eastus"
  resource_group_name          = azurerm_resource_group.main.name
  tags                         = local.tags
  sku                          = "PerGB2018"
  retention_in_days            = 30
  local_authentication_enabled = true
  internet_ingestion_enabled   = true
  internet_query_enabled       = true
  daily_quota_gb               = -1
}

resource "azurerm_application_insights" "main" {
  name                          = "ai-k3x9p2qa"
  location                      = "eastus"
  resource_group_name           = azurerm_resource_group.main.name
  tags                          = local.tags
  application_type              = "web"
  local_authentication_disabled = false
  internet_ingestion_enabled    = true
  internet_query_enabled        = true
  retention_in_days             = 90
  workspace_id                  = azurerm_log_analytics_workspace.main.id
}

resource "azurerm_monitor_diagnostic_setting" "acs" {
  name                       = "acs-diagnostics"
  target_resource_id         = azapi_resource.acs.id
  log_analytics_workspace_id = azurerm_log_analytics_workspace.main.id

  enabled_log {
    category_group = "allLogs"
  }

  enabled_metric {
    category = "AllMetrics"
  }
}

resource "azurerm_monitor_diagnostic_setting" "openai" {
  name                       = "aif-diagnostics"
  target_resource_id         = azurerm_cognitive_account.openai.id
  log_analytics_workspace_id = azurerm_log_analytics_workspace.main.id

  enabled_log {
    category = "Audit"
  }

  enabled_log {
    category = "RequestResponse"
  }

  enabled_metric {
    category = "AllMetrics"
  }
}

resource "azurerm_monitor_diagnostic_setting" "voice_live" {
  name                       = "avl-diagnostics"
  target_resource_id         = azurerm_cognitive_account.voice_live.id
  log_analytics_workspace_id = azurerm_log_analytics_workspace.main.id

  enabled_log {
    category = "Audit"
  }

  enabled_log {
    category = "RequestResponse"
  }

  enabled_metric {
    category = "AllMetrics"
  }
}
