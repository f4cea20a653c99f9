"""PC-WAF-001, 003, 004 and 005 on an Application Gateway shaped as the 2025-05-01 GET example.

The example's gateway: a v1 `Standard_Medium` SKU with a fixed capacity of 3 and no zones, an
HTTPS listener whose certificate is uploaded (`publicCertData`, no Key Vault secret) and whose
SSL profile allows TLS 1.1, a plain HTTP listener routed by path, backend addresses as plain
strings, backend settings without a probe and an empty `probes` list.
"""

from __future__ import annotations

from builders import arm, by_name, rid, run, statuses

GW = rid("Microsoft.Network/applicationGateways", "appgw")


def sub(kind: str, name: str) -> dict:
    return {"id": f"{GW}/{kind}/{name}"}


def example_gateway(**overrides) -> dict:
    properties = {
        "provisioningState": "Succeeded",
        "sku": {"name": "Standard_Medium", "tier": "Standard", "capacity": 3},
        "operationalState": "Running",
        "sslCertificates": [
            {
                "name": "sslcert",
                "id": f"{GW}/sslCertificates/sslcert",
                "properties": {"provisioningState": "Succeeded", "publicCertData": "*****"},
            }
        ],
        "frontendPorts": [
            {"name": "appgwfp", "id": f"{GW}/frontendPorts/appgwfp", "properties": {"port": 443}},
            {
                "name": "appgwfp80",
                "id": f"{GW}/frontendPorts/appgwfp80",
                "properties": {"port": 80},
            },
        ],
        "backendAddressPools": [
            {
                "name": "appgwpool",
                "id": f"{GW}/backendAddressPools/appgwpool",
                "properties": {"backendAddresses": ["10.0.0.1", "10.0.0.2"]},
            }
        ],
        "backendHttpSettingsCollection": [
            {
                "name": "appgwbhs",
                "id": f"{GW}/backendHttpSettingsCollection/appgwbhs",
                "properties": {
                    "port": 80,
                    "protocol": "Http",
                    "cookieBasedAffinity": "Disabled",
                    "requestTimeout": 30,
                },
            }
        ],
        "sslProfiles": [
            {
                "name": "sslProfile1",
                "id": f"{GW}/sslProfiles/sslProfile1",
                "properties": {
                    "sslPolicy": {
                        "policyType": "Custom",
                        "minProtocolVersion": "TLSv1_1",
                        "cipherSuites": ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256"],
                    }
                },
            }
        ],
        "httpListeners": [
            {
                "name": "appgwhl",
                "id": f"{GW}/httpListeners/appgwhl",
                "properties": {
                    "frontendPort": sub("frontendPorts", "appgwfp"),
                    "protocol": "Https",
                    "sslCertificate": sub("sslCertificates", "sslcert"),
                    "sslProfile": sub("sslProfiles", "sslProfile1"),
                    "requireServerNameIndication": False,
                },
            },
            {
                "name": "appgwhttplistener",
                "id": f"{GW}/httpListeners/appgwhttplistener",
                "properties": {
                    "frontendPort": sub("frontendPorts", "appgwfp80"),
                    "protocol": "Http",
                },
            },
        ],
        "urlPathMaps": [
            {
                "name": "pathMap1",
                "id": f"{GW}/urlPathMaps/pathMap1",
                "properties": {
                    "defaultBackendAddressPool": sub("backendAddressPools", "appgwpool"),
                    "defaultBackendHttpSettings": sub("backendHttpSettingsCollection", "appgwbhs"),
                    "pathRules": [],
                },
            }
        ],
        "requestRoutingRules": [
            {
                "name": "appgwrule",
                "id": f"{GW}/requestRoutingRules/appgwrule",
                "properties": {
                    "ruleType": "Basic",
                    "priority": 10,
                    "httpListener": sub("httpListeners", "appgwhl"),
                    "backendAddressPool": sub("backendAddressPools", "appgwpool"),
                    "backendHttpSettings": sub("backendHttpSettingsCollection", "appgwbhs"),
                },
            },
            {
                "name": "appgwPathBasedRule",
                "id": f"{GW}/requestRoutingRules/appgwPathBasedRule",
                "properties": {
                    "ruleType": "PathBasedRouting",
                    "priority": 20,
                    "httpListener": sub("httpListeners", "appgwhttplistener"),
                    "urlPathMap": sub("urlPathMaps", "pathMap1"),
                },
            },
        ],
        "probes": [],
    }
    properties.update(overrides)
    return arm("Microsoft.Network/applicationGateways", "appgw", properties=properties)


def test_the_examples_v1_sku_is_retired():
    findings = run("PC-WAF-001", [example_gateway()])
    assert statuses(findings) == {"appgw": "FAIL"}
    assert "retired v1" in findings[0].message


def test_the_examples_listeners_fail_on_certificate_profile_and_plain_http():
    findings = run("PC-WAF-003", [example_gateway()])
    message = by_name(findings)["appgw"].message
    assert statuses(findings) == {"appgw": "FAIL"}
    assert "not referenced from Key Vault" in message
    assert "sslProfile1" in message
    assert "appgwhttplistener serves plain HTTP" in message


def test_backend_settings_without_a_probe_and_an_empty_probe_list_fail():
    findings = run("PC-WAF-004", [example_gateway()])
    assert statuses(findings) == {"appgw": "FAIL"}
    assert "appgwbhs uses the default probe" in findings[0].message


def test_fixed_capacity_without_zones_fails_on_zones_only():
    findings = run("PC-WAF-005", [example_gateway()])
    assert statuses(findings) == {"appgw": "FAIL"}
    assert findings[0].message == "0 availability zone(s) (< 2)"
