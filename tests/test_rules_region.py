"""One region for the real-time path."""

from __future__ import annotations

from builders import arm, rid, run

ENV = "Microsoft.App/managedEnvironments"
APP = "Microsoft.App/containerApps"
AI = "Microsoft.CognitiveServices/accounts"


def estate(ai_region="eastus", redis_region="eastus", data_location="United States", env=None):
    app_env = env or []
    return [
        arm(ENV, "cae", location="East US"),
        arm(
            APP,
            "api",
            location="East US",
            properties={
                "managedEnvironmentId": rid(ENV, "cae"),
                "template": {"containers": [{"name": "api", "image": "x", "env": app_env}]},
            },
        ),
        arm(
            AI,
            "speech1",
            location=ai_region,
            kind="AIServices",
            properties={"endpoint": "https://speech1.cognitiveservices.azure.com/"},
        ),
        arm("Microsoft.Cache/redisEnterprise", "redis1", location=redis_region),
        arm(
            "Microsoft.Communication/communicationServices",
            "acs1",
            location="global",
            properties={"dataLocation": data_location},
        ),
    ]


def scope_finding(resources, params=None):
    [f] = run("PC-REGION-001", resources, params)
    return f


def test_everything_in_one_region_passes():
    f = scope_finding(estate())
    assert f.status.value == "PASS" and "eastus" in f.message


def test_redis_in_another_region_fails_naming_the_hop():
    f = scope_finding(estate(redis_region="westeurope"))
    assert f.status.value == "FAIL"
    assert "Redis redis1 is in westeurope" in f.message and "eastus" in f.message


def test_the_same_metro_pair_is_accepted_by_default_and_can_be_refused():
    resources = estate(ai_region="eastus2")
    assert scope_finding(resources).status.value == "PASS"
    assert scope_finding(resources, {"accepted_pairs": []}).status.value == "FAIL"


def test_only_the_accounts_the_app_calls_are_on_the_path():
    called = [
        {"name": "AZURE_SPEECH_ENDPOINT", "value": "https://speech1.cognitiveservices.azure.com/"}
    ]
    far = arm(
        AI,
        "batch1",
        location="swedencentral",
        kind="AIServices",
        properties={"endpoint": "https://batch1.cognitiveservices.azure.com/"},
    )
    assert scope_finding([*estate(env=called), far]).status.value == "PASS"
    # with no endpoint named by any app, every account counts
    assert scope_finding([*estate(), far]).status.value == "FAIL"


def test_communication_services_data_outside_the_geography_fails():
    f = scope_finding(estate(data_location="Europe"))
    assert f.status.value == "FAIL" and "Europe" in f.message


def test_a_data_location_prodcheck_cannot_place_is_an_error():
    f = scope_finding(estate(data_location="Atlantis"))
    assert f.status.value == "ERROR"


def test_regions_written_as_display_names_in_the_api_examples_are_compared():
    # Environment 2025-07-01 in `North Central US`, Redis 2024-11-01 typed `Microsoft.Cache/Redis`
    # in `East US`: two regions, whatever the spelling.
    resources = [r for r in estate(ai_region="northcentralus") if r["name"] != "redis1"]
    resources[0]["location"] = "North Central US"
    resources.append(
        arm("Microsoft.Cache/Redis", "cache1", location="East US", properties={"port": 6379})
    )
    f = scope_finding(resources)
    assert f.status.value == "FAIL"
    assert "cache1" in f.message and "northcentralus" in f.message
    resources[-1]["location"] = "North Central US"
    assert scope_finding(resources).status.value == "PASS"
