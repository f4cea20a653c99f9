"""Recognising credentials in settings: what counts, what does not, and what is never printed."""

from __future__ import annotations

import pytest

from prodcheck.secrets import (
    REDACTED,
    credential_in_setting,
    is_app_insights_connection_string,
    redact,
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
