"""ARM JSON of the memory tiers and model deployments, in the shapes of the REST spec examples.

- Azure Cache for Redis, GET 2024-11-01: `redisConfiguration` is `{}` when nothing was set (the
  eviction policy is then the service default, volatile-lru).
- Redis Enterprise databases, list 2025-07-01: `evictionPolicy` such as `AllKeysLRU`.
- Cosmos DB SQL databases and containers, list 2024-11-15: the container's settings under
  `properties.resource`, `defaultTtl` left out when off; some list examples type containers
  `.../sqlDatabases/sqlContainers`.
- Storage lifecycle policy, GET 2023-05-01: id ending `managementPolicies/default`, name
  `DefaultManagementPolicy`, rules under `properties.policy.rules`.
- Cognitive Services deployments, 2024-10-01: `properties.model` with format, name, version.
"""

from __future__ import annotations

from typing import Any

SUB = "6f1c2b7e-3d4a-4c8e-9b1a-2e5f7d9c0a11"
RG = "rg-app"

REDIS = "Microsoft.Cache/redis"
REDIS_ENTERPRISE = "Microsoft.Cache/redisEnterprise"
REDIS_DATABASE = "Microsoft.Cache/redisEnterprise/databases"
COSMOS = "Microsoft.DocumentDB/databaseAccounts"
SQL_DATABASE = "Microsoft.DocumentDB/databaseAccounts/sqlDatabases"
SQL_CONTAINER = "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers"
MONGO_CLUSTER = "Microsoft.DocumentDB/mongoClusters"
STORAGE = "Microsoft.Storage/storageAccounts"
MANAGEMENT_POLICY = "Microsoft.Storage/storageAccounts/managementPolicies"
AI_ACCOUNT = "Microsoft.CognitiveServices/accounts"
DEPLOYMENT = "Microsoft.CognitiveServices/accounts/deployments"


def _id(type_: str, name: str, sub: str = SUB, rg: str = RG) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{type_}/{name}"


def redis_cache(name: str, policy: str | None = None, *, sub: str = SUB) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if policy is not None:
        config["maxmemory-policy"] = policy
    return {
        "id": _id("Microsoft.Cache/Redis", name, sub),
        "location": "East US",
        "name": name,
        "type": "Microsoft.Cache/Redis",
        "tags": {},
        "properties": {
            "provisioningState": "Succeeded",
            "redisVersion": "6.0",
            "sku": {"name": "Standard", "family": "C", "capacity": 1},
            "enableNonSslPort": False,
            "redisConfiguration": config,
            "hostName": f"{name}.redis.cache.windows.net",
            "port": 6379,
            "sslPort": 6380,
            "publicNetworkAccess": "Disabled",
        },
    }


def redis_cluster(name: str, *, sub: str = SUB) -> dict[str, Any]:
    return {
        "id": _id(REDIS_ENTERPRISE, name, sub),
        "name": name,
        "type": REDIS_ENTERPRISE,
        "location": "eastus",
        "sku": {"name": "Balanced_B5"},
        "properties": {"provisioningState": "Succeeded", "minimumTlsVersion": "1.2"},
    }


def redis_database(
    cluster: dict[str, Any], policy: str | None = "AllKeysLRU", modules: list[str] | None = None
) -> dict[str, Any]:
    props: dict[str, Any] = {
        "provisioningState": "Succeeded",
        "resourceState": "Running",
        "clientProtocol": "Encrypted",
        "clusteringPolicy": "OSSCluster",
        "port": 10000,
        "modules": [{"name": m, "args": "", "version": "1.0.0"} for m in modules or []],
    }
    if policy is not None:
        props["evictionPolicy"] = policy
    return {
        "id": f"{cluster['id']}/databases/default",
        "name": f"{cluster['name']}/default",
        "type": REDIS_DATABASE,
        "properties": props,
    }


def cosmos_account(
    name: str, *, kind: str = "GlobalDocumentDB", capabilities: list[str] | None = None
) -> dict[str, Any]:
    return {
        "id": _id(COSMOS, name),
        "name": name,
        "location": "West US",
        "type": COSMOS,
        "kind": kind,
        "tags": {},
        "properties": {
            "provisioningState": "Succeeded",
            "documentEndpoint": f"https://{name}.documents.azure.com:443/",
            "databaseAccountOfferType": "Standard",
            "disableLocalAuth": True,
            "publicNetworkAccess": "Disabled",
            "capabilities": [{"name": c} for c in capabilities or []],
        },
    }


def sql_database(account: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "id": f"{account['id']}/sqlDatabases/{name}",
        "name": name,
        "type": SQL_DATABASE,
        "location": "West US",
        "tags": {},
        "properties": {
            "resource": {
                "id": name,
                "_rid": "CqNBAA==",
                "_ts": 1449602962,
                "_etag": '"00000a00-0000-0000-0000-56672f920000"',
                "_colls": "colls/",
                "_users": "users/",
            }
        },
    }


def sql_container(
    database: dict[str, Any], name: str, ttl: Any = None, *, type_: str = SQL_CONTAINER
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "id": name,
        "indexingPolicy": {"indexingMode": "consistent", "automatic": True},
        "partitionKey": {"paths": ["/sessionId"], "kind": "Hash"},
        "conflictResolutionPolicy": {"mode": "LastWriterWins", "conflictResolutionPath": "/_ts"},
        "_rid": "PD5DALigDgw=",
        "_ts": 1459200611,
        "_etag": '"00005900-0000-0000-0000-56f9a2630000"',
    }
    if ttl is not None:
        resource["defaultTtl"] = ttl
    return {
        "id": f"{database['id']}/containers/{name}",
        "name": name,
        "type": type_,
        "location": "West US",
        "tags": {},
        "properties": {"resource": resource},
    }


def mongo_cluster(name: str) -> dict[str, Any]:
    return {
        "id": _id(MONGO_CLUSTER, name),
        "name": name,
        "type": MONGO_CLUSTER,
        "location": "eastus",
        "properties": {"provisioningState": "Succeeded", "clusterStatus": "Ready"},
    }


def storage_account(name: str, *, kind: str = "StorageV2") -> dict[str, Any]:
    return {
        "id": _id(STORAGE, name),
        "name": name,
        "type": STORAGE,
        "location": "eastus",
        "kind": kind,
        "sku": {"name": "Standard_ZRS", "tier": "Standard"},
        "properties": {"provisioningState": "Succeeded", "publicNetworkAccess": "Disabled"},
    }


def lifecycle_rule(
    name: str = "cool-then-delete", *, enabled: bool | None = True, **actions: int
) -> dict[str, Any]:
    """A rule whose base blob actions are keyword → days after modification
    (tierToCool=30, delete=365)."""
    rule: dict[str, Any] = {
        "name": name,
        "type": "Lifecycle",
        "definition": {
            "filters": {"blobTypes": ["blockBlob"], "prefixMatch": ["recordings/"]},
            "actions": {
                "baseBlob": {
                    action: {"daysAfterModificationGreaterThan": days}
                    for action, days in (actions or {"tierToCool": 30, "delete": 365}).items()
                }
            },
        },
    }
    if enabled is not None:
        rule["enabled"] = enabled
    return rule


def management_policy(account: dict[str, Any], *rules: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"{account['id']}/managementPolicies/default",
        "name": "DefaultManagementPolicy",
        "type": MANAGEMENT_POLICY,
        "properties": {
            "policy": {"rules": list(rules)},
            "lastModifiedTime": "2026-10-05T08:12:31.4410000Z",
        },
    }


def ai_account(name: str = "ai1") -> dict[str, Any]:
    return {
        "id": _id(AI_ACCOUNT, name),
        "name": name,
        "type": AI_ACCOUNT,
        "location": "eastus",
        "kind": "AIServices",
        "sku": {"name": "S0"},
        "properties": {"provisioningState": "Succeeded"},
    }


def deployment(
    account: dict[str, Any], name: str, model: str | None = None, *, fmt: str = "OpenAI"
) -> dict[str, Any]:
    return {
        "id": f"{account['id']}/deployments/{name}",
        "name": name,
        "type": DEPLOYMENT,
        "sku": {"name": "GlobalStandard", "capacity": 10},
        "properties": {
            "model": {"format": fmt, "name": model or name, "version": "1"},
            "versionUpgradeOption": "OnceNewDefaultVersionAvailable",
            "provisioningState": "Succeeded",
        },
    }
