"""Managed identity — "Managed Identity enabled (no connection strings)".

The guide: managed identity for all service-to-service communication. So every app has an
identity and uses it (to pull images, to read its secrets from Key Vault), every service that
can refuse keys refuses them, and no credential sits in plain configuration.
"""

import json
from dataclasses import dataclass

from prodcheck import Severity, rule
from prodcheck.secrets import credential_in_setting, is_app_insights_connection_string

from ._workload import (
    APP_CONFIGURATION,
    APP_INSIGHTS,
    COGNITIVE_ACCOUNT,
    COMMUNICATION,
    CONTAINER_APP,
    CONTAINER_REGISTRY,
    COSMOS_ACCOUNT,
    EVENT_GRID_DOMAIN,
    EVENT_GRID_TOPIC,
    EVENT_HUBS,
    MONGO_CLUSTER,
    REDIS,
    REDIS_ENTERPRISE_DATABASE,
    SERVICE_BUS,
    SIGNALR,
    STORAGE,
    containers,
    env_vars,
    has_managed_identity,
    identity_assigned,
    listed,
)

CHECKLIST = "Managed Identity enabled (no connection strings)"


@rule(
    id="PC-ID-001",
    title="Container apps have a managed identity and pull images with it",
    checklist=CHECKLIST,
    severity=Severity.HIGH,
    needs=[CONTAINER_APP],
    rationale=(
        "Without a managed identity an app can only reach other services with keys and "
        "passwords; a registry password kept as an app secret is a long-lived credential that "
        "anyone reading the app's configuration can use."
    ),
    remediation=(
        """
        Give the app a managed identity, let it pull from the registry with the AcrPull role, and
        switch the registry to that identity; then remove the registry password secret.

        ```sh
        az containerapp identity assign -n {name} -g {resource_group} --system-assigned
        az role assignment create --assignee '<app-principal-id>' --role AcrPull --scope '<registry-resource-id>'
        az containerapp registry set -n {name} -g {resource_group} --server '<registry>.azurecr.io' --identity system
        ```
    """
    ),
    links=[
        "https://learn.microsoft.com/azure/container-apps/managed-identity",
        "https://learn.microsoft.com/azure/container-apps/managed-identity-image-pull",
    ],
)
def apps_use_managed_identity(inv, p):
    """
    ## What it checks
    Every container app has a system- or user-assigned managed identity (`identity.type`), and
    every private registry it pulls from (`properties.configuration.registries[]`) is reached
    with one of the app's identities (`identity`: `system` or a user-assigned identity id the
    app has), not with a username and a password secret (`passwordSecretRef`). An app with no
    registry entry pulls public images and passes on the identity alone.

    Checked against the `Microsoft.App/containerApps` GET bodies of API version 2025-07-01
    (`identity.type` written `SystemAssigned,UserAssigned` without a space, user-assigned
    identity ids keyed with `resourcegroups` in lower case: ids are compared
    case-insensitively).

    ## Example
    Fails:
    ```json
    {"identity": {"type": "None"},
     "properties": {"configuration": {"registries": [
        {"server": "cr.azurecr.io", "username": "cr", "passwordSecretRef": "registry-password"}]}}}
    ```
    Passes:
    ```json
    {"identity": {"type": "SystemAssigned"},
     "properties": {"configuration": {"registries": [
        {"server": "cr.azurecr.io", "identity": "system"}]}}}
    ```
    """
    for app in inv.of_type(CONTAINER_APP):
        problems = []
        registries = [
            r for r in listed(app.get("properties.configuration.registries")) if isinstance(r, dict)
        ]
        evidence = {
            "identity.type": app.identity.get("type"),
            "registries": [
                {
                    "server": r.get("server"),
                    "identity": r.get("identity") or None,
                    "passwordSecretRef": r.get("passwordSecretRef") or None,
                }
                for r in registries
            ],
        }
        if not has_managed_identity(app):
            problems.append("no managed identity")
        for registry in registries:
            server = registry.get("server") or "a registry"
            identity = str(registry.get("identity") or "")
            if registry.get("passwordSecretRef"):
                problems.append(
                    f"pulls from {server} with a password secret ({registry['passwordSecretRef']})"
                )
            elif not identity:
                problems.append(f"pulls from {server} with no identity")
            elif identity.lower() == "system-environment":
                continue  # the environment's own managed identity pulls for the app
            elif not identity_assigned(app, identity):
                problems.append(
                    f"pulls from {server} with identity {identity}, which the app does not have"
                )
        if problems:
            yield app.fail(*problems, evidence=evidence)
        elif registries:
            servers = ", ".join(str(r.get("server")) for r in registries)
            yield app.ok(f"managed identity; pulls from {servers} with it", evidence=evidence)
        else:
            yield app.ok("managed identity; no private registry configured", evidence=evidence)


@dataclass(frozen=True)
class KeyAuth:
    """How one service turns off key-based authentication."""

    type: str
    path: str
    # The value that means "keys off"; `absent_means` is what ARM omitting the property means.
    off: object
    what: str
    remediation: str
    absent_means: str = "on"
    # Set when ARM always returns the property from this api-version on: then its absence means
    # the data came from an older api-version, and the setting cannot be told.
    reported_from: str = ""


KEY_AUTH = [
    KeyAuth(
        COGNITIVE_ACCOUNT,
        "properties.disableLocalAuth",
        True,
        "API keys",
        "```sh\naz resource update --ids {id} --set properties.disableLocalAuth=true\n```",
    ),
    KeyAuth(
        COSMOS_ACCOUNT,
        "properties.disableLocalAuth",
        True,
        "account keys",
        "```sh\naz resource update --ids {id} --set properties.disableLocalAuth=true\n```",
    ),
    KeyAuth(
        MONGO_CLUSTER,
        "properties.authConfig.allowedModes",
        ["MicrosoftEntraID"],
        "native (password) authentication",
        "```sh\naz resource update --ids {id} --latest-include-preview "
        "--set properties.authConfig.allowedModes=\"['MicrosoftEntraID']\"\n```",
        reported_from="2025-04-01-preview",
    ),
    KeyAuth(
        REDIS,
        "properties.disableAccessKeyAuthentication",
        True,
        "access keys",
        "```sh\n"
        "az redis update -n {name} -g {resource_group} --set disableAccessKeyAuthentication=true"
        "\n```",
    ),
    KeyAuth(
        REDIS_ENTERPRISE_DATABASE,
        "properties.accessKeysAuthentication",
        "Disabled",
        "access keys",
        "```sh\n"
        "az resource update --ids {id} --set properties.accessKeysAuthentication=Disabled"
        "\n```",
        reported_from="2025-04-01",
    ),
    KeyAuth(
        COMMUNICATION,
        "properties.disableLocalAuth",
        True,
        "access keys",
        "```sh\naz resource update --ids {id} --set properties.disableLocalAuth=true\n```",
        reported_from="2025-05-01",
    ),
    KeyAuth(
        APP_CONFIGURATION,
        "properties.disableLocalAuth",
        True,
        "access keys",
        "```sh\naz appconfig update -n {name} -g {resource_group} --disable-local-auth true\n```",
    ),
    KeyAuth(
        STORAGE,
        "properties.allowSharedKeyAccess",
        False,
        "shared-key access",
        "```sh\n"
        "az storage account update -n {name} -g {resource_group} --allow-shared-key-access false"
        "\n```",
    ),
    KeyAuth(
        CONTAINER_REGISTRY,
        "properties.adminUserEnabled",
        False,
        "admin user login",
        "```sh\naz acr update -n {name} --admin-enabled false\n```",
        absent_means="off",
    ),
    KeyAuth(
        APP_INSIGHTS,
        "properties.DisableLocalAuth",
        True,
        "local (instrumentation-key) authentication",
        "```sh\naz resource update --ids {id} --set properties.DisableLocalAuth=true\n```",
    ),
    KeyAuth(
        SERVICE_BUS,
        "properties.disableLocalAuth",
        True,
        "SAS keys",
        "```sh\n"
        "az servicebus namespace update -n {name} -g {resource_group} --disable-local-auth true"
        "\n```",
    ),
    KeyAuth(
        EVENT_HUBS,
        "properties.disableLocalAuth",
        True,
        "SAS keys",
        "```sh\n"
        "az eventhubs namespace update -n {name} -g {resource_group} --disable-local-auth true"
        "\n```",
    ),
    KeyAuth(
        EVENT_GRID_TOPIC,
        "properties.disableLocalAuth",
        True,
        "access keys",
        "```sh\naz resource update --ids {id} --set properties.disableLocalAuth=true\n```",
    ),
    KeyAuth(
        EVENT_GRID_DOMAIN,
        "properties.disableLocalAuth",
        True,
        "access keys",
        "```sh\naz resource update --ids {id} --set properties.disableLocalAuth=true\n```",
    ),
    KeyAuth(
        SIGNALR,
        "properties.disableLocalAuth",
        True,
        "access keys",
        "```sh\naz resource update --ids {id} --set properties.disableLocalAuth=true\n```",
    ),
]


def _mongo_api_account(resource):
    capabilities = {
        str(c.get("name", "")).lower()
        for c in listed(resource.get("properties.capabilities"))
        if isinstance(c, dict)
    }
    return resource.kind.lower() == "mongodb" or "enablemongo" in capabilities


def _key_auth_verdict(resource, spec):
    value = resource.get(spec.path)
    evidence = {spec.path: value}
    if resource.is_type(COSMOS_ACCOUNT) and _mongo_api_account(resource):
        return resource.not_applicable(
            "Cosmos DB for MongoDB (RU) has no Microsoft Entra data-plane authentication: its "
            "keys cannot be turned off (MongoDB vCore can)",
            evidence={"kind": resource.kind},
        )
    if value is None and spec.reported_from:
        return resource.error(
            f"{spec.path} is not in the data (ARM returns it from api-version "
            f"{spec.reported_from} on), so whether {spec.what} is accepted cannot be told; "
            "collect again with that api-version or later",
            evidence=evidence,
        )
    if resource.is_type(MONGO_CLUSTER):
        modes = [str(m) for m in listed(value)]
        if any(m.lower() == "nativeauth" for m in modes):
            return resource.fail(
                f"allows {spec.what} (allowedModes: {', '.join(modes)})",
                evidence=evidence,
                remediation=spec.remediation,
            )
        return resource.ok(
            f"Entra ID only (allowedModes: {', '.join(modes) or 'none'})", evidence=evidence
        )
    if value is None:
        if spec.absent_means == "off":
            return resource.ok(
                f"{spec.what} refused ({spec.path} not set: refused by default)", evidence=evidence
            )
        return resource.fail(
            f"{spec.what} accepted ({spec.path} not set: accepted by default)",
            evidence=evidence,
            remediation=spec.remediation,
        )
    shown = json.dumps(value)
    if str(value).lower() == str(spec.off).lower():
        return resource.ok(f"{spec.what} refused ({spec.path}: {shown})", evidence=evidence)
    return resource.fail(
        f"{spec.what} accepted ({spec.path}: {shown})",
        evidence=evidence,
        remediation=spec.remediation,
    )


@rule(
    id="PC-ID-002",
    title="Key-based authentication is off wherever the service can turn it off",
    checklist=CHECKLIST,
    severity=Severity.HIGH,
    needs=[spec.type for spec in KEY_AUTH],
    rationale=(
        "A managed identity protects nothing while the service still accepts its keys: a key "
        "is a password shared by every caller, it does not expire, and its use is not tied to "
        "an identity in the logs."
    ),
    remediation="""
        Turn off key-based authentication on the resource, after moving its clients to Entra ID with a
        managed identity. The finding gives the command for its resource type; for most types:

        ```sh
        az resource update --ids {id} --set properties.disableLocalAuth=true
        ```
    """,
    links=[
        "https://learn.microsoft.com/azure/ai-services/disable-local-auth",
        "https://learn.microsoft.com/azure/storage/common/shared-key-authorization-prevent",
        "https://learn.microsoft.com/azure/redis/entra-for-authentication",
        "https://learn.microsoft.com/azure/cosmos-db/mongodb/vcore/entra-authentication",
    ],
)
def key_auth_is_off(inv, p):
    """
    ## What it checks
    One finding per resource that can refuse keys:

    | resource | keys are off when |
    |---|---|
    | Cognitive Services / Azure OpenAI / AI Services | `disableLocalAuth: true` |
    | Cosmos DB account (not the RU API for MongoDB, which cannot refuse keys) | `disableLocalAuth: true` |
    | Cosmos DB for MongoDB vCore cluster | `authConfig.allowedModes` without `NativeAuth` |
    | Azure Cache for Redis | `disableAccessKeyAuthentication: true` |
    | Redis Enterprise / Azure Managed Redis database | `accessKeysAuthentication: Disabled` |
    | Communication Services, App Configuration | `disableLocalAuth: true` |
    | Storage account | `allowSharedKeyAccess: false` |
    | Container Registry | `adminUserEnabled: false` |
    | Application Insights | `DisableLocalAuth: true` |
    | Service Bus, Event Hubs, Event Grid topics and domains, SignalR | `disableLocalAuth: true` |

    A property ARM does not return takes the service's default (keys on, except the registry
    admin user). Three properties are returned by every api-version that knows them:
    MongoDB cluster `authConfig` (from 2025-04-01-preview), Redis Enterprise database
    `accessKeysAuthentication` (2025-04-01) and Communication Services `disableLocalAuth`
    (2025-05-01). Without them the data came from an older api-version and the setting cannot
    be told: ERROR.

    Checked against the GET bodies of `Microsoft.CognitiveServices/accounts` 2017-04-18 and
    2025-09-01 (neither carries `disableLocalAuth` for an account created without it),
    `Microsoft.Cache/redis` 2024-11-01 (the type spelled `Microsoft.Cache/Redis`, no
    `disableAccessKeyAuthentication`), `Microsoft.Insights/components` 2020-02-02 (no
    `DisableLocalAuth`, `tags` an empty string) and `Microsoft.ContainerRegistry/registries`
    2023-07-01 (`adminUserEnabled` always present). A switch set to `null` is not set.

    ## Example
    Fails:
    ```json
    {"type": "Microsoft.CognitiveServices/accounts", "kind": "AIServices",
     "properties": {"disableLocalAuth": false}}
    ```
    Passes:
    ```json
    {"type": "Microsoft.CognitiveServices/accounts", "kind": "AIServices",
     "properties": {"disableLocalAuth": true}}
    ```
    """
    for spec in KEY_AUTH:
        for resource in inv.of_type(spec.type):
            yield _key_auth_verdict(resource, spec)


def _literal_vars(app):
    """(container, variable name, literal value) of variables not taken from a secret."""
    for container, var in env_vars(app):
        if var.get("secretRef"):
            continue
        value = var.get("value")
        if isinstance(value, str) and value.strip():
            yield container, str(var.get("name") or ""), value


@rule(
    id="PC-ID-003",
    title="No credential in a container app's plain environment variables",
    checklist=CHECKLIST,
    severity=Severity.CRITICAL,
    needs=[CONTAINER_APP],
    rationale=(
        "A literal environment variable is readable by anyone with read access to the app's "
        "configuration and is copied into every revision, deployment log and template."
    ),
    remediation=(
        """
        Move the value to Key Vault, add it to the app as a Key Vault secret reference, and set the
        variable from that secret — or, better, drop the key and use the app's managed identity.

        ```sh
        az containerapp secret set -n {name} -g {resource_group} --secrets '<secret-name>=keyvaultref:<key-vault-secret-url>,identityref:system'
        az containerapp update -n {name} -g {resource_group} --set-env-vars '<VARIABLE>=secretref:<secret-name>'
        ```
    """
    ),
    links=["https://learn.microsoft.com/azure/container-apps/manage-secrets"],
)
def no_credentials_in_plain_env(inv, p):
    """
    ## What it checks
    No environment variable of any container or init container of a container app holds a
    credential as a literal `value`: a connection string or URL with a key or password
    (`AccountKey=`, `SharedAccessKey=`, `AccessKey=`, `Password=`/`Pwd=`,
    `mongodb://user:pass@`, `rediss://:pass@`, a SAS signature `sig=`), or any literal under a
    credential-like name (`*_KEY`, `*_SECRET`, `*_PASSWORD`, `*CONNECTION_STRING*`). Such
    variables must use `secretRef`. The finding names the variable and the pattern that
    matched; the value is never shown. An Application Insights connection string is an
    identifier, not a credential: PC-ID-005 reports it. An app whose record has no containers
    (its configuration was not read) is ERROR, not PASS.

    Checked against the `Microsoft.App/containerApps` GET bodies of API version 2025-07-01
    (containers and init containers without `env`).

    ## Example
    Fails:
    ```json
    {"env": [{"name": "REDIS_URL", "value": "rediss://:<access-key>@cache:6380"}]}
    ```
    Passes:
    ```json
    {"env": [{"name": "REDIS_URL", "secretRef": "redis-url"}]}
    ```
    """
    for app in inv.of_type(CONTAINER_APP):
        if not containers(app):
            # No containers in the record: the configuration was not read, so nothing is known.
            yield app.error(
                "the app's containers are not in the inventory (no properties.template.containers):"
                " its environment variables could not be checked"
            )
            continue
        found = []
        count = 0
        for container, name, value in _literal_vars(app):
            count += 1
            pattern = credential_in_setting(name, value)
            if pattern:
                found.append({"container": container, "variable": name, "pattern": pattern})
        if found:
            yield app.fail(
                *(
                    f"{f['variable']} ({f['container']}) holds a literal credential ({f['pattern']})"
                    for f in found
                ),
                evidence={"credentials in plain environment variables": found},
            )
        else:
            yield app.ok(
                f"no credential among {count} plain environment variable(s)",
                evidence={"plain environment variables": count},
            )


@rule(
    id="PC-ID-004",
    title="Container app secrets are Key Vault references",
    checklist=CHECKLIST,
    severity=Severity.HIGH,
    needs=[CONTAINER_APP],
    rationale=(
        "A secret held in the app is copied into the app's configuration, has no rotation, no "
        "access log and no recovery; a Key Vault reference keeps one copy where access is "
        "governed and audited."
    ),
    remediation=(
        """
        Keep the secret in Key Vault and reference it from the app with its managed identity (a
        user-assigned identity's resource id, or `system`):

        ```sh
        az containerapp secret set -n {name} -g {resource_group} --secrets '<secret-name>=keyvaultref:<key-vault-secret-url>,identityref:system'
        ```
    """
    ),
    links=[
        "https://learn.microsoft.com/azure/container-apps/manage-secrets#reference-secret-from-key-vault"
    ],
)
def secrets_are_key_vault_references(inv, p):
    """
    ## What it checks
    Every entry of a container app's `properties.configuration.secrets[]` has a `keyVaultUrl`
    and an `identity` that is one of the app's own identities (`system`, or a user-assigned
    identity the app has). A secret without `keyVaultUrl` is held in the app itself: FAIL. An
    app without secrets has nothing to check (NOT_APPLICABLE).

    Checked against the `Microsoft.App/containerApps` GET bodies of API version 2025-07-01: an
    app without secrets has no `secrets` key; identity ids are compared case-insensitively.

    ## Example
    Fails:
    ```json
    {"configuration": {"secrets": [{"name": "redis-key"}]}}
    ```
    Passes:
    ```json
    {"configuration": {"secrets": [{"name": "redis-key",
      "keyVaultUrl": "https://kv-prod.vault.azure.net/secrets/redis-key",
      "identity": "system"}]}}
    ```
    """
    for app in inv.of_type(CONTAINER_APP):
        secrets = [
            s for s in listed(app.get("properties.configuration.secrets")) if isinstance(s, dict)
        ]
        if not secrets:
            yield app.not_applicable("holds no secrets")
            continue
        problems = []
        evidence = {
            "secrets": [
                {
                    "name": s.get("name"),
                    "keyVaultUrl": s.get("keyVaultUrl") or None,
                    "identity": s.get("identity") or None,
                }
                for s in secrets
            ]
        }
        for secret in secrets:
            name = secret.get("name") or "(unnamed)"
            identity = str(secret.get("identity") or "")
            if not secret.get("keyVaultUrl"):
                problems.append(f"secret {name} is held in the app (no keyVaultUrl)")
            elif not identity:
                problems.append(f"secret {name} has no identity to read it from Key Vault")
            elif not identity_assigned(app, identity):
                problems.append(
                    f"secret {name} is read with identity {identity}, which the app does not have"
                )
        if problems:
            yield app.fail(*problems, evidence=evidence)
        else:
            yield app.ok(
                f"all {len(secrets)} secret(s) are Key Vault references", evidence=evidence
            )


@rule(
    id="PC-ID-005",
    title="The Application Insights connection string is not plain configuration",
    checklist=CHECKLIST,
    severity=Severity.LOW,
    needs=[CONTAINER_APP],
    rationale=(
        "The connection string is an identifier, not a credential, but with local "
        "authentication on it lets anyone who reads it write telemetry into the component; "
        "keeping it with the other secrets keeps the configuration free of connection strings."
    ),
    remediation=(
        """
        Keep the connection string in Key Vault and reference it with a secret reference; then turn on
        Entra ID ingestion (DisableLocalAuth on the component, APPLICATIONINSIGHTS_AUTHENTICATION_STRING
        in the app) so that the string alone no longer lets anyone send telemetry.

        ```sh
        az containerapp secret set -n {name} -g {resource_group} --secrets 'appinsights-connection=keyvaultref:<key-vault-secret-url>,identityref:system'
        az containerapp update -n {name} -g {resource_group} --set-env-vars 'APPLICATIONINSIGHTS_CONNECTION_STRING=secretref:appinsights-connection'
        ```
    """
    ),
    links=["https://learn.microsoft.com/azure/azure-monitor/app/azure-ad-authentication"],
)
def app_insights_connection_string_not_plain(inv, p):
    """
    ## What it checks
    No container app sets an Application Insights connection string
    (`InstrumentationKey=...`) as a literal environment variable value. It is reported here, at
    low severity, and not by PC-ID-003, because it does not grant access to data.

    Checked against the `Microsoft.App/containerApps` GET bodies of API version 2025-07-01 and
    the `ConnectionString` of `Microsoft.Insights/components` 2020-02-02.

    ## Example
    Fails:
    ```json
    {"env": [{"name": "APPLICATIONINSIGHTS_CONNECTION_STRING",
              "value": "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://..."}]}
    ```
    Passes:
    ```json
    {"env": [{"name": "APPLICATIONINSIGHTS_CONNECTION_STRING",
              "secretRef": "appinsights-connection-string"}]}
    ```
    """
    for app in inv.of_type(CONTAINER_APP):
        plain = [
            {"container": container, "variable": name}
            for container, name, value in _literal_vars(app)
            if is_app_insights_connection_string(name, value)
        ]
        if plain:
            yield app.fail(
                *(
                    f"{v['variable']} ({v['container']}) holds the Application Insights connection string as a literal"
                    for v in plain
                ),
                evidence={"plain connection strings": plain},
            )
        else:
            yield app.ok("no Application Insights connection string in plain configuration")
