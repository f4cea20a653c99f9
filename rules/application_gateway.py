"""Application Gateway with WAF — "Application Gateway with WAF deployed".

The ingress point for HTTP and WebSocket traffic is a WAF_v2 Application Gateway whose firewall
blocks (not only logs), which terminates TLS with Key Vault certificates and a modern policy,
watches its backends with real health probes, and survives the loss of an instance or a zone.
"""

from __future__ import annotations

from prodcheck import Severity, rule
from prodcheck.arm import ArmId, norm

CHECKLIST = "Application Gateway with WAF deployed"
GATEWAY = "Microsoft.Network/applicationGateways"
WAF_POLICY = "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies"

_RETIRED_V1 = {"standard", "waf"}


def _lower(value) -> str:
    return str(value or "").strip().lower()


def _tier(gateway) -> str:
    return str(gateway.get("properties.sku.tier") or gateway.get("properties.sku.name") or "")


def _items(gateway, collection: str) -> list[dict]:
    return [i for i in gateway.get(f"properties.{collection}", []) or [] if isinstance(i, dict)]


def _ref(item: dict, key: str) -> str:
    return str(((item.get("properties") or {}).get(key) or {}).get("id", "") or "")


def _find(gateway, collection: str, ref_id: str) -> dict | None:
    if not ref_id:
        return None
    for item in _items(gateway, collection):
        if norm(item.get("id")) == norm(ref_id):
            return item
    name = ArmId.parse(ref_id).name.lower()
    return next((i for i in _items(gateway, collection) if _lower(i.get("name")) == name), None)


def _rules_of(gateway, listener: dict) -> list[dict]:
    return [
        r
        for r in _items(gateway, "requestRoutingRules")
        if norm(_ref(r, "httpListener")) == norm(listener.get("id"))
        or (
            not listener.get("id")
            and ArmId.parse(_ref(r, "httpListener")).name == listener.get("name")
        )
    ]


def _redirect_target_is_https(gateway, redirect: dict | None) -> bool:
    if redirect is None:
        return False
    props = redirect.get("properties") or {}
    target_url = str(props.get("targetUrl", "") or "")
    if target_url:
        return target_url.lower().startswith("https://")
    target = _find(gateway, "httpListeners", _ref(redirect, "targetListener"))
    return (
        target is not None and _lower((target.get("properties") or {}).get("protocol")) == "https"
    )


def _redirects_only(gateway, listener: dict) -> bool:
    """Whether every routing rule of the listener is a redirect (it serves no backend)."""
    rules = _rules_of(gateway, listener)
    return bool(rules) and all(
        _ref(r, "redirectConfiguration")
        and not _ref(r, "urlPathMap")
        and not _ref(r, "backendAddressPool")
        for r in rules
    )


def _version(text) -> tuple[int, ...]:
    parts = []
    for piece in str(text or "").split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _rule_set_ok(rule_type: str, version: str, p) -> bool:
    minimum = {
        "owasp": p.min_owasp_version,
        "microsoft_defaultruleset": p.min_default_rule_set_version,
    }
    wanted = minimum.get(_lower(rule_type))
    return wanted is not None and _version(version) >= _version(wanted)


# ---- 1. a WAF gateway exists --------------------------------------------------------------------


@rule(
    id="PC-WAF-001",
    title="A WAF_v2 Application Gateway is the ingress point",
    checklist=CHECKLIST,
    severity=Severity.HIGH,
    needs=[GATEWAY],
    rationale=(
        "Without a web application firewall in front, every HTTP and WebSocket endpoint of the "
        "workload faces the internet's injection and bot traffic on its own."
    ),
    remediation=(
        "Deploy an Application Gateway with sku WAF_v2 in front of the workload (az network "
        "application-gateway create --sku WAF_v2 --waf-policy <policy id> ...); v1 gateways "
        "are retired: migrate them to v2"
    ),
    links=[
        "https://learn.microsoft.com/azure/web-application-firewall/ag/ag-overview",
        "https://learn.microsoft.com/azure/application-gateway/v1-retirement",
    ],
)
def waf_gateway_exists(inv, p):
    """
    ## What it checks
    The audited scope has at least one Application Gateway whose SKU tier is `WAF_v2`. None at
    all is a FAIL reported at the scope. A `Standard_v2` gateway fails (no firewall), and the
    retired v1 SKUs (`Standard`, `WAF`) fail.

    ## Example
    Fails: no `Microsoft.Network/applicationGateways` in scope, or
    ```json
    {"type": "Microsoft.Network/applicationGateways",
     "properties": {"sku": {"name": "Standard_v2", "tier": "Standard_v2"}}}
    ```
    Passes:
    ```json
    {"type": "Microsoft.Network/applicationGateways",
     "properties": {"sku": {"name": "WAF_v2", "tier": "WAF_v2"}}}
    ```
    """
    gateways = inv.of_type(GATEWAY)
    if not gateways:
        yield inv.scope.fail(
            "no Application Gateway in scope: HTTP and WebSocket traffic reaches the workload "
            "without a web application firewall"
        )
        return
    for gateway in gateways:
        tier = _tier(gateway)
        evidence = gateway.evidence("properties.sku.name", "properties.sku.tier")
        if _lower(tier) == "waf_v2":
            yield gateway.ok("SKU tier WAF_v2", evidence=evidence)
        elif _lower(tier) in _RETIRED_V1:
            yield gateway.fail(
                f"SKU tier {tier} is a retired v1 gateway: migrate to WAF_v2", evidence=evidence
            )
        else:
            yield gateway.fail(
                f"SKU tier {tier or 'unknown'} has no web application firewall", evidence=evidence
            )


# ---- 2. the WAF blocks --------------------------------------------------------------------------


def _policy_problems(policy, p) -> list[str]:
    problems = []
    state = policy.get("properties.policySettings.state")
    mode = policy.get("properties.policySettings.mode")
    if _lower(state) != "enabled":
        problems.append(f"policy {policy.name} is {state or 'not enabled'}")
    if _lower(mode) != "prevention":
        problems.append(
            f"policy {policy.name} is in {mode or 'no'} mode: it logs attacks, it does not block them"
        )
    sets = policy.get("properties.managedRules.managedRuleSets", []) or []
    if not any(
        _rule_set_ok(s.get("ruleSetType", ""), s.get("ruleSetVersion", ""), p) for s in sets
    ):
        found = (
            ", ".join(f"{s.get('ruleSetType')} {s.get('ruleSetVersion')}" for s in sets) or "none"
        )
        problems.append(
            f"policy {policy.name} has managed rule sets {found} (needs OWASP "
            f"{p.min_owasp_version}+ or Microsoft_DefaultRuleSet {p.min_default_rule_set_version}+)"
        )
    return problems


@rule(
    id="PC-WAF-002",
    title="The web application firewall blocks, with a current rule set",
    checklist=CHECKLIST,
    severity=Severity.HIGH,
    needs=[GATEWAY, WAF_POLICY],
    params={"min_owasp_version": "3.2", "min_default_rule_set_version": "2.1"},
    rationale=(
        "A WAF in Detection mode writes attacks to a log and lets them through; an old rule set "
        "misses the attacks it was never taught."
    ),
    remediation=(
        "az network application-gateway waf-policy policy-setting update -g {resource_group} "
        "--policy-name <policy> --state Enabled --mode Prevention; add the managed rule set "
        "Microsoft_DefaultRuleSet 2.1 (az network application-gateway waf-policy managed-rule "
        "rule-set add --type Microsoft_DefaultRuleSet --version 2.1)"
    ),
    links=[
        "https://learn.microsoft.com/azure/web-application-firewall/ag/policy-overview",
        "https://learn.microsoft.com/azure/web-application-firewall/ag/migrate-policy",
    ],
)
def waf_blocks(inv, p):
    """
    ## What it checks
    Every listener of every Application Gateway that serves traffic (HTTP listeners that only
    redirect are skipped) is protected by an `ApplicationGatewayWebApplicationFirewallPolicies`
    policy with `policySettings.state: Enabled`, `policySettings.mode: Prevention` and a managed
    rule set of at least OWASP `min_owasp_version` or Microsoft_DefaultRuleSet
    `min_default_rule_set_version`. The policy is the listener's own (`firewallPolicy` on the
    listener, which overrides the gateway's) or else the gateway's; a path rule with its own
    policy is checked too. Detection mode fails: it logs, it does not block.

    A gateway with no policy may still use the legacy inline `webApplicationFirewallConfiguration`:
    it counts only if `enabled` and in `Prevention` mode with a current rule set, and the message
    says to migrate to a WAF policy.

    ## Example
    Fails (the gateway's policy blocks, but the listener overrides it with one in Detection mode):
    ```json
    {"httpListeners": [{"name": "public", "properties": {"protocol": "Https",
      "firewallPolicy": {"id": ".../ApplicationGatewayWebApplicationFirewallPolicies/waf-detect"}}}]}
    ```
    Passes: every listener's policy has
    ```json
    {"policySettings": {"state": "Enabled", "mode": "Prevention"},
     "managedRules": {"managedRuleSets": [{"ruleSetType": "Microsoft_DefaultRuleSet", "ruleSetVersion": "2.1"}]}}
    ```
    """
    for gateway in inv.of_type(GATEWAY):
        if _lower(_tier(gateway)) not in ("waf_v2", "waf"):
            yield gateway.fail(
                f"SKU tier {_tier(gateway) or 'unknown'} has no web application firewall",
                evidence=gateway.evidence("properties.sku.tier"),
            )
            continue
        gateway_policy = str(gateway.get("properties.firewallPolicy.id", "") or "")
        bindings: dict[str, list[str]] = {}  # policy id ("" = none) -> where it applies
        for listener in _items(gateway, "httpListeners"):
            if _redirects_only(gateway, listener):
                continue
            policy_id = _ref(listener, "firewallPolicy") or gateway_policy
            bindings.setdefault(policy_id, []).append(f"listener {listener.get('name')}")
        for path_map in _items(gateway, "urlPathMaps"):
            for path_rule in (path_map.get("properties") or {}).get("pathRules", []) or []:
                policy_id = _ref(path_rule, "firewallPolicy")
                if policy_id:
                    bindings.setdefault(policy_id, []).append(f"path rule {path_rule.get('name')}")
        if not bindings and gateway_policy:
            bindings[gateway_policy] = ["the gateway"]
        problems, notes, unknown = [], [], []
        for policy_id, where in bindings.items():
            if not policy_id:
                legacy = gateway.get("properties.webApplicationFirewallConfiguration")
                problems += _legacy_problems(legacy, where, p)
                if legacy and not _legacy_problems(legacy, where, p):
                    notes.append(
                        f"{', '.join(where)} use the legacy inline WAF configuration (enabled, "
                        "Prevention): migrate it to a WAF policy, the inline configuration is retired"
                    )
                continue
            policy = inv.get(policy_id)
            if policy is None:
                unknown.append(f"{ArmId.parse(policy_id).name} (bound to {', '.join(where)})")
                continue
            for problem in _policy_problems(policy, p):
                problems.append(f"{problem} (bound to {', '.join(where)})")
            if not _policy_problems(policy, p):
                notes.append(f"{', '.join(where)}: policy {policy.name} enabled in Prevention mode")
        evidence = {"bindings": {k or "inline configuration": v for k, v in bindings.items()}}
        if problems:
            yield gateway.fail(*problems, evidence=evidence)
        elif unknown:
            yield gateway.error(
                f"WAF policy {', '.join(unknown)} is not in the inventory: audit its resource group too",
                evidence=evidence,
            )
        elif not bindings:
            yield gateway.fail("no listener serves traffic through a WAF policy", evidence=evidence)
        else:
            yield gateway.ok(*notes, evidence=evidence)


def _legacy_problems(legacy, where: list[str], p) -> list[str]:
    on = ", ".join(where)
    if not isinstance(legacy, dict) or not legacy:
        return [f"{on}: no WAF policy and no WAF configuration"]
    problems = []
    if legacy.get("enabled") is not True:
        problems.append(f"{on}: no WAF policy, and the inline WAF configuration is disabled")
    if _lower(legacy.get("firewallMode")) != "prevention":
        problems.append(
            f"{on}: the inline WAF configuration is in {legacy.get('firewallMode') or 'no'} mode: "
            "it logs attacks, it does not block them"
        )
    if not _rule_set_ok(legacy.get("ruleSetType", ""), legacy.get("ruleSetVersion", ""), p):
        problems.append(
            f"{on}: the inline WAF configuration uses {legacy.get('ruleSetType')} "
            f"{legacy.get('ruleSetVersion')} (needs OWASP {p.min_owasp_version}+)"
        )
    return problems


# ---- 3. TLS --------------------------------------------------------------------------------------


def _ssl_policy_problem(policy: dict | None, default_policy: str, where: str, p) -> str:
    allowed = {x.lower() for x in p.allowed_predefined_policies}
    if not policy:
        if _lower(default_policy) in allowed:
            return ""
        return (
            f"{where} sets no SSL policy, and the default ({default_policy or 'unknown'}) may "
            "allow TLS 1.0: set a 2022 predefined policy"
        )
    policy_type = _lower(policy.get("policyType"))
    name = str(policy.get("policyName", "") or "")
    if policy_type == "predefined" or (not policy_type and name):
        if _lower(name) in allowed:
            return ""
        return (
            f"{where} uses SSL policy {name}, not one of {', '.join(p.allowed_predefined_policies)}"
        )
    minimum = str(policy.get("minProtocolVersion", "") or "")
    if _version(minimum.replace("TLSv", "").replace("_", ".")) >= (1, 2):
        return ""
    return f"{where} uses a custom SSL policy with minimum protocol {minimum or 'unset'} (needs TLSv1_2+)"


@rule(
    id="PC-WAF-003",
    title="TLS terminates at the gateway with Key Vault certificates and TLS 1.2+",
    checklist=CHECKLIST,
    severity=Severity.HIGH,
    needs=[GATEWAY],
    params={"allowed_predefined_policies": ["AppGwSslPolicy20220101", "AppGwSslPolicy20220101S"]},
    rationale=(
        "Plain HTTP listeners expose session tokens and audio streams; certificates uploaded to "
        "the gateway expire unnoticed; TLS 1.0 and 1.1 are broken."
    ),
    remediation=(
        "az network application-gateway ssl-policy set -g {resource_group} --gateway-name {name} "
        "--policy-type Predefined --name AppGwSslPolicy20220101S; reference certificates with "
        "az network application-gateway ssl-cert create --key-vault-secret-id <secret id>; "
        "make HTTP listeners redirect to HTTPS (az network application-gateway redirect-config create "
        "--type Permanent --target-listener <https listener>)"
    ),
    links=[
        "https://learn.microsoft.com/azure/application-gateway/application-gateway-ssl-policy-overview",
        "https://learn.microsoft.com/azure/application-gateway/key-vault-certs",
    ],
)
def tls_at_gateway(inv, p):
    """
    ## What it checks
    For every Application Gateway:

    - every listener is `Https`, or an `Http` listener whose routing rules only redirect to an
      HTTPS listener (or an `https://` URL), and at least one listener is HTTPS;
    - every certificate an HTTPS listener uses comes from Key Vault (`keyVaultSecretId`);
    - the SSL policy (the gateway's `sslPolicy`, and any SSL profile a listener uses) is one of
      `allowed_predefined_policies` (the 2022 predefined policies), or a `Custom`/`CustomV2`
      policy with `minProtocolVersion` `TLSv1_2` or newer. A gateway without `sslPolicy` passes
      only when its `defaultPredefinedSslPolicy` is an allowed one.

    ## Example
    Fails:
    ```json
    {"httpListeners": [{"name": "http", "properties": {"protocol": "Http"}}],
     "sslPolicy": {"policyType": "Predefined", "policyName": "AppGwSslPolicy20150501"}}
    ```
    Passes:
    ```json
    {"httpListeners": [{"name": "https", "properties": {"protocol": "Https",
       "sslCertificate": {"id": ".../sslCertificates/site"}}}],
     "sslCertificates": [{"name": "site", "properties": {"keyVaultSecretId": "https://kv.vault.azure.net/secrets/site"}}],
     "sslPolicy": {"policyType": "Predefined", "policyName": "AppGwSslPolicy20220101S"}}
    ```
    """
    for gateway in inv.of_type(GATEWAY):
        problems = []
        https = 0
        default_policy = str(gateway.get("properties.defaultPredefinedSslPolicy", "") or "")
        for listener in _items(gateway, "httpListeners"):
            props = listener.get("properties") or {}
            name = listener.get("name")
            if _lower(props.get("protocol")) == "https":
                https += 1
                cert = _find(gateway, "sslCertificates", _ref(listener, "sslCertificate"))
                if cert is None:
                    problems.append(f"HTTPS listener {name} names no certificate in the gateway")
                elif not (cert.get("properties") or {}).get("keyVaultSecretId"):
                    problems.append(
                        f"certificate {cert.get('name')} of listener {name} is uploaded to the "
                        "gateway, not referenced from Key Vault"
                    )
                profile = _find(gateway, "sslProfiles", _ref(listener, "sslProfile"))
                if profile is not None:
                    problem = _ssl_policy_problem(
                        (profile.get("properties") or {}).get("sslPolicy"),
                        default_policy,
                        f"SSL profile {profile.get('name')} of listener {name}",
                        p,
                    )
                    if problem:
                        problems.append(problem)
                continue
            rules = _rules_of(gateway, listener)
            redirects = [
                _find(gateway, "redirectConfigurations", _ref(r, "redirectConfiguration"))
                for r in rules
            ]
            if not rules:
                continue  # a listener no rule uses serves nothing
            if not _redirects_only(gateway, listener) or not all(
                _redirect_target_is_https(gateway, r) for r in redirects
            ):
                problems.append(
                    f"listener {name} serves plain HTTP instead of redirecting to HTTPS"
                )
        if https == 0:
            problems.append("no HTTPS listener: TLS does not terminate at the gateway")
        problem = _ssl_policy_problem(
            gateway.get("properties.sslPolicy"), default_policy, "the gateway", p
        )
        if problem:
            problems.append(problem)
        evidence = gateway.evidence("properties.sslPolicy", "properties.defaultPredefinedSslPolicy")
        evidence["listeners"] = {
            str(li.get("name")): (li.get("properties") or {}).get("protocol")
            for li in _items(gateway, "httpListeners")
        }
        if problems:
            yield gateway.fail(*problems, evidence=evidence)
        else:
            yield gateway.ok(
                f"{https} HTTPS listener(s) with Key Vault certificates, HTTP only redirects, "
                "TLS 1.2+ policy",
                evidence=evidence,
            )


# ---- 4. health probes ----------------------------------------------------------------------------


@rule(
    id="PC-WAF-004",
    title="Every backend setting uses a custom health probe",
    checklist=CHECKLIST,
    severity=Severity.MEDIUM,
    needs=[GATEWAY],
    rationale=(
        "The default probe asks for / on the backend's address and accepts any 2xx-3xx: an app "
        "whose dependencies are down still looks healthy and keeps receiving calls."
    ),
    remediation=(
        "az network application-gateway probe create -g {resource_group} --gateway-name {name} "
        "-n probe-app --protocol Https --path /health --host-name-from-http-settings true; then "
        "az network application-gateway http-settings update ... --probe probe-app"
    ),
    links=[
        "https://learn.microsoft.com/azure/application-gateway/application-gateway-probe-overview"
    ],
)
def custom_health_probes(inv, p):
    """
    ## What it checks
    Every entry of `backendHttpSettingsCollection` of every Application Gateway references a
    probe (`properties.probe.id`) that exists in the gateway's `probes`. NOT_APPLICABLE for a
    gateway without backend HTTP settings.

    ## Example
    Fails:
    ```json
    {"backendHttpSettingsCollection": [{"name": "app", "properties": {"port": 443, "protocol": "Https"}}]}
    ```
    Passes:
    ```json
    {"backendHttpSettingsCollection": [{"name": "app", "properties": {"port": 443, "protocol": "Https",
       "probe": {"id": ".../probes/health"}}}],
     "probes": [{"name": "health", "properties": {"protocol": "Https", "path": "/health"}}]}
    ```
    """
    for gateway in inv.of_type(GATEWAY):
        settings = _items(gateway, "backendHttpSettingsCollection")
        if not settings:
            yield gateway.not_applicable("no backend HTTP settings")
            continue
        problems, probed = [], {}
        for setting in settings:
            probe_id = _ref(setting, "probe")
            probe = _find(gateway, "probes", probe_id)
            if not probe_id:
                problems.append(f"backend setting {setting.get('name')} uses the default probe")
            elif probe is None:
                problems.append(
                    f"backend setting {setting.get('name')} names probe {ArmId.parse(probe_id).name}, "
                    "which the gateway does not have"
                )
            else:
                probed[str(setting.get("name"))] = (
                    f"{probe.get('name')} {(probe.get('properties') or {}).get('path', '')}".strip()
                )
        evidence = {"probes": probed}
        if problems:
            yield gateway.fail(*problems, evidence=evidence)
        else:
            yield gateway.ok(
                f"{len(settings)} backend setting(s), each with a custom probe", evidence=evidence
            )


# ---- 5. availability ----------------------------------------------------------------------------


@rule(
    id="PC-WAF-005",
    title="The gateway keeps at least two instances across availability zones",
    checklist=CHECKLIST,
    severity=Severity.MEDIUM,
    needs=[GATEWAY],
    params={"min_instances": 2, "min_zones": 2},
    rationale=(
        "A single instance or a single zone makes the one way into the workload a single point "
        "of failure: an instance upgrade or a zone outage drops every call."
    ),
    remediation=(
        "az network application-gateway update -g {resource_group} -n {name} --min-capacity 2 "
        "--max-capacity 10 (zones are set at creation: recreate the gateway with --zones 1 2 3)"
    ),
    links=[
        "https://learn.microsoft.com/azure/application-gateway/application-gateway-autoscaling-zone-redundant",
    ],
)
def gateway_availability(inv, p):
    """
    ## What it checks
    Every Application Gateway keeps at least `min_instances` instances (autoscale
    `autoscaleConfiguration.minCapacity`, or the fixed `sku.capacity` without autoscale) and is
    deployed across at least `min_zones` availability zones (`zones`).

    ## Example
    Fails:
    ```json
    {"zones": [], "properties": {"autoscaleConfiguration": {"minCapacity": 0, "maxCapacity": 10}}}
    ```
    Passes:
    ```json
    {"zones": ["1", "2", "3"], "properties": {"autoscaleConfiguration": {"minCapacity": 2, "maxCapacity": 10}}}
    ```
    """
    for gateway in inv.of_type(GATEWAY):
        autoscale = gateway.get("properties.autoscaleConfiguration")
        if isinstance(autoscale, dict) and "minCapacity" in autoscale:
            instances = int(autoscale.get("minCapacity") or 0)
            how = f"autoscale minimum {instances}"
        else:
            instances = int(gateway.get("properties.sku.capacity", 0) or 0)
            how = f"fixed capacity {instances}"
        zones = gateway.zones
        problems = []
        if instances < p.min_instances:
            problems.append(f"{how} (< {p.min_instances} instances)")
        if len(zones) < p.min_zones:
            problems.append(
                f"{len(zones)} availability zone(s) {zones or ''}".rstrip() + f" (< {p.min_zones})"
            )
        evidence = gateway.evidence(
            "properties.autoscaleConfiguration", "properties.sku.capacity", "zones"
        )
        if problems:
            yield gateway.fail(*problems, evidence=evidence)
        else:
            yield gateway.ok(f"{how}, zones {', '.join(zones)}", evidence=evidence)
