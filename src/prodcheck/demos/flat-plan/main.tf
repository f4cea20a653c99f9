resource "azurerm_resource_group" "main" {
  name     = "rg-artagent-dev"
  location = "eastus"
  tags     = local.tags
}

resource "random_string" "resource_token" {
  length  = 8
  special = false
  upper   = false
}

data "azuread_client_config" "current" {}

resource "azurerm_user_assigned_identity" "backend" {
  name                = "artagent-backend-k3x9p2qa"
  location            = "eastus"
  resource_group_name = azurerm_resource_group.main.name
  tags                = local.tags
}

resource "azurerm_user_assigned_identity" "frontend" {
  name                = "artagent-frontend-k3x9p2qa"
  location            = "eastus"
  resource_group_name = azurerm_resource_group.main.name
  tags                = local.tags
}
