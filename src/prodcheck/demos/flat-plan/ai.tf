resource "azurerm_cognitive_account" "openai" {
  name                               = "artagentk3x9p2qaaif"
  location                           = "eastus"
  resource_group_name                = azurerm_resource_group.main.name
  tags                               = local.tags
  kind                               = "AIServices"
  sku_name                           = "S0"
  custom_subdomain_name              = "artagentk3x9p2qaaif"
  public_network_access_enabled      = true
  local_auth_enabled                 = true
  outbound_network_access_restricted = false

  identity {
    type = "SystemAssigned"
  }
}

resource "azurerm_cognitive_account" "voice_live" {
  name                               = "artagentk3x9p2qaavl"
  location                           = "eastus2"
  resource_group_name                = azurerm_resource_group.main.name
  tags                               = local.tags
  kind                               = "AIServices"
  sku_name                           = "S0"
  custom_subdomain_name              = "artagentk3x9p2qaavl"
  public_network_access_enabled      = true
  local_auth_enabled                 = true
  outbound_network_access_restricted = false

  identity {
    type = "SystemAssigned"
  }
}

resource "azurerm_cognitive_deployment" "models" {
  for_each = local.model_deployments

  name                   = each.key
  cognitive_account_id   = azurerm_cognitive_account.openai.id
  rai_policy_name        = "Microsoft.DefaultV2"
  version_upgrade_option = "OnceNewDefaultVersionAvailable"

  model {
    format  = "OpenAI"
    name    = each.value.model
    version = each.value.version
  }

  sku {
    name     = each.value.sku
    capacity = each.value.capacity
  }
}
