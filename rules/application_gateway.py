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
        """
        Put an Application Gateway with the WAF_v2 SKU and a WAF policy in front of the workload; v1
        gateways are retired: migrate them to v2.

        ```sh
        az network application-gateway create -g {resource_group} -n '<gateway-name>' --sku WAF_v2 --waf-policy '<waf-policy-id>' --vnet-name '<vnet>' --subnet '<gateway-subnet>' --public-ip-address '<public-ip>' --priority 100
        ```
    """
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

    Checked against the `Microsoft.Network/applicationGateways` GET body of API version
    2025-05-01 (a v1 `Standard_Medium` SKU of tier `Standard`).

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

# Match variables a client cannot choose: the TCP peer address (RemoteAddr, SocketAddr).
_SOURCE_ADDRESS = {"remoteaddr", "socketaddr"}
# Managed rule override actions that let a matching request through.
_PASSING_ACTIONS = {"log", "allow"}


def _dicts(value) -> list[dict]:
    return [i for i in value if isinstance(i, dict)] if isinstance(value, list) else []


def _protected(group: str, p) -> bool:
    """Whether a rule group name holds one of the protected words as whole dash-separated
    words (`REQUEST-942-APPLICATION-ATTACK-SQLI`, `MS-ThreatIntel-SQLI`; RCE is not found in
    `PROTOCOL-ENFORCEMENT`)."""
    name = f"-{str(group or '').strip().upper()}-"
    return any(f"-{str(word).strip().upper()}-" in name for word in p.protected_rule_groups)


def _override_problems(policy, rule_sets: list[dict], accepted: set[str], p) -> list[str]:
    """Rules of the injection, XSS, RCE, LFI and protocol-attack groups that no longer block.

    In every API version a listed rule without `state` is Disabled (2020-05-01 knows only
    `Disabled`; 2022 and later add `Enabled` and `action`), and a group override listing no
    rules disables the whole group.
    """
    problems = []
    for rule_set in rule_sets:
        set_name = f"{rule_set.get('ruleSetType')} {rule_set.get('ruleSetVersion')}"
        for group in _dicts(rule_set.get("ruleGroupOverrides")):
            group_name = str(group.get("ruleGroupName") or "")
            if not _protected(group_name, p) or group_name.lower() in accepted:
                continue
            overrides = _dicts(group.get("rules"))
            if not overrides:
                problems.append(
                    f"policy {policy.name} disables every rule of {set_name} group {group_name} "
                    "(an override that lists no rules disables the group)"
                )
                continue
            disabled, passing = [], []
            for override in overrides:
                rule_id = str(override.get("ruleId") or "?")
                if rule_id.lower() in accepted:
                    continue
                if _lower(override.get("state") or "Disabled") == "disabled":
                    disabled.append(rule_id)
                elif _lower(override.get("action")) in _PASSING_ACTIONS:
                    passing.append(f"{rule_id} ({override.get('action')})")
            if disabled:
                problems.append(
                    f"policy {policy.name} disables {set_name} {group_name} rule(s) "
                    f"{', '.join(disabled)}"
                )
            if passing:
                problems.append(
                    f"policy {policy.name} lets {set_name} {group_name} rule(s) "
                    f"{', '.join(passing)} match without blocking"
                )
    return problems


def _scope_of(entry: dict, key: str) -> tuple[list[str], list[str]]:
    """(whole rule sets, the groups and rule ids) an exclusion or exception applies to."""
    sets = _dicts(entry.get(key))
    if not sets:
        return ["every managed rule set"], []
    whole, parts = [], []
    for rule_set in sets:
        set_name = f"{rule_set.get('ruleSetType')} {rule_set.get('ruleSetVersion')}"
        groups = _dicts(rule_set.get("ruleGroups"))
        if not groups:
            whole.append(f"the whole {set_name} rule set")
        for group in groups:
            rules = _dicts(group.get("rules"))
            if rules:
                parts += [str(r.get("ruleId") or "?") for r in rules]
            else:
                parts.append(str(group.get("ruleGroupName") or "?"))
    return whole, parts


def _exclusion_problems(policy, exclusions: list[dict], accepted: set[str]) -> list[str]:
    problems = []
    for exclusion in exclusions:
        variable = str(exclusion.get("matchVariable") or "?")
        operator = str(exclusion.get("selectorMatchOperator") or "")
        selector = str(exclusion.get("selector") or "")
        whole, parts = _scope_of(exclusion, "exclusionManagedRuleSets")
        broad = _lower(operator) == "equalsany" or selector.strip() == "*"
        what = f"{variable} {operator} {selector!r}" if not broad else f"every {variable}"
        if broad and parts and all(x.lower() in accepted for x in parts) and not whole:
            continue
        if not broad and (not whole or selector.lower() in accepted):
            continue
        applies = ", ".join(whole + parts)
        problems.append(
            f"policy {policy.name} excludes {what} from {applies}: an attacker puts the payload "
            "there and those rules never see it"
        )
    return problems


def _exception_problems(policy, exceptions: list[dict], accepted: set[str], p) -> list[str]:
    problems = []
    for exception in exceptions:
        variable = str(exception.get("matchVariable") or "?")
        if _lower(variable) in _SOURCE_ADDRESS:
            continue
        whole, parts = _scope_of(exception, "exceptionManagedRuleSets")
        touched = [x for x in parts if x.lower() not in accepted]
        if not whole and not touched:
            continue
        selector = str(exception.get("selector") or "")
        values = [str(v) for v in exception.get("values") or [] if isinstance(v, str | int)]
        condition = (
            f"{variable}{' ' + selector if selector else ''} "
            f"{exception.get('valueMatchOperator') or '?'} {', '.join(values) or '(no value)'}"
        )
        problems.append(
            f"policy {policy.name} skips {', '.join(whole + touched)} for any request whose "
            f"{condition}: the client sets {variable}, so an attacker adds that value and "
            "bypasses those rules"
        )
    return problems


def _is_pinned_to_source(condition: dict) -> bool:
    variables = _dicts(condition.get("matchVariables"))
    return (
        _lower(condition.get("operator")) == "ipmatch"
        and condition.get("negationConditon") is not True
        and bool(variables)
        and all(_lower(v.get("variableName")) in _SOURCE_ADDRESS for v in variables)
    )


def _custom_rule_findings(policy, custom_rules: list[dict]) -> tuple[list[str], list[str]]:
    problems, notes = [], []
    for custom in custom_rules:
        if _lower(custom.get("state")) == "disabled":
            continue
        name = custom.get("name") or "(unnamed)"
        conditions = _dicts(custom.get("matchConditions"))
        if _lower(custom.get("ruleType")) == "ratelimitrule":
            notes.append(
                f"rate-limit rule {name}: {custom.get('rateLimitThreshold')} request(s) per "
                f"{custom.get('rateLimitDuration')}, then {custom.get('action')}"
            )
        if _lower(custom.get("action")) != "allow" or any(map(_is_pinned_to_source, conditions)):
            continue
        variables = sorted(
            {
                str(v.get("variableName")) + (f" {v.get('selector')}" if v.get("selector") else "")
                for c in conditions
                for v in _dicts(c.get("matchVariables"))
            }
        )
        problems.append(
            f"policy {policy.name} custom rule {name} allows requests matched on "
            f"{', '.join(variables) or 'nothing'} past every managed rule: the client chooses "
            "those values (only a RemoteAddr/SocketAddr IPMatch pins an Allow to a source)"
        )
    return problems, notes


def _settings_problems(policy, rule_sets: list[dict], p) -> list[str]:
    problems = []
    settings = policy.get("properties.policySettings") or {}
    if p.require_bot_manager and not any(
        _lower(s.get("ruleSetType")) == "microsoft_botmanagerruleset" for s in rule_sets
    ):
        problems.append(
            f"policy {policy.name} has no Microsoft_BotManagerRuleSet: known bad bots and "
            "vulnerability scanners reach the workload"
        )
    if p.require_request_body_check and isinstance(settings, dict):
        size = settings.get("maxRequestBodySizeInKb")
        inspected = settings.get("requestBodyInspectLimitInKB")
        if settings.get("requestBodyCheck") is False:
            problems.append(
                f"policy {policy.name} does not inspect request bodies (requestBodyCheck "
                "false): injection in a POST body passes"
            )
        elif settings.get("requestBodyEnforcement") is False:
            problems.append(
                f"policy {policy.name} lets bodies larger than {size or 'the limit'} KB through "
                "(requestBodyEnforcement false): what lies past the limit is not inspected"
            )
        elif (
            isinstance(inspected, int)
            and isinstance(size, int)
            and not isinstance(inspected, bool)
            and inspected < size
        ):
            problems.append(
                f"policy {policy.name} inspects {inspected} KB of bodies it accepts up to {size} "
                "KB: a payload after padding is not inspected"
            )
    return problems


def _policy_findings(policy, p) -> tuple[list[str], list[str]]:
    """(problems, notes) of one WAF policy: state, mode, rule sets and what its content allows."""
    problems = []
    state = policy.get("properties.policySettings.state")
    mode = policy.get("properties.policySettings.mode")
    if _lower(state) != "enabled":
        problems.append(f"policy {policy.name} is {state or 'not enabled'}")
    if _lower(mode) != "prevention":
        problems.append(
            f"policy {policy.name} is in {mode or 'no'} mode: it logs attacks, it does not block them"
        )
    sets = _dicts(policy.get("properties.managedRules.managedRuleSets"))
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
    accepted = {str(x).strip().lower() for x in p.accepted_exclusions}
    managed = policy.get("properties.managedRules") or {}
    managed = managed if isinstance(managed, dict) else {}
    problems += _override_problems(policy, sets, accepted, p)
    problems += _exclusion_problems(policy, _dicts(managed.get("exclusions")), accepted)
    problems += _exception_problems(policy, _dicts(managed.get("exceptions")), accepted, p)
    custom_problems, notes = _custom_rule_findings(
        policy, _dicts(policy.get("properties.customRules"))
    )
    problems += custom_problems
    problems += _settings_problems(policy, sets, p)
    return problems, notes


@rule(
    id="PC-WAF-002",
    title="The web application firewall blocks, with a current and intact rule set",
    checklist=CHECKLIST,
    severity=Severity.HIGH,
    needs=[GATEWAY, WAF_POLICY],
    params={
        "min_owasp_version": "3.2",
        "min_default_rule_set_version": "2.1",
        "protected_rule_groups": [
            "SQLI",
            "XSS",
            "RCE",
            "LFI",
            "RFI",
            "PHP",
            "JAVA",
            "NODEJS",
            "PROTOCOL-ATTACK",
        ],
        "accepted_exclusions": [],
        "require_bot_manager": True,
        "require_request_body_check": True,
    },
    rationale=(
        "A WAF in Detection mode writes attacks to a log and lets them through; an old rule set "
        "misses the attacks it was never taught. A policy in Prevention mode protects no better "
        "when its injection rules are disabled or only log, when an exclusion hides every "
        "argument from them, or when a URI, header or query string an attacker can type "
        "switches the managed rules off for a request."
    ),
    remediation=(
        """
        Run the WAF policy in Prevention mode with request-body inspection and the current managed rule
        sets (Microsoft_DefaultRuleSet 2.1, Microsoft_BotManagerRuleSet 1.1); re-enable overridden
        injection rules; narrow exclusions to one named argument, header or cookie and the rules that
        misfire on it, and list the ones you accept in this rule's `accepted_exclusions` parameter.

        ```sh
        az network application-gateway waf-policy policy-setting update -g {resource_group} --policy-name '<waf-policy>' --state Enabled --mode Prevention --request-body-check true
        az network application-gateway waf-policy managed-rule rule-set add -g {resource_group} --policy-name '<waf-policy>' --type Microsoft_DefaultRuleSet --version 2.1
        az network application-gateway waf-policy managed-rule rule-set add -g {resource_group} --policy-name '<waf-policy>' --type Microsoft_BotManagerRuleSet --version 1.1
        az network application-gateway waf-policy managed-rule rule-set update -g {resource_group} --policy-name '<waf-policy>' --type Microsoft_DefaultRuleSet --version 2.1 --group-name '<rule-group>' --rule rule-id='<rule-id>' state=Enabled action=AnomalyScoring
        ```
    """
    ),
    links=[
        "https://learn.microsoft.com/azure/web-application-firewall/ag/policy-overview",
        "https://learn.microsoft.com/azure/web-application-firewall/ag/migrate-policy",
        "https://learn.microsoft.com/azure/web-application-firewall/ag/application-gateway-waf-configuration",
        "https://learn.microsoft.com/azure/web-application-firewall/ag/custom-waf-rules-overview",
        "https://learn.microsoft.com/azure/web-application-firewall/ag/bot-protection-overview",
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
    listener, which overrides the gateway's) or else the gateway's; a path rule of a URL path map
    with its own policy is checked too. Detection mode fails: it logs, it does not block.

    The content of each policy is judged too, because a policy in Prevention mode can still
    let the attacks through:

    - **Overridden rules.** In the groups named by `protected_rule_groups` (a group matches when
      its dash-separated name holds one of them as whole words: SQL injection, XSS, RCE, LFI,
      RFI, PHP, Java, Node.js and protocol attacks), a rule listed in `managedRuleSets[].ruleGroupOverrides[].rules[]` fails
      when it is disabled, or enabled with `action: Log` or `Allow`. In every API version a
      listed rule without `state` is disabled (2020-05-01 knows only `state: Disabled`, and
      listing a rule is how it is disabled; later versions add `Enabled` and `action`), and a
      group override that lists no rules disables the whole group. Each failing rule id is named.
    - **Exclusions** (`managedRules.exclusions`): one with selector operator `EqualsAny` or
      selector `*` (every argument, header or cookie of that kind is hidden from the rules), or
      one that applies to a whole rule set (no `exclusionManagedRuleSets`, as in the API versions
      before 2021, or a rule set listed without `ruleGroups`) fails. An exclusion of one named
      selector scoped to groups or rules is how false positives are meant to be handled: it
      passes.
    - **Exceptions** (`managedRules.exceptions`, API 2023-09-01 and later): an exception skips
      the rules for a whole request. One that matches on `RequestURI` or `RequestHeader` (values
      the client chooses: adding `health` to a query string is enough) and skips a whole rule
      set or any rule of a protected group fails. Exceptions on `RemoteAddr` pass.
    - **Custom rules** with `action: Allow` skip every managed rule for the requests they match.
      One fails unless a condition pins it to a source: a non-negated `IPMatch` on `RemoteAddr`
      or `SocketAddr`. Query string, URI, cookies, body and every header (including
      `X-Forwarded-For`, which the client sends) are chosen by the client; `GeoMatch` is one VPN
      away. Disabled custom rules (`state: Disabled`) are ignored. Rate-limit rules are noted in
      the message.
    - **Bot protection** (`require_bot_manager`): the policy has a `Microsoft_BotManagerRuleSet`.
    - **Request bodies** (`require_request_body_check`): `requestBodyCheck` is not `false`,
      `requestBodyEnforcement` is not `false` (bodies over `maxRequestBodySizeInKb` would pass
      partly uninspected), and `requestBodyInspectLimitInKB` is not below
      `maxRequestBodySizeInKb` (padding pushes a payload past the inspected part).

    `accepted_exclusions` lists what a team has reviewed and accepts: managed rule ids (such as
    `942430`) or rule group names whose override, exclusion or exception then passes, and
    selectors of exclusions that may apply to a whole rule set. An `EqualsAny` or `*` exclusion
    is accepted only when it is scoped to accepted rules or groups. Accept one rule, not the
    whole check.

    A gateway with no policy may still use the legacy inline `webApplicationFirewallConfiguration`:
    it counts only if `enabled` and in `Prevention` mode with a current rule set and no protected
    group in `disabledRuleGroups`, and the message says to migrate to a WAF policy.

    Checked against the `ApplicationGatewayWebApplicationFirewallPolicies` bodies of API
    versions 2020-05-01 (overrides without `state`, global exclusions) and 2024-05-01
    (`state`/`action` overrides, scoped exclusions, exceptions, rate-limit rules), and the
    `applicationGateways` bodies of 2024-05-01.

    ## Example
    Fails (the gateway's policy blocks, but the listener overrides it with one in Detection mode):
    ```json
    {"httpListeners": [{"name": "public", "properties": {"protocol": "Https",
      "firewallPolicy": {"id": ".../ApplicationGatewayWebApplicationFirewallPolicies/waf-detect"}}}]}
    ```
    Fails (Prevention mode, but SQL injection rule 942100 is off and any URI containing
    `health` skips the whole rule set):
    ```json
    {"managedRules": {
      "managedRuleSets": [{"ruleSetType": "OWASP", "ruleSetVersion": "3.2",
        "ruleGroupOverrides": [{"ruleGroupName": "REQUEST-942-APPLICATION-ATTACK-SQLI",
          "rules": [{"ruleId": "942100", "state": "Disabled"}]}]}],
      "exceptions": [{"matchVariable": "RequestURI", "valueMatchOperator": "Contains",
        "values": ["health"], "exceptionManagedRuleSets": [{"ruleSetType": "OWASP", "ruleSetVersion": "3.2"}]}]}}
    ```
    Passes: every listener's policy has
    ```json
    {"policySettings": {"state": "Enabled", "mode": "Prevention", "requestBodyCheck": true},
     "managedRules": {"managedRuleSets": [
       {"ruleSetType": "Microsoft_DefaultRuleSet", "ruleSetVersion": "2.1"},
       {"ruleSetType": "Microsoft_BotManagerRuleSet", "ruleSetVersion": "1.1"}]}}
    ```
    """
    judged: dict[str, tuple[list[str], list[str]]] = {}  # a policy shared by gateways: once
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
            if policy.key not in judged:
                judged[policy.key] = _policy_findings(policy, p)
            policy_problems, policy_notes = judged[policy.key]
            for problem in policy_problems:
                problems.append(f"{problem} (bound to {', '.join(where)})")
            if not policy_problems:
                notes.append(
                    f"{', '.join(where)}: policy {policy.name} blocks in Prevention mode"
                    + "".join(f"; {note}" for note in policy_notes)
                )
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
    accepted = {str(x).strip().lower() for x in p.accepted_exclusions}
    for group in _dicts(legacy.get("disabledRuleGroups")):
        name = str(group.get("ruleGroupName") or "")
        if not _protected(name, p) or name.lower() in accepted:
            continue
        rules = [str(r) for r in group.get("rules") or [] if str(r).lower() not in accepted]
        if not group.get("rules"):
            problems.append(f"{on}: the inline WAF configuration disables rule group {name}")
        elif rules:
            problems.append(
                f"{on}: the inline WAF configuration disables {name} rule(s) {', '.join(rules)}"
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
        """
        Use a current predefined TLS policy, take certificates from Key Vault, and make HTTP listeners
        redirect to HTTPS:

        ```sh
        az network application-gateway ssl-policy set -g {resource_group} --gateway-name {name} --policy-type Predefined --name AppGwSslPolicy20220101S
        az network application-gateway ssl-cert create -g {resource_group} --gateway-name {name} -n '<certificate-name>' --key-vault-secret-id '<key-vault-secret-id>'
        az network application-gateway redirect-config create -g {resource_group} --gateway-name {name} -n http-to-https --type Permanent --target-listener '<https-listener>'
        ```
    """
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

    Checked against the `Microsoft.Network/applicationGateways` GET body of API version
    2025-05-01 (a certificate uploaded with `publicCertData` and no Key Vault secret, an SSL
    profile with a custom policy at TLS 1.1, a plain HTTP listener routed by path, no gateway
    `sslPolicy`).

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
        """
        Give each backend a custom health probe on the app's health endpoint, and attach it to the
        backend's HTTP settings:

        ```sh
        az network application-gateway probe create -g {resource_group} --gateway-name {name} -n probe-app --protocol Https --path /health --host-name-from-http-settings true
        az network application-gateway http-settings update -g {resource_group} --gateway-name {name} -n '<http-settings>' --probe probe-app
        ```
    """
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

    Checked against the `Microsoft.Network/applicationGateways` GET body of API version
    2025-05-01 (backend settings without `probe`, an empty `probes` list).

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
        """
        Let the gateway autoscale from at least two instances. Zones are set when a gateway is created:
        to spread it over zones, create a new gateway with `--zones 1 2 3`.

        ```sh
        az network application-gateway update -g {resource_group} -n {name} --min-capacity 2 --max-capacity 10
        ```
    """
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

    Checked against the `Microsoft.Network/applicationGateways` GET body of API version
    2025-05-01 (a fixed `sku.capacity` of 3 without autoscale, no `zones`).

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
