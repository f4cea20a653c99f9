"""API Management rules on bodies shaped as the REST API specifications' examples show them.

Services as 2018-01-01 (no identity, no publicNetworkAccess) and 2024-05-01 (identity
`SystemAssigned, UserAssigned`, a pending private endpoint connection) return them; policies with
`value` (2024-05-01, with the portal's leading comment) and with `policyContent` (2018-01-01).
"""

from __future__ import annotations

from builders import arm, by_name, child_id, rid, run, statuses

APIM = "Microsoft.ApiManagement/service"
SERVICE_ID = rid(APIM, "apim1")
AOAI_URL = "https://ai1.openai.azure.com/openai"
PORTAL_COMMENT = (
    "<!--\r\n    IMPORTANT:\r\n    - Policy elements can appear only within the <inbound>, "
    "<outbound>, <backend> section elements.\r\n-->\r\n"
)
TOKEN_LIMIT = (
    '<llm-token-limit counter-key="@(context.Subscription.Id)" tokens-per-minute="60000" />'
)
METRIC = (
    '<llm-emit-token-metric namespace="llm"><dimension name="API ID" /></llm-emit-token-metric>'
)
CACHE = '<llm-semantic-cache-lookup score-threshold="0.05" embeddings-backend-id="embed" />'


def service_2024(**props) -> dict:
    properties = {
        "gatewayUrl": "https://apim1.azure-api.net",
        "publicIPAddresses": ["13.92.130.49"],
        "virtualNetworkType": "None",
        "publicNetworkAccess": "Enabled",
        "privateEndpointConnections": [
            {
                "id": f"{SERVICE_ID}/privateEndpointConnections/proxy",
                "type": f"{APIM}/privateEndpointConnections",
                "name": "proxy",
                "properties": {
                    "provisioningState": "Pending",
                    "privateEndpoint": {"id": rid("Microsoft.Network/privateEndpoints", "pe1")},
                    "privateLinkServiceConnectionState": {"status": "Pending"},
                    "groupIds": ["Gateway"],
                },
            }
        ],
        "platformVersion": "stv2",
        **props,
    }
    return arm(
        APIM,
        "apim1",
        sku={"name": "Premium", "capacity": 1},
        identity={
            "type": "SystemAssigned, UserAssigned",
            "principalId": "306205e7-b21a-41bf-92e2-3e28af30041e",
            "userAssignedIdentities": {
                rid("Microsoft.ManagedIdentity/userAssignedIdentities", "gw"): {
                    "principalId": "7137",
                    "clientId": "8d97",
                }
            },
        },
        properties=properties,
    )


def service_2018() -> dict:
    return arm(
        APIM,
        "apim1",
        sku={"name": "Premium", "capacity": 1},
        properties={
            "gatewayUrl": "https://apim1.azure-api.net",
            "publicIPAddresses": ["52.173.22.222"],
            "virtualNetworkType": "None",
        },
    )


def ai_api(policy_properties: dict) -> list[dict]:
    api_id = child_id(SERVICE_ID, "apis", "openai")
    return [
        arm(
            f"{APIM}/apis",
            "openai",
            id=api_id,
            properties={
                "displayName": "Azure OpenAI",
                "apiRevision": "1",
                "serviceUrl": AOAI_URL,
                "path": "openai",
                "protocols": ["https"],
                "isCurrent": True,
                "subscriptionKeyParameterNames": {"header": "api-key", "query": "subscription-key"},
            },
        ),
        arm(
            f"{APIM}/apis/policies",
            "policy",
            id=child_id(api_id, "policies", "policy"),
            properties=policy_properties,
        ),
    ]


def document(inbound: str) -> str:
    return (
        f"{PORTAL_COMMENT}<policies>\r\n  <inbound>\r\n    <base />\r\n    {inbound}\r\n"
        "  </inbound>\r\n  <backend>\r\n    <base />\r\n  </backend>\r\n  <outbound>\r\n"
        "    <base />\r\n  </outbound>\r\n</policies>"
    )


# ---- PC-APIM-001 / PC-APIM-007 ----------------------------------------------------------------


def test_service_of_2024_05_01_is_public_until_its_pending_endpoint_is_approved():
    findings = run("PC-APIM-007", [service_2024()])
    message = by_name(findings)["apim1"].message
    assert statuses(findings) == {"apim1": "FAIL"}
    assert "the gateway is public" in message
    # `SystemAssigned, UserAssigned` (with a space) is a managed identity.
    assert "no managed identity" not in message


def test_service_of_2018_01_01_has_neither_switch_nor_identity():
    findings = run("PC-APIM-007", [service_2018()])
    message = by_name(findings)["apim1"].message
    assert statuses(findings) == {"apim1": "FAIL"}
    assert "the gateway is public" in message and "no managed identity" in message


def test_service_with_its_api_as_the_api_contract_example_has_it_fronts_the_workload():
    findings = run("PC-APIM-001", [service_2024(), *ai_api({"format": "xml", "value": ""})])
    assert statuses(findings) == {"apim1": "PASS"}


# ---- PC-APIM-003 / 004 / 005 on both policy shapes --------------------------------------------


def test_policy_value_with_the_portals_leading_comment_is_read():
    policy = {"format": "xml", "value": document(f"{TOKEN_LIMIT}{METRIC}{CACHE}")}
    for rule_id in ("PC-APIM-003", "PC-APIM-004", "PC-APIM-005"):
        assert statuses(run(rule_id, [service_2024(), *ai_api(policy)])) == {"openai": "PASS"}


def test_policy_content_as_2018_01_01_returns_it_is_read():
    policy = {"policyContent": document(f"{TOKEN_LIMIT}{METRIC}")}
    resources = [service_2018(), *ai_api(policy)]
    assert statuses(run("PC-APIM-003", resources)) == {"openai": "PASS"}
    assert statuses(run("PC-APIM-004", resources)) == {"openai": "PASS"}
    assert statuses(run("PC-APIM-005", resources)) == {"openai": "FAIL"}
