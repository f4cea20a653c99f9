"""Key Vault — "Key Vault integration for all secrets"."""

from prodcheck import Severity, rule

VAULT = "Microsoft.KeyVault/vaults"


@rule(
    id="PC-KV-002",
    title="Key Vault is recoverable and RBAC-governed",
    checklist="Key Vault integration for all secrets",
    severity=Severity.HIGH,
    needs=[VAULT],
    params={"min_retention_days": 90},
    rationale=(
        "A vault that is deleted, or purged within days, takes every secret of the workload "
        "with it; access policies grant data-plane access outside Azure RBAC and its audit trail."
    ),
    remediation=(
        "az keyvault update -n {name} -g {resource_group} --enable-purge-protection true "
        "--enable-rbac-authorization true (soft-delete retention is fixed at creation: "
        "recreate the vault with --retention-days 90 if it is shorter)"
    ),
    links=[
        "https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview",
        "https://learn.microsoft.com/azure/key-vault/general/rbac-guide",
    ],
)
def vault_is_recoverable(inv, p):
    """
    ## What it checks
    Every Key Vault has soft delete on with a retention of at least `min_retention_days`,
    purge protection on (`enablePurgeProtection: true`), and Azure RBAC authorization
    (`enableRbacAuthorization: true`) instead of access policies.

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
        # ARM omits softDeleteRetentionInDays when it is the default of 90 days.
        retention = vault.get("properties.softDeleteRetentionInDays", 90)
        if vault.get("properties.enableSoftDelete", True) is False:
            problems.append("soft delete is off")
        elif retention < p.min_retention_days:
            problems.append(f"soft delete keeps {retention} days (< {p.min_retention_days})")
        if vault.get("properties.enablePurgeProtection") is not True:
            problems.append("purge protection is off")
        if vault.get("properties.enableRbacAuthorization") is not True:
            problems.append("access policies, not Azure RBAC, govern data access")
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
                f"soft delete keeps {retention} days, purge protection on, RBAC authorization",
                evidence=evidence,
            )
