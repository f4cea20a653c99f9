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


BOT_MANAGER = {"ruleSetType": "Microsoft_BotManagerRuleSet", "ruleSetVersion": "1.1"}


def waf_policy(
    name="waf-block",
    mode="Prevention",
    state="Enabled",
    rule_sets=None,
    *,
    exclusions=None,
    exceptions=None,
    custom_rules=None,
    settings=None,
):
    """A WAF policy in the shape of the 2024-05-01 GET body (WafPolicyGet)."""
    sets = rule_sets or [
        {"ruleSetType": "Microsoft_DefaultRuleSet", "ruleSetVersion": "2.1"},
        BOT_MANAGER,
    ]
    managed: dict = {"managedRuleSets": sets}
    if exclusions is not None:
        managed["exclusions"] = exclusions
    if exceptions is not None:
        managed["exceptions"] = exceptions
    policy_settings = {
        "state": state,
        "mode": mode,
        "requestBodyCheck": True,
        "maxRequestBodySizeInKb": 128,
        **(settings or {}),
    }
    return arm(
        WAF,
        name,
        properties={
            "policySettings": policy_settings,
            "managedRules": managed,
            "customRules": custom_rules or [],
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
    current = waf_policy(rule_sets=[{"ruleSetType": "OWASP", "ruleSetVersion": "3.2"}, BOT_MANAGER])
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


# ---- PC-WAF-002: what the policy's content lets through ----------------------------------------

SQLI = "REQUEST-942-APPLICATION-ATTACK-SQLI"
OWASP_32 = {"ruleSetType": "OWASP", "ruleSetVersion": "3.2"}


def owasp_with_overrides(*groups):
    return [{**OWASP_32, "ruleGroupOverrides": list(groups)}, BOT_MANAGER]


def waf_message(policy, **params):
    findings = run("PC-WAF-002", [gateway(), policy], params or None)
    return by_name(findings)["agw1"]


def test_override_listing_a_rule_without_state_disables_it_as_api_2020_05_01_reads():
    policy = waf_policy(
        rule_sets=owasp_with_overrides(
            {"ruleGroupName": SQLI, "rules": [{"ruleId": "942100"}, {"ruleId": "942110"}]}
        )
    )
    finding = waf_message(policy)
    assert finding.status.value == "FAIL"
    assert "disables OWASP 3.2 REQUEST-942-APPLICATION-ATTACK-SQLI rule(s) 942100, 942110" in (
        finding.message
    )


def test_injection_rule_overridden_to_log_only_fails_naming_the_rule():
    policy = waf_policy(
        rule_sets=owasp_with_overrides(
            {
                "ruleGroupName": "REQUEST-932-APPLICATION-ATTACK-RCE",
                "rules": [
                    {"ruleId": "932100", "state": "Enabled", "action": "Log"},
                    {"ruleId": "932105", "state": "Enabled", "action": "AnomalyScoring"},
                ],
            }
        )
    )
    finding = waf_message(policy)
    assert finding.status.value == "FAIL"
    assert "932100 (Log)" in finding.message
    assert "932105" not in finding.message


def test_group_override_without_rules_disables_the_whole_group():
    policy = waf_policy(
        rule_sets=owasp_with_overrides({"ruleGroupName": "REQUEST-941-APPLICATION-ATTACK-XSS"})
    )
    finding = waf_message(policy)
    assert finding.status.value == "FAIL"
    assert "disables every rule of OWASP 3.2 group REQUEST-941" in finding.message


def test_disabling_a_rule_outside_the_attack_groups_passes():
    policy = waf_policy(
        rule_sets=owasp_with_overrides(
            {"ruleGroupName": "REQUEST-920-PROTOCOL-ENFORCEMENT", "rules": [{"ruleId": "920300"}]}
        )
    )
    assert waf_message(policy).status.value == "PASS"


def test_accepted_rule_id_lets_its_override_pass():
    policy = waf_policy(
        rule_sets=owasp_with_overrides(
            {"ruleGroupName": SQLI, "rules": [{"ruleId": "942430", "state": "Disabled"}]}
        )
    )
    assert waf_message(policy).status.value == "FAIL"
    assert waf_message(policy, accepted_exclusions=["942430"]).status.value == "PASS"


def test_default_rule_set_override_in_newer_group_names_is_judged_too():
    policy = waf_policy(
        rule_sets=[
            {
                "ruleSetType": "Microsoft_DefaultRuleSet",
                "ruleSetVersion": "2.1",
                "ruleGroupOverrides": [
                    {
                        "ruleGroupName": "MS-ThreatIntel-SQLI",
                        "rules": [{"ruleId": "99031001", "state": "Disabled", "action": "Block"}],
                    }
                ],
            },
            BOT_MANAGER,
        ]
    )
    assert "99031001" in waf_message(policy).message


def test_exclusion_of_every_argument_fails():
    policy = waf_policy(
        exclusions=[
            {
                "matchVariable": "RequestArgNames",
                "selectorMatchOperator": "EqualsAny",
                "selector": "*",
                "exclusionManagedRuleSets": [{**OWASP_32, "ruleGroups": [{"ruleGroupName": SQLI}]}],
            }
        ]
    )
    finding = waf_message(policy)
    assert finding.status.value == "FAIL"
    assert "excludes every RequestArgNames" in finding.message


def test_global_exclusion_of_api_2020_applies_to_every_rule_set_and_fails():
    policy = waf_policy(
        exclusions=[
            {
                "matchVariable": "RequestHeaderNames",
                "selectorMatchOperator": "Equals",
                "selector": "x-session-token",
            }
        ]
    )
    finding = waf_message(policy)
    assert finding.status.value == "FAIL"
    assert "every managed rule set" in finding.message
    accepted = waf_message(policy, accepted_exclusions=["x-session-token"])
    assert accepted.status.value == "PASS"


def test_exclusion_of_one_argument_from_named_rules_passes():
    policy = waf_policy(
        exclusions=[
            {
                "matchVariable": "RequestArgNames",
                "selectorMatchOperator": "Equals",
                "selector": "transcript",
                "exclusionManagedRuleSets": [
                    {
                        **OWASP_32,
                        "ruleGroups": [
                            {
                                "ruleGroupName": "REQUEST-930-APPLICATION-ATTACK-LFI",
                                "rules": [{"ruleId": "930120"}],
                            },
                            {"ruleGroupName": "REQUEST-932-APPLICATION-ATTACK-RCE"},
                        ],
                    }
                ],
            }
        ]
    )
    assert waf_message(policy).status.value == "PASS"


def test_exclusion_listing_a_rule_set_without_groups_covers_the_whole_set():
    policy = waf_policy(
        exclusions=[
            {
                "matchVariable": "RequestCookieNames",
                "selectorMatchOperator": "StartsWith",
                "selector": "ai_",
                "exclusionManagedRuleSets": [{**OWASP_32, "ruleGroups": []}],
            }
        ]
    )
    assert "the whole OWASP 3.2 rule set" in waf_message(policy).message


def test_exception_on_a_uri_an_attacker_can_type_fails():
    policy = waf_policy(
        exceptions=[
            {
                "matchVariable": "RequestURI",
                "valueMatchOperator": "Contains",
                "values": ["health"],
                "exceptionManagedRuleSets": [OWASP_32],
            }
        ]
    )
    finding = waf_message(policy)
    assert finding.status.value == "FAIL"
    assert "skips the whole OWASP 3.2 rule set for any request whose RequestURI" in (
        finding.message
    )


def test_exception_on_a_header_for_an_injection_group_fails_and_can_be_accepted():
    policy = waf_policy(
        exceptions=[
            {
                "matchVariable": "RequestHeader",
                "selectorMatchOperator": "Equals",
                "selector": "User-Agent",
                "valueMatchOperator": "Contains",
                "values": ["synthetic-monitor"],
                "exceptionManagedRuleSets": [{**OWASP_32, "ruleGroups": [{"ruleGroupName": SQLI}]}],
            }
        ]
    )
    assert waf_message(policy).status.value == "FAIL"
    assert waf_message(policy, accepted_exclusions=[SQLI.lower()]).status.value == "PASS"


def test_exception_for_a_source_address_passes():
    policy = waf_policy(
        exceptions=[
            {
                "matchVariable": "RemoteAddr",
                "valueMatchOperator": "IPMatch",
                "values": ["10.20.0.0/24"],
                "exceptionManagedRuleSets": [OWASP_32],
            }
        ]
    )
    assert waf_message(policy).status.value == "PASS"


def custom(name, action, *conditions, **extra):
    return {
        "name": name,
        "priority": 5,
        "ruleType": "MatchRule",
        "action": action,
        "matchConditions": list(conditions),
        **extra,
    }


def condition(variable, operator, *values, selector=None, negate=False):
    return {
        "matchVariables": [{"variableName": variable, "selector": selector}],
        "operator": operator,
        "negationConditon": negate,
        "matchValues": list(values),
    }


def test_allow_rule_on_a_query_string_skips_managed_rules_and_fails():
    policy = waf_policy(
        custom_rules=[custom("AllowDebug", "Allow", condition("QueryString", "Contains", "debug"))]
    )
    finding = waf_message(policy)
    assert finding.status.value == "FAIL"
    assert "custom rule AllowDebug allows requests matched on QueryString" in finding.message


def test_allow_rule_on_a_forwarded_for_header_fails_because_the_client_sends_it():
    policy = waf_policy(
        custom_rules=[
            custom(
                "AllowOffice",
                "Allow",
                condition("RequestHeaders", "IPMatch", "10.0.0.0/8", selector="X-Forwarded-For"),
            )
        ]
    )
    assert "RequestHeaders X-Forwarded-For" in waf_message(policy).message


def test_allow_rule_pinned_to_a_source_address_passes():
    policy = waf_policy(
        custom_rules=[
            custom(
                "AllowProbe",
                "Allow",
                condition("RemoteAddr", "IPMatch", "10.20.0.0/24"),
                condition("RequestUri", "BeginsWith", "/health"),
            )
        ]
    )
    assert waf_message(policy).status.value == "PASS"


def test_allow_rule_with_a_negated_address_match_is_not_pinned():
    policy = waf_policy(
        custom_rules=[
            custom(
                "AllowAllButOne",
                "Allow",
                condition("RemoteAddr", "IPMatch", "1.2.3.4", negate=True),
            )
        ]
    )
    assert waf_message(policy).status.value == "FAIL"


def test_disabled_allow_rule_is_ignored():
    policy = waf_policy(
        custom_rules=[
            custom("Old", "Allow", condition("QueryString", "Contains", "x"), state="Disabled")
        ]
    )
    assert waf_message(policy).status.value == "PASS"


def test_rate_limit_rule_is_noted_in_the_message():
    rate_limit = custom(
        "PerClient",
        "Block",
        condition("RequestUri", "BeginsWith", "/api/"),
        ruleType="RateLimitRule",
        rateLimitDuration="OneMin",
        rateLimitThreshold=600,
        groupByUserSession=[{"groupByVariables": [{"variableName": "ClientAddr"}]}],
    )
    finding = waf_message(waf_policy(custom_rules=[rate_limit]))
    assert finding.status.value == "PASS"
    assert "rate-limit rule PerClient: 600 request(s) per OneMin" in finding.message


def test_policy_without_bot_manager_fails_unless_the_team_opts_out():
    policy = waf_policy(rule_sets=[OWASP_32])
    assert "Microsoft_BotManagerRuleSet" in waf_message(policy).message
    assert waf_message(policy, require_bot_manager=False).status.value == "PASS"


def test_policy_that_does_not_inspect_bodies_fails():
    policy = waf_policy(settings={"requestBodyCheck": False})
    assert "does not inspect request bodies" in waf_message(policy).message
    assert waf_message(policy, require_request_body_check=False).status.value == "PASS"


def test_body_enforcement_off_lets_oversized_bodies_through():
    policy = waf_policy(settings={"requestBodyEnforcement": False})
    assert "larger than 128 KB" in waf_message(policy).message


def test_inspect_limit_below_the_accepted_body_size_fails():
    policy = waf_policy(
        settings={"maxRequestBodySizeInKb": 2000, "requestBodyInspectLimitInKB": 128}
    )
    assert "inspects 128 KB of bodies it accepts up to 2000 KB" in waf_message(policy).message


def test_path_rule_policy_content_is_judged_for_its_path():
    path_map = {
        "name": "paths",
        "id": sub("urlPathMaps", "paths"),
        "properties": {
            "pathRules": [
                {
                    "name": "api",
                    "id": sub("urlPathMaps", "paths") + "/pathRules/api",
                    "properties": {
                        "paths": ["/api/*"],
                        "firewallPolicy": {"id": rid(WAF, "waf-api")},
                    },
                }
            ]
        },
    }
    leaky = waf_policy(
        "waf-api",
        custom_rules=[custom("AllowApi", "Allow", condition("RequestUri", "BeginsWith", "/api"))],
    )
    findings = run("PC-WAF-002", [gateway(extra={"urlPathMaps": [path_map]}), waf_policy(), leaky])
    finding = by_name(findings)["agw1"]
    assert finding.status.value == "FAIL"
    assert "custom rule AllowApi" in finding.message
    assert "(bound to path rule api)" in finding.message


def test_hostile_shapes_in_policy_content_do_not_crash_the_rule():
    policy = waf_policy(
        rule_sets=[
            {**OWASP_32, "ruleGroupOverrides": ["x", {"ruleGroupName": SQLI, "rules": "all"}]},
            BOT_MANAGER,
        ],
        exclusions=[None, {"exclusionManagedRuleSets": "x"}],
        exceptions=[{"matchVariable": "RequestURI", "values": None}],
        custom_rules=[{"action": "Allow", "matchConditions": None}],
        settings={"requestBodyInspectLimitInKB": True},
    )
    assert waf_message(policy).status.value == "FAIL"


def test_legacy_inline_configuration_disabling_an_injection_group_fails():
    legacy = {
        "enabled": True,
        "firewallMode": "Prevention",
        "ruleSetType": "OWASP",
        "ruleSetVersion": "3.2",
        "disabledRuleGroups": [{"ruleGroupName": SQLI, "rules": [942100]}],
    }
    findings = run(
        "PC-WAF-002", [gateway(policy=None, extra={"webApplicationFirewallConfiguration": legacy})]
    )
    assert "disables REQUEST-942-APPLICATION-ATTACK-SQLI rule(s) 942100" in (
        by_name(findings)["agw1"].message
    )


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


def test_hardened_demo_narrow_exclusion_passes_the_content_checks():
    import json
    from pathlib import Path

    demo = Path(__file__).resolve().parents[1] / "src/prodcheck/demos/hardened.json"
    resources = json.loads(demo.read_text(encoding="utf-8"))["resources"]
    policy = next(r for r in resources if r["type"] == WAF)
    assert policy["properties"]["managedRules"]["exclusions"][0]["selector"] == "transcript"
    assert {f.status.value for f in run("PC-WAF-002", resources)} == {"PASS"}
