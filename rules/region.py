"""One region for the real-time path — "Production environment validated".

A voice turn crosses Communication Services, Speech, Azure OpenAI, the apps and Redis; every hop
between regions adds a round trip to a 2.5 s budget.
"""

from prodcheck import Severity, rule

from ._workload import (
    API_MANAGEMENT,
    COGNITIVE_ACCOUNT,
    COMMUNICATION,
    CONTAINER_APP,
    MANAGED_ENVIRONMENT,
    REDIS,
    REDIS_ENTERPRISE,
    environment_of,
)
from .access import APIM_BACKEND, _calls, _hosts, host_of

CHECKLIST = "Production environment validated"

# Regions by the geography Communication Services names as its data location.
GEOGRAPHIES = {
    "United States": {
        "eastus",
        "eastus2",
        "centralus",
        "northcentralus",
        "southcentralus",
        "westcentralus",
        "westus",
        "westus2",
        "westus3",
    },
    "Europe": {
        "northeurope",
        "westeurope",
        "swedencentral",
        "francecentral",
        "germanywestcentral",
        "italynorth",
        "polandcentral",
        "spaincentral",
        "switzerlandnorth",
        "norwayeast",
    },
    "UK": {"uksouth", "ukwest"},
    "Canada": {"canadacentral", "canadaeast"},
    "Australia": {"australiaeast", "australiasoutheast"},
    "Japan": {"japaneast", "japanwest"},
    "India": {"centralindia", "southindia"},
    "Asia Pacific": {"southeastasia", "eastasia"},
    "Korea": {"koreacentral"},
    "France": {"francecentral"},
    "Germany": {"germanywestcentral"},
    "Switzerland": {"switzerlandnorth"},
    "Norway": {"norwayeast"},
    "UAE": {"uaenorth"},
    "Brazil": {"brazilsouth"},
}


def _region(text):
    return str(text or "").replace(" ", "").lower()


@rule(
    id="PC-REGION-001",
    title="The real-time voice path runs in one region",
    checklist=CHECKLIST,
    severity=Severity.MEDIUM,
    needs=[
        CONTAINER_APP,
        MANAGED_ENVIRONMENT,
        COGNITIVE_ACCOUNT,
        REDIS,
        REDIS_ENTERPRISE,
        COMMUNICATION,
        API_MANAGEMENT,
        APIM_BACKEND,
    ],
    params={"accepted_pairs": [["eastus", "eastus2"]]},
    rationale=(
        "Each hop between regions adds tens of milliseconds, several times per voice turn, to "
        "an end-to-end budget of 2.5 s."
    ),
    remediation=(
        "Deploy the Speech / Azure OpenAI accounts, the Container Apps environment and Redis in "
        "one region, and Communication Services with its data location in that region's "
        "geography; or declare a pair of regions you have measured as close in the rule's "
        "`accepted_pairs` parameter (prodcheck.yaml)."
    ),
    links=["https://learn.microsoft.com/azure/reliability/regions-list"],
)
def one_region_for_the_real_time_path(inv, p):
    """
    ## What it checks
    The resources on the real-time path share one region: the Container Apps environments of
    the apps, Redis (Azure Cache for Redis, Azure Managed Redis / Redis Enterprise), and the AI
    Services / Speech / Azure OpenAI accounts the apps call (named by a literal environment
    variable, or by an API Management backend's URL). When no app names an account (the
    endpoints live in App Configuration), every AI account in scope counts. Communication
    Services is global; its `dataLocation` must be the geography of that region.

    Two regions are accepted together when `accepted_pairs` lists them. The default,
    `[["eastus", "eastus2"]]`, is the one pair of Azure regions in the same metro area
    (Virginia) that the voice agent accelerator uses: its Voice Live models are offered in
    eastus2 and not in eastus, and the round trip between the two is a few milliseconds.
    Add pairs you have measured; remove it to require a single region. One finding for the
    scope, naming each hop that crosses regions.

    Checked against the locations of the GET bodies of `Microsoft.App/managedEnvironments`
    2025-07-01 (`North Central US`), `Microsoft.Cache/redis` 2024-11-01 (`East US`, typed
    `Microsoft.Cache/Redis`), `Microsoft.Cache/redisEnterprise` 2025-07-01 (`West US`) and
    `Microsoft.CognitiveServices/accounts` 2025-09-01 (`westus`): regions are compared without
    case or spaces.

    ## Example
    Fails: the apps' environment in `eastus`, Redis in `westeurope`. Passes: everything in
    `eastus`, an AI account in `eastus2`, ACS with `"dataLocation": "United States"`.
    """
    on_path = {}
    for app in inv.of_type(CONTAINER_APP):
        env = environment_of(inv, app)
        if env is not None:
            on_path[env.id] = (f"environment {env.name}", _region(env.location))
    for res in inv.of_type(REDIS, REDIS_ENTERPRISE):
        on_path[res.id] = (f"Redis {res.name}", _region(res.location))
    accounts = inv.of_type(COGNITIVE_ACCOUNT)
    by_host = {h: a for a in accounts for h in _hosts(a)}
    called = {}
    for app in inv.of_type(CONTAINER_APP):
        for _, host in _calls(app):
            if host in by_host:
                called[by_host[host].id] = by_host[host]
    for apim in inv.of_type(API_MANAGEMENT):
        for backend in inv.children(apim, APIM_BACKEND):
            host = host_of(str(backend.get("properties.url") or ""))
            if host in by_host:
                called[by_host[host].id] = by_host[host]
    for account in called.values() or accounts:
        on_path[account.id] = (f"AI account {account.name}", _region(account.location))
    regions = sorted({r for _, r in on_path.values() if r})
    pairs = {frozenset(_region(x) for x in pair) for pair in p.accepted_pairs if len(pair) == 2}
    evidence = {label: region for label, region in on_path.values()}
    if not on_path:
        yield inv.scope.not_applicable("no container app, Redis or AI account in scope")
        return
    problems, unplaced = [], []
    if len(regions) > 2 or (len(regions) == 2 and frozenset(regions) not in pairs):
        main = max(regions, key=lambda r: sum(1 for _, x in on_path.values() if x == r))
        problems += [
            f"{label} is in {region}, the rest of the path in {main}"
            for label, region in sorted(on_path.values())
            if region != main and frozenset({region, main}) not in pairs
        ]
    for acs in inv.of_type(COMMUNICATION):
        where = str(acs.get("properties.dataLocation") or "")
        members = GEOGRAPHIES.get(where)
        evidence[f"Communication Services {acs.name}"] = where or None
        if members is None:
            unplaced.append(
                f"Communication Services {acs.name} keeps data in {where or '(not set)'}, "
                "a geography prodcheck cannot place: whether it is near the path is not known"
            )
        elif not set(regions) <= members:
            outside = ", ".join(r for r in regions if r not in members)
            problems.append(
                f"Communication Services {acs.name} keeps data in {where}, not the geography "
                f"of {outside}"
            )
    if problems:
        yield inv.scope.fail(*problems, *unplaced, evidence=evidence)
    elif unplaced:
        yield inv.scope.error(*unplaced, evidence=evidence)
    else:
        shown = " + ".join(regions)
        yield inv.scope.ok(f"the real-time path runs in {shown}", evidence=evidence)
