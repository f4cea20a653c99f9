"""Recognising credentials in settings: what counts, what does not, and what is never printed."""

from __future__ import annotations

import pytest

from prodcheck.secrets import (
    REDACTED,
    credential_in_setting,
    credential_in_value,
    credential_name,
    is_app_insights_connection_string,
    mask_credentials,
    redact,
    redact_mapping,
)

APP_INSIGHTS = (
    "InstrumentationKey=00000000-0000-0000-0000-0000000000d1;"
    "IngestionEndpoint=https://eastus-8.in.applicationinsights.azure.com/;"
    "ApplicationId=7d47817f-84ac-59f4-a5fa-194be76a76c9"
)


@pytest.mark.parametrize(
    ("name", "value", "pattern"),
    [
        (
            "STORAGE",
            "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=abc123==",
            "AccountKey=",
        ),
        (
            "BUS",
            "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=x;SharedAccessKey=k=",
            "SharedAccessKey=",
        ),
        ("ACS", "endpoint=https://acs.communication.azure.com/;accesskey=k0==", "AccessKey="),
        ("DB", "Server=db;User Id=app;Password=hunter2", "Password="),
        ("DB", "Server=db;Uid=app;Pwd=hunter2", "Password="),
        (
            "MONGO_URL",
            "mongodb+srv://app:hunter2@cluster.mongocluster.cosmos.azure.com",
            "mongodb://user:pass@",
        ),
        ("CACHE_URL", "rediss://:k3y@cache.redis.azure.net:10000", "redis://:pass@"),
        ("BLOB_URL", "https://st.blob.core.windows.net/c?sv=2022-11-02&sig=abc%3D", "sig="),
        ("AZURE_OPENAI_API_KEY", "0123456789abcdef", "*_KEY"),
        ("CLIENT_SECRET", "s3cr3t", "*_SECRET"),
        ("DB_PASSWORD", "hunter2", "*_PASSWORD"),
        ("COSMOS_CONNECTION_STRING", "anything", "*CONNECTION_STRING*"),
    ],
)
def test_credential_in_setting_names_the_pattern_that_matched(name, value, pattern):
    assert credential_in_setting(name, value) == pattern


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "8080"),
        ("AZURE_CLIENT_ID", "ee173dbd-fda5-5166-829b-253b2a3dc133"),
        ("AZURE_APPCONFIG_ENDPOINT", "https://appconfig.azconfig.io"),
        ("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "Authorization=AAD;ClientId=63427f16"),
        ("AZURE_OPENAI_API_KEY", ""),
    ],
)
def test_ordinary_settings_are_not_credentials(name, value):
    assert credential_in_setting(name, value) is None


def test_app_insights_connection_string_is_not_a_credential_even_under_a_credential_name():
    assert is_app_insights_connection_string("APPLICATIONINSIGHTS_CONNECTION_STRING", APP_INSIGHTS)
    assert credential_in_setting("APPLICATIONINSIGHTS_CONNECTION_STRING", APP_INSIGHTS) is None


def test_app_insights_shaped_value_that_also_carries_a_key_is_a_credential():
    smuggled = APP_INSIGHTS + ";AccountKey=abc123=="
    assert not is_app_insights_connection_string("APPLICATIONINSIGHTS_CONNECTION_STRING", smuggled)
    assert credential_in_setting("APPLICATIONINSIGHTS_CONNECTION_STRING", smuggled) == "AccountKey="
    assert redact({"value": smuggled}) == {"value": REDACTED}


def test_key_vault_reference_under_a_credential_name_is_not_a_credential():
    reference = "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/openai-key/)"
    assert credential_in_setting("AZURE_OPENAI_API_KEY", reference) is None


def test_redact_keeps_app_insights_connection_string_and_hides_keys():
    evidence = {"conn": APP_INSIGHTS, "other": "Endpoint=x;SharedAccessKey=k=", "port": "8080"}
    assert redact(evidence) == {"conn": APP_INSIGHTS, "other": REDACTED, "port": "8080"}


# ---- masking: where a credential sits, and what is not one --------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("AccountKey='abc+def=='", "AccountKey='***redacted***'"),
        ('Password="p;w d"', 'Password="***redacted***"'),
        ("x%3BAccountKey%3Dab%2Bc%3D%3D%3By", "x%3BAccountKey%3D***redacted***%3By"),
        (
            "amqps://user:pw12@ns.servicebus.windows.net",
            "amqps://user:***redacted***@ns.servicebus.windows.net",
        ),
        ("?a=1&client_secret=s3c&b=2", "?a=1&client_secret=***redacted***&b=2"),
        ("Authorization: Bearer abc.def-123456789xyz", "Authorization: Bearer ***redacted***"),
        ('{"password": "hunter22"}', '{"password": "***redacted***"}'),
        (
            "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----",
            "-----BEGIN PRIVATE KEY-----***redacted***-----END PRIVATE KEY-----",
        ),
    ],
)
def test_mask_credentials_replaces_the_secret_part_and_keeps_the_rest(text, masked):
    assert mask_credentials(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "mongodb+srv://<user>:<password>@cluster.mongocluster.cosmos.azure.com/?tls=true",
        "`mongodb://user:pass@`, `rediss://:pass@`, a SAS signature `sig=`",
        '<set-header name="api-key"><value>{{openai-key}}</value></set-header>',
        "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/db-password/)",
        APP_INSIGHTS,
        "Basic authentication is disabled; the token lifetime is 1 hour",
        "Authorization: required for every API",
        "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg/providers/x/y",
    ],
)
def test_placeholders_references_and_prose_are_not_masked(text):
    assert mask_credentials(text) == text


def test_vendor_tokens_come_from_the_detect_secrets_detectors():
    sendgrid = "SG." + "a" * 22 + "." + "b" * 43
    stripe = "sk_live_" + "c" * 24
    assert (
        mask_credentials(f"key {sendgrid} and {stripe}") == "key ***redacted*** and ***redacted***"
    )
    assert credential_in_value(stripe) == "Stripe Access Key"


def test_a_masked_value_still_tells_a_rule_that_a_credential_was_there():
    assert credential_in_setting("DB_URL", "postgres://app:***redacted***@db") == "URL password"
    assert credential_in_setting("GH", "ghp_***redacted***") == "GitHub token"
    assert credential_in_setting("DB_PASSWORD", REDACTED) == "*_PASSWORD"
    assert credential_in_setting("ANY", REDACTED) == "masked credential"


@pytest.mark.parametrize(
    "name", ["GITHUB_TOKEN", "CLIENT_SECRET", "SMTP_PASSWORD_VALUE", "STORAGE_CONNECTION_STRING"]
)
def test_credential_like_names_include_tokens_secrets_and_passwords(name):
    assert credential_name(name) is not None


def test_redact_mapping_replaces_secrets_held_by_structure():
    resource = {
        "type": "Microsoft.KeyVault/vaults/secrets",
        "properties": {"value": "kv-secret-value", "attributes": {"enabled": True}},
    }
    assert redact(resource)["properties"] == {"value": REDACTED, "attributes": {"enabled": True}}
    named_value = {"displayName": "k", "secret": True, "value": "named-secret"}
    assert redact_mapping(named_value, lambda v: v)["value"] == REDACTED
    app = {"secrets": [{"name": "redis-url", "value": "rediss://x"}], "other": "keep"}
    assert redact_mapping(app, lambda v: v) == {
        "secrets": [{"name": "redis-url", "value": REDACTED}],
        "other": "keep",
    }
    env = [
        {"name": "DB_PASSWORD", "value": "hunter22"},
        {"name": "DB_URL", "value": "postgres://app:pw9@db"},
        {"name": "OPENAI_API_KEY", "value": "@Microsoft.KeyVault(SecretUri=https://kv/secrets/k/)"},
        {"name": "PORT", "value": "8080"},
    ]
    assert [redact_mapping(e, lambda v: v)["value"] for e in env] == [
        REDACTED,
        "postgres://app:***redacted***@db",
        "@Microsoft.KeyVault(SecretUri=https://kv/secrets/k/)",
        "8080",
    ]
    tags = {"api-key": "abc123", "owner": "team-a", "SecurityControl": "Ignore"}
    assert redact_mapping(tags, lambda v: v) == {
        "api-key": REDACTED,
        "owner": "team-a",
        "SecurityControl": "Ignore",
    }


def test_drop_secrets_keeps_what_rules_read_and_masks_the_rest_in_place():
    from prodcheck.collect.scrub import drop_secrets

    item = {
        "properties": {
            "primaryKey": "pk",
            "administratorLoginPassword": "pw",
            "connectionString": "Server=db;Password=pw1",
            "registries": [{"server": "acr", "passwordSecretRef": "reg-pw"}],
            "secretName": "db-password",
        },
        "tags": {"CLIENT_SECRET": "abc"},
    }
    same = drop_secrets(item)
    assert same is item
    assert item == {
        "properties": {
            "connectionString": "Server=db;Password=***redacted***",
            "registries": [{"server": "acr", "passwordSecretRef": "reg-pw"}],
            "secretName": "db-password",
        },
        "tags": {"CLIENT_SECRET": REDACTED},
    }


def test_masking_a_large_text_is_fast_enough_for_a_large_report():
    import time

    line = '{"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/app", "message": "TLS 1.2 enforced; https only"},\n'
    text = line * 20000  # about 2.5 MB
    started = time.perf_counter()
    assert mask_credentials(text) == text
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    "text",
    [
        'ACCESSKEY= Password="000000000000000000000000" ',
        'AccountKey=Password="000000000000000000000000"',
        "AccessKey= Bearer 000000000000000000000000",
    ],
)
def test_a_label_read_as_another_credentials_value_still_has_its_secret_masked(text):
    assert "000000000000000000000000" not in mask_credentials(text)


def test_the_masks_are_built_once_when_many_threads_ask_at_once(monkeypatch):
    """The collector's threads mask their first answers together: the detectors are imported
    and compiled once for all of them, and every thread masks with that one set."""
    import threading

    from prodcheck import secrets

    built: list[object] = []
    real = secrets._MaskSet

    class Counted(real):  # type: ignore[misc, valid-type]
        def __init__(self, masks):
            built.append(self)
            threading.Event().wait(0.05)  # long enough for every thread to arrive meanwhile
            super().__init__(masks)

    monkeypatch.setattr(secrets, "_MaskSet", Counted)
    monkeypatch.setattr(secrets, "_MASK_SET", [])
    start = threading.Barrier(16)
    seen: list[object] = []

    def ask() -> None:
        start.wait()
        seen.append(secrets._all_masks())

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1
    assert len(seen) == 16 and all(s is built[0] for s in seen)
    assert (
        mask_credentials("AccountKey=abc123abc123abc123==;") != "AccountKey=abc123abc123abc123==;"
    )
