resource "azurerm_app_configuration" "main" {
  name                       = "appconfig-dev-k3x9p2qa"
  location                   = "eastus"
  resource_group_name        = azurerm_resource_group.main.name
  tags                       = local.tags
  sku                        = "standard"
  local_auth_enabled         = false
  public_network_access      = "Enabled"
  purge_protection_enabled   = false
  soft_delete_retention_days = 1
}

resource "azurerm_container_registry" "main" {
  name                          = "crartagentk3x9p2qa"
  location                      = "eastus"
  resource_group_name           = azurerm_resource_group.main.name
  tags                          = local.tags
  sku                           = "Basic"
  admin_enabled                 = false
  public_network_access_enabled = true
  anonymous_pull_enabled        = false
  zone_redundancy_enabled       = false
  export_policy_enabled         = true
}

resource "azurerm_container_app_environment" "main" {
  name                           = "cae-artagent-dev-k3x9p2qa"
  location                       = "eastus"
  resource_group_name            = azurerm_resource_group.main.name
  tags                           = local.tags
  zone_redundancy_enabled        = false
  internal_load_balancer_enabled = false
  logs_destination               = "log-analytics"
  log_analytics_workspace_id     = azurerm_log_analytics_workspace.main.id
}

resource "azurerm_container_app" "frontend" {
  name                         = "artagent-frontend-k3x9p2qa"
  location                     = "eastus"
  resource_group_name          = azurerm_resource_group.main.name
  tags                         = merge(local.tags, { azd-service-name = "rtaudio-client" })
  revision_mode                = "Single"
  container_app_environment_id = azurerm_container_app_environment.main.id

  identity {
    type         = "SystemAssigned, UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.frontend.id]
  }

  ingress {
    external_enabled           = true
    target_port                = 8080
    transport                  = "auto"
    allow_insecure_connections = false

    traffic_weight {
      latest_revision = true
      percentage      = 100
    }
  }

  registry {
    server   = azurerm_container_registry.main.login_server
    identity = azurerm_user_assigned_identity.frontend.id
  }

  template {
    min_replicas = 1
    max_replicas = 10

    container {
      name   = "main"
      image  = "mcr.microsoft.com/azuredocs/containerapps-helloworld:latest"
      cpu    = 0.5
      memory = "1Gi"

      env {
        name  = "AZURE_APPCONFIG_ENDPOINT"
        value = azurerm_app_configuration.main.endpoint
      }

      env {
        name  = "AZURE_APPCONFIG_LABEL"
        value = "dev"
      }

      env {
        name  = "AZURE_CLIENT_ID"
        value = azurerm_user_assigned_identity.frontend.client_id
      }

      env {
        name  = "APPLICATIONINSIGHTS_CONNECTION_STRING"
        value = azurerm_application_insights.main.connection_string
      }

      env {
        name  = "PORT"
        value = "8080"
      }
    }
  }
}

resource "azurerm_container_app" "backend" {
  name                         = "artagent-backend-k3x9p2qa"
  location                     = "eastus"
  resource_group_name          = azurerm_resource_group.main.name
  tags                         = merge(local.tags, { azd-service-name = "rtaudio-server" })
  revision_mode                = "Single"
  container_app_environment_id = azurerm_container_app_environment.main.id

  identity {
    type         = "SystemAssigned, UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.backend.id]
  }

  ingress {
    external_enabled           = true
    target_port                = 8000
    transport                  = "auto"
    allow_insecure_connections = false

    traffic_weight {
      latest_revision = true
      percentage      = 100
    }
  }

  registry {
    server   = azurerm_container_registry.main.login_server
    identity = azurerm_user_assigned_identity.backend.id
  }

  template {
    min_replicas = 5
    max_replicas = 50

    container {
      name   = "main"
      image  = "mcr.microsoft.com/azuredocs/containerapps-helloworld:latest"
      cpu    = 2
      memory = "4Gi"

      env {
        name  = "AZURE_APPCONFIG_ENDPOINT"
        value = azurerm_app_configuration.main.endpoint
      }

      env {
        name  = "AZURE_APPCONFIG_LABEL"
        value = "dev"
      }

      env {
        name  = "AZURE_CLIENT_ID"
        value = azurerm_user_assigned_identity.backend.client_id
      }

      env {
        name  = "APPLICATIONINSIGHTS_CONNECTION_STRING"
        value = azurerm_application_insights.main.connection_string
      }

      env {
        name  = "PORT"
        value = "8000"
      }
    }
  }
}
