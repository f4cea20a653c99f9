"""Key Vault rules: PC-KV-001 (a vault in scope serves the apps) and PC-KV-002 (recoverable, RBAC)."""

from __future__ import annotations

from builders import arm, by_name, run, statuses

VAULT = "Microsoft.KeyVault/vaults"


def vault(name: str = "kv-prod", **props) -> dict:
    properties = {"vaultUri": f"https://{name}.vault.azure.net/", "enableRbacAuthorization": True}
    properties.update(props)
    return arm(VAULT, name, properties=properties)


def app_with_secret(url: str, name: str = "api") -> dict:
    return arm(
        "Microsoft.App/containerApps",
        name,
        identity={"type": "SystemAssigned"},
        properties={
            "configuration": {
                "secrets": [{"name": "signing-key", "keyVaultUrl": url, "identity": "system"}]
            }
        },
    )


# ---- PC-KV-001 --------------------------------------------------------------------------------


def test_no_vault_in_scope_fails_at_the_scope():
    findings = run("PC-KV-001", [arm("Microsoft.App/containerApps", "api")])
    assert statuses(findings) == {"scope": "FAIL"}


def test_reference_to_a_vault_in_scope_passes():
    findings = run(
        "PC-KV-001",
        [vault(), app_with_secret("https://kv-prod.vault.azure.net/secrets/signing-key")],
    )
    assert statuses(findings) == {"scope": "PASS", "api": "PASS"}
    assert "signing-key → kv-prod" in by_name(findings)["api"].message


def test_vault_is_matched_by_its_uri_whatever_the_case():
    findings = run(
        "PC-KV-001",
        [vault(), app_with_secret("https://KV-PROD.Vault.Azure.Net/secrets/signing-key/0a1b")],
    )
    assert statuses(findings)["api"] == "PASS"


def test_vault_without_vault_uri_is_matched_by_name():
    bare = arm(VAULT, "kv-prod", properties={})
    findings = run(
        "PC-KV-001", [bare, app_with_secret("https://kv-prod.vault.azure.net/secrets/x")]
    )
    assert statuses(findings)["api"] == "PASS"


def test_key_vault_url_pointing_outside_the_scope_is_error_not_pass():
    findings = run(
        "PC-KV-001",
        [vault(), app_with_secret("https://kv-elsewhere.vault.azure.net/secrets/signing-key")],
    )
    assert statuses(findings) == {"scope": "PASS", "api": "ERROR"}
    assert "kv-elsewhere.vault.azure.net" in by_name(findings)["api"].message


def test_key_vault_url_that_is_not_https_fails():
    findings = run(
        "PC-KV-001", [vault(), app_with_secret("http://kv-prod.vault.azure.net/secrets/x")]
    )
    assert statuses(findings)["api"] == "FAIL"


def test_app_without_key_vault_references_gets_no_finding_of_its_own():
    findings = run("PC-KV-001", [vault(), arm("Microsoft.App/containerApps", "api")])
    assert statuses(findings) == {"scope": "PASS"}


# ---- PC-KV-002 --------------------------------------------------------------------------------


def test_recoverable_rbac_vault_passes():
    findings = run(
        "PC-KV-002",
        [vault(enableSoftDelete=True, softDeleteRetentionInDays=90, enablePurgeProtection=True)],
    )
    assert statuses(findings) == {"kv-prod": "PASS"}


def test_short_retention_fails_naming_both_numbers():
    findings = run("PC-KV-002", [vault(softDeleteRetentionInDays=7, enablePurgeProtection=True)])
    assert statuses(findings) == {"kv-prod": "FAIL"}
    assert "7 days (< 90)" in findings[0].message


def test_retention_left_out_by_arm_means_the_default_of_90_days():
    findings = run("PC-KV-002", [vault(enablePurgeProtection=True)])
    assert statuses(findings) == {"kv-prod": "PASS"}


def test_retention_threshold_is_a_parameter():
    findings = run(
        "PC-KV-002",
        [vault(softDeleteRetentionInDays=30, enablePurgeProtection=True)],
        {"min_retention_days": 30},
    )
    assert statuses(findings) == {"kv-prod": "PASS"}


def test_purge_protection_left_out_is_off():
    findings = run("PC-KV-002", [vault()])
    assert statuses(findings) == {"kv-prod": "FAIL"}
    assert findings[0].message == "purge protection is off"


def test_soft_delete_off_fails():
    findings = run("PC-KV-002", [vault(enableSoftDelete=False, enablePurgeProtection=True)])
    assert "soft delete is off" in findings[0].message


def test_access_policy_vault_fails():
    findings = run("PC-KV-002", [vault(enableRbacAuthorization=False, enablePurgeProtection=True)])
    assert statuses(findings) == {"kv-prod": "FAIL"}
    assert "RBAC authorization is off" in findings[0].message


def test_no_vault_is_not_applicable_for_recoverability():
    assert statuses(run("PC-KV-002", [])) == {"scope": "NOT_APPLICABLE"}


# ---- shapes of the Key Vault GET bodies ------------------------------------------------------


def spec_vault(name: str = "sample-vault", **props) -> dict:
    """A vault as GET returns it in 2019-09-01 and 2026-05-15: access policies, the switches left
    out, `vaultUri` without a trailing slash (2026-02-01 lists it with one)."""
    properties = {
        "sku": {"family": "A", "name": "standard"},
        "tenantId": "00000000-0000-0000-0000-000000000000",
        "accessPolicies": [
            {
                "tenantId": "00000000-0000-0000-0000-000000000000",
                "objectId": "00000000-0000-0000-0000-000000000000",
                "permissions": {"secrets": ["get", "list"]},
            }
        ],
        "enabledForDeployment": True,
        "vaultUri": f"https://{name}.vault.azure.net",
        "provisioningState": "Succeeded",
    }
    properties.update(props)
    return arm(VAULT, name, properties=properties, tags={})


def test_vault_with_every_switch_left_out_fails_on_purge_protection_and_rbac_only():
    findings = run("PC-KV-002", [spec_vault()])
    message = by_name(findings)["sample-vault"].message
    assert statuses(findings) == {"sample-vault": "FAIL"}
    assert "purge protection is off" in message
    assert "RBAC authorization is not set" in message
    # Soft delete is on unless ARM says false, and the retention left out is the default 90 days.
    assert "soft delete" not in message


def test_vault_of_a_newer_api_version_with_public_access_and_switches_on_passes():
    findings = run(
        "PC-KV-002",
        [
            spec_vault(
                publicNetworkAccess="Enabled",
                enableSoftDelete=True,
                enablePurgeProtection=True,
                enableRbacAuthorization=True,
                accessPolicies=[],
            )
        ],
    )
    assert statuses(findings) == {"sample-vault": "PASS"}


def test_rbac_authorization_null_is_not_set():
    vault_ = spec_vault(enablePurgeProtection=True, enableRbacAuthorization=None)
    findings = run("PC-KV-002", [vault_])
    assert statuses(findings) == {"sample-vault": "FAIL"}
    assert "RBAC authorization is not set" in findings[0].message


def test_vault_uri_with_or_without_trailing_slash_matches_the_reference():
    with_slash = spec_vault("kv-a", vaultUri="https://kv-a.vault.azure.net/")
    findings = run(
        "PC-KV-001",
        [
            spec_vault(),
            with_slash,
            app_with_secret("https://sample-vault.vault.azure.net/secrets/signing-key", "api"),
            app_with_secret("https://kv-a.vault.azure.net/secrets/signing-key", "worker"),
        ],
    )
    assert statuses(findings) == {"scope": "PASS", "api": "PASS", "worker": "PASS"}
