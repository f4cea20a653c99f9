resource "azurerm_storage_account" "main" {
  name                            = "stk3x9p2qa"
  location                        = "eastus"
  resource_group_name             = azurerm_resource_group.main.name
  tags                            = local.tags
  account_tier                    = "Standard"
  account_replication_type        = "LRS"
  account_kind                    = "StorageV2"
  min_tls_version                 = "TLS1_2"
  public_network_access_enabled   = true
  allow_nested_items_to_be_public = false
  shared_access_key_enabled       = true
  https_traffic_only_enabled      = true

  blob_properties {
    versioning_enabled = false

    delete_retention_policy {
      days                     = 7
      permanent_delete_enabled = false
    }
  }
}

resource "azurerm_storage_container" "audioagent" {
  name                  = "audioagent"
  container_access_type = "private"
  storage_account_id    = azurerm_storage_account.main.id
}

resource "azurerm_storage_container" "prompt" {
  name                  = "prompt"
  container_access_type = "private"
  storage_account_id    = azurerm_storage_account.main.id
}

resource "azapi_resource" "redis" {
  type                      = "Microsoft.Cache/redisEnterprise@2024-09-01-preview"
  name                      = "redisk3x9p2qa"
  location                  = "eastus"
  parent_id                 = azurerm_resource_group.main.id
  body                      = {
    sku        = {
      name = "MemoryOptimized_M10"
    }
    properties = {
      highAvailability  = "Enabled"
      minimumTlsVersion = "1.2"
    }
  }
  schema_validation_enabled = true
  ignore_casing             = false
  ignore_missing_property   = true
  tags                      = local.tags
}

resource "azapi_resource" "redis_db" {
  type                      = "Microsoft.Cache/redisEnterprise/databases@2024-09-01-preview"
  name                      = "default"
  parent_id                 = azapi_resource.redis.id
  body                      = {
    properties = {
      clientProtocol           = "Encrypted"
      port                     = 10000
      clusteringPolicy         = "OSSCluster"
      evictionPolicy           = "VolatileLRU"
      accessKeysAuthentication = "Disabled"
      persistence              = {
        aofEnabled = false
        rdbEnabled = false
      }
    }
  }
  schema_validation_enabled = true
  ignore_casing             = false
  ignore_missing_property   = true
}

resource "azapi_resource" "mongo_cluster" {
  type                      = "Microsoft.DocumentDB/mongoClusters@2025-04-01-preview"
  name                      = "cosmos-cluster-k3x9p2qa"
  location                  = "eastus"
  parent_id                 = azurerm_resource_group.main.id
  body                      = {
    properties = {
      administrator       = {
        userName = "cosmosadmin"
        password = var.cosmos_admin_password
      }
      serverVersion       = "8.0"
      compute             = {
        tier = "M30"
      }
      storage             = {
        sizeGb = 128
      }
      sharding            = {
        shardCount = 1
      }
      highAvailability    = {
        targetMode = "Disabled"
      }
      publicNetworkAccess = "Enabled"
      authConfig          = {
        allowedModes = ["MicrosoftEntraID", "NativeAuth"]
      }
    }
  }
  schema_validation_enabled = true
  ignore_casing             = false
  ignore_missing_property   = true
  tags                      = local.tags
}

resource "azapi_resource" "mongo_firewall_allow_all" {
  # Opens the cluster to every address: the accelerator's default for development.
  count = var.cosmos_allow_all_ips ? 1 : 0

  type                      = "Microsoft.DocumentDB/mongoClusters/firewallRules@2025-04-01-preview"
  name                      = "allowAll"
  parent_id                 = azapi_resource.mongo_cluster.id
  body                      = {
    properties = {
      startIpAddress = "0.0.0.0"
      endIpAddress   = "255.255.255.255"
    }
  }
  schema_validation_enabled = true
  ignore_casing             = false
  ignore_missing_property   = true
}
