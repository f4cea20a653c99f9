"""Application Gateway rules PC-WAF-001..005 on small ARM fixtures."""

from __future__ import annotations

from builders import arm, by_name, rid, run, statuses

AGW = "Microsoft.Network/applicationGateways"
WAF = "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies"
GW_ID = rid(AGW, "agw1")


def sub(collection: str, name: str) -> str:
    return f"{GW_ID}/{collection}/{name}"


def ref(collection: str, name: str) -> dict:
    return {"id": sub(collection, name)}


def waf_policy(name="waf-block", mode="Prevention", state="Enabled", rule_sets=None):
    sets = rule_sets or [{"ruleSetType": "Microsoft_DefaultRuleSet", "ruleSetVersion": "2.1"}]
    return arm(
        WAF,
        name,
        properties={
            "policySettings": {"state": state, "mode": mode},
            "managedRules": {"managedRuleSets": sets},
        },
    )


def listener(name, protocol="Https", cert="site", **extra):
    props = {"protocol": protocol, **extra}
    if protocol == "Https" and cert:
        props["sslCertificate"] = ref("sslCertificates", cert)
    return {"name": name, "id": sub("httpListeners", name), "properties": props}


def routing_rule(name, listener_name, redirect=None):
    props = {"ruleType": "Basic", "httpListener": ref("httpListeners", listener_name)}
    if redirect:
        props["redirectConfiguration"] = ref("redirectConfigurations", redirect)
    else:
        props["backendAddressPool"] = ref("backendAddressPools", "pool")
        props["backendHttpSettings"] = ref("backendHttpSettingsCollection", "settings")
    return {"name": name, "id": sub("requestRoutingRules", name), "properties": props}


def gateway(
    *,
    tier="WAF_v2",
    policy: str | None = "waf-block",
    listeners=None,
    rules=None,
    extra=None,
    zones=("1", "2", "3"),
):
    listeners = listeners if listeners is not None else [listener("https")]
    rules = rules if rules is not None else [routing_rule("r-https", "https")]
    props = {
        "sku": {"name": tier, "tier": tier},
        "httpListeners": listeners,
        "requestRoutingRules": rules,
        "sslCertificates": [
            {
                "name": "site",
                "id": sub("sslCertificates", "site"),
                "properties": {"keyVaultSecretId": "https://kv1.vault.azure.net/secrets/site"},
            }
        ],
        "redirectConfigurations": [
            {
                "name": "to-https",
                "id": sub("redirectConfigurations", "to-https"),
                "properties": {
                    "redirectType": "Permanent",
                    "targetListener": ref("httpListeners", "https"),
                },
            }
        ],
        "sslPolicy": {"policyType": "Predefined", "policyName": "AppGwSslPolicy20220101S"},
        "backendHttpSettingsCollection": [
            {
                "name": "settings",
                "id": sub("backendHttpSettingsCollection", "settings"),
                "properties": {"port": 443, "protocol": "Https", "probe": ref("probes", "health")},
            }
        ],
        "probes": [
            {
                "name": "health",
                "id": sub("probes", "health"),
                "properties": {"protocol": "Https", "path": "/health"},
            }
        ],
        "autoscaleConfiguration": {"minCapacity": 2, "maxCapacity": 10},
    }
    if policy:
        props["firewallPolicy"] = {"id": rid(WAF, policy)}
    props.update(extra or {})
    return arm(AGW, "agw1", properties=props, zones=list(zones))


# ---- PC-WAF-001: a WAF gateway exists -----------------------------------------------------------


def test_no_gateway_in_scope_fails_at_the_scope():
    findings = run("PC-WAF-001", [])
    assert statuses(findings) == {"scope": "FAIL"}


def test_waf_v2_gateway_passes():
    assert statuses(run("PC-WAF-001", [gateway()])) == {"agw1": "PASS"}


def test_standard_v2_gateway_has_no_firewall():
    findings = run("PC-WAF-001", [gateway(tier="Standard_v2", policy=None)])
    assert statuses(findings) == {"agw1": "FAIL"}
    assert "no web application firewall" in by_name(findings)["agw1"].message


def test_v1_waf_gateway_is_retired():
    findings = run("PC-WAF-001", [gateway(tier="WAF", policy=None)])
    assert statuses(findings) == {"agw1": "FAIL"}
    assert "retired" in by_name(findings)["agw1"].message


# ---- PC-WAF-002: the WAF blocks ------------------------------------------------------------------


def test_gateway_policy_in_prevention_mode_passes():
    findings = run("PC-WAF-002", [gateway(), waf_policy()])
    assert statuses(findings) == {"agw1": "PASS"}


def test_detection_mode_fails_because_it_only_logs():
    findings = run(
        "PC-WAF-002", [gateway(policy="waf-detect"), waf_policy("waf-detect", "Detection")]
    )
    assert statuses(findings) == {"agw1": "FAIL"}
    assert "Detection mode" in by_name(findings)["agw1"].message


def test_listener_level_policy_overrides_the_gateway_policy():
    override = listener("https", firewallPolicy={"id": rid(WAF, "waf-detect")})
    resources = [
        gateway(listeners=[override]),
        waf_policy("waf-block"),
        waf_policy("waf-detect", "Detection"),
    ]
    findings = run("PC-WAF-002", resources)
    assert statuses(findings) == {"agw1": "FAIL"}
    assert "waf-detect" in by_name(findings)["agw1"].message


def test_blocking_listener_policy_protects_a_gateway_whose_own_policy_only_detects():
    override = listener("https", firewallPolicy={"id": rid(WAF, "waf-block")})
    resources = [
        gateway(policy="waf-detect", listeners=[override]),
        waf_policy("waf-block"),
        waf_policy("waf-detect", "Detection"),
    ]
    assert statuses(run("PC-WAF-002", resources)) == {"agw1": "PASS"}


def test_disabled_policy_fails():
    findings = run("PC-WAF-002", [gateway(), waf_policy(state="Disabled")])
    assert statuses(findings) == {"agw1": "FAIL"}


def test_rule_set_older_than_owasp_3_2_fails():
    old = waf_policy(rule_sets=[{"ruleSetType": "OWASP", "ruleSetVersion": "3.1"}])
    findings = run("PC-WAF-002", [gateway(), old])
    assert statuses(findings) == {"agw1": "FAIL"}
    assert "OWASP 3.1" in by_name(findings)["agw1"].message


def test_owasp_3_2_counts_as_current():
    current = waf_policy(rule_sets=[{"ruleSetType": "OWASP", "ruleSetVersion": "3.2"}])
    assert statuses(run("PC-WAF-002", [gateway(), current])) == {"agw1": "PASS"}


def test_legacy_inline_configuration_in_prevention_counts_with_a_migrate_warning():
    legacy = {
        "webApplicationFirewallConfiguration": {
            "enabled": True,
            "firewallMode": "Prevention",
            "ruleSetType": "OWASP",
            "ruleSetVersion": "3.2",
        }
    }
    findings = run("PC-WAF-002", [gateway(policy=None, extra=legacy)])
    assert statuses(findings) == {"agw1": "PASS"}
    assert "migrate" in by_name(findings)["agw1"].message


def test_legacy_inline_configuration_in_detection_fails():
    legacy = {
        "webApplicationFirewallConfiguration": {
            "enabled": True,
            "firewallMode": "Detection",
            "ruleSetType": "OWASP",
            "ruleSetVersion": "3.2",
        }
    }
    findings = run("PC-WAF-002", [gateway(policy=None, extra=legacy)])
    assert statuses(findings) == {"agw1": "FAIL"}
    assert "Detection" in by_name(findings)["agw1"].message


def test_policy_outside_the_inventory_cannot_be_verified():
    assert statuses(run("PC-WAF-002", [gateway()])) == {"agw1": "ERROR"}


def test_no_gateway_means_nothing_to_judge_for_the_waf_mode():
    assert statuses(run("PC-WAF-002", [waf_policy()])) == {"scope": "NOT_APPLICABLE"}


# ---- PC-WAF-003: TLS --------------------------------------------------------------------------


def test_https_with_key_vault_certificate_and_2022_policy_passes():
    listeners = [listener("https"), listener("http", protocol="Http")]
    rules = [routing_rule("r-https", "https"), routing_rule("r-http", "http", redirect="to-https")]
    assert statuses(run("PC-WAF-003", [gateway(listeners=listeners, rules=rules)])) == {
        "agw1": "PASS"
    }


def test_plain_http_listener_serving_a_backend_fails():
    listeners = [listener("https"), listener("http", protocol="Http")]
    rules = [routing_rule("r-https", "https"), routing_rule("r-http", "http")]
    findings = run("PC-WAF-003", [gateway(listeners=listeners, rules=rules)])
    assert statuses(findings) == {"agw1": "FAIL"}
    assert "listener http serves plain HTTP" in by_name(findings)["agw1"].message


def test_certificate_uploaded_to_the_gateway_fails():
    uploaded = {
        "sslCertificates": [
            {
                "name": "site",
                "id": sub("sslCertificates", "site"),
                "properties": {"publicCertData": "MII..."},
            }
        ]
    }
    findings = run("PC-WAF-003", [gateway(extra=uploaded)])
    assert statuses(findings) == {"agw1": "FAIL"}
    assert "not referenced from Key Vault" in by_name(findings)["agw1"].message


def test_old_predefined_ssl_policy_fails():
    old = {"sslPolicy": {"policyType": "Predefined", "policyName": "AppGwSslPolicy20150501"}}
    findings = run("PC-WAF-003", [gateway(extra=old)])
    assert statuses(findings) == {"agw1": "FAIL"}
    assert "AppGwSslPolicy20150501" in by_name(findings)["agw1"].message


def test_custom_policy_with_tls_1_2_minimum_passes():
    custom = {"sslPolicy": {"policyType": "CustomV2", "minProtocolVersion": "TLSv1_2"}}
    assert statuses(run("PC-WAF-003", [gateway(extra=custom)])) == {"agw1": "PASS"}


def test_custom_policy_allowing_tls_1_1_fails():
    custom = {"sslPolicy": {"policyType": "Custom", "minProtocolVersion": "TLSv1_1"}}
    assert statuses(run("PC-WAF-003", [gateway(extra=custom)])) == {"agw1": "FAIL"}


def test_missing_ssl_policy_passes_only_with_a_2022_default():
    with_default = {"sslPolicy": None, "defaultPredefinedSslPolicy": "AppGwSslPolicy20220101"}
    without = {"sslPolicy": None}
    assert statuses(run("PC-WAF-003", [gateway(extra=with_default)])) == {"agw1": "PASS"}
    assert statuses(run("PC-WAF-003", [gateway(extra=without)])) == {"agw1": "FAIL"}


def test_gateway_without_https_listener_fails():
    findings = run(
        "PC-WAF-003",
        [gateway(listeners=[listener("http", protocol="Http")], rules=[routing_rule("r", "http")])],
    )
    assert statuses(findings) == {"agw1": "FAIL"}
    assert "no HTTPS listener" in by_name(findings)["agw1"].message


def test_no_gateway_means_nothing_to_judge_for_tls():
    assert statuses(run("PC-WAF-003", [])) == {"scope": "NOT_APPLICABLE"}


# ---- PC-WAF-004: health probes ------------------------------------------------------------------


def test_backend_settings_with_custom_probe_pass():
    assert statuses(run("PC-WAF-004", [gateway()])) == {"agw1": "PASS"}


def test_backend_setting_on_the_default_probe_fails():
    settings = {
        "backendHttpSettingsCollection": [
            {
                "name": "settings",
                "id": sub("backendHttpSettingsCollection", "settings"),
                "properties": {"port": 443},
            }
        ]
    }
    findings = run("PC-WAF-004", [gateway(extra=settings)])
    assert statuses(findings) == {"agw1": "FAIL"}
    assert "default probe" in by_name(findings)["agw1"].message


def test_backend_setting_naming_a_missing_probe_fails():
    assert statuses(run("PC-WAF-004", [gateway(extra={"probes": []})])) == {"agw1": "FAIL"}


def test_gateway_without_backend_settings_is_not_applicable():
    findings = run("PC-WAF-004", [gateway(extra={"backendHttpSettingsCollection": []})])
    assert statuses(findings) == {"agw1": "NOT_APPLICABLE"}


# ---- PC-WAF-005: availability ------------------------------------------------------------------


def test_two_instances_across_three_zones_pass():
    assert statuses(run("PC-WAF-005", [gateway()])) == {"agw1": "PASS"}


def test_autoscale_minimum_of_one_fails():
    low = {"autoscaleConfiguration": {"minCapacity": 1, "maxCapacity": 10}}
    findings = run("PC-WAF-005", [gateway(extra=low)])
    assert statuses(findings) == {"agw1": "FAIL"}
    assert "autoscale minimum 1" in by_name(findings)["agw1"].message


def test_gateway_in_a_single_zone_fails():
    assert statuses(run("PC-WAF-005", [gateway(zones=("1",))])) == {"agw1": "FAIL"}


def test_fixed_capacity_without_autoscale_counts():
    fixed = {
        "autoscaleConfiguration": None,
        "sku": {"name": "WAF_v2", "tier": "WAF_v2", "capacity": 3},
    }
    assert statuses(run("PC-WAF-005", [gateway(extra=fixed)])) == {"agw1": "PASS"}


def test_no_gateway_means_nothing_to_judge_for_availability():
    assert statuses(run("PC-WAF-005", [])) == {"scope": "NOT_APPLICABLE"}
