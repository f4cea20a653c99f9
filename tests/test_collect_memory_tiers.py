"""The memory tiers through the fake ARM: Cosmos DB SQL databases and containers (lists), the blob
lifecycle policy (one GET, 404 when none), and refused reads making the verdicts that rest on them ERROR."""

from __future__ import annotations

from tiers import (
    MANAGEMENT_POLICY,
    SQL_CONTAINER,
    SQL_DATABASE,
    SUB,
    cosmos_account,
    lifecycle_rule,
    management_policy,
    sql_container,
    sql_database,
    storage_account,
)

from prodcheck.api import audit_snapshot
from prodcheck.collect import collect_snapshot

pytest_plugins = ["fake_arm.fixtures"]

NEEDS = [SQL_CONTAINER, MANAGEMENT_POLICY, "Microsoft.DocumentDB/mongoClusters"]


def estate():
    nosql = cosmos_account("cosmos-mem")
    memory = sql_database(nosql, "memory")
    mongo_api = cosmos_account("cosmos-mongo", kind="MongoDB")
    cassandra = cosmos_account("cosmos-cql", capabilities=["EnableCassandra"])
    with_policy = storage_account("strecordings")
    without = storage_account("stlogs")
    return {
        "nosql": nosql,
        "memory": memory,
        "turns": sql_container(memory, "turns", 86400),
        "profiles": sql_container(memory, "profiles"),
        "mongo_api": mongo_api,
        "cassandra": cassandra,
        "with_policy": with_policy,
        "policy": management_policy(with_policy, lifecycle_rule()),
        "without": without,
    }


def collect(fake_arm, make_options, needs=NEEDS):
    resources = estate()
    fake_arm.serve(list(resources.values()))
    return resources, collect_snapshot(make_options(subscriptions=[SUB]), needs)


def _warm(snap):
    """PC-ARCH-002's finding on the warm tier."""
    report = audit_snapshot(snap, rules=["PC-ARCH-002"])
    (finding,) = [f for f in report.findings if not f.subject]
    return finding


def paths(fake_arm, suffix):
    return [r.path for r in fake_arm.requests if r.path.lower().endswith(suffix.lower())]


def test_containers_are_listed_per_database_and_only_for_nosql_accounts(fake_arm, make_options):
    resources, snap = collect(fake_arm, make_options)
    ids = {r["id"] for r in snap["resources"]}
    assert {resources["memory"]["id"], resources["turns"]["id"], resources["profiles"]["id"]} <= ids
    databases = paths(fake_arm, "/sqlDatabases")
    assert databases == [resources["nosql"]["id"] + "/sqlDatabases"]
    assert paths(fake_arm, "/containers") == [resources["memory"]["id"] + "/containers"]
    # the MongoDB and Cassandra accounts are recorded as read, with no SQL database
    records = {c["scope"]: c for c in snap["coverage"] if c["resourceType"] == SQL_DATABASE}
    for key in ("mongo_api", "cassandra"):
        assert records[resources[key]["id"]]["status"] == "ok"
        assert records[resources[key]["id"]]["count"] == 0
    assert not fake_arm.duplicates()


def test_the_lifecycle_policy_is_one_get_and_a_404_means_none(fake_arm, make_options):
    resources, snap = collect(fake_arm, make_options)
    policies = [r for r in snap["resources"] if r["type"] == MANAGEMENT_POLICY]
    assert policies == [resources["policy"]]
    gets = paths(fake_arm, "/managementPolicies/default")
    assert sorted(gets) == sorted(
        resources[k]["id"] + "/managementPolicies/default" for k in ("with_policy", "without")
    )
    records = {c["scope"]: c for c in snap["coverage"] if c["resourceType"] == MANAGEMENT_POLICY}
    assert records[resources["without"]["id"]] == {
        "resourceType": MANAGEMENT_POLICY,
        "scope": resources["without"]["id"],
        "status": "ok",
        "count": 0,
    }
    assert not [c for c in snap["coverage"] if c["status"] == "failed"]
    (cold,) = [f for f in audit_snapshot(snap, rules=["PC-ARCH-003"]).findings if not f.subject]
    assert cold.status.value == "PASS"
    assert "without a lifecycle policy: stlogs" in cold.message


def test_a_refused_lifecycle_policy_is_an_error_not_a_missing_policy(fake_arm, make_options):
    fake_arm.fault(r"/stlogs/managementPolicies/default$", status=403)
    resources, snap = collect(fake_arm, make_options)
    (failed,) = [c for c in snap["coverage"] if c["status"] == "failed"]
    assert failed["resourceType"] == MANAGEMENT_POLICY
    assert failed["scope"] == resources["without"]["id"]
    assert failed["permission"] == f"{MANAGEMENT_POLICY}/read"
    (cold,) = [f for f in audit_snapshot(snap, rules=["PC-ARCH-003"]).findings if not f.subject]
    assert cold.status.value == "ERROR"
    assert "managementPolicies" in cold.message


def test_a_lifecycle_answer_that_is_not_a_resource_is_an_error(fake_arm, make_options):
    fake_arm.fault(r"/strecordings/managementPolicies/default$", body='{"value": []}')
    _, snap = collect(fake_arm, make_options)
    (failed,) = [c for c in snap["coverage"] if c["status"] == "failed"]
    assert failed["resourceType"] == MANAGEMENT_POLICY
    assert "no resource id" in failed["message"]


def test_refused_sql_databases_fail_their_containers_too_and_the_warm_tier_errs(
    fake_arm, make_options
):
    fake_arm.fault(r"/cosmos-mem/sqlDatabases$", status=403)
    resources, snap = collect(fake_arm, make_options)
    failed = {c["resourceType"]: c for c in snap["coverage"] if c["status"] == "failed"}
    assert set(failed) == {SQL_DATABASE, SQL_CONTAINER}
    assert failed[SQL_DATABASE]["permission"] == f"{SQL_DATABASE}/read"
    assert failed[SQL_DATABASE]["statusCode"] == 403
    warm = _warm(snap)
    assert warm.status.value == "ERROR"
    assert "sqlDatabases" in warm.message


def test_refused_containers_make_the_warm_tier_err(fake_arm, make_options):
    fake_arm.fault(r"/sqlDatabases/memory/containers$", status=403)
    _, snap = collect(fake_arm, make_options)
    (failed,) = [c for c in snap["coverage"] if c["status"] == "failed"]
    assert failed["permission"] == f"{SQL_CONTAINER}/read"
    warm = _warm(snap)
    assert warm.status.value == "ERROR"
    assert "sqlDatabases" in warm.message
