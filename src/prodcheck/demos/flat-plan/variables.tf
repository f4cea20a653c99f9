variable "name" {
  type    = string
  default = "artagent"
}

variable "environment_name" {
  type    = string
  default = "dev"
}

variable "location" {
  type    = string
  default = "eastus"
}

variable "cosmos_allow_all_ips" {
  description = "Open the MongoDB cluster's firewall to every address (development only)."
  type        = bool
  default     = true
}

variable "cosmos_admin_password" {
  type      = string
  sensitive = true
}

variable "acs_connection_string" {
  type      = string
  sensitive = true
}

variable "cosmos_connection_string" {
  type      = string
  sensitive = true
}

variable "cosmos_entra_connection_string" {
  type      = string
  sensitive = true
}

locals {
  tags = {
    "azd-env-name"    = var.environment_name
    "hidden-title"    = "Real Time Audio ${var.environment_name}"
    "project"         = "gbb-ai-audio-agent"
    "environment"     = var.environment_name
    "deployment"      = "terraform"
    "deployed_by"     = "dana.dev@example.com"
    "SecurityControl" = "Ignore"
  }

  # Model deployments on the AI Services account: { name = { model, version, sku, capacity } }
  model_deployments = {
    "gpt-4o"                 = { model = "gpt-4o", version = "2024-11-20", sku = "DataZoneStandard", capacity = 150 }
    "gpt-4o-mini"            = { model = "gpt-4o-mini", version = "2024-07-18", sku = "DataZoneStandard", capacity = 150 }
    "o3-mini"                = { model = "o3-mini", version = "2025-01-31", sku = "DataZoneStandard", capacity = 50 }
    "gpt-5.1"                = { model = "gpt-5.1", version = "2025-11-13", sku = "GlobalStandard", capacity = 100 }
    "text-embedding-3-large" = { model = "text-embedding-3-large", version = "1", sku = "GlobalStandard", capacity = 120 }
    "gpt-realtime"           = { model = "gpt-realtime", version = "2025-08-28", sku = "GlobalStandard", capacity = 20 }
    "gpt-4o-transcribe"      = { model = "gpt-4o-transcribe", version = "2025-03-20", sku = "GlobalStandard", capacity = 50 }
  }
}
