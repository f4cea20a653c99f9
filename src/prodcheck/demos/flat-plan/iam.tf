resource "azurerm_role_assignment" "backend_kv_secrets" {
  role_definition_name             = "Key Vault Secrets User"
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = false
  scope                            = azurerm_key_vault.main.id
  principal_id                     = azurerm_user_assigned_identity.backend.principal_id
}

resource "azurerm_role_assignment" "backend_openai" {
  role_definition_name             = "Cognitive Services OpenAI User"
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = false
  scope                            = azurerm_cognitive_account.openai.id
  principal_id                     = azurerm_user_assigned_identity.backend.principal_id
}

resource "azurerm_role_assignment" "backend_speech" {
  role_definition_name             = "Cognitive Services User"
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = false
  scope                            = azurerm_cognitive_account.voice_live.id
  principal_id                     = azurerm_user_assigned_identity.backend.principal_id
}

resource "azurerm_role_assignment" "backend_storage" {
  role_definition_name             = "Storage Blob Data Contributor"
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = false
  scope                            = azurerm_storage_account.main.id
  principal_id                     = azurerm_user_assigned_identity.backend.principal_id
}

resource "azurerm_role_assignment" "backend_appconfig" {
  role_definition_name             = "App Configuration Data Reader"
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = false
  scope                            = azurerm_app_configuration.main.id
  principal_id                     = azurerm_user_assigned_identity.backend.principal_id
}

resource "azurerm_role_assignment" "frontend_appconfig" {
  role_definition_name             = "App Configuration Data Reader"
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = false
  scope                            = azurerm_app_configuration.main.id
  principal_id                     = azurerm_user_assigned_identity.frontend.principal_id
}

resource "azurerm_role_assignment" "backend_acr_pull" {
  role_definition_name             = "AcrPull"
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = false
  scope                            = azurerm_container_registry.main.id
  principal_id                     = azurerm_user_assigned_identity.backend.principal_id
}

resource "azurerm_role_assignment" "frontend_acr_pull" {
  role_definition_name             = "AcrPull"
  principal_type                   = "ServicePrincipal"
  skip_service_principal_aad_check = false
  scope                            = azurerm_container_registry.main.id
  principal_id                     = azurerm_user_assigned_identity.frontend.principal_id
}
