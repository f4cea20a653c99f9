"""Transport rules PC-TLS-001..002 on small ARM fixtures in the shapes of the services' GET bodies."""

from __future__ import annotations

import pytest
from builders import arm, by_name, child_id, rid, run, statuses
from hypothesis import given
from hypothesis import strategies as st

from rules.transport import tls_version

REDIS = "Microsoft.Cache/redis"
AMR = "Microsoft.Cache/redisEnterprise"
COSMOS = "Microsoft.DocumentDB/databaseAccounts"
STORAGE = "Microsoft.Storage/storageAccounts"
APP = "Microsoft.App/containerApps"
KEY_VAULT = "Microsoft.KeyVault/vaults"


def redis(name="redis1", **props):
    """Azure Cache for Redis as 2024-11-01 returns it."""
    properties = {
        "sku": {"name": "Premium", "family": "P", "capacity": 1},
        "enableNonSslPort": False,
        "minimumTlsVersion": "1.2",
        "port": 6379,
        "sslPort": 6380,
        **props,
    }
    return arm(REDIS, name, properties={k: v for k, v in properties.items() if v is not None})


def amr_cluster(name="amr1", **props):
    properties = {"hostName": f"{name}.eastus.redis.azure.net", "minimumTlsVersion": "1.2"}
    properties.update(props)
    return arm(AMR, name, properties={k: v for k, v in properties.items() if v is not None})


def amr_database(protocol="Encrypted", cluster="amr1"):
    properties = {"port": 10000, "clusteringPolicy": "OSSCluster", "evictionPolicy": "NoEviction"}
    if protocol is not None:
        properties["clientProtocol"] = protocol
    return arm(
        f"{AMR}/databases",
        "default",
        id=child_id(rid(AMR, cluster), "databases", "default"),
        properties=properties,
    )


def storage(name="st1", **props):
    properties = {
        "minimumTlsVersion": "TLS1_2",
        "supportsHttpsTrafficOnly": True,
        "allowBlobPublicAccess": False,
        **props,
    }
    return arm(
        STORAGE,
        name,
        kind="StorageV2",
        sku={"name": "Standard_LRS", "tier": "Standard"},
        properties={k: v for k, v in properties.items() if v is not None},
    )


def cosmos(name="cosmos1", tls="Tls12"):
    properties = {"databaseAccountOfferType": "Standard", "publicNetworkAccess": "Disabled"}
    if tls is not None:
        properties["minimalTlsVersion"] = tls
    return arm(COSMOS, name, kind="GlobalDocumentDB", properties=properties)


def container_app(name="app1", ingress=None):
    configuration = {"activeRevisionsMode": "Single"}
    if ingress is not None:
        configuration["ingress"] = ingress
    return arm(APP, name, properties={"configuration": configuration})


def ingress(allow_insecure):
    return {
        "external": True,
        "targetPort": 8000,
        "transport": "Auto",
        "allowInsecure": allow_insecure,
    }


# ---- PC-TLS-001: plaintext ---------------------------------------------------------------------


def test_encrypted_services_pass():
    resources = [
        redis(),
        amr_cluster(),
        amr_database(),
        storage(),
        container_app(ingress=ingress(False)),
    ]
    assert statuses(run("PC-TLS-001", resources)) == {
        "redis1": "PASS",
        "default": "PASS",
        "st1": "PASS",
        "app1": "PASS",
    }


def test_redis_non_ssl_port_fails_and_says_what_the_path_gets():
    finding = by_name(run("PC-TLS-001", [redis(enableNonSslPort=True)]))["redis1"]
    assert finding.status.value == "FAIL"
    assert "plaintext port 6379" in finding.message
    assert "access key" in finding.message


def test_managed_redis_database_in_plaintext_fails():
    findings = run("PC-TLS-001", [amr_cluster(), amr_database("Plaintext")])
    assert statuses(findings) == {"default": "FAIL"}
    assert "clientProtocol Plaintext" in by_name(findings)["default"].message


def test_managed_redis_database_without_client_protocol_is_encrypted_by_default():
    assert statuses(run("PC-TLS-001", [amr_database(None)])) == {"default": "PASS"}


def test_storage_accepting_http_fails():
    findings = run("PC-TLS-001", [storage(supportsHttpsTrafficOnly=False)])
    assert statuses(findings) == {"st1": "FAIL"}
    assert "SAS tokens" in by_name(findings)["st1"].message


def test_storage_without_the_https_flag_is_https_only_by_default():
    assert statuses(run("PC-TLS-001", [storage(supportsHttpsTrafficOnly=None)])) == {"st1": "PASS"}


def test_container_app_serving_plain_http_fails():
    findings = run("PC-TLS-001", [container_app(ingress=ingress(True))])
    assert statuses(findings) == {"app1": "FAIL"}
    assert "allowInsecure true" in by_name(findings)["app1"].message


def test_container_app_without_ingress_is_not_judged():
    assert statuses(run("PC-TLS-001", [container_app()])) == {"scope": "NOT_APPLICABLE"}


# ---- PC-TLS-002: old TLS -----------------------------------------------------------------------


def test_tls_1_2_everywhere_passes():
    resources = [redis(), amr_cluster(), cosmos(), storage()]
    assert set(statuses(run("PC-TLS-002", resources)).values()) == {"PASS"}


@pytest.mark.parametrize(
    ("resource", "name", "shown"),
    [
        (redis(minimumTlsVersion="1.0"), "redis1", "TLS 1.0"),
        (amr_cluster(minimumTlsVersion="1.1"), "amr1", "TLS 1.1"),
        (cosmos(tls="Tls"), "cosmos1", "TLS 1.0"),
        (cosmos(tls="Tls11"), "cosmos1", "TLS 1.1"),
        (storage(minimumTlsVersion="TLS1_1"), "st1", "TLS 1.1"),
    ],
)
def test_minimum_below_1_2_fails_in_each_providers_spelling(resource, name, shown):
    finding = by_name(run("PC-TLS-002", [resource], as_of="2024-06-01"))[name]
    assert finding.status.value == "FAIL"
    assert f"accepts {shown}" in finding.message


def test_unset_minimum_fails_while_the_service_still_accepted_tls_1_0():
    findings = run(
        "PC-TLS-002",
        [redis(minimumTlsVersion=None), storage(minimumTlsVersion=None)],
        as_of="2024-06-01",
    )
    assert statuses(findings) == {"redis1": "FAIL", "st1": "FAIL"}
    assert "accepted TLS 1.0 until 2024-11-01" in by_name(findings)["redis1"].message


def test_unset_minimum_follows_each_services_own_floor_date():
    findings = run(
        "PC-TLS-002",
        [redis(minimumTlsVersion=None), storage(minimumTlsVersion=None)],
        as_of="2025-06-01",
    )
    assert statuses(findings) == {"redis1": "PASS", "st1": "FAIL"}
    assert "since 2024-11-01" in by_name(findings)["redis1"].message


def test_unset_minimum_passes_once_the_platform_refuses_old_tls():
    findings = run("PC-TLS-002", [redis(minimumTlsVersion=None), storage(minimumTlsVersion=None)])
    assert statuses(findings) == {"redis1": "PASS", "st1": "PASS"}


def test_unset_minimum_fails_when_the_team_wants_more_than_the_platform_floor():
    findings = run("PC-TLS-002", [storage(minimumTlsVersion=None)], {"min_tls_version": "1.3"})
    assert statuses(findings) == {"st1": "FAIL"}


def test_old_setting_after_the_floor_still_fails_without_claiming_a_downgrade():
    finding = by_name(run("PC-TLS-002", [storage(minimumTlsVersion="TLS1_0")]))["st1"]
    assert finding.status.value == "FAIL"
    assert "refused TLS before 1.2 since 2026-02-03" in finding.message
    assert "downgrade" not in finding.message


def test_old_setting_before_the_floor_is_a_downgrade_path():
    findings = run("PC-TLS-002", [storage(minimumTlsVersion="TLS1_0")], as_of="2025-12-31")
    assert "attacker forcing a downgrade" in by_name(findings)["st1"].message


def test_unset_minimum_on_managed_redis_is_the_1_2_default():
    assert statuses(run("PC-TLS-002", [amr_cluster(minimumTlsVersion=None)])) == {"amr1": "PASS"}


def test_cosmos_body_without_minimal_tls_cannot_be_judged():
    assert statuses(run("PC-TLS-002", [cosmos(tls=None)])) == {"cosmos1": "ERROR"}


def test_unreadable_tls_setting_is_an_error():
    assert statuses(run("PC-TLS-002", [storage(minimumTlsVersion="modern")])) == {"st1": "ERROR"}


def test_a_team_can_require_tls_1_3():
    findings = run(
        "PC-TLS-002", [storage(minimumTlsVersion="TLS1_3"), cosmos()], {"min_tls_version": "1.3"}
    )
    assert statuses(findings) == {"st1": "PASS", "cosmos1": "FAIL"}


def test_unreadable_min_tls_parameter_is_an_error_not_a_silent_default():
    findings = run("PC-TLS-002", [storage()], {"min_tls_version": "strong"})
    assert statuses(findings) == {"scope": "ERROR"}


@pytest.mark.parametrize(
    ("text", "version"),
    [("1.2", (1, 2)), ("TLS1_2", (1, 2)), ("Tls12", (1, 2)), ("Tls", (1, 0)), ("TLS1_3", (1, 3))],
)
def test_tls_spellings_are_read(text, version):
    assert tls_version(text) == version


@given(st.one_of(st.text(max_size=12), st.integers(), st.none(), st.booleans()))
def test_tls_parser_never_raises_on_hostile_values(value):
    result = tls_version(value)
    assert result is None or (isinstance(result, tuple) and len(result) == 2)


# ---- Key Vault firewall: judged by the network perimeter rule ----------------------------------


def test_key_vault_open_firewall_with_public_access_fails_the_perimeter_rule():
    vault = arm(
        KEY_VAULT,
        "kv1",
        properties={
            "publicNetworkAccess": "Enabled",
            "networkAcls": {"defaultAction": "Allow", "bypass": "AzureServices", "ipRules": []},
        },
    )
    assert statuses(run("PC-NET-001", [vault])) == {"kv1": "FAIL"}
