"""The guide's architecture advice for cost — "Cost optimization opportunities identified".

Two patterns of the guide can be seen in ARM, and both are reported at severity info: they are
advice, not go-live blockers, so they never fail the gate unless it is set to `info`
(`--fail-on info`). Memory tiering keeps conversation state hot in Redis, warm in Cosmos DB and
cold in Blob storage, each tier expiring or moving what it no longer needs; a cascade of model
tiers answers common requests with a small or fine-tuned model and keeps the full model for
what needs it.
"""

from __future__ import annotations

import fnmatch
import math
from typing import Any

from prodcheck import Severity, rule

from ._workload import (
    COGNITIVE_ACCOUNT,
    COGNITIVE_DEPLOYMENT,
    COSMOS_ACCOUNT,
    MONGO_CLUSTER,
    REDIS,
    REDIS_ENTERPRISE,
    REDIS_ENTERPRISE_DATABASE,
    STORAGE,
    listed,
)

CHECKLIST = "Cost optimization opportunities identified"
SQL_DATABASE = "Microsoft.DocumentDB/databaseAccounts/sqlDatabases"
SQL_CONTAINER = "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers"
# The type some list examples of the Cosmos DB REST specs give their containers.
SQL_CONTAINER_ALIAS = "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/sqlContainers"
MANAGEMENT_POLICY = "Microsoft.Storage/storageAccounts/managementPolicies"

# What ARM means when the eviction policy is left out.
REDIS_DEFAULT_POLICY = "volatile-lru"  # Azure Cache for Redis: redisConfiguration.maxmemory-policy
REDIS_ENTERPRISE_DEFAULT_POLICY = "VolatileLRU"  # Azure Managed Redis: databases' evictionPolicy
# Storage kinds that hold no blobs, so have no blob lifecycle.
_NO_BLOBS = {"filestorage"}
# Lifecycle actions that move or remove blobs.
_LIFECYCLE_ACTIONS = ("tierToCool", "tierToCold", "tierToArchive", "delete")


def _policy_key(policy: str) -> str:
    """`allkeys-lru`, `AllKeysLRU` and `allkeys_lru` are the same policy."""
    return policy.replace("-", "").replace("_", "").lower()


def _names(resources) -> str:
    return ", ".join(r.name for r in resources)


def _hot(inv, p):
    caches = inv.of_type(REDIS)
    databases = inv.of_type(REDIS_ENTERPRISE_DATABASE)
    policies: dict[str, str] = {}
    labels: dict[str, str] = {}
    for cache in caches:
        value = cache.get("properties.redisConfiguration.maxmemory-policy", REDIS_DEFAULT_POLICY)
        policies[cache.id] = str(value or REDIS_DEFAULT_POLICY)
        labels[cache.id] = cache.name
    for database in databases:
        value = database.get("properties.evictionPolicy", REDIS_ENTERPRISE_DEFAULT_POLICY)
        policies[database.id] = str(value or REDIS_ENTERPRISE_DEFAULT_POLICY)
        cluster = database.id.split("/")[-3] if database.id.count("/") >= 3 else ""
        labels[database.id] = f"{cluster}/{database.name}" if cluster else database.name
    stores = {_policy_key(str(s)) for s in p.non_evicting_policies}
    evicting = [rid for rid, policy in policies.items() if _policy_key(policy) not in stores]
    evidence = {"evictionPolicies": policies}
    if evicting:
        shown = ", ".join(f"{labels[r]} ({policies[r]})" for r in evicting)
        return inv.scope.ok(f"hot tier: Redis that evicts when full: {shown}", evidence=evidence)
    if policies:
        shown = ", ".join(f"{labels[r]} ({policies[r]})" for r in policies)
        return inv.scope.fail(
            f"no Redis evicts when full: {shown}: once memory is full, writes fail instead of "
            "the coldest keys making room, so Redis is a store, not a hot cache",
            evidence=evidence,
        )
    return inv.scope.fail(
        "no Azure Cache for Redis or Azure Managed Redis in scope: no hot tier for session state"
    )


def _ttl(container) -> tuple[bool, str]:
    """Whether the container expires items, and how: `defaultTtl` absent is off, -1 is on without
    a default (items expire only with their own `ttl`), n > 0 expires items after n seconds."""
    value = container.get("properties.resource.defaultTtl")
    if value is None:
        return False, "no TTL"
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return False, f"defaultTtl {value!r} is not a number"
    if value == -1:
        return True, "TTL on, per item"
    if value > 0:
        return True, f"TTL {int(value)} s"
    return False, f"defaultTtl {value!r}"


def _container_label(container) -> str:
    parts = container.id.split("/")
    # .../databaseAccounts/{account}/sqlDatabases/{database}/containers/{container}
    return "/".join(parts[-5::2]) if len(parts) >= 5 else container.name


def _warm(inv, p):
    containers = inv.of_type(SQL_CONTAINER, SQL_CONTAINER_ALIAS)
    ttls = {c.id: _ttl(c) for c in containers}
    labels = {c.id: _container_label(c) for c in containers}
    evidence: dict[str, Any] = {"defaultTtl": {c.id: ttls[c.id][1] for c in containers}}
    expiring = [c.id for c in containers if ttls[c.id][0]]
    if expiring:
        shown = ", ".join(f"{labels[c]} ({ttls[c][1]})" for c in expiring)
        rest = [c.id for c in containers if not ttls[c.id][0]]
        also = f"; without TTL: {', '.join(labels[c] for c in rest)}" if rest else ""
        return inv.scope.ok(
            f"warm tier: Cosmos DB containers with a time to live: {shown}{also}",
            evidence=evidence,
        )
    if containers:
        return inv.scope.fail(
            f"no Cosmos DB container has a time to live ({', '.join(labels[c.id] for c in containers)}): "
            "conversation items stay, and bill, until something deletes them",
            evidence=evidence,
        )
    accounts = inv.of_type(COSMOS_ACCOUNT)
    nosql = [a for a in accounts if _nosql(a)]
    if nosql:
        return inv.scope.fail(
            f"Cosmos DB account(s) {_names(nosql)} hold no container: no warm tier",
        )
    others = inv.of_type(MONGO_CLUSTER) + accounts
    if others:
        return inv.scope.manual(
            f"{_names(others)}: MongoDB time to live is a TTL index on each collection, which "
            "ARM does not show; attach the collections' indexes (db.<collection>.getIndexes()) "
            "showing an expireAfterSeconds index on the conversation collections",
        )
    return inv.scope.fail("no Cosmos DB in scope: no warm tier for conversation history")


def _nosql(account) -> bool:
    if account.kind.lower() == "mongodb":
        return False
    names = {
        str(c.get("name") or "").lower()
        for c in listed(account.get("properties.capabilities"))
        if isinstance(c, dict)
    }
    return not names & {"enablemongo", "enablecassandra", "enablegremlin", "enabletable"}


def _lifecycle_rules(policy) -> list[str]:
    """The enabled rules of a lifecycle policy that move or delete blobs: `name: actions`."""
    found = []
    for entry in listed(policy.get("properties.policy.rules")):
        if not isinstance(entry, dict) or entry.get("enabled", True) is False:
            continue
        actions = (
            entry.get("definition", {}).get("actions")
            if isinstance(entry.get("definition"), dict)
            else None
        )
        if not isinstance(actions, dict):
            continue
        done = []
        for target in ("baseBlob", "snapshot", "version"):
            block = actions.get(target)
            if isinstance(block, dict):
                done += [a for a in _LIFECYCLE_ACTIONS if isinstance(block.get(a), dict)]
        if done:
            found.append(f"{entry.get('name') or '(unnamed)'}: {', '.join(dict.fromkeys(done))}")
    return found


def _cold(inv, p):
    accounts = [a for a in inv.of_type(STORAGE) if a.kind.lower() not in _NO_BLOBS]
    rules_of: dict[str, list[str]] = {}
    for account in accounts:
        policies = inv.children(account, MANAGEMENT_POLICY)
        rules_of[account.id] = [r for pol in policies for r in _lifecycle_rules(pol)]
    evidence = {"lifecycleRules": rules_of}
    managed = [a for a in accounts if rules_of[a.id]]
    if managed:
        shown = "; ".join(f"{a.name} ({', '.join(rules_of[a.id])})" for a in managed)
        rest = [a for a in accounts if not rules_of[a.id]]
        also = f"; without a lifecycle policy: {_names(rest)}" if rest else ""
        return inv.scope.ok(f"cold tier: blob lifecycle policy on {shown}{also}", evidence=evidence)
    if accounts:
        return inv.scope.fail(
            f"no lifecycle management policy moves or deletes blobs on {_names(accounts)}: "
            "recordings and transcripts stay in the hot access tier for good",
            evidence=evidence,
        )
    return inv.scope.fail(
        "no storage account in scope: no cold tier for recordings and old transcripts"
    )


_MEMORY_RATIONALE = (
    "Memory that never expires grows with every call. The guide's memory tiering (hot Redis, "
    "warm Cosmos DB, cold Blob storage) keeps fast access where it is needed and cheap "
    "storage for the rest, each tier dropping or moving what it no longer needs. "
)
_MEMORY_LINKS = ["https://learn.microsoft.com/azure/architecture/ai-ml/guide/conversational-memory"]


@rule(
    id="PC-ARCH-001",
    title="Memory tiering, hot: Redis evicts when it is full",
    checklist=CHECKLIST,
    severity=Severity.INFO,
    needs=[REDIS, REDIS_ENTERPRISE, REDIS_ENTERPRISE_DATABASE],
    params={"non_evicting_policies": ["noeviction"]},
    rationale=_MEMORY_RATIONALE
    + "Redis that cannot evict refuses writes in the middle of a conversation once memory is "
    "full, instead of dropping the coldest session state.",
    remediation="""
        Let the cache evict the least recently used keys (Azure Cache for Redis), or create the
        Azure Managed Redis database with `--eviction-policy AllKeysLRU` (the policy of an
        existing database cannot be changed):

        ```sh
        az redis update -n '<cache>' -g {resource_group} --set 'redisConfiguration.maxmemory-policy=allkeys-lru'
        ```
    """,
    links=[
        *_MEMORY_LINKS,
        "https://learn.microsoft.com/azure/azure-cache-for-redis/cache-best-practices-memory-management",
    ],
)
def hot_memory_evicts(inv, p):
    """
    ## What it checks
    The hot tier of the guide's memory tiering (hot Redis, warm Cosmos DB, cold Blob storage):
    an Azure Cache for Redis (`properties.redisConfiguration.maxmemory-policy`; absent means
    `volatile-lru`, the service default) or an Azure Managed Redis / Redis Enterprise database
    (`properties.evictionPolicy`; absent means `VolatileLRU`) evicts keys when memory is full:
    its policy is not one of `non_evicting_policies` (default `noeviction`, compared without
    case, dashes or underscores). One finding for the scope, at severity info: reported, and
    never failing the gate unless it is set to `info` (`--fail-on info`). No Redis in scope
    fails.

    A `volatile-*` policy evicts only keys that carry an expiry, so the application must set
    one. A database with the RediSearch module must use `NoEviction`: it is a store, not a
    cache, and does not count as the hot tier.

    Checked against the GET bodies of `Microsoft.Cache/redis` 2024-11-01 (an empty
    `redisConfiguration` when nothing was set) and `Microsoft.Cache/redisEnterprise/databases`
    2025-07-01.

    ## Example
    Passes:
    ```json
    {"type": "Microsoft.Cache/redisEnterprise/databases", "properties": {"evictionPolicy": "AllKeysLRU"}}
    ```
    Fails: `"evictionPolicy": "NoEviction"`, or
    `{"redisConfiguration": {"maxmemory-policy": "noeviction"}}`.
    """
    yield _hot(inv, p)


@rule(
    id="PC-ARCH-002",
    title="Memory tiering, warm: Cosmos DB containers have a time to live",
    checklist=CHECKLIST,
    severity=Severity.INFO,
    needs=[COSMOS_ACCOUNT, SQL_DATABASE, SQL_CONTAINER, MONGO_CLUSTER],
    rationale=_MEMORY_RATIONALE
    + "Conversation items without a time to live stay, and bill for storage and index, until "
    "something deletes them.",
    remediation="""
        Give the conversation containers a default time to live (here one day; `-1` lets each
        item set its own `ttl`):

        ```sh
        az cosmosdb sql container update -a '<cosmos-account>' -g {resource_group} -d '<database>' -n '<container>' --ttl 86400
        ```
    """,
    links=[*_MEMORY_LINKS, "https://learn.microsoft.com/azure/cosmos-db/nosql/time-to-live"],
)
def warm_memory_expires(inv, p):
    """
    ## What it checks
    The warm tier of the guide's memory tiering: a Cosmos DB for NoSQL container
    (`Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers`) has a time to live:
    `properties.resource.defaultTtl` is a number of seconds, or `-1` (on, with no default: only
    items that carry their own `ttl` expire). Absent means off. Containers without one are
    named in the message. One finding for the scope, at severity info: reported, and never
    failing the gate unless it is set to `info`.

    MongoDB (vCore clusters, `Microsoft.DocumentDB/mongoClusters`, and accounts of the MongoDB
    API) keeps its time to live in TTL indexes, which ARM does not show: with MongoDB and no
    NoSQL account the finding is MANUAL, asking for the indexes. No Cosmos DB in scope, or
    NoSQL accounts without containers, fails.

    A live audit lists the SQL databases of each account of the NoSQL API (one request per
    account; accounts of the MongoDB, Cassandra, Gremlin and Table APIs have none and are not
    asked) and the containers of each database (one request per database). A list that could
    not be read makes the finding ERROR with the permission that was missing.

    Checked against the list bodies of `Microsoft.DocumentDB/databaseAccounts/sqlDatabases`
    and `.../containers` 2024-11-15; some of its examples type containers
    `.../sqlDatabases/sqlContainers`, which is read the same.

    ## Example
    Passes:
    ```json
    {"type": "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers",
     "properties": {"resource": {"id": "turns", "partitionKey": {"paths": ["/sessionId"]},
       "defaultTtl": 86400}}}
    ```
    Fails: the same container without `defaultTtl`.
    """
    yield _warm(inv, p)


@rule(
    id="PC-ARCH-003",
    title="Memory tiering, cold: a blob lifecycle policy moves or deletes old blobs",
    checklist=CHECKLIST,
    severity=Severity.INFO,
    needs=[STORAGE, MANAGEMENT_POLICY],
    rationale=_MEMORY_RATIONALE
    + "Recordings and transcripts left in the hot access tier are paid for at the highest "
    "storage price for as long as they exist.",
    remediation="""
        Add a lifecycle management policy to the storage account that keeps recordings and
        transcripts; `lifecycle.json` holds its rules, for instance moving blobs to the cool
        tier after 30 days and deleting them after a year:

        ```sh
        az storage account management-policy create --account-name '<storage-account>' -g {resource_group} --policy @lifecycle.json
        ```

        ```json
        {"rules": [{"enabled": true, "name": "cool-then-delete", "type": "Lifecycle",
          "definition": {"filters": {"blobTypes": ["blockBlob"]},
            "actions": {"baseBlob": {"tierToCool": {"daysAfterModificationGreaterThan": 30},
              "delete": {"daysAfterModificationGreaterThan": 365}}}}}]}
        ```
    """,
    links=[
        *_MEMORY_LINKS,
        "https://learn.microsoft.com/azure/storage/blobs/lifecycle-management-overview",
    ],
)
def cold_memory_moves(inv, p):
    """
    ## What it checks
    The cold tier of the guide's memory tiering: a storage account that holds blobs (any kind
    but `FileStorage`) has a lifecycle management policy
    (`Microsoft.Storage/storageAccounts/managementPolicies`, named `default`) with an enabled
    rule (`enabled` absent means on) that moves blobs to the cool, cold or archive tier or
    deletes them (base blobs, snapshots or versions). One finding for the scope, at severity
    info: reported, and never failing the gate unless it is set to `info`. Accounts without
    such a policy are named; no storage account in scope fails.

    The policy has no list: a live audit reads it with one GET per storage account, and ARM's
    404 means the account has none (recorded as read, with none). A refused read (403) makes
    the finding ERROR with the permission that was missing.

    Checked against the GET body of `Microsoft.Storage/storageAccounts/managementPolicies`
    2023-05-01 (named `DefaultManagementPolicy` in the body, `default` in its id).

    ## Example
    Passes:
    ```json
    {"type": "Microsoft.Storage/storageAccounts/managementPolicies", "properties": {"policy":
      {"rules": [{"enabled": true, "name": "cool-then-delete", "type": "Lifecycle",
        "definition": {"actions": {"baseBlob": {"tierToCool": {"daysAfterModificationGreaterThan": 30},
          "delete": {"daysAfterModificationGreaterThan": 365}}}}}]}}}
    ```
    Fails: a storage account whose `managementPolicies/default` answers 404, or whose rules are
    all `"enabled": false`.
    """
    yield _cold(inv, p)


# ---- cascade of model tiers ---------------------------------------------------------------------

TIERS = ("small", "mini", "full")
TIER_LABELS = {
    "small": "tier 1 (small / fine-tuned)",
    "mini": "tier 2 (mini)",
    "full": "tier 3 (full)",
}


def _matches(name: str, patterns) -> bool:
    return any(fnmatch.fnmatchcase(name, str(pat).lower()) for pat in patterns)


def _tier(model: Any, p) -> str | None:
    """The cascade tier of a deployed model, "ignored" for models that are not in the cascade
    (embeddings, speech, images), or None when no parameter names it."""
    name = str(model.get("name") or "").lower() if isinstance(model, dict) else ""
    if not name:
        return None
    if _matches(name, p.ignored_models):
        return "ignored"
    if any(str(marker).lower() in name for marker in p.fine_tune_markers if str(marker)):
        return "small"
    if _matches(name, p.small_models):
        return "small"
    if _matches(name, p.mini_models):
        return "mini"
    if _matches(name, p.full_models):
        return "full"
    return None


@rule(
    id="PC-ARCH-004",
    title="A cascade of model tiers is deployed: small or fine-tuned, mini and full",
    checklist=CHECKLIST,
    severity=Severity.INFO,
    needs=[COGNITIVE_ACCOUNT, COGNITIVE_DEPLOYMENT],
    params={
        "small_models": [
            "phi-*",
            "*slm*",
            "ministral-*",
            "mistral-small*",
            "mistral-nemo*",
            "gemma-*",
            "llama-3.2-1b*",
            "llama-3.2-3b*",
            "gpt-*-nano*",
        ],
        "mini_models": ["*-mini", "*-mini-*"],
        "full_models": [
            "gpt-*",
            "o1",
            "o1-*",
            "o3",
            "o3-*",
            "o4-*",
            "deepseek-*",
            "grok-*",
            "llama-*",
            "meta-llama-*",
            "mistral-large*",
        ],
        "ignored_models": [
            "text-embedding-*",
            "*embed*",
            "*transcribe*",
            "whisper*",
            "tts*",
            "*-tts*",
            "dall-e*",
            "gpt-image*",
            "sora*",
        ],
        "fine_tune_markers": [".ft-"],
    },
    rationale=(
        "The guide's cascade routes common intents and FAQ answers to a fine-tuned small "
        "model (low cost), moderate requests and structured outputs to a mini model (medium) "
        "and only complex, multi-turn reasoning to a full model (high): 80-90% lower model "
        "cost, faster answers to simple requests, and a graceful fallback when the small "
        "model is not confident. Without a tier-1 model every request pays mini or full prices."
    ),
    remediation="""
        Deploy a small model beside the larger ones (or fine-tune one on the conversation
        data), then route common intents to it and fall back to the mini and full models when
        its confidence is low:

        ```sh
        az cognitiveservices account deployment create -n '<ai-account>' -g {resource_group} --deployment-name phi-4-mini --model-format Microsoft --model-name Phi-4-mini-instruct --model-version 1 --sku-name GlobalStandard --sku-capacity 1
        ```
    """,
    links=["https://learn.microsoft.com/azure/ai-foundry/openai/how-to/fine-tuning"],
)
def model_cascade_deployed(inv, p):
    """
    ## What it checks
    The model deployments of the AI accounts in scope
    (`Microsoft.CognitiveServices/accounts/deployments`, `properties.model.name`), sorted into
    the guide's cascade tiers, in one finding for the scope at severity info (reported, never
    failing the gate unless it is set to `info`):

    | tier | parameter (name patterns, any case) | the guide's use | cost |
    |---|---|---|---|
    | 1: small / fine-tuned | `small_models` (Phi, Ministral, Mistral Small, Gemma, GPT nano, ...), or a name with a `fine_tune_markers` marker (`.ft-`, as Azure OpenAI names fine-tuned models) | common intents, FAQ answers | low |
    | 2: mini | `mini_models` (`*-mini`, `*-mini-*`: gpt-4o-mini, o3-mini, gpt-realtime-mini) | moderate complexity, structured outputs | medium |
    | 3: full | `full_models` (gpt-4o, gpt-5, gpt-realtime, o1, o3, ...) | complex reasoning, multi-turn context | high |

    Models in `ignored_models` (embeddings, transcription, speech, images) are not in the
    cascade. The order of the tests is: ignored, fine-tune marker, small, mini, full; a model
    no parameter names is listed as unclassified in the evidence.

    Passes when a tier-1 model is deployed beside a mini or full one (the cascade can route
    down and fall back up). Fails when no tier-1 model is deployed, or when nothing larger is
    there to fall back to. No generative model deployment in scope: not applicable.

    Checked against the deployment bodies of `Microsoft.CognitiveServices/accounts/deployments`
    2024-10-01 (`properties.model` with `format`, `name`, `version`).

    ## Example
    Fails (the accelerator as deployed: tiers 2 and 3 only):
    ```json
    [{"name": "gpt-4o", "properties": {"model": {"format": "OpenAI", "name": "gpt-4o"}}},
     {"name": "gpt-4o-mini", "properties": {"model": {"format": "OpenAI", "name": "gpt-4o-mini"}}}]
    ```
    Passes: the same with
    `{"properties": {"model": {"format": "Microsoft", "name": "Phi-4-mini-instruct", "version": "1"}}}`
    or a fine-tuned `gpt-4o-mini-2024-07-18.ft-0a1b2c3d` deployed beside them.
    """
    deployments = inv.of_type(COGNITIVE_DEPLOYMENT)
    tiers: dict[str, list[str]] = {t: [] for t in TIERS}
    unclassified: list[str] = []
    evidence: dict[str, Any] = {}
    for deployment in deployments:
        model = deployment.get("properties.model") or {}
        tier = _tier(model, p)
        name = str(model.get("name") or "") if isinstance(model, dict) else ""
        label = (
            f"{deployment.name} ({name})" if name and name != deployment.name else deployment.name
        )
        evidence[deployment.id] = tier or "unclassified"
        if tier in tiers:
            tiers[tier].append(label)
        elif tier is None:
            unclassified.append(label)
    shown = "; ".join(f"{TIER_LABELS[t]}: {', '.join(tiers[t]) or 'none'}" for t in TIERS)
    if unclassified:
        shown += f"; unclassified: {', '.join(unclassified)}"
    if not any(tiers.values()) and not unclassified:
        yield inv.scope.not_applicable("no generative model deployment in scope")
    elif not any(tiers.values()):
        yield inv.scope.fail(
            f"no deployed model is in a cascade tier ({shown}): name them in the "
            "small_models, mini_models or full_models parameters",
            evidence={"tiers": evidence},
        )
    elif not tiers["small"]:
        yield inv.scope.fail(
            f"no tier-1 model (small or fine-tuned) is deployed ({shown}): every request pays "
            "mini or full prices, where the guide's cascade answers common intents with a "
            "fine-tuned small model for 80-90% less",
            evidence={"tiers": evidence},
        )
    elif not (tiers["mini"] or tiers["full"]):
        yield inv.scope.fail(
            f"only tier-1 models are deployed ({shown}): nothing to fall back to when the "
            "small model is not confident",
            evidence={"tiers": evidence},
        )
    else:
        yield inv.scope.ok(f"cascade tiers deployed: {shown}", evidence={"tiers": evidence})
