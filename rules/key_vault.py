"""Key Vault — "Key Vault integration for all secrets"."""

from urllib.parse import urlparse

from prodcheck import Severity, rule

from ._workload import CONTAINER_APP, listed

VAULT = "Microsoft.KeyVault/vaults"
CHECKLIST = "Key Vault integration for all secrets"

# DNS suffixes of Key Vault in the public and sovereign clouds.
_VAULT_SUFFIXES = (".vault.azure.net", ".vault.azure.cn", ".vault.usgovcloudapi.net")


def _host(url: str) -> str:
    try:
        parsed = urlparse(url.strip())
    except ValueError:
        return ""
    return (parsed.hostname or "").lower() if parsed.scheme.lower() == "https" else ""


def _vaults_by_host(inv):
    """(vaults by the host of their vaultUri, vaults by name under a vault suffix), first wins."""
    by_uri, by_name = {}, {}
    for vault in inv.of_type(VAULT):
        by_uri.setdefault(_host(str(vault.get("properties.vaultUri", "") or "")), vault)
        for suffix in _VAULT_SUFFIXES:
            by_name.setdefault(vault.name.lower() + suffix, vault)
    return by_uri, by_name


def _vault_for(inv, host):
    """The vault in scope serving `host`: by its vaultUri, else by its name under a vault suffix."""
    by_uri, by_name = inv.derived(_vaults_by_host, VAULT)
    return by_uri.get(host) or by_name.get(host)


@rule(
    id="PC-KV-001",
    title="A Key Vault in scope serves the workload's secrets",
    checklist=CHECKLIST,
    severity=Severity.HIGH,
    needs=[VAULT, CONTAINER_APP],
    rationale=(
        "Secrets need one governed home. A reference to a vault nobody audits is a secret whose "
        "recovery, access model and network exposure are unknown."
    ),
    remediation=(
        """
        Create a Key Vault in the workload's scope and reference its secrets from the apps; or audit the
        subscription that holds the vault the apps use.

        ```sh
        az keyvault create -n '<vault-name>' -g {resource_group} --enable-rbac-authorization true --enable-purge-protection true --retention-days 90
        ```
    """
    ),
    links=[
        "https://learn.microsoft.com/azure/container-apps/manage-secrets#reference-secret-from-key-vault"
    ],
)
def key_vault_serves_workload(inv, p):
    """
    ## What it checks
    At least one Key Vault (`Microsoft.KeyVault/vaults`) is in the audited scope (one finding
    for the scope), and every `keyVaultUrl` of a container app secret points at a vault in
    scope, matched by the vault's `properties.vaultUri` (one finding per app that references a
    vault). A reference to a vault outside the audited scope cannot be verified (its soft
    delete, purge protection and access model are unknown): ERROR, not PASS. A `keyVaultUrl`
    that is not an `https://` Key Vault secret URL fails.

    Checked against the `Microsoft.KeyVault/vaults` GET bodies of API versions 2019-09-01 and
    2026-05-15 (`vaultUri` without a trailing slash; the 2026-02-01 list has one) and the
    `Microsoft.App/containerApps` bodies of 2025-07-01.

    ## Example
    Passes, with the vault `kv-prod` in scope:
    ```json
    {"configuration": {"secrets": [{"name": "signing-key",
      "keyVaultUrl": "https://kv-prod.vault.azure.net/secrets/signing-key", "identity": "system"}]}}
    ```
    ERROR: the same reference when `kv-prod` is in another subscription that was not audited.
    """
    vaults = inv.of_type(VAULT)
    if vaults:
        yield inv.scope.ok(
            f"Key Vault in scope: {', '.join(v.name for v in vaults)}",
            evidence={"vaults": [v.id for v in vaults]},
        )
    else:
        yield inv.scope.fail("no Key Vault in scope: the workload's secrets have no governed home")
    for app in inv.of_type(CONTAINER_APP):
        references = [
            (str(s.get("name") or "(unnamed)"), str(s.get("keyVaultUrl")))
            for s in listed(app.get("properties.configuration.secrets"))
            if isinstance(s, dict) and s.get("keyVaultUrl")
        ]
        if not references:
            continue
        inside, outside, malformed = [], [], []
        for name, url in references:
            host = _host(url)
            vault = _vault_for(inv, host) if host else None
            if not host:
                malformed.append(f"secret {name}: keyVaultUrl {url!r} is not an https URL")
            elif vault is None:
                outside.append(
                    f"secret {name} references {host}, a vault outside the audited scope"
                )
            else:
                inside.append(f"{name} → {vault.name}")
        evidence = {"keyVaultUrl": {name: url for name, url in references}}
        if malformed:
            yield app.fail(*malformed, *outside, evidence=evidence)
        elif outside:
            yield app.error(
                *outside,
                "its recovery and access settings cannot be verified: audit the vault's scope too",
                evidence=evidence,
            )
        else:
            yield app.ok(f"Key Vault references in scope: {', '.join(inside)}", evidence=evidence)


@rule(
    id="PC-KV-002",
    title="Key Vault is recoverable and RBAC-governed",
    checklist=CHECKLIST,
    severity=Severity.HIGH,
    needs=[VAULT],
    params={"min_retention_days": 90},
    rationale=(
        "A vault that is deleted, or purged within days, takes every secret of the workload "
        "with it; access policies grant data-plane access outside Azure RBAC and its audit trail."
    ),
    remediation=(
        """
        Turn on purge protection and RBAC authorization. Soft-delete retention is fixed when the vault
        is created: if it is shorter than required, create a new vault with `--retention-days 90` and
        move the secrets.

        ```sh
        az keyvault update -n {name} -g {resource_group} --enable-purge-protection true --enable-rbac-authorization true
        ```
    """
    ),
    links=[
        "https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview",
        "https://learn.microsoft.com/azure/key-vault/general/rbac-guide",
    ],
)
def vault_is_recoverable(inv, p):
    """
    ## What it checks
    Every Key Vault has soft delete on with a retention of at least `min_retention_days`
    (`softDeleteRetentionInDays`; ARM omits it when it is the default of 90), purge protection
    on (`enablePurgeProtection: true`), and Azure RBAC authorization
    (`enableRbacAuthorization: true`) instead of access policies. Network exposure is checked
    by the private-endpoint rules.

    Checked against the `Microsoft.KeyVault/vaults` GET bodies of API versions 2019-09-01,
    2026-02-01 and 2026-05-15: a vault created without them has no `enablePurgeProtection`,
    `enableRbacAuthorization` or `softDeleteRetentionInDays` in its body (`enableSoftDelete` is
    there in some bodies, not in others), and access policies beside them; `null` is not set.

    ## Example
    Fails:
    ```json
    {"properties": {"enableSoftDelete": true, "softDeleteRetentionInDays": 7,
                    "enableRbacAuthorization": true}}
    ```
    Passes:
    ```json
    {"properties": {"enableSoftDelete": true, "softDeleteRetentionInDays": 90,
                    "enablePurgeProtection": true, "enableRbacAuthorization": true}}
    ```
    """
    for vault in inv.of_type(VAULT):
        problems = []
        retention = vault.get("properties.softDeleteRetentionInDays", 90)
        if vault.get("properties.enableSoftDelete", True) is False:
            problems.append("soft delete is off")
        elif not isinstance(retention, int | float) or isinstance(retention, bool):
            problems.append(f"soft-delete retention is not a number of days ({retention!r})")
        elif retention < p.min_retention_days:
            problems.append(f"soft delete keeps {retention:g} days (< {p.min_retention_days})")
        if vault.get("properties.enablePurgeProtection") is not True:
            problems.append("purge protection is off")
        rbac = vault.get("properties.enableRbacAuthorization")
        if rbac is not True:
            state = "off" if rbac is False else "not set"
            problems.append(f"RBAC authorization is {state}: access policies govern data access")
        evidence = vault.evidence(
            "properties.enableSoftDelete",
            "properties.softDeleteRetentionInDays",
            "properties.enablePurgeProtection",
            "properties.enableRbacAuthorization",
        )
        if problems:
            yield vault.fail(*problems, evidence=evidence)
        else:
            yield vault.ok(
                f"soft delete keeps {retention:g} days, purge protection on, RBAC authorization",
                evidence=evidence,
            )
