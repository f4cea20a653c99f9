"""API Management named values: collected for the rate-limit rule, never with a credential."""

from __future__ import annotations

from fake_arm.arm_json import SUB, child, resource

from prodcheck.collect import collect_snapshot

pytest_plugins = ["fake_arm.fixtures"]

APIM = "Microsoft.ApiManagement/service"
NAMED_VALUE = f"{APIM}/namedValues"


def named_value(service, name, value, *, secret=False, display=None):
    """A named value as the 2024-05-01 list returns it (no value when secret)."""
    properties = {"displayName": display or name, "secret": secret, "tags": []}
    if not secret:
        properties["value"] = value
    return child(service, "namedValues", name, **properties)


def collected_values(fake_arm, make_options, *values):
    service = resource(APIM, "apim-x", sku={"name": "Premium", "capacity": 1})
    fake_arm.serve([service, *values])
    snap = collect_snapshot(make_options(subscriptions=[SUB]), [NAMED_VALUE])
    return {
        r["name"]: r["properties"].get("value", "<withheld>")
        for r in snap["resources"]
        if r["type"].lower() == NAMED_VALUE.lower()
    }


def test_named_values_that_are_policy_data_are_collected(fake_arm, make_options):
    service = resource(APIM, "apim-x")
    got = collected_values(
        fake_arm,
        make_options,
        named_value(service, "calls", "120"),
        named_value(service, "window", "60"),
        named_value(service, "caller-key", "@(context.Request.IpAddress)"),
        named_value(service, "tenant", "contoso"),
    )
    assert got == {
        "calls": "120",
        "window": "60",
        "caller-key": "@(context.Request.IpAddress)",
        "tenant": "contoso",
    }
    assert {r.method for r in fake_arm.requests} == {"GET"}
    assert not any("listvalue" in r.path.lower() for r in fake_arm.requests)


def test_a_key_stored_without_the_secret_mark_stays_out_of_the_snapshot(fake_arm, make_options):
    service = resource(APIM, "apim-x")
    key = "q7Zk2Lw9Xv4Rt8Np3Bc6Hd1Fg5Js0Ma2Ye7Uo4Ii9"
    got = collected_values(
        fake_arm,
        make_options,
        named_value(service, "backend", key),
        named_value(service, "openai-api-key", "short"),
        named_value(service, "conn", "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKey=abc"),
        named_value(service, "vaulted", None, secret=True),
    )
    assert got == {
        "backend": "<withheld>",
        "openai-api-key": "<withheld>",
        "conn": "<withheld>",
        "vaulted": "<withheld>",
    }


def test_a_key_inside_a_policy_expression_stays_out_of_the_snapshot(fake_arm, make_options):
    service = resource(APIM, "apim-x")
    got = collected_values(
        fake_arm,
        make_options,
        named_value(service, "auth", '@("Bearer " + "q7Zk2Lw9Xv4Rt8Np3Bc6Hd1Fg5Js0Ma2Ye7Uo4Ii9")'),
    )
    assert got == {"auth": "<withheld>"}
