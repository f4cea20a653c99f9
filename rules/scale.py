"""Scale — the guide's "Container Apps Configuration".

The guide's scale block: `minReplicas: 2`, `maxReplicas: 20`, an HTTP rule at 50 concurrent
requests and a CPU rule at 70 % utilization; and, for the 99.9 % availability target, zone
redundancy of the platform the calls depend on.
"""

from prodcheck import Severity, rule

from ._workload import (
    CONTAINER_APP,
    MANAGED_ENVIRONMENT,
    REDIS,
    REDIS_ENTERPRISE,
    listed,
)

CHECKLIST = "Container Apps scale configuration"

# Container Apps defaults when the scale block leaves them out.
DEFAULT_MIN_REPLICAS = 0
DEFAULT_MAX_REPLICAS = 10
DEFAULT_CONCURRENT_REQUESTS = 10


def _apps(inv, p):
    """Container apps not excluded by name (`excluded_apps`), and the excluded ones."""
    excluded = {str(n).lower() for n in p.excluded_apps}
    for app in inv.of_type(CONTAINER_APP):
        yield app, app.name.lower() in excluded


def _int(value, default):
    if value is None:
        return default
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


@rule(
    id="PC-SCALE-001",
    title="Container apps never scale to zero and have room to grow",
    checklist=CHECKLIST,
    severity=Severity.HIGH,
    needs=[CONTAINER_APP],
    params={"min_replicas": 2, "min_max_replicas": 20, "excluded_apps": []},
    rationale=(
        "At zero replicas the first call waits for a cold start; with one replica every restart "
        "or platform upgrade drops the calls in flight; a low ceiling turns a traffic peak into "
        "queued and abandoned calls."
    ),
    remediation="""
        Keep at least two replicas running and let the app scale out to the guide's maximum:

        ```sh
        az containerapp update -n {name} -g {resource_group} --min-replicas 2 --max-replicas 20
        ```
    """,
    links=["https://learn.microsoft.com/azure/container-apps/scale-app"],
)
def replicas_have_headroom(inv, p):
    """
    ## What it checks
    Every container app has `template.scale.minReplicas` of at least `min_replicas` (default 2;
    absent means 0, scale to zero) and `maxReplicas` of at least `min_max_replicas` (default 20,
    the guide's value; absent means 10). Apps named in `excluded_apps` are not judged.

    Checked against the `Microsoft.App/containerApps` GET bodies of API version 2025-07-01
    (`scale` with `minReplicas`, `maxReplicas`, `cooldownPeriod` and `pollingInterval`).

    ## Example
    Fails:
    ```json
    {"template": {"scale": {"minReplicas": 1, "maxReplicas": 10}}}
    ```
    Passes:
    ```json
    {"template": {"scale": {"minReplicas": 2, "maxReplicas": 20}}}
    ```
    """
    for app, excluded in _apps(inv, p):
        if excluded:
            yield app.not_applicable("excluded by the excluded_apps parameter")
            continue
        evidence = app.evidence(
            "properties.template.scale.minReplicas", "properties.template.scale.maxReplicas"
        )
        low = _int(app.get("properties.template.scale.minReplicas"), DEFAULT_MIN_REPLICAS)
        high = _int(app.get("properties.template.scale.maxReplicas"), DEFAULT_MAX_REPLICAS)
        problems = []
        if low is None or high is None:
            yield app.error("minReplicas or maxReplicas is not a number", evidence=evidence)
            continue
        if low == 0:
            problems.append(f"scales to zero (minReplicas {low} < {p.min_replicas})")
        elif low < p.min_replicas:
            problems.append(f"minReplicas {low} < {p.min_replicas}")
        if high < p.min_max_replicas:
            problems.append(f"maxReplicas {high} < {p.min_max_replicas}")
        if problems:
            yield app.fail(*problems, evidence=evidence)
        else:
            yield app.ok(f"{low} to {high} replicas", evidence=evidence)


def _http_rule(rules):
    found = []
    for r in rules:
        if isinstance(r.get("http"), dict):
            found.append(r)
        elif (
            isinstance(r.get("custom"), dict) and str(r["custom"].get("type", "")).lower() == "http"
        ):
            # A template (and the 2025-07-01 request example) may write the HTTP rule as a custom
            # rule of type http; ARM returns it as `http`.
            found.append({"name": r.get("name"), "http": r["custom"]})
    return found


def _cpu_rules(rules):
    return [
        r
        for r in rules
        if isinstance(r.get("custom"), dict) and str(r["custom"].get("type", "")).lower() == "cpu"
    ]


@rule(
    id="PC-SCALE-002",
    title="Container apps scale on concurrent requests and CPU as the guide sets them",
    checklist=CHECKLIST,
    severity=Severity.MEDIUM,
    needs=[CONTAINER_APP],
    params={"max_concurrent_requests": 50, "max_cpu_utilization": 70, "excluded_apps": []},
    rationale=(
        "Voice sessions are long-lived WebSocket calls: scaling on request concurrency alone "
        "reacts late to CPU-bound audio processing, and without rules the app scales only on "
        "the platform's default HTTP rule."
    ),
    remediation=(
        """
        Scale on concurrent requests and on CPU. The HTTP rule can be set from the command line; add
        the CPU rule to the app's template (`template.scale.rules`):

        ```sh
        az containerapp update -n {name} -g {resource_group} --scale-rule-name http-requests --scale-rule-type http --scale-rule-http-concurrency 50
        ```

        ```json
        {"name": "cpu-utilization", "custom": {"type": "cpu", "metadata": {"type": "Utilization", "value": "70"}}}
        ```
    """
    ),
    links=[
        "https://learn.microsoft.com/azure/container-apps/scale-app",
        "https://keda.sh/docs/latest/scalers/cpu/",
    ],
)
def scale_rules_as_guide(inv, p):
    """
    ## What it checks
    Every container app's `template.scale.rules[]` has:

    - an HTTP rule whose `http.metadata.concurrentRequests` is at most
      `max_concurrent_requests` (default 50; a rule without it uses the platform's 10);
    - a CPU rule (`custom.type: cpu`) on utilization (`metadata.type: Utilization`, or no
      type) with `metadata.value` at most `max_cpu_utilization` (default 70).

    No rules at all is a FAIL, although the platform then adds a default HTTP rule: the app
    does not scale on CPU. Apps named in `excluded_apps` are not judged.

    Checked against the `Microsoft.App/containerApps` GET bodies of API version 2025-07-01
    (rules of kinds `http`, `custom` and `azureQueue`, metadata values as strings) and the
    request of its create example, which writes the HTTP rule as a `custom` rule of type `http`
    (read as the HTTP rule).

    ## Example
    Fails:
    ```json
    {"template": {"scale": {"minReplicas": 2, "maxReplicas": 20, "rules": null}}}
    ```
    Passes:
    ```json
    {"template": {"scale": {"rules": [
      {"name": "http-requests", "http": {"metadata": {"concurrentRequests": "50"}}},
      {"name": "cpu-utilization", "custom": {"type": "cpu",
                                             "metadata": {"type": "Utilization", "value": "70"}}}]}}}
    ```
    """
    for app, excluded in _apps(inv, p):
        if excluded:
            yield app.not_applicable("excluded by the excluded_apps parameter")
            continue
        rules = [
            r for r in listed(app.get("properties.template.scale.rules")) if isinstance(r, dict)
        ]
        evidence = {"properties.template.scale.rules": rules or None}
        if not rules:
            yield app.fail(
                "no scale rules: only the platform's default HTTP rule applies, nothing scales on CPU",
                evidence=evidence,
            )
            continue
        problems, good = [], []
        http = _http_rule(rules)
        if not http:
            problems.append("no HTTP concurrency rule")
        for entry in http:
            concurrency = _int(
                (entry["http"].get("metadata") or {}).get("concurrentRequests"),
                DEFAULT_CONCURRENT_REQUESTS,
            )
            if concurrency is None or concurrency > p.max_concurrent_requests:
                problems.append(
                    f"HTTP rule {entry.get('name')} scales at {concurrency} concurrent requests "
                    f"(> {p.max_concurrent_requests})"
                )
            else:
                good.append(f"HTTP at {concurrency} concurrent requests")
        cpu = _cpu_rules(rules)
        if not cpu:
            problems.append("no CPU utilization rule (custom type cpu)")
        for entry in cpu:
            metadata = entry["custom"].get("metadata") or {}
            kind = str(metadata.get("type", "Utilization") or "Utilization")
            value = _int(metadata.get("value"), None)
            if kind.lower() != "utilization":
                problems.append(f"CPU rule {entry.get('name')} is on {kind}, not utilization")
            elif value is None or value > p.max_cpu_utilization:
                problems.append(
                    f"CPU rule {entry.get('name')} scales at {value}% (> {p.max_cpu_utilization}%)"
                )
            else:
                good.append(f"CPU at {value}%")
        if problems:
            yield app.fail(*problems, evidence=evidence)
        else:
            yield app.ok("scales on " + " and ".join(good), evidence=evidence)


_REDIS_HA_FIX = {
    True: "Move the cache to the Standard or Premium tier (with zones on Premium):\n\n```sh\n"
    "az redis update -n {name} -g {resource_group} --sku Standard\n```",
    False: "Enable high availability:\n\n```sh\n"
    "az redisenterprise update -n {name} -g {resource_group} --high-availability Enabled\n```",
}


def _redis_ha(cache):
    """(highly available?, why) for Azure Cache for Redis and Redis Enterprise."""
    zones = cache.zones
    if cache.is_type(REDIS):
        tier = str(cache.get("properties.sku.name") or cache.sku.get("name") or "")
        if tier.lower() == "basic":
            return False, "Basic tier: a single node, no replica"
        if len(zones) > 1:
            return True, f"{tier} tier across zones {', '.join(zones)}"
        return True, f"{tier} tier: primary and replica"
    sku = str(cache.sku.get("name", ""))
    ha = cache.get("properties.highAvailability")
    if ha is not None:
        if str(ha).lower() == "enabled":
            return True, "high availability enabled" + (
                f", zones {', '.join(zones)}" if zones else ""
            )
        return False, f"high availability {ha}"
    if sku.lower().startswith("enterprise"):
        return True, f"{sku}: Enterprise tiers always replicate"
    if len(zones) > 1:
        return True, f"zones {', '.join(zones)}"
    return None, "highAvailability is not in the data"


@rule(
    id="PC-SCALE-003",
    title="The Container Apps environment and Redis survive a zone or node failure",
    checklist=CHECKLIST,
    severity=Severity.MEDIUM,
    needs=[MANAGED_ENVIRONMENT, REDIS, REDIS_ENTERPRISE],
    rationale=(
        "The guide's 99.9 % availability target does not survive a zone outage when the "
        "environment runs in one zone, nor a node failure when Redis has no replica."
    ),
    remediation=(
        """
        Zone redundancy of a Container Apps environment is set when it is created: create a
        zone-redundant environment (in a virtual network) and move the apps to it. For Redis, use the
        Standard or Premium tier with zones, or Azure Managed Redis with high availability.

        ```sh
        az containerapp env create -g {resource_group} -n '<new-environment-name>' --location '<region>' --infrastructure-subnet-resource-id '<subnet-id>' --zone-redundant
        ```
    """
    ),
    links=[
        "https://learn.microsoft.com/azure/reliability/reliability-azure-container-apps",
        "https://learn.microsoft.com/azure/redis/high-availability",
    ],
)
def zone_redundant_platform(inv, p):
    """
    ## What it checks
    Every Container Apps environment has `zoneRedundant: true`; every Azure Cache for Redis is
    Standard or Premium (replicated; zones are reported), and every Redis Enterprise / Azure
    Managed Redis cluster has `highAvailability: Enabled` (Enterprise tiers always replicate).
    A cluster that reports neither its high-availability setting nor zones gives ERROR.

    Checked against the GET bodies of `Microsoft.App/managedEnvironments` 2025-07-01,
    `Microsoft.Cache/redis` 2024-11-01 (the SKU inside `properties`, `zonalAllocationPolicy` and
    no zones listed) and `Microsoft.Cache/redisEnterprise` 2025-07-01 (no `highAvailability`: an
    Enterprise SKU across zones).

    ## Example
    Fails:
    ```json
    {"type": "Microsoft.App/managedEnvironments", "properties": {"zoneRedundant": false}}
    ```
    Passes:
    ```json
    {"type": "Microsoft.App/managedEnvironments", "properties": {"zoneRedundant": true,
      "vnetConfiguration": {"infrastructureSubnetId": "/subscriptions/.../subnets/snet-cae"}}}
    ```
    """
    for env in inv.of_type(MANAGED_ENVIRONMENT):
        evidence = env.evidence("properties.zoneRedundant")
        if env.get("properties.zoneRedundant") is True:
            yield env.ok("zone redundant", evidence=evidence)
        else:
            yield env.fail("not zone redundant: one zone outage stops every app", evidence=evidence)
    for cache in inv.of_type(REDIS, REDIS_ENTERPRISE):
        evidence = {
            "sku": cache.sku or cache.get("properties.sku"),
            "zones": cache.zones,
            "properties.highAvailability": cache.get("properties.highAvailability"),
        }
        ha, why = _redis_ha(cache)
        if ha is None:
            yield cache.error(why, evidence=evidence)
        elif ha:
            yield cache.ok(why, evidence=evidence)
        else:
            yield cache.fail(
                why, evidence=evidence, remediation=_REDIS_HA_FIX[cache.is_type(REDIS)]
            )
