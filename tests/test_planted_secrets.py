"""Planted secrets never leave prodcheck: not in a snapshot, a report, the terminal or an error.

A corpus of made-up credentials is planted in every kind of field ARM can carry (properties,
tags, app settings and container variables, container app secrets, APIM policy XML and named
values, Key Vault secret values, resource names, ARM error messages, coverage records) and run
through every exit: `prodcheck snapshot` against the fake ARM, `prodcheck audit` in every
format (live and offline), `prodcheck report`, `prodcheck diff`, and error lines. Not one
planted value may appear in anything written.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import random
import string
import urllib.parse
from pathlib import Path

import pytest
from builders import SUB, arm, child_id, rid, run_cli, snapshot
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from prodcheck import api
from prodcheck.collect import collect_snapshot
from prodcheck.outbound import clean_output, one_line, snapshot_text
from prodcheck.reporters import FORMATS, render
from prodcheck.secrets import REDACTED, credential_in_setting, mask_credentials

pytest_plugins = ["fake_arm.fixtures"]

_RNG = random.Random(20261201)
_ALNUM = string.ascii_letters + string.digits


def _word(n: int, alphabet: str = _ALNUM) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


def _b64(nbytes: int) -> str:
    return base64.b64encode(bytes(_RNG.randrange(256) for _ in range(nbytes))).decode()


def _jwt() -> str:
    head = base64.urlsafe_b64encode(b'{"alg":"RS256","typ":"JWT"}').decode().rstrip("=")
    body = base64.urlsafe_b64encode(
        json.dumps({"sub": _word(12), "aud": "https://management.azure.com"}).encode()
    )
    return f"{head}.{body.decode().rstrip('=')}.{_word(43, _ALNUM + '-_')}"


# Each planted value (what must never be written) and the text it is planted in (a form a
# credential takes in the wild).
ACCOUNT_KEY = _b64(64)
QUOTED_ACCOUNT_KEY = _b64(64)
ENCODED_ACCOUNT_KEY = _b64(64)
PASSWORD_QUOTED = "Pq" + _word(14) + ";x"
PASSWORD_BARE = "Pb" + _word(16)
URL_PASSWORDS = {scheme: scheme[:2] + _word(18) for scheme in ("https", "postgres", "amqps")}
REDIS_KEY = _word(32)
MONGO_PASSWORD = "Mo" + _word(16)
SAS_SIG = _b64(32)
FUNCTION_CODE = _word(40, _ALNUM + "-_") + "=="
CLIENT_SECRET = _word(34, _ALNUM + "~.")
OAUTH_TOKEN = _word(48, _ALNUM + "-_.")
BEARER = _jwt()
GITHUB = "ghp_" + _word(36)
GITHUB_FINE = "github_pat_" + _word(22) + "_" + _word(59)
SLACK = "xoxb-" + "".join(_RNG.choice(string.digits) for _ in range(12)) + "-" + _word(24)
AWS = "AKIA" + _word(16, string.ascii_uppercase + string.digits)
BARE_ACCOUNT_KEY = _b64(64)
JSON_PASSWORD = "Js" + _word(18)
ENV_PASSWORD = "Ev" + _word(14)
ENV_API_KEY = _word(32, "0123456789abcdef")
ENV_TOKEN = "Tk" + _word(30)
ENV_SECRET = "Sc" + _word(30)
ENV_CONNECTION = "Cn" + _word(30)
APP_SECRET = "As" + _word(28)
POLICY_HEADER_KEY = _word(32, "0123456789abcdef")
POLICY_BASIC_PASSWORD = "Bp" + _word(16)
POLICY_CERT_BODY = _b64(48)
NAMED_VALUE = "Nv" + _word(28)
VAULT_SECRET = "Kv" + _word(28)
TAG_KEY = "Tg" + _word(26)
TAG_CONNECTION_KEY = _b64(64)
ERROR_PASSWORD = "Er" + _word(18)
ERROR_URL_PASSWORD = "Eu" + _word(18)
COVERAGE_KEY = _b64(64)
NAME_TOKEN = "ghp_" + _word(36)

PLANTED = [v for k, v in sorted(globals().items()) if k.isupper() and isinstance(v, str)]
PLANTED += list(URL_PASSWORDS.values())
PLANTED = [v for v in PLANTED if len(v) >= 12 and v not in (SUB, REDACTED)]

FORMS = {
    "quoted AccountKey": f"DefaultEndpointsProtocol=https;AccountName=st;AccountKey='{QUOTED_ACCOUNT_KEY}'",
    "AccountKey": f"DefaultEndpointsProtocol=https;AccountName=st;AccountKey={ACCOUNT_KEY};EndpointSuffix=core.windows.net",
    "URL-encoded AccountKey": "conn=DefaultEndpointsProtocol%3Dhttps%3BAccountKey%3D"
    + urllib.parse.quote(ENCODED_ACCOUNT_KEY, safe="")
    + "%3BEndpointSuffix%3Dcore.windows.net",
    "quoted Password": f'Server=tcp:db.database.windows.net;User ID=app;Password="{PASSWORD_QUOTED}"',
    "Pwd": f"Server=db;Uid=app;Pwd={PASSWORD_BARE};Encrypt=true",
    "https userinfo": f"https://deploy:{URL_PASSWORDS['https']}@app.scm.azurewebsites.net/app.git",
    "postgres userinfo": f"postgres://app:{URL_PASSWORDS['postgres']}@pg.postgres.database.azure.com:5432/db",
    "amqps userinfo": f"amqps://sender:{URL_PASSWORDS['amqps']}@ns.servicebus.windows.net",
    "rediss": f"rediss://:{REDIS_KEY}@cache.redis.azure.net:6380",
    "mongodb": f"mongodb+srv://app:{MONGO_PASSWORD}@cluster.mongocluster.cosmos.azure.com/",
    "SAS": f"https://st.blob.core.windows.net/c/b?sv=2022-11-02&se=2027-01-01&sp=r&sig={urllib.parse.quote(SAS_SIG, safe='')}",
    "function code": f"https://fn.azurewebsites.net/api/hook?code={FUNCTION_CODE}&clientId=default",
    "client_secret": f"grant_type=client_credentials&client_id=abc&client_secret={CLIENT_SECRET}",
    "token query": f"wss://pubsub.webpubsub.azure.com/client/hubs/h?access_token={OAUTH_TOKEN}",
    "Bearer": f"Authorization: Bearer {BEARER}",
    "GitHub token": f"token {GITHUB} for the deploy",
    "GitHub fine-grained token": GITHUB_FINE,
    "Slack token": f"SLACK={SLACK}",
    "AWS key": f"aws id {AWS}",
    "bare account key": f"key: {BARE_ACCOUNT_KEY}",
    "JSON password": json.dumps({"user": "app", "password": JSON_PASSWORD}),
}


def planted_in(text: str) -> list[str]:
    return [v for v in PLANTED if v in text]


# ---- the corpus, as ARM resources --------------------------------------------------------------

APP_ID = rid("Microsoft.App/containerApps", "ca-planted")
APIM_ID = rid("Microsoft.ApiManagement/service", "apim-planted")
VAULT_ID = rid("Microsoft.KeyVault/vaults", "kv-planted")


def planted_resources() -> list[dict]:
    env = [{"name": f"FORM_{i}", "value": text} for i, text in enumerate(FORMS.values())]
    env += [
        {"name": "DB_PASSWORD", "value": ENV_PASSWORD},
        {"name": "OPENAI_API_KEY", "value": ENV_API_KEY},
        {"name": "GITHUB_TOKEN", "value": ENV_TOKEN},
        {"name": "AZURE_CLIENT_SECRET", "value": ENV_SECRET},
        {"name": "SERVICEBUS_CONNECTION_STRING", "value": ENV_CONNECTION},
        {"name": "REDIS_URL", "secretRef": "redis-url"},
        {"name": "PORT", "value": "8080"},
    ]
    app = arm(
        "Microsoft.App/containerApps",
        "ca-planted",
        tags={"api-key": TAG_KEY, "storage": f"AccountKey={TAG_CONNECTION_KEY}"},
        identity={"type": "SystemAssigned", "principalId": "p"},
        properties={
            "provisioningState": "Succeeded",
            "configuration": {
                "secrets": [{"name": "redis-url", "value": APP_SECRET}],
                "ingress": {"external": True, "targetPort": 8080},
            },
            "template": {
                "containers": [{"name": "app", "image": "acr.azurecr.io/app:1", "env": env}],
                "scale": {"minReplicas": 1, "maxReplicas": 3},
            },
        },
    )
    policy_xml = (
        "<policies><inbound><base />"
        '<set-header name="api-key" exists-action="override">'
        f"<value>{POLICY_HEADER_KEY}</value></set-header>"
        f'<authentication-basic username="svc" password="{POLICY_BASIC_PASSWORD}" />'
        f'<authentication-certificate body="{POLICY_CERT_BODY}" password="{PASSWORD_BARE}" />'
        '<set-header name="x-trace" exists-action="override"><value>on</value></set-header>'
        "</inbound><backend><base /></backend><outbound><base /></outbound></policies>"
    )
    apim = arm(
        "Microsoft.ApiManagement/service",
        "apim-planted",
        sku={"name": "Developer", "capacity": 1},
        properties={"publicNetworkAccess": "Enabled", "virtualNetworkType": "None"},
    )
    policy = {
        "id": child_id(APIM_ID, "policies", "policy"),
        "name": "policy",
        "type": "Microsoft.ApiManagement/service/policies",
        "properties": {"format": "rawxml", "value": policy_xml},
    }
    named = {
        "id": child_id(APIM_ID, "namedValues", "backend-key"),
        "name": "backend-key",
        "type": "Microsoft.ApiManagement/service/namedValues",
        "properties": {"displayName": "backend-key", "secret": True, "value": NAMED_VALUE},
    }
    vault = arm(
        "Microsoft.KeyVault/vaults",
        "kv-planted",
        properties={"enableRbacAuthorization": True, "enablePurgeProtection": True},
    )
    vault_secret = {
        "id": child_id(VAULT_ID, "secrets", "db-password"),
        "name": "db-password",
        "type": "Microsoft.KeyVault/vaults/secrets",
        "properties": {"value": VAULT_SECRET, "attributes": {"enabled": True}},
    }
    storage = arm(
        "Microsoft.Storage/storageAccounts",
        "stplanted",
        kind="StorageV2",
        properties={
            "publicNetworkAccess": "Enabled",
            "primaryEndpoints": {"blob": FORMS["SAS"]},
            "note": FORMS["Bearer"] + " " + FORMS["JSON password"],
        },
    )
    return [app, apim, policy, named, vault, vault_secret, storage]


def planted_snapshot() -> dict:
    """A hostile snapshot file: planted values everywhere, in clear, as another tool wrote it."""
    resources = planted_resources()
    resources.append(arm("Microsoft.Cache/redis", f"redis-{NAME_TOKEN}", properties={}))
    coverage = [
        {
            "resourceType": "Microsoft.Network/privateEndpoints",
            "scope": f"/subscriptions/{SUB}",
            "status": "failed",
            "statusCode": 403,
            "errorCode": "AuthorizationFailed",
            "message": f"denied for DefaultEndpointsProtocol=https;AccountKey={COVERAGE_KEY}",
        }
    ]
    return snapshot(resources, coverage)


def test_the_corpus_plants_many_distinct_values():
    assert len(PLANTED) >= 35
    assert len(set(PLANTED)) == len(PLANTED)


# ---- masking, form by form -------------------------------------------------------------------


@pytest.mark.parametrize("form", sorted(FORMS))
def test_each_planted_form_is_masked_and_keeps_its_label(form):
    text = FORMS[form]
    masked = mask_credentials(text)
    assert planted_in(masked) == []
    assert REDACTED in masked
    assert mask_credentials(masked) == masked  # idempotent
    # The masked text still says a credential was there: rules keep their evidence.
    assert credential_in_setting("SETTING", masked) is not None


# ---- collection ------------------------------------------------------------------------------


def test_live_collection_stores_no_planted_value(fake_arm, make_options):
    fake_arm.serve(snapshot(planted_resources()))
    fake_arm.fault(
        r"providers/Microsoft\.Cache/redis$",
        status=403,
        code="AuthorizationFailed",
        message=f"The client with Password={ERROR_PASSWORD} has no access; "
        f"see https://ops:{ERROR_URL_PASSWORD}@wiki.example.com/runbook",
    )
    needs = [r["type"] for r in planted_resources()] + ["Microsoft.Cache/redis"]
    live = collect_snapshot(make_options(subscriptions=[SUB]), needs)
    stored = json.dumps(live, ensure_ascii=False)
    assert planted_in(stored) == []
    assert planted_in(snapshot_text(live)) == []
    # What the rules need to see survives: a credential was there, and what kind it was.
    app = next(r for r in live["resources"] if r["name"] == "ca-planted")
    env = {e["name"]: e.get("value") for e in app["properties"]["template"]["containers"][0]["env"]}
    assert env["DB_PASSWORD"] == REDACTED
    assert env["PORT"] == "8080"
    assert "AccountKey=" + REDACTED in env["FORM_1"]
    failed = [c for c in live["coverage"] if c["status"] == "failed"]
    assert failed and "Password=" + REDACTED in failed[0]["message"]


def test_cli_snapshot_file_holds_no_planted_value(fake_arm, fake_az, tmp_path, monkeypatch, capsys):
    fake_arm.serve(snapshot(planted_resources()))
    fake_arm.fault(
        r"providers/Microsoft\.KeyVault/vaults$",
        status=403,
        message=f"denied: mongodb+srv://app:{MONGO_PASSWORD}@cluster.mongocluster.cosmos.azure.com/",
    )
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake_arm.ca_path(tmp_path))
    out = tmp_path / "snap.json"
    code, stdout, stderr = run_cli(
        capsys,
        "snapshot",
        "-o",
        str(out),
        "--arm-endpoint",
        fake_arm.base_url,
        "--auth",
        "cli",
        "-q",
        "--subscription",
        SUB,
    )
    assert code == 0, stderr
    written = out.read_text(encoding="utf-8")
    assert json.loads(written)["format"] == "prodcheck.snapshot/v1"
    assert planted_in(written + stdout + stderr) == []
    assert "AuthorizationFailed" in written or "failed" in written


def test_live_audit_writes_no_planted_value_in_any_format(
    fake_arm, fake_az, tmp_path, monkeypatch, capsys
):
    fake_arm.serve(snapshot(planted_resources()))
    fake_arm.fault(
        r"providers/Microsoft\.KeyVault/vaults$",
        status=403,
        message=f"denied for Server=db;Password={ERROR_PASSWORD}",
    )
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake_arm.ca_path(tmp_path))
    outdir = tmp_path / "out"
    args = ["audit", "--arm-endpoint", fake_arm.base_url, "--auth", "cli", "-q"]
    args += ["--subscription", SUB, "-v", "--output-dir", str(outdir)]
    for fmt in FORMATS:
        args += ["-f", fmt]
    _, stdout, stderr = run_cli(capsys, *args)
    written = "".join(p.read_text(encoding="utf-8") for p in sorted(outdir.iterdir()))
    assert len(list(outdir.iterdir())) == len(FORMATS) - 1
    assert "PC-" in stdout
    assert planted_in(written + stdout + stderr) == []


# ---- offline: a snapshot file that holds secrets in clear -------------------------------------


@pytest.fixture
def hostile_snapshot(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(planted_snapshot()), encoding="utf-8")
    return path


def test_offline_audit_of_a_snapshot_with_secrets_writes_none(hostile_snapshot, tmp_path, capsys):
    outdir = tmp_path / "out"
    args = ["audit", "--snapshot", str(hostile_snapshot), "-v", "--output-dir", str(outdir)]
    for fmt in FORMATS:
        args += ["-f", fmt]
    _, stdout, stderr = run_cli(capsys, *args)
    files = sorted(outdir.iterdir())
    assert len(files) == len(FORMATS) - 1  # every format but the terminal's, which is stdout
    written = "".join(p.read_text(encoding="utf-8") for p in files)
    assert planted_in(written + stdout + stderr) == []
    # The evidence that explains a finding stays.
    report = json.loads((outdir / "prodcheck-report.json").read_text(encoding="utf-8"))
    messages = " ".join(f["message"] for f in report["findings"])
    assert "DB_PASSWORD" in messages


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_renders_a_planted_report_without_the_values(fmt):
    report = api.audit_snapshot(planted_snapshot())
    assert planted_in(render(report, fmt)) == []


def test_report_and_diff_of_a_saved_report_with_secrets_write_none(tmp_path, capsys):
    # A saved report edited by hand (or written by an older tool) to hold secrets in clear.
    doc = api.audit_snapshot(planted_snapshot()).to_json()
    doc["findings"][0]["message"] = " / ".join(FORMS.values())
    doc["findings"][0]["evidence"] = {"env": [{"name": "DB_PASSWORD", "value": ENV_PASSWORD}]}
    doc["findings"][0]["resourceName"] = NAME_TOKEN
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps(doc), encoding="utf-8")
    outputs = []
    for fmt in FORMATS:
        _, out, err = run_cli(capsys, "report", str(saved), "-f", fmt)
        outputs.append(out + err)
    for fmt in ("text", "json", "markdown"):
        _, out, err = run_cli(capsys, "diff", str(saved), str(saved), "-f", fmt)
        outputs.append(out + err)
    assert planted_in("".join(outputs)) == []


# ---- the Python API ------------------------------------------------------------------------


def test_the_python_api_returns_a_report_without_planted_values():
    report = api.audit_snapshot(planted_snapshot())
    # Every string the report object holds: messages, evidence, names, remediations, coverage.
    assert planted_in(repr(report)) == []
    doc = report.to_json()
    assert planted_in(json.dumps(doc, ensure_ascii=False)) == []
    # The evidence that explains a finding stays.
    messages = " ".join(f["message"] for f in doc["findings"])
    assert "DB_PASSWORD" in messages


def test_report_to_json_masks_a_report_that_holds_secrets_in_clear():
    # A report made by the engine directly, or edited by its caller: its text in clear.
    from prodcheck.engine import audit
    from prodcheck.snapshot import parse_snapshot

    selected = api.select_rules()
    report = audit(parse_snapshot(planted_snapshot(), "planted"), selected)
    # The engine cleans its findings; the rest of its report (a coverage record's message) is
    # cleaned at the exits.
    assert planted_in(repr(report.findings)) == []
    assert planted_in(repr(report)) != []
    report.findings[0] = dataclasses.replace(
        report.findings[0],
        message=" / ".join(FORMS.values()),
        evidence={"env": [{"name": "DB_PASSWORD", "value": ENV_PASSWORD}]},
        resource_name=NAME_TOKEN,
    )
    report.notices.append({"kind": "custom", "message": f"Password={PASSWORD_BARE}"})
    doc = report.to_json()
    assert planted_in(json.dumps(doc, ensure_ascii=False)) == []
    assert REDACTED in doc["findings"][0]["message"]


def test_a_snapshot_to_json_through_the_python_api_masks_planted_values():
    from prodcheck.snapshot import parse_snapshot

    snap = parse_snapshot(planted_snapshot(), "planted")
    assert planted_in(json.dumps(snap.to_json(), ensure_ascii=False)) == []


def test_live_collection_through_the_python_api_returns_no_planted_value(fake_arm, make_options):
    fake_arm.serve(snapshot(planted_resources()))
    options = make_options(subscriptions=[SUB])
    snap = api.collect(options, rules=["PC-*"])
    assert planted_in(json.dumps(snap.to_json(), ensure_ascii=False)) == []
    report = api.audit_live(options)
    assert planted_in(repr(report)) == []
    assert planted_in(json.dumps(report.to_json(), ensure_ascii=False)) == []


def test_an_error_line_quoting_a_secret_masks_it(capsys):
    code, out, err = run_cli(capsys, "audit", "--demo", f"Password={PASSWORD_BARE}")
    assert code == 2
    assert err.startswith("prodcheck: error:") and err.count("\n") == 1
    assert "Password=" + REDACTED in err
    assert planted_in(out + err) == []


def test_one_line_masks_and_keeps_one_line():
    line = one_line(f"first {FORMS['Bearer']}\nsecond line")
    assert "\n" not in line
    assert planted_in(line) == []


# ---- property: any recognised form, anywhere ---------------------------------------------------

_secret_chars = st.text(alphabet=_ALNUM, min_size=24, max_size=40)
_forms = st.sampled_from(
    [
        "AccountKey={}",
        "AccountKey='{}'",
        'Password="{}"',
        "Pwd={};",
        "https://u:{}@h.example.com",
        "postgres://app:{}@db:5432",
        "redis://:{}@cache:6380",
        "?sv=1&sig={}&se=2",
        "https://x/api?code={}",
        "client_secret={}&a=b",
        "Bearer 0{}",
        "ghp_{}",
        '{{"password": "{}"}}',
        '<set-header name="Ocp-Apim-Subscription-Key"><value>{}</value></set-header>',
        '<authentication-basic username="u" password="{}" />',
    ]
)
_noise = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secret=_secret_chars, form=_forms, before=_noise, after=_noise)
def test_a_secret_in_a_recognised_form_never_reaches_an_output(secret, form, before, after):
    assume(secret not in before + " " + after)
    text = before + " " + form.format(secret) + " " + after
    assert secret not in mask_credentials(text)
    assert secret not in one_line(text)
    assert secret not in clean_output(text)
    assert secret not in clean_output(json.dumps(text), "json")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secret=_secret_chars, form=_forms, fmt=st.sampled_from(sorted(FORMATS)))
def test_a_secret_in_a_finding_never_reaches_a_report(secret, form, fmt):
    doc = planted_snapshot()
    doc["resources"][0]["properties"]["note"] = form.format(secret)
    doc["resources"][0]["tags"]["owner"] = form.format(secret)
    report = api.audit_snapshot(doc)
    finding = report.findings[0]
    report.findings[0] = type(finding)(
        **{
            **finding.__dict__,
            "message": form.format(secret),
            "evidence": {"x": form.format(secret)},
        }
    )
    assert secret not in render(report, fmt)
