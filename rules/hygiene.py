"""Production hygiene the guide implies: guardrails not bypassed, managed messaging for
backpressure, AI content filtering, and callers authenticated at the backend.
"""

import fnmatch
import re

from prodcheck import Severity, rule

from ._workload import (
    API_MANAGEMENT,
    APP_GATEWAY,
    AUTH_CONFIG,
    COGNITIVE_ACCOUNT,
    COGNITIVE_DEPLOYMENT,
    CONTAINER_APP,
    EVENT_HUBS,
    GOVERNED_TYPES,
    MANAGED_ENVIRONMENT,
    PUBLIC_IP,
    RAI_POLICY,
    SERVICE_BUS,
    SIGNALR,
    VIRTUAL_NETWORK,
    environment_of,
    ingress,
    listed,
    restricted_to_gateways,
)

# ---- guardrails ---------------------------------------------------------------------------------


def _exemption_matches(tags, patterns):
    """The `key=value` tags of a resource that match any exemption pattern (case-insensitive)."""
    return _matching_tags(tags, _exemption_values(patterns))


def _exemption_values(patterns):
    """The value globs of the exemption patterns, by their case-folded key."""
    wanted = {}
    for want_key, _, want_value in (str(pattern).partition("=") for pattern in patterns):
        wanted.setdefault(want_key.strip().lower(), []).append((want_value.strip() or "*").lower())
    return wanted


def _matching_tags(tags, wanted):
    """The `key=value` tags whose key has a glob in `wanted` (by case-folded key) that the
    value matches (case-insensitive)."""
    found = []
    for key, value in tags.items():
        globs = wanted.get(str(key).lower())
        if globs and any(fnmatch.fnmatch(str(value).lower(), glob) for glob in globs):
            found.append(f"{key}={value}")
    return found


@rule(
    id="PC-GOV-001",
    title="No policy-exemption tags in the production scope",
    checklist="Production guardrails not bypassed",
    severity=Severity.HIGH,
    needs=GOVERNED_TYPES,
    params={"exemption_tags": ["SecurityControl=Ignore"]},
    rationale=(
        "Tags such as SecurityControl=Ignore exist to exempt a resource from Azure Policy "
        "(the accelerator sets it outside prod to bypass the private-networking policy). In "
        "production they switch off the guardrails that every other check relies on."
    ),
    remediation="""
        Remove the tag that exempts the resource from the policy guardrails (or, if the exemption is
        intended, record it as a waiver with an owner and an expiry date):

        ```sh
        az tag update --resource-id {id} --operation delete --tags '<tag>=<value>'
        ```
    """,
    links=["https://learn.microsoft.com/azure/governance/policy/concepts/exemption-structure"],
)
def no_policy_exemption_tags(inv, p):
    """
    ## What it checks
    No resource in the audited scope carries a tag listed in `exemption_tags` (`Key=Value`,
    case-insensitive; the value may be a glob, and `Key` alone or `Key=*` matches any value).
    One FAIL per tagged resource; when none carries one, one PASS for the scope. The resources
    judged are the top-level resources of the workload's types (the gateways and network,
    the apps and their environment, data, AI and messaging services, identities, monitoring
    and load testing: the list under "Reads"), so that a live audit, which collects exactly
    those, and an offline one agree.

    Checked against the GET bodies of `Microsoft.Insights/components` 2020-02-02 (`tags` an
    empty string: no tags), `Microsoft.ServiceBus/namespaces` 2021-11-01 (`tags: {}`) and
    `Microsoft.KeyVault/vaults` 2026-05-15; tag keys and values are compared case-insensitively.

    ## Example
    Fails:
    ```json
    {"tags": {"environment": "dev", "SecurityControl": "Ignore"}}
    ```
    Passes:
    ```json
    {"tags": {"environment": "prod"}}
    ```
    """
    governed = inv.of_type(*GOVERNED_TYPES)
    tagged = 0
    wanted = _exemption_values(p.exemption_tags)
    for resource in governed:
        matched = _matching_tags(resource.tags, wanted)
        if matched:
            tagged += 1
            yield resource.fail(
                f"tagged {', '.join(matched)}: exempt from the policy guardrails",
                evidence={f"tags.{m.split('=', 1)[0]}": m.split("=", 1)[1] for m in matched},
            )
    if not tagged and governed:
        yield inv.scope.ok(
            f"none of {len(governed)} resources carries {', '.join(p.exemption_tags)}",
            evidence={"exemption_tags": list(p.exemption_tags)},
        )


# ---- messaging ----------------------------------------------------------------------------------

MESSAGING_TYPES = [SERVICE_BUS, EVENT_HUBS, SIGNALR]


@rule(
    id="PC-MSG-001",
    title="A managed messaging service absorbs backpressure",
    checklist="Managed messaging for backpressure",
    severity=Severity.INFO,
    needs=MESSAGING_TYPES,
    rationale=(
        "In-process message handling ties every call to the replica that took it: a slow "
        "dependency backs up into the voice stream. Queues buffer load, isolate failures and let "
        "workers scale on their own."
    ),
    remediation=(
        """
        Put a messaging service between the call front end and its workers: Azure Service Bus for
        commands and events, Azure SignalR Service for WebSocket connections, or Azure Event Hubs for
        high-throughput streams.
    """
    ),
    links=["https://learn.microsoft.com/azure/architecture/guide/technology-choices/messaging"],
)
def managed_messaging_present(inv, p):
    """
    ## What it checks
    A Service Bus namespace, Event Hubs namespace or SignalR service exists in scope. One
    finding for the scope, at severity info: the guide recommends it, it is reported, and it
    never fails the gate unless the gate is set to info.

    Checked against the `Microsoft.ServiceBus/namespaces` list bodies of API version 2021-11-01
    (typed `Microsoft.ServiceBus/Namespaces`; types are compared case-insensitively).

    ## Example
    Passes:
    ```json
    {"type": "Microsoft.ServiceBus/namespaces", "sku": {"name": "Premium"}}
    ```
    Fails: none of the three in scope.
    """
    found = inv.of_type(*MESSAGING_TYPES)
    if found:
        yield inv.scope.ok(
            "managed messaging: " + ", ".join(f"{r.name} ({r.type.split('/')[0]})" for r in found),
            evidence={"messaging": [r.id for r in found]},
        )
    else:
        yield inv.scope.fail(
            "no Service Bus, Event Hubs or SignalR in scope: messages are handled in process"
        )


# ---- AI content safety --------------------------------------------------------------------------

_SOURCES = ("Prompt", "Completion")
_RELEASE_BEFORE_FILTERING = {"deferred", "asynchronous_filter"}


def _category(name):
    return re.sub(r"[^a-z]", "", str(name).lower())


def _policy_problems(policy, p):
    """What makes a custom content filter permissive."""
    problems = []
    mode = str(policy.get("properties.mode", "") or "")
    if mode.lower() in _RELEASE_BEFORE_FILTERING:
        problems.append(f"mode {mode} returns content before it is filtered")
    base = str(policy.get("properties.basePolicyName", "") or "")
    inherits = base.lower() in {d.lower() for d in p.default_policies}
    filters = [f for f in listed(policy.get("properties.contentFilters")) if isinstance(f, dict)]
    permissive = {str(level).lower() for level in p.permissive_levels}
    for category in p.harm_categories:
        for source in _SOURCES:
            entry = next(
                (
                    f
                    for f in filters
                    if _category(f.get("name")) == _category(category)
                    and str(f.get("source", "")).lower() == source.lower()
                ),
                None,
            )
            where = f"{category} on {source.lower()}s"
            if entry is None:
                if not inherits:
                    problems.append(f"no {where} filter")
                continue
            level = entry.get("severityThreshold") or entry.get("allowedContentLevel")
            if entry.get("enabled") is False:
                problems.append(f"{where} filter is off")
            elif entry.get("blocking") is False:
                problems.append(f"{where} filter annotates only, it does not block")
            elif level and str(level).lower() in permissive:
                problems.append(f"{where} filter blocks only at {level}")
    return problems


@rule(
    id="PC-AI-001",
    title="Every model deployment has a content filter that is not permissive",
    checklist="AI content safety",
    severity=Severity.MEDIUM,
    needs=[COGNITIVE_ACCOUNT, COGNITIVE_DEPLOYMENT, RAI_POLICY],
    params={
        "default_policies": ["Microsoft.Default", "Microsoft.DefaultV2"],
        "harm_categories": ["hate", "sexual", "violence", "selfharm"],
        "permissive_levels": ["High"],
    },
    rationale=(
        "A voice agent speaks model output to callers in real time; without a blocking content "
        "filter on prompts and completions, harmful content reaches them with nothing in between."
    ),
    remediation=(
        """
        Give the deployment a content filter that blocks hate, sexual, violence and self-harm content at
        Medium or stricter on prompts and completions: the built-in Microsoft.DefaultV2 policy, or a
        custom policy at least as strict. Set it in the deployment's template:

        ```bicep
        resource deployment 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = {
          parent: account
          name: '<deployment>'
          properties: {
            model: { format: 'OpenAI', name: '<model>', version: '<model-version>' }
            raiPolicyName: 'Microsoft.DefaultV2'
          }
        }
        ```
    """
    ),
    links=["https://learn.microsoft.com/azure/ai-foundry/openai/concepts/content-filter"],
)
def model_deployments_filtered(inv, p):
    """
    ## What it checks
    Every Azure OpenAI / AI Services model deployment
    (`Microsoft.CognitiveServices/accounts/deployments`) names a content filter in
    `properties.raiPolicyName`, and that filter is not permissive:

    - a default policy (`default_policies`: `Microsoft.Default`, `Microsoft.DefaultV2`) passes;
    - any other `Microsoft.*` policy (such as one without filtering) fails;
    - a custom policy (`Microsoft.CognitiveServices/accounts/raiPolicies` of the same account)
      fails when, for a harm category (`harm_categories`) on prompts or completions, its filter
      is off, does not block, or blocks only at a `permissive_levels` severity (`High`), or
      when its mode returns content before filtering (`Asynchronous_filter`, `Deferred`). A
      category the policy does not list is inherited from a default base policy.

    A custom policy that is not in the data cannot be judged: ERROR. A deployment without
    `raiPolicyName` (older API versions do not return it, and a deployment created without one
    gets the platform's default filter, `Microsoft.DefaultV2`, or `Microsoft.Default` for older
    deployments) is judged as that default: it passes.

    Checked against the `Microsoft.CognitiveServices/accounts/deployments` GET bodies of API
    versions 2024-10-01 and 2025-09-01 (no `raiPolicyName` in the examples) and the
    `raiPolicies` body of 2024-10-01 (no `type`, taken from the id; `mode: Asynchronous_filter`;
    category names in lower case or with spaces, compared by their letters).

    ## Example
    Fails (custom policy `relaxed` with `{"name": "violence", "source": "Completion",
    "enabled": true, "blocking": false}`):
    ```json
    {"properties": {"model": {"name": "gpt-4o"}, "raiPolicyName": "relaxed"}}
    ```
    Passes:
    ```json
    {"properties": {"model": {"name": "gpt-4o"}, "raiPolicyName": "Microsoft.DefaultV2"}}
    ```
    """
    defaults = {d.lower() for d in p.default_policies}
    for deployment in inv.of_type(COGNITIVE_DEPLOYMENT):
        name = str(deployment.get("properties.raiPolicyName", "") or "")
        evidence = deployment.evidence("properties.raiPolicyName", "properties.model.name")
        if not name:
            # Azure gives a deployment created without a policy its default content filter
            # (Microsoft.DefaultV2 today, Microsoft.Default for older deployments); older API
            # versions do not return the name. Judge it as that default, which blocks.
            yield deployment.ok(
                "no raiPolicyName: Azure applies its default content filter", evidence=evidence
            )
        elif name.lower() in defaults:
            yield deployment.ok(f"content filter {name}", evidence=evidence)
        elif name.lower().startswith("microsoft."):
            yield deployment.fail(
                f"built-in policy {name} is not one of the default content filters "
                f"({', '.join(p.default_policies)})",
                evidence=evidence,
            )
        else:
            account = inv.parent(deployment)
            policies = inv.children(account, RAI_POLICY) if account is not None else []
            policy = next((x for x in policies if x.name.lower() == name.lower()), None)
            if policy is None:
                yield deployment.error(
                    f"custom content filter {name} is not in the data: it cannot be judged",
                    evidence=evidence,
                )
                continue
            evidence["raiPolicy"] = policy.evidence("properties.mode", "properties.basePolicyName")
            problems = _policy_problems(policy, p)
            if problems:
                yield deployment.fail(
                    f"custom content filter {name} is permissive", *problems, evidence=evidence
                )
            else:
                yield deployment.ok(
                    f"custom content filter {name} blocks every harm category", evidence=evidence
                )


# ---- callers authenticated ----------------------------------------------------------------------

_REFUSING = {"redirecttologinpage", "return401", "return403"}


def _exposure(inv, app):
    """Why an app is not reachable from the internet directly, or None when it is."""
    entry = ingress(app)
    if entry.get("external") is False:
        return "ingress is internal to the environment"
    env = environment_of(inv, app)
    if env is not None and env.get("properties.vnetConfiguration.internal") is True:
        return f"environment {env.name} is internal: reachable only from its virtual network"
    gateways = restricted_to_gateways(inv, app)
    if gateways:
        return f"ingress admits only the gateway ({', '.join(gateways)})"
    return None


def _auth_problems(config):
    problems = []
    if config.get("properties.platform.enabled") is not True:
        problems.append("authentication is not enabled (platform.enabled)")
    entra = config.get("properties.identityProviders.azureActiveDirectory")
    if (
        not isinstance(entra, dict)
        or entra.get("enabled") is False
        or not entra.get("registration")
    ):
        problems.append("Microsoft Entra ID is not configured as identity provider")
    action = str(config.get("properties.globalValidation.unauthenticatedClientAction", "") or "")
    if action.lower() not in _REFUSING:
        problems.append(
            f"unauthenticated requests are allowed (unauthenticatedClientAction: {action or 'not set'})"
        )
    return problems


@rule(
    id="PC-AUTH-001",
    title="Internet-facing container apps authenticate callers with Entra ID",
    checklist="Callers authenticated at the backend",
    severity=Severity.HIGH,
    needs=[
        CONTAINER_APP,
        AUTH_CONFIG,
        MANAGED_ENVIRONMENT,
        APP_GATEWAY,
        API_MANAGEMENT,
        VIRTUAL_NETWORK,
        PUBLIC_IP,
    ],
    rationale=(
        "An app with external ingress and no authentication answers anyone on the internet: "
        "every call it accepts spends model tokens and can reach the data behind it."
    ),
    remediation=(
        """
        Require Entra ID sign-in on the app and answer unauthenticated calls with 401, or take the app
        off the internet behind the gateway (internal ingress, or IP restrictions to the gateway's
        subnet: see PC-NET-006).

        ```sh
        az containerapp auth microsoft update -n {name} -g {resource_group} --client-id '<app-registration-client-id>' --issuer 'https://login.microsoftonline.com/<tenant-id>/v2.0'
        az containerapp auth update -n {name} -g {resource_group} --enabled true --action Return401
        ```
    """
    ),
    links=["https://learn.microsoft.com/azure/container-apps/authentication-entra"],
)
def backend_authenticates_callers(inv, p):
    """
    ## What it checks
    Every container app with ingress is either not directly reachable from the internet —
    internal ingress (`ingress.external: false`), an internal environment
    (`vnetConfiguration.internal: true`), or IP restrictions that admit only the address ranges
    of an Application Gateway or API Management in scope (their subnets or public IPs) — or has
    an auth config (`Microsoft.App/containerApps/authConfigs`) with authentication enabled
    (`platform.enabled: true`), Microsoft Entra ID configured
    (`identityProviders.azureActiveDirectory` enabled with a registration), and anonymous
    requests refused (`globalValidation.unauthenticatedClientAction` is `Return401`,
    `Return403` or `RedirectToLoginPage`). Paths excluded from authentication are listed in
    the evidence. An app without ingress has nothing to check.

    Checked against the `Microsoft.App/containerApps/authConfigs` GET bodies of API versions
    2022-03-01 and 2025-07-01 (typed `Microsoft.App/containerapps/authconfigs` with an id ending
    `/authconfigs/current`; a provider's `enabled` left out), and the `containerApps` and
    `managedEnvironments` bodies of 2025-07-01.

    ## Example
    Fails: `"ingress": {"external": true}` in a public environment, and no auth config.

    Passes (auth config `current` of the app):
    ```json
    {"properties": {"platform": {"enabled": true},
      "globalValidation": {"unauthenticatedClientAction": "Return401"},
      "identityProviders": {"azureActiveDirectory": {"enabled": true,
        "registration": {"clientId": "<app-id>",
                         "openIdIssuer": "https://login.microsoftonline.com/<tenant>/v2.0"}}}}}
    ```
    """
    for app in inv.of_type(CONTAINER_APP):
        entry = ingress(app)
        if not entry:
            yield app.not_applicable("no ingress: it takes no calls")
            continue
        configs = inv.children(app, AUTH_CONFIG)
        evidence = {
            "ingress.external": entry.get("external"),
            "ingress.ipSecurityRestrictions": [
                r.get("ipAddressRange")
                for r in listed(entry.get("ipSecurityRestrictions"))
                if isinstance(r, dict)
            ],
            "authConfigs": {
                c.name: {
                    "platform.enabled": c.get("properties.platform.enabled"),
                    "unauthenticatedClientAction": c.get(
                        "properties.globalValidation.unauthenticatedClientAction"
                    ),
                    "excludedPaths": c.get("properties.globalValidation.excludedPaths"),
                }
                for c in configs
            },
        }
        shielded = _exposure(inv, app)
        if shielded:
            yield app.ok(f"not exposed to the internet: {shielded}", evidence=evidence)
            continue
        if not configs:
            yield app.fail(
                "external ingress and no authentication: anyone on the internet can call it",
                evidence=evidence,
            )
            continue
        verdicts = {c.name: _auth_problems(c) for c in configs}
        good = [n for n, problems in verdicts.items() if not problems]
        if good:
            config = next(c for c in configs if c.name == good[0])
            excluded = [
                str(x) for x in listed(config.get("properties.globalValidation.excludedPaths"))
            ]
            note = f" (anonymous paths: {', '.join(excluded)})" if excluded else ""
            yield app.ok(
                f"callers authenticated with Entra ID, anonymous requests refused{note}",
                evidence=evidence,
            )
        else:
            problems = [x for v in verdicts.values() for x in v]
            yield app.fail("external ingress", *problems, evidence=evidence)
