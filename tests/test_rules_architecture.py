"""The guide's architecture advice, informational: memory tiering, hot, warm and cold
(PC-ARCH-001 to 003), and the cascade of model tiers (PC-ARCH-004)."""

from __future__ import annotations

import pytest
from builders import registry, run, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st
from tiers import (
    SQL_CONTAINER,
    SUB,
    ai_account,
    cosmos_account,
    deployment,
    lifecycle_rule,
    management_policy,
    mongo_cluster,
    redis_cache,
    redis_cluster,
    redis_database,
    sql_container,
    sql_database,
    storage_account,
)

from prodcheck.api import audit_snapshot
from prodcheck.model import Severity
from prodcheck.snapshot import load_demo

HOT, WARM, COLD, CASCADE = "PC-ARCH-001", "PC-ARCH-002", "PC-ARCH-003", "PC-ARCH-004"
TIERS = {"hot": HOT, "warm": WARM, "cold": COLD}


def tiers(resources, params=None, coverage=None):
    """The one finding of each memory tier's rule, by tier."""
    out = {}
    for tier, rule_id in TIERS.items():
        findings = run(rule_id, resources, params=params, coverage=coverage)
        # beside it, a rule reports each coverage gap it met as a finding of its own
        (out[tier],) = [f for f in findings if not f.subject]
    return out


def warm_store(ttl=86400):
    account = cosmos_account("cosmos-mem")
    database = sql_database(account, "memory")
    return [account, database, sql_container(database, "turns", ttl)]


def cold_store(*rules):
    account = storage_account("strecordings")
    return [account, management_policy(account, *(rules or (lifecycle_rule(),)))]


def hot_store(policy="AllKeysLRU"):
    cluster = redis_cluster("redis-mem")
    return [cluster, redis_database(cluster, policy)]


# ---- memory tiering ---------------------------------------------------------------------------


def test_the_three_tiers_in_place_pass_with_what_makes_each_one():
    found = tiers(hot_store() + warm_store() + cold_store())
    assert {k: f.status.value for k, f in found.items()} == {
        "hot": "PASS",
        "warm": "PASS",
        "cold": "PASS",
    }
    assert "redis-mem/default (AllKeysLRU)" in found["hot"].message
    assert "cosmos-mem/memory/turns (TTL 86400 s)" in found["warm"].message
    assert "strecordings (cool-then-delete: tierToCool, delete)" in found["cold"].message
    assert all(f.severity is Severity.INFO for f in found.values())


def test_no_service_of_a_tier_fails_that_tier():
    found = tiers([])
    assert {k: f.status.value for k, f in found.items()} == {
        "hot": "FAIL",
        "warm": "FAIL",
        "cold": "FAIL",
    }
    assert "no hot tier" in found["hot"].message


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        # redisConfiguration: {} means the service default, volatile-lru
        ([redis_cache("c1")], "c1 (volatile-lru)"),
        ([redis_cache("c1", "allkeys-lfu")], "c1 (allkeys-lfu)"),
        (hot_store(None), "redis-mem/default (VolatileLRU)"),
    ],
)
def test_an_evicting_or_default_policy_is_a_hot_tier(resources, expected):
    (hot,) = run(HOT, resources)
    assert hot.status.value == "PASS"
    assert expected in hot.message


@pytest.mark.parametrize("policy", ["noeviction", "NoEviction", "no_eviction"])
def test_redis_that_never_evicts_is_a_store_not_a_hot_cache(policy):
    cluster = redis_cluster("vec")
    db = redis_database(cluster, "NoEviction", modules=["RediSearch"])
    (hot,) = run(HOT, [redis_cache("c1", policy), cluster, db])
    assert hot.status.value == "FAIL"
    assert "writes fail" in hot.message
    assert hot.evidence["evictionPolicies"][db["id"]] == "NoEviction"


def test_the_non_evicting_policies_are_a_parameter():
    params = {"non_evicting_policies": ["volatile-ttl"]}
    (hot,) = run(HOT, [redis_cache("c1", "volatile-ttl")], params=params)
    assert hot.status.value == "FAIL"


@pytest.mark.parametrize(
    ("ttl", "status", "shown"),
    [
        (86400, "PASS", "TTL 86400 s"),
        (-1, "PASS", "TTL on, per item"),
        (None, "FAIL", "no Cosmos DB container has a time to live"),
        (0, "FAIL", "no Cosmos DB container has a time to live"),
        ("86400", "FAIL", "no Cosmos DB container has a time to live"),
        (True, "FAIL", "no Cosmos DB container has a time to live"),
        (float("inf"), "FAIL", "no Cosmos DB container has a time to live"),
    ],
)
def test_container_ttl_absent_is_off_and_minus_one_is_on_without_a_default(ttl, status, shown):
    warm = tiers(warm_store(ttl))["warm"]
    assert warm.status.value == status
    assert shown in warm.message


def test_containers_without_ttl_are_named_beside_those_with_one():
    account = cosmos_account("cosmos-mem")
    database = sql_database(account, "memory")
    resources = [
        account,
        database,
        sql_container(database, "turns", 3600),
        sql_container(database, "profiles"),
    ]
    warm = tiers(resources)["warm"]
    assert warm.status.value == "PASS"
    assert "without TTL: cosmos-mem/memory/profiles" in warm.message


def test_containers_typed_sql_containers_as_in_the_spec_examples_are_read_too():
    account = cosmos_account("cosmos-mem")
    database = sql_database(account, "memory")
    odd = sql_container(
        database,
        "turns",
        600,
        type_="Microsoft.DocumentDB/databaseAccounts/sqlDatabases/sqlContainers",
    )
    assert tiers([account, database, odd])["warm"].status.value == "PASS"


def test_mongodb_without_a_nosql_container_asks_for_its_ttl_indexes():
    mongo_api = cosmos_account("cosmos-mongo", kind="MongoDB")
    warm = tiers([mongo_cluster("vcore"), mongo_api])["warm"]
    assert warm.status.value == "MANUAL"
    assert "vcore, cosmos-mongo" in warm.message
    assert "TTL index" in warm.message


def test_a_nosql_account_without_containers_has_no_warm_tier():
    warm = tiers([cosmos_account("empty")])["warm"]
    assert warm.status.value == "FAIL"
    assert "hold no container" in warm.message


def test_a_lifecycle_policy_with_only_disabled_rules_is_no_cold_tier():
    account = storage_account("st1")
    resources = [account, management_policy(account, lifecycle_rule(enabled=False))]
    cold = tiers(resources)["cold"]
    assert cold.status.value == "FAIL"
    assert "no lifecycle management policy moves or deletes blobs on st1" in cold.message


def test_a_rule_without_enabled_is_on_and_archive_counts():
    account = storage_account("st1")
    rule = lifecycle_rule("archive", enabled=None, tierToArchive=90)
    cold = tiers([account, management_policy(account, rule)])["cold"]
    assert cold.status.value == "PASS"
    assert "archive: tierToArchive" in cold.message


def test_a_storage_account_without_a_policy_fails_and_file_shares_are_not_judged():
    found = tiers([storage_account("st1"), storage_account("files", kind="FileStorage")])
    assert found["cold"].status.value == "FAIL"
    assert found["cold"].evidence["lifecycleRules"] == {storage_account("st1")["id"]: []}


def test_hostile_shapes_are_read_as_nothing_rather_than_crashing():
    account = storage_account("st1")
    policy = management_policy(account, lifecycle_rule())
    policy["properties"]["policy"]["rules"] = [
        "x",
        {"enabled": True, "definition": "nope"},
        {"definition": {"actions": {"baseBlob": {"delete": 3}}}},
    ]
    cache = redis_cache("c1")
    cache["properties"]["redisConfiguration"] = {"maxmemory-policy": None}
    found = tiers([account, policy, cache])
    assert found["cold"].status.value == "FAIL"
    assert found["hot"].status.value == "PASS"  # null is the service default


def test_a_container_list_that_could_not_be_read_makes_the_warm_tier_error():
    resources = hot_store() + warm_store() + cold_store()
    database_id = resources[3]["id"]
    scope = f"/subscriptions/{SUB}"
    coverage = [
        {"resourceType": t, "scope": scope, "status": "ok", "count": 1}
        for rule_id in TIERS.values()
        for t in registry().get(rule_id).needs
        if t != SQL_CONTAINER
    ]
    coverage.append(
        {
            "resourceType": SQL_CONTAINER,
            "scope": database_id,
            "status": "failed",
            "statusCode": 403,
            "errorCode": "AuthorizationFailed",
            "permission": f"{SQL_CONTAINER}/read",
            "message": "denied",
        }
    )
    found = tiers(resources, coverage=coverage)
    assert found["warm"].status.value == "ERROR"
    assert found["hot"].status.value == "PASS"
    assert found["cold"].status.value == "PASS"


# ---- cascade ----------------------------------------------------------------------------------


def cascade(*names, fmt="OpenAI"):
    account = ai_account()
    return [account, *(deployment(account, n, fmt=fmt) for n in names)]


def test_the_accelerators_models_have_no_tier_one():
    names = [
        "gpt-4o",
        "gpt-4o-mini",
        "o3-mini",
        "gpt-5.1",
        "text-embedding-3-large",
        "gpt-realtime",
        "gpt-4o-transcribe",
    ]
    (finding,) = run(CASCADE, cascade(*names))
    assert finding.status.value == "FAIL"
    assert finding.severity is Severity.INFO
    assert "tier 2 (mini): gpt-4o-mini, o3-mini" in finding.message
    assert "tier 3 (full): gpt-4o, gpt-5.1, gpt-realtime" in finding.message
    assert "80-90%" in finding.message
    tiers_by_id = finding.evidence["tiers"]
    assert sorted(tiers_by_id.values()).count("ignored") == 2


@pytest.mark.parametrize(
    "small",
    [
        "Phi-4-mini-instruct",
        "gpt-4o-mini-2024-07-18.ft-0a1b2c3d4e5f",
        "gpt-4.1-nano",
        "Ministral-3B",
    ],
)
def test_a_small_or_fine_tuned_model_beside_larger_ones_is_a_cascade(small):
    account = ai_account()
    resources = [account, deployment(account, "router", small), deployment(account, "gpt-4o")]
    (finding,) = run(CASCADE, resources)
    assert finding.status.value == "PASS"
    assert f"tier 1 (small / fine-tuned): router ({small})" in finding.message


def test_only_small_models_leave_nothing_to_fall_back_to():
    (finding,) = run(CASCADE, cascade("Phi-4-mini-instruct", fmt="Microsoft"))
    assert finding.status.value == "FAIL"
    assert "nothing to fall back to" in finding.message


def test_no_generative_deployment_is_not_applicable_and_unknown_names_are_shown():
    assert run(CASCADE, cascade("text-embedding-3-small"))[0].status.value == "NOT_APPLICABLE"
    (finding,) = run(CASCADE, cascade("acme-chat"))
    assert finding.status.value == "FAIL"
    assert "unclassified: acme-chat" in finding.message


def test_the_tiers_are_parameters():
    params = {"small_models": ["acme-*"], "fine_tune_markers": []}
    (finding,) = run(CASCADE, cascade("acme-chat", "gpt-4o"), params=params)
    assert finding.status.value == "PASS"
    # without the marker a fine-tuned mini model is only a mini model
    (finding,) = run(CASCADE, cascade("gpt-4o-mini-2024-07-18.ft-abc", "gpt-4o"), params=params)
    assert finding.status.value == "FAIL"


def test_a_model_that_is_not_an_object_is_unclassified():
    account = ai_account()
    odd = deployment(account, "odd")
    odd["properties"]["model"] = "gpt-4o"
    (finding,) = run(CASCADE, [account, odd, deployment(account, "gpt-4o")])
    assert finding.status.value == "FAIL"
    assert "unclassified: odd" in finding.message


# ---- the demos and the gate -------------------------------------------------------------------


def _demo(name):
    report = audit_snapshot(load_demo(name), rules=[*TIERS.values(), CASCADE])
    return {f.rule_id: f for f in report.findings}, report


def test_the_hardened_demo_has_every_tier_in_place():
    found, report = _demo("hardened")
    assert {k: f.status.value for k, f in found.items()} == {
        HOT: "PASS",
        WARM: "PASS",
        COLD: "PASS",
        CASCADE: "PASS",
    }
    assert "phi-4-mini" in found[CASCADE].message


def test_the_flat_demo_shows_what_the_accelerator_lacks_without_failing_the_gate():
    found, report = _demo("flat")
    assert found[HOT].status.value == "PASS"  # Managed Redis, VolatileLRU
    assert found[WARM].status.value == "MANUAL"  # MongoDB vCore: TTL indexes
    assert found[COLD].status.value == "FAIL"  # no lifecycle policy
    assert found[CASCADE].status.value == "FAIL"  # no tier-1 model
    assert report.blocking() == []


def test_info_findings_fail_the_gate_only_when_it_is_set_to_info(capsys):
    code, _, _ = run_cli(capsys, "audit", "--demo", "--rule", "PC-ARCH-*", "-q")
    assert code == 0
    code, _, _ = run_cli(
        capsys, "audit", "--demo", "--rule", "PC-ARCH-*", "--fail-on", "info", "-q"
    )
    assert code == 1


# ---- hostile shapes ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None)
@given(
    eviction=json_values,
    maxmemory=json_values,
    ttl=json_values,
    rules=json_values,
    model=json_values,
)
def test_any_shape_of_the_values_read_gives_a_verdict_not_a_broken_rule(
    eviction, maxmemory, ttl, rules, model
):
    cluster = redis_cluster("r")
    database = redis_database(cluster)
    database["properties"]["evictionPolicy"] = eviction
    cache = redis_cache("c")
    cache["properties"]["redisConfiguration"] = {"maxmemory-policy": maxmemory}
    resources = [cluster, database, cache, *warm_store(), *cold_store()]
    resources[5]["properties"]["resource"]["defaultTtl"] = ttl
    resources[7]["properties"]["policy"]["rules"] = rules
    account = ai_account()
    odd = deployment(account, "odd")
    odd["properties"]["model"] = model
    resources += [account, odd, deployment(account, "gpt-4o")]
    for rule_id in (*TIERS.values(), CASCADE):
        for finding in run(rule_id, resources):
            assert finding.status.value in {"PASS", "FAIL", "MANUAL", "NOT_APPLICABLE"}, (
                rule_id,
                finding.message,
            )
