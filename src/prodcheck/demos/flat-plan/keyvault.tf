resource "azurerm_key_vault" "main" {
  name                            = "kv-k3x9p2qa"
  location                        = "eastus"
  resource_group_name             = azurerm_resource_group.main.name
  tags                            = local.tags
  sku_name                        = "standard"
  tenant_id                       = "3e9f2d41-7b6a-4c8d-9e0f-1a2b3c4d5e6f"
  enable_rbac_authorization       = true
  public_network_access_enabled   = true
  purge_protection_enabled        = false
  soft_delete_retention_days      = 7
  enabled_for_deployment          = false
  enabled_for_disk_encryption     = false
  enabled_for_template_deployment = false
}

resource "azurerm_key_vault_secret" "acs_connection_string" {
  name         = "acs-connection-string"
  value        = var.acs_connection_string
  key_vault_id = azurerm_key_vault.main.id
}

resource "azurerm_key_vault_secret" "cosmos_admin_password" {
  name         = "cosmos-admin-password"
  value        = var.cosmos_admin_password
  key_vault_id = azurerm_key_vault.main.id
}

resource "azurerm_key_vault_secret" "cosmos_connection_string" {
  name         = "cosmos-connection-string"
  value        = var.cosmos_connection_string
  key_vault_id = azurerm_key_vault.main.id
}

resource "azurerm_key_vault_secret" "cosmos_entra_connection_string" {
  name         = "cosmos-entra-connection-string"
  value        = var.cosmos_entra_connection_string
  key_vault_id = azurerm_key_vault.main.id
}
