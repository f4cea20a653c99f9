"""Identities that work — "Managed Identity enabled (no connection strings)", "Key Vault
integration for all secrets".

Configuration says which identity an app uses; only Azure RBAC says whether that identity may
do what the app needs. These rules read role assignments and the role definitions they use
(`Microsoft.Authorization/roleAssignments`, `.../roleDefinitions`) and decide by each role's
actions and data actions, so custom roles count as much as built-in ones.
"""

import shlex
from dataclasses import dataclass

from prodcheck import Severity, rule

from ._access import (
    RBAC_TYPES,
    USER_IDENTITY,
    access_of,
    assign_command,
    by_client_id,
    check,
    definition_grants,
    guid_of,
    host_of,
    identities_of,
    is_broad_scope,
    principal_of,
    role_name,
)
from ._workload import (
    API_MANAGEMENT,
    APP_CONFIGURATION,
    COGNITIVE_ACCOUNT,
    CONTAINER_APP,
    CONTAINER_REGISTRY,
    COSMOS_ACCOUNT,
    EVENT_GRID_TOPIC,
    EVENT_HUBS,
    KEY_VAULT,
    MONGO_CLUSTER,
    REDIS,
    REDIS_ENTERPRISE,
    REDIS_ENTERPRISE_DATABASE,
    SERVICE_BUS,
    STORAGE,
    env_vars,
    listed,
)
from .identity import CHECKLIST as IDENTITY_CHECKLIST
from .identity import KEY_AUTH
from .key_vault import CHECKLIST as KEY_VAULT_CHECKLIST

APIM_BACKEND = "Microsoft.ApiManagement/service/backends"
READ_PERMISSION = "Microsoft.Authorization/roleAssignments/read"
GET_SECRET = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
ACR_PULL = "Microsoft.ContainerRegistry/registries/pull/read"
# Registries with ABAC repository permissions grant pulls as a data action instead.
ACR_CONTENT_READ = "Microsoft.ContainerRegistry/registries/repositories/content/read"
_VAULT_SUFFIXES = (".vault.azure.net", ".vault.azure.cn", ".vault.usgovcloudapi.net")
_LINKS = [
    "https://learn.microsoft.com/azure/role-based-access-control/role-definitions",
    "https://learn.microsoft.com/azure/container-apps/managed-identity",
]


def _undecided_error(target, checked, subject, evidence):
    return target.error(
        *checked.undecided,
        "whether the identity holds the permission cannot be verified",
        evidence=evidence,
        subject=subject,
    )


# ---- PC-RBAC-001: Key Vault references ------------------------------------------------------


def _vaults_by_host(inv):
    found = {}
    for vault in inv.of_type(KEY_VAULT):
        host = host_of(str(vault.get("properties.vaultUri") or ""))
        if host:
            found[host] = vault
        for suffix in _VAULT_SUFFIXES:
            found.setdefault(vault.name.lower() + suffix, vault)
    return found


def _policy_allows_get(vault, principal):
    for policy in listed(vault.get("properties.accessPolicies")):
        if not isinstance(policy, dict):
            continue
        if str(policy.get("objectId") or "").lower() != principal.lower():
            continue
        secrets = (
            policy.get("permissions", {}) if isinstance(policy.get("permissions"), dict) else {}
        )
        if any(str(p).lower() in ("get", "all") for p in listed(secrets.get("secrets"))):
            return True
    return False


def _secret_verdict(inv, holder, subject, url, label, principal):
    """One Key Vault reference of `holder`, read by the identity (label, principal)."""
    vaults = inv.derived(_vaults_by_host, KEY_VAULT)
    access = access_of(inv)
    host = host_of(url)
    vault = vaults.get(host)
    evidence = {"keyVaultUrl": url, "identity": label}
    if vault is None:
        return holder.error(
            f"{subject}: the vault {host or url!r} is not in the audited scope, so its access "
            "model cannot be read",
            evidence=evidence,
            subject=subject,
        )
    if principal is None:
        return holder.error(
            f"{subject}: the principal id of identity {label} is not in the data",
            evidence=evidence,
            subject=subject,
        )
    if vault.get("properties.enableRbacAuthorization") is not True:
        if _policy_allows_get(vault, principal):
            return holder.ok(
                f"{subject}: {label} may get secrets from {vault.name} (access policy)",
                evidence=evidence,
                subject=subject,
            )
        return holder.fail(
            f"{subject}: {label} has no access policy with get on secrets in {vault.name} "
            "(the vault does not use Azure RBAC)",
            evidence=evidence,
            subject=subject,
            remediation=(
                "Give the identity an access policy with get on secrets (or move the vault to "
                "Azure RBAC and grant Key Vault Secrets User).\n\n```sh\n"
                f"az keyvault set-policy -n {shlex.quote(vault.name)} "
                f"--object-id {shlex.quote(principal)} --secret-permissions get\n```"
            ),
        )
    path = urlparse_path(url)
    target = f"{vault.id}/secrets/{path}" if path else vault.id
    checked = check(access, principal, target, GET_SECRET, data=True)
    if checked.granted:
        return holder.ok(
            f"{subject}: {label} may read the secret ({checked.granted})",
            evidence=evidence,
            subject=subject,
        )
    if checked.undecided:
        return _undecided_error(holder, checked, subject, evidence)
    return holder.fail(
        f"{subject}: {label} holds no role allowing {GET_SECRET} on {vault.name}; "
        "Key Vault Secrets User would grant it",
        evidence=evidence,
        subject=subject,
        remediation=assign_command(principal, "Key Vault Secrets User", vault.id),
    )


def urlparse_path(url):
    """The secret name in `https://<vault>/secrets/<name>[/<version>]`, else ""."""
    parts = [p for p in url.split("://", 1)[-1].split("/")[1:] if p]
    return parts[1] if len(parts) >= 2 and parts[0].lower() == "secrets" else ""


@rule(
    id="PC-RBAC-001",
    title="Identities can read the Key Vault secrets they reference",
    checklist=KEY_VAULT_CHECKLIST,
    severity=Severity.HIGH,
    needs=[CONTAINER_APP, KEY_VAULT, USER_IDENTITY, *RBAC_TYPES],
    rationale=(
        "A Key Vault reference the app's identity may not read makes the revision fail to "
        "start: the configuration looks right and the outage comes at deployment."
    ),
    remediation=(
        "Grant the identity Key Vault Secrets User on the vault (each finding names the "
        "identity and the vault), or an access policy with get on secrets where the vault does "
        "not use Azure RBAC.\n\n```sh\n"
        "az role assignment create --assignee-object-id '<principal-object-id>' "
        "--assignee-principal-type ServicePrincipal --role 'Key Vault Secrets User' "
        "--scope '<vault-resource-id>'\n```"
    ),
    links=[
        "https://learn.microsoft.com/azure/container-apps/manage-secrets#reference-secret-from-key-vault",
        "https://learn.microsoft.com/azure/key-vault/general/rbac-guide",
    ],
)
def key_vault_references_readable(inv, p):
    """
    ## What it checks
    For every container app secret with a `keyVaultUrl`, the identity it names (`identity`:
    `system` or a user-assigned identity id) may read the secret: on a vault with
    `enableRbacAuthorization: true`, a role assignment at the vault, the secret or a scope
    above them whose role definition allows the data action
    `Microsoft.KeyVault/vaults/secrets/getSecret/action` (and does not exclude it with
    `notDataActions`); on a vault without RBAC, an access policy for the identity's object id
    with `get` (or `all`) on secrets. One finding per secret (subject: the secret's name).

    Roles are judged by their permissions, not their names: a custom role with
    `Microsoft.KeyVault/vaults/secrets/*` counts, Key Vault Reader (metadata only) does not.
    An assignment with an ABAC `condition` cannot be evaluated here: ERROR, not PASS. So is an
    assignment whose role definition was not read, a vault outside the audited scope, and
    role assignments that could not be read (`Microsoft.Authorization/roleAssignments/read`).

    Checked against the `Microsoft.Authorization/roleAssignments` list bodies of API versions
    2015-07-01 (no `principalType`, `resourcegroups` in lower case in `scope`) and 2022-04-01
    (the collector's; `roleDefinitionId` also in its tenant-level form
    `/providers/Microsoft.Authorization/roleDefinitions/<guid>`, `condition` absent or `null`
    when there is none), the `roleDefinitions` bodies of 2015-07-01 (no `dataActions`: such a
    definition grants no data action) and 2022-04-01, the `Microsoft.KeyVault/vaults` bodies of
    2019-09-01 and 2026-05-15, and the `Microsoft.App/containerApps` bodies of 2025-07-01.

    ## Example
    Fails: the app's identity holds Key Vault Reader on the vault, whose definition has
    `"dataActions": ["Microsoft.KeyVault/vaults/secrets/readMetadata/action"]` only.
    Passes: a role assignment at the vault with Key Vault Secrets User, whose definition has
    `"dataActions": ["Microsoft.KeyVault/vaults/secrets/getSecret/action", ...]`.
    """
    for app in inv.of_type(CONTAINER_APP):
        for secret in listed(app.get("properties.configuration.secrets")):
            if not isinstance(secret, dict) or not secret.get("keyVaultUrl"):
                continue
            name = str(secret.get("name") or "(unnamed)")
            reference = str(secret.get("identity") or "")
            if not reference:
                yield app.fail(
                    f"{name}: the Key Vault reference names no identity",
                    subject=name,
                    evidence={"keyVaultUrl": secret.get("keyVaultUrl")},
                )
                continue
            label, principal = principal_of(inv, app, reference)
            yield _secret_verdict(inv, app, name, str(secret["keyVaultUrl"]), label, principal)


# ---- PC-RBAC-002: image pulls ---------------------------------------------------------------


def _registries_by_host(inv):
    found = {}
    for registry in inv.of_type(CONTAINER_REGISTRY):
        server = str(registry.get("properties.loginServer") or "").lower()
        if server:
            found[server] = registry
        found.setdefault(registry.name.lower() + ".azurecr.io", registry)
    return found


@rule(
    id="PC-RBAC-002",
    title="Container apps' identities may pull from their registries",
    checklist=IDENTITY_CHECKLIST,
    severity=Severity.HIGH,
    needs=[CONTAINER_APP, CONTAINER_REGISTRY, USER_IDENTITY, *RBAC_TYPES],
    rationale=(
        "An identity without pull permission on the registry leaves every new revision "
        "unable to start its containers."
    ),
    remediation=(
        "Grant the identity AcrPull on the registry (each finding names the identity and the "
        "registry).\n\n```sh\n"
        "az role assignment create --assignee-object-id '<principal-object-id>' "
        "--assignee-principal-type ServicePrincipal --role AcrPull "
        "--scope '<registry-resource-id>'\n```"
    ),
    links=["https://learn.microsoft.com/azure/container-apps/managed-identity-image-pull"],
)
def registry_pull_allowed(inv, p):
    """
    ## What it checks
    For every registry an app pulls from with an identity
    (`properties.configuration.registries[].identity`), that identity holds, at the registry or
    above it, a role whose definition allows the action
    `Microsoft.ContainerRegistry/registries/pull/read` (AcrPull's) or the data action
    `Microsoft.ContainerRegistry/registries/repositories/content/read` (registries with
    repository permissions). Registries reached with a password are PC-ID-001's; a registry
    outside the audited scope cannot be verified (ERROR). One finding per registry entry
    (subject: the registry's server).

    Checked against the `Microsoft.Authorization/roleAssignments` and `roleDefinitions` bodies
    of API versions 2015-07-01 and 2022-04-01, the `Microsoft.ContainerRegistry/registries`
    bodies of 2023-07-01 (`loginServer` in mixed case, compared case-insensitively) and the
    `Microsoft.App/containerApps` bodies of 2025-07-01.

    ## Example
    Passes: an assignment at `/subscriptions/…/registries/cr1` (or its group) of a role with
    `"actions": ["Microsoft.ContainerRegistry/registries/pull/read"]` (AcrPull) to the
    identity's principal id. Fails: the identity's only role there has
    `"actions": ["Microsoft.ContainerRegistry/registries/read"]`, which shows the registry but
    pulls nothing.
    """
    for app in inv.of_type(CONTAINER_APP):
        for entry in listed(app.get("properties.configuration.registries")):
            if not isinstance(entry, dict) or not entry.get("identity"):
                continue
            server = str(entry.get("server") or "").lower()
            label, principal = principal_of(inv, app, str(entry["identity"]))
            registry = inv.derived(_registries_by_host, CONTAINER_REGISTRY).get(server)
            access = access_of(inv)
            evidence = {"server": server, "identity": label}
            if registry is None:
                yield app.error(
                    f"{server}: the registry is not in the audited scope",
                    subject=server,
                    evidence=evidence,
                )
                continue
            if principal is None:
                yield app.error(
                    f"{server}: the principal id of identity {label} is not in the data",
                    subject=server,
                    evidence=evidence,
                )
                continue
            checked = check(access, principal, registry.id, ACR_PULL, data=False)
            if not checked.granted:
                by_data = check(access, principal, registry.id, ACR_CONTENT_READ, data=True)
                if by_data.granted:
                    checked = by_data
                else:
                    checked.conditional += by_data.conditional
            if checked.granted:
                yield app.ok(
                    f"{label} may pull from {registry.name} ({checked.granted})",
                    subject=server,
                    evidence=evidence,
                )
            elif checked.undecided:
                yield _undecided_error(app, checked, server, evidence)
            else:
                yield app.fail(
                    f"{label} holds no role allowing {ACR_PULL} on {registry.name}; "
                    "AcrPull would grant it",
                    subject=server,
                    evidence=evidence,
                    remediation=assign_command(principal, "AcrPull", registry.id),
                )


# ---- PC-RBAC-003: data roles on keyless services --------------------------------------------


@dataclass(frozen=True)
class Service:
    type: str
    action: str  # a data action the caller needs; "" = grants are not Azure RBAC
    role: str  # the built-in role that grants it
    not_rbac: str = ""  # where the grants live instead, when they are not Azure RBAC


OPENAI_ACTION = "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action"
SERVICES = [
    Service(KEY_VAULT, GET_SECRET, "Key Vault Secrets User"),
    Service(
        APP_CONFIGURATION,
        "Microsoft.AppConfiguration/configurationStores/keyValues/read",
        "App Configuration Data Reader",
    ),
    Service(
        STORAGE,
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
        "Storage Blob Data Reader",
    ),
    Service(
        SERVICE_BUS,
        "Microsoft.ServiceBus/namespaces/messages/send/action",
        "Azure Service Bus Data Sender",
    ),
    Service(
        EVENT_HUBS,
        "Microsoft.EventHub/namespaces/messages/send/action",
        "Azure Event Hubs Data Sender",
    ),
    Service(EVENT_GRID_TOPIC, "Microsoft.EventGrid/events/send/action", "EventGrid Data Sender"),
    # the Speech and Voice Live data actions; OpenAI endpoints need OPENAI_ACTION (see _needs)
    Service(
        COGNITIVE_ACCOUNT,
        "Microsoft.CognitiveServices/accounts/SpeechServices/*/read",
        "Cognitive Services User",
    ),
    Service(
        REDIS,
        "",
        "",
        "Redis access policy assignments (Microsoft.Cache/redis/accessPolicyAssignments)",
    ),
    Service(
        REDIS_ENTERPRISE,
        "",
        "",
        "database access policy assignments "
        "(Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments)",
    ),
    Service(
        COSMOS_ACCOUNT,
        "",
        "",
        "Cosmos DB SQL role assignments (Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments)",
    ),
    Service(MONGO_CLUSTER, "", "", "cluster users (Microsoft.DocumentDB/mongoClusters/users)"),
]
SERVICE_TYPES = [s.type for s in SERVICES]
_SPEC = {s.type.lower(): s for s in SERVICES}


def _hosts(res):
    """The host names a client uses to reach `res`."""
    t, name = res.type.lower(), res.name.lower()
    found = set()
    for path in (
        "properties.endpoint",
        "properties.vaultUri",
        "properties.hostName",
        "properties.documentEndpoint",
        "properties.serviceBusEndpoint",
    ):
        value = res.get(path)
        if isinstance(value, str) and value.strip():
            found.add(host_of(value))
    for key in ("properties.endpoints", "properties.primaryEndpoints"):
        value = res.get(key)
        if isinstance(value, dict):
            found.update(host_of(v) for v in value.values() if isinstance(v, str))
    if t == COGNITIVE_ACCOUNT.lower():
        sub = str(res.get("properties.customSubDomainName") or "").lower()
        for suffix in (
            ".cognitiveservices.azure.com",
            ".openai.azure.com",
            ".services.ai.azure.com",
        ):
            if sub:
                found.add(sub + suffix)
    elif t == STORAGE.lower():
        found.update(
            f"{name}.{s}.core.windows.net" for s in ("blob", "queue", "table", "file", "dfs")
        )
    elif t in (SERVICE_BUS.lower(), EVENT_HUBS.lower()):
        found.add(f"{name}.servicebus.windows.net")
    elif t == KEY_VAULT.lower():
        found.add(f"{name}.vault.azure.net")
    elif t == REDIS.lower():
        found.add(f"{name}.redis.cache.windows.net")
    elif t == MONGO_CLUSTER.lower():
        found.update(
            {
                f"{name}.global.mongocluster.cosmos.azure.com",
                f"{name}.mongocluster.cosmos.azure.com",
            }
        )
    found.discard("")
    return found


def _services_by_host(inv):
    found = {}
    for res in inv.of_type(*SERVICE_TYPES):
        for host in _hosts(res):
            found.setdefault(host, res)
    return found


def keys_off(inv, res):
    """Whether `res` refuses key-based access (so callers need an identity with a data role)."""
    if res.is_type(KEY_VAULT):
        return True
    if res.is_type(REDIS_ENTERPRISE):
        databases = inv.children(res, REDIS_ENTERPRISE_DATABASE)
        return bool(databases) and all(
            str(d.get("properties.accessKeysAuthentication") or "").lower() == "disabled"
            for d in databases
        )
    for spec in KEY_AUTH:
        if not res.is_type(spec.type):
            continue
        value = res.get(spec.path)
        if res.is_type(MONGO_CLUSTER):
            modes = [str(m).lower() for m in listed(value)]
            return bool(modes) and "nativeauth" not in modes
        if value is None:
            return spec.absent_means == "off"
        return str(value).lower() == str(spec.off).lower()
    return False


def _needs(res, variable, host):
    """(data action, role) that calling `res` through `host` needs."""
    spec = _SPEC[res.type.lower()]
    if res.is_type(COGNITIVE_ACCOUNT) and (
        host.endswith(".openai.azure.com") or "OPENAI" in variable.upper()
    ):
        return OPENAI_ACTION, "Cognitive Services OpenAI User"
    return spec.action, spec.role


def _calls(app):
    """(variable, host) of every literal environment variable that names a host."""
    for _, var in env_vars(app):
        value = var.get("value")
        if var.get("secretRef") or not isinstance(value, str):
            continue
        text = value.strip()
        if not text or " " in text or ";" in text:
            continue
        if "://" in text or "." in text.split("/", 1)[0]:
            host = host_of(text)
            if host and "." in host:
                yield str(var.get("name") or ""), host


def _caller(inv, app):
    """The identities the app's Azure SDK clients sign in with: the user-assigned identity named
    by AZURE_CLIENT_ID, else the system-assigned one, else any of its identities."""
    for _, var in env_vars(app):
        if str(var.get("name") or "").upper() == "AZURE_CLIENT_ID" and isinstance(
            var.get("value"), str
        ):
            chosen = by_client_id(inv, app, var["value"])
            return [chosen] if chosen else []
    identities = identities_of(inv, app)
    system = [i for i in identities if i[0].endswith("(system-assigned)")]
    return system or identities


def _data_verdict(inv, holder, callers, variable, host, res):
    subject = f"{variable or 'backend'} → {res.name}"
    evidence = {"host": host, "target": res.id, "identities": [label for label, _ in callers]}
    spec = _SPEC[res.type.lower()]
    if not keys_off(inv, res):
        return None
    if spec.not_rbac:
        return holder.error(
            f"{res.name} refuses keys, and the grants that let an identity in are "
            f"{spec.not_rbac}, which prodcheck does not read: not verified",
            evidence=evidence,
            subject=subject,
        )
    if not callers:
        return holder.fail(
            f"{res.name} refuses keys, and the app has no identity its clients sign in with "
            "(AZURE_CLIENT_ID names none of its identities)",
            evidence=evidence,
            subject=subject,
        )
    action, role = _needs(res, variable, host)
    access = access_of(inv)
    undecided = []
    for label, principal in callers:
        if principal is None:
            undecided.append(f"the principal id of identity {label} is not in the data")
            continue
        checked = check(access, principal, res.id, action, data=True)
        if checked.granted:
            return holder.ok(
                f"{label} may call {res.name} ({checked.granted})",
                evidence=evidence,
                subject=subject,
            )
        undecided += checked.undecided
    if undecided:
        return holder.error(
            *undecided,
            f"whether the identity may call {res.name} cannot be verified",
            evidence=evidence,
            subject=subject,
        )
    label, principal = callers[0]
    return holder.fail(
        f"{res.name} refuses keys and {label} holds no role allowing {action} on it; "
        f"{role} would grant it",
        evidence=evidence,
        subject=subject,
        remediation=assign_command(str(principal), role, res.id),
    )


@rule(
    id="PC-RBAC-003",
    title="Identities hold a data role on each keyless service they call",
    checklist=IDENTITY_CHECKLIST,
    severity=Severity.HIGH,
    needs=[
        CONTAINER_APP,
        API_MANAGEMENT,
        APIM_BACKEND,
        USER_IDENTITY,
        REDIS_ENTERPRISE_DATABASE,
        *SERVICE_TYPES,
        *RBAC_TYPES,
    ],
    rationale=(
        "Turning keys off is only safe when the caller's identity has been granted access: "
        "otherwise the first call after go-live is a 403."
    ),
    remediation=(
        "Grant the calling identity the data role the finding names, at the service it calls."
        "\n\n```sh\n"
        "az role assignment create --assignee-object-id '<principal-object-id>' "
        "--assignee-principal-type ServicePrincipal --role '<data-role>' "
        "--scope '<service-resource-id>'\n```"
    ),
    links=[
        "https://learn.microsoft.com/azure/ai-services/openai/how-to/role-based-access-control",
        "https://learn.microsoft.com/azure/azure-app-configuration/concept-enable-rbac",
        *_LINKS,
    ],
)
def keyless_services_reachable(inv, p):
    """
    ## What it checks
    For every container app, each service named by a literal environment variable (a URL or
    host name matched to a resource in scope by its endpoint: `properties.endpoint`,
    `vaultUri`, `hostName`, `primaryEndpoints`, an AI account's custom subdomain, ...), and for
    API Management, each backend's `url`: when the service refuses keys (PC-ID-002's
    settings; Key Vault always), the caller's identity holds a role at the service or above
    whose data actions allow what the call needs:

    | service | data action | built-in role |
    |---|---|---|
    | Azure OpenAI endpoint (`*.openai.azure.com`, or a variable named `*OPENAI*`) | `…/OpenAI/deployments/chat/completions/action` | Cognitive Services OpenAI User |
    | other AI Services / Speech endpoints | `…/SpeechServices/*/read` | Cognitive Services User |
    | App Configuration | `…/configurationStores/keyValues/read` | App Configuration Data Reader |
    | Storage | `…/blobServices/containers/blobs/read` | Storage Blob Data Reader |
    | Service Bus, Event Hubs | `…/messages/send/action` | Azure Service Bus / Event Hubs Data Sender |
    | Event Grid topic | `Microsoft.EventGrid/events/send/action` | EventGrid Data Sender |
    | Key Vault | `…/secrets/getSecret/action` | Key Vault Secrets User |

    The caller is the user-assigned identity whose client id is in `AZURE_CLIENT_ID`, else the
    app's system-assigned identity, else any of its identities; for API Management, any of its
    identities. Redis, Azure Managed Redis, Cosmos DB and MongoDB vCore grant data access
    outside Azure RBAC (access policy assignments, SQL role assignments, cluster users), which
    prodcheck does not read: a keyless one of these is ERROR ("not verified"), never PASS.
    Endpoints kept in App Configuration or in secrets are not visible and are not checked.
    One finding per (caller, service); subject: variable → service.

    Checked against the `Microsoft.Authorization/roleAssignments` and `roleDefinitions` bodies
    of API versions 2015-07-01 and 2022-04-01, the host fields of
    `Microsoft.CognitiveServices/accounts` 2025-09-01 (`endpoint`), `Microsoft.Cache/redis`
    2024-11-01 (`hostName`) and `Microsoft.KeyVault/vaults` 2026-05-15 (`vaultUri`), and the
    `Microsoft.App/containerApps` bodies of 2025-07-01 (user-assigned identities with their
    `principalId` and `clientId`).

    ## Example
    Fails: `AZURE_SPEECH_ENDPOINT=https://ai1.cognitiveservices.azure.com/` on an AI Services
    account with `disableLocalAuth: true`, and no role assignment for the app's identity there.
    Passes: the same with Cognitive Services User (`"dataActions": ["Microsoft.CognitiveServices/*"]`)
    assigned to it at the account.
    """
    services = inv.derived(_services_by_host, *SERVICE_TYPES)
    for app in inv.of_type(CONTAINER_APP):
        callers = _caller(inv, app)
        seen = set()
        for variable, host in _calls(app):
            res = services.get(host)
            if res is None or (variable, res.key) in seen:
                continue
            seen.add((variable, res.key))
            verdict = _data_verdict(inv, app, callers, variable, host, res)
            if verdict is not None:
                yield verdict
    for apim in inv.of_type(API_MANAGEMENT):
        callers = identities_of(inv, apim)
        for backend in inv.children(apim, APIM_BACKEND):
            host = host_of(str(backend.get("properties.url") or ""))
            res = services.get(host)
            if res is None:
                continue
            verdict = _data_verdict(inv, apim, callers, f"backend {backend.name}", host, res)
            if verdict is not None:
                yield verdict


# ---- PC-RBAC-004: least privilege -----------------------------------------------------------

USER_ACCESS_ACTION = "Microsoft.Authorization/roleAssignments/write"


def _broad_grants(access, principal):
    """(problems, undecided, assignment ids) of the principal's broad roles."""
    problems, undecided, ids = [], [], []
    for assignment in access.by_principal.get(principal.lower(), []):
        scope = str(assignment.get("properties.scope") or "")
        if not is_broad_scope(scope):
            continue
        definition_id = str(assignment.get("properties.roleDefinitionId") or "")
        definition = access.definitions.get(guid_of(definition_id)) if definition_id else None
        if definition is None:
            undecided.append(
                f"role definition {guid_of(definition_id) or '(none)'} of assignment "
                f"{assignment.name} at {scope} was not read"
            )
            continue
        name = role_name(definition, assignment.name)
        what = []
        if any(
            isinstance(a, str) and a.strip() == "*"
            for block in listed(definition.get("properties.permissions"))
            if isinstance(block, dict)
            for a in listed(block.get("actions"))
        ):
            what.append("every action (`*`, Owner/Contributor-equivalent)")
        if definition_grants(definition, USER_ACCESS_ACTION, data=False):
            what.append(f"{USER_ACCESS_ACTION} (User Access Administrator-equivalent)")
        if not what:
            continue
        if assignment.get("properties.condition"):
            undecided.append(
                f"{name} at {scope} allows {' and '.join(what)} under a condition that cannot "
                "be evaluated here"
            )
            continue
        problems.append(f"{name} at {scope} allows {' and '.join(what)}")
        ids.append(assignment.id)
    return problems, undecided, ids


@rule(
    id="PC-RBAC-004",
    title="No workload identity can manage or re-permission the subscription or group",
    checklist=IDENTITY_CHECKLIST,
    severity=Severity.HIGH,
    needs=[CONTAINER_APP, API_MANAGEMENT, USER_IDENTITY, *RBAC_TYPES],
    rationale=(
        "A workload identity is as exposed as the workload: with Owner, Contributor or User "
        "Access Administrator rights a code-injection bug becomes control of the environment."
    ),
    remediation=(
        "Remove the broad role assignment and grant the data roles the workload needs on the "
        "resources it calls instead.\n\n```sh\n"
        "az role assignment delete --ids '<role-assignment-id>'\n```"
    ),
    links=[
        "https://learn.microsoft.com/azure/role-based-access-control/best-practices",
        *_LINKS,
    ],
)
def workload_least_privilege(inv, p):
    """
    ## What it checks
    No identity of a container app or of API Management (system- or user-assigned) holds, at a
    subscription, resource group, management group or the root, a role whose definition has
    `*` among its `actions` (Owner, Contributor and their custom equivalents) or allows
    `Microsoft.Authorization/roleAssignments/write` (Owner, User Access Administrator, Role
    Based Access Control Administrator, or a custom role with `Microsoft.Authorization/*`).
    Roles at a single resource are the data roles the other rules ask for. A broad assignment
    with a `condition` cannot be evaluated here (ERROR); so can an assignment whose role
    definition was not read. One finding per identity.

    Checked against the `Microsoft.Authorization/roleAssignments` list bodies of API versions
    2015-07-01 and 2022-04-01 (assignments at the subscription and at a resource group, scopes
    in either case) and the `roleDefinitions` bodies of both versions.

    ## Example
    Fails: the app's identity is assigned Contributor
    (`"actions": ["*"], "notActions": ["Microsoft.Authorization/*/Delete", ...]`) at
    `/subscriptions/…/resourceGroups/rg-app`. Passes: its only roles are AcrPull and Key Vault
    Secrets User on the registry and the vault.
    """
    for res in inv.of_type(CONTAINER_APP, API_MANAGEMENT):
        for label, principal in identities_of(inv, res):
            subject = label
            access = access_of(inv)
            if principal is None:
                yield res.error(
                    f"the principal id of identity {label} is not in the data", subject=subject
                )
                continue
            problems, undecided, ids = _broad_grants(access, principal)
            evidence = {"principalId": principal, "assignments": ids}
            if problems:
                deletes = "\n".join(
                    f"az role assignment delete --ids {shlex.quote(i)}" for i in ids
                )
                yield res.fail(
                    *[f"{label}: {x}" for x in problems],
                    evidence=evidence,
                    subject=subject,
                    remediation=(
                        "Remove the broad assignments and grant data roles on the resources "
                        f"the workload calls instead.\n\n```sh\n{deletes}\n```"
                    ),
                )
            elif undecided:
                yield res.error(*undecided, evidence=evidence, subject=subject)
            else:
                yield res.ok(
                    f"{label} holds no Owner-, Contributor- or User Access "
                    "Administrator-equivalent role at a subscription or group",
                    evidence=evidence,
                    subject=subject,
                )
