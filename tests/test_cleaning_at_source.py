"""Findings are cleaned once, where the engine makes them, and every exit still cleans anything
that was not made that way.

`prodcheck.outbound.cleaned` makes a finding as `clean` would make it for every format, and
records it so that `clean` takes it as it is. These tests hold that shortcut against the long
way (`clean` of the finding the engine made before: its message masked, its evidence
redacted) on hostile data, and plant secrets in everything that reaches a report after the
engine (waivers, attestations, plans' addresses, baselines, coverage records, scope notes) to
check that each is still masked in every format.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from builders import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_planted_secrets import (
    ENV_PASSWORD,
    FORMS,
    NAME_TOKEN,
    PASSWORD_BARE,
    planted_in,
    planted_snapshot,
)

from prodcheck import api, fanout
from prodcheck.engine import audit
from prodcheck.model import Finding, Severity, Status
from prodcheck.outbound import clean, cleaned, cleaned_again, is_cleaned
from prodcheck.reporters import FORMATS, Renderer, render
from prodcheck.secrets import REDACTED, redact
from prodcheck.snapshot import parse_snapshot

# Pieces of hostile text: misleading characters, credentials in several forms, words that
# select masks without being credentials, and text that is masked already.
_PIECES = [
    "a",
    "b c",
    "=",
    ":",
    ";",
    '"',
    "'",
    "/",
    "@",
    "_",
    "-",
    "\n",
    "\t",
    "\u202e",
    "\u2066",
    "\u200b",
    "\x1b",
    "\x85",
    "\u2028",
    "\U000e0041",
    "\u00a0",
    "ſ",
    "—",
    "Password=",
    "AccountKey=",
    "Pq7hT2xLw9rKz3Vb",
    "ghp_" + "Ab3" * 12,
    "?sig=Zm9vYmFyYmF6cXV4",
    "&code=abcDEF123456",
    "https://u:s3cretPassw0rd@host",
    "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
    "token",
    "secret",
    "key",
    "pass",
    REDACTED,
    "@Microsoft.KeyVault(SecretUri=https://kv/secrets/x)",
    "InstrumentationKey=00000000-0000-0000-0000-000000000000",
]
hostile_text = st.lists(st.sampled_from(_PIECES), max_size=6).map("".join)

# Keys that mean something to redaction (settings, secrets held by structure, secret fields,
# credential names) and keys that do not.
_KEYS = [
    "name",
    "value",
    "secret",
    "secrets",
    "properties",
    "type",
    "password",
    "primaryKey",
    "connectionString",
    "DB_PASSWORD",
    "api-key",
    "token",
    "note",
    "properties.publicNetworkAccess",
    "series",
    "x",
]
keys = st.sampled_from(_KEYS) | hostile_text
leaves = (
    hostile_text
    | st.sampled_from(["Microsoft.KeyVault/vaults/secrets", "true", "DB_PASSWORD", ""])
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | st.booleans()
    | st.none()
    | st.sampled_from([Status.FAIL, Severity.HIGH])
)
values = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.dictionaries(keys, children, max_size=5)
    ),
    max_leaves=25,
)


@st.composite
def finding_fields(draw: st.DrawFn) -> dict:
    return {
        "rule_id": draw(st.sampled_from(["PC-NET-001", "PC-X-\u202e1"])),
        "resource_id": draw(hostile_text),
        "status": draw(st.sampled_from(list(Status))),
        "severity": draw(st.sampled_from(list(Severity))),
        "message": draw(hostile_text),
        "resource_name": draw(hostile_text),
        "resource_type": "Microsoft.Web/sites",
        "resource_group": draw(hostile_text),
        "evidence": draw(st.dictionaries(keys, values, max_size=5)),
        "remediation": draw(hostile_text),
        "subject": draw(hostile_text),
    }


def _same(a: object, b: object) -> bool:
    """Equal, and in the same order (a report writes mappings in their order)."""
    return a == b and repr(a) == repr(b)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=finding_fields())
def test_a_finding_cleaned_at_the_source_is_what_every_format_made_of_it(fields):
    made = cleaned(Finding, redact_evidence=True, **fields)
    # What the engine made before, and what `clean` made of that for each format.
    before = Finding(**{**fields, "evidence": redact(fields["evidence"])})
    for visible in (False, True):
        long_way = clean(before, visible=visible)
        if is_cleaned(made):
            assert clean(made, visible=visible) is made
            assert _same(made, long_way)
        else:  # a misleading character somewhere: made as before, cleaned at each exit
            assert _same(made, before)
            assert _same(clean(made, visible=visible), long_way)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=finding_fields())
def test_a_finding_cleaned_again_is_what_clean_makes_of_it(fields):
    finding = Finding(**fields)
    made = cleaned_again(finding)
    for visible in (False, True):
        long_way = clean(finding, visible=visible)
        assert _same(clean(made, visible=visible), long_way)
        if is_cleaned(made):
            assert _same(made, long_way)


def test_a_finding_with_a_misleading_character_is_left_for_each_format():
    made = cleaned(Finding, redact_evidence=True, **_plain_fields(message="go \u202eevil"))
    assert not is_cleaned(made)
    assert made.message == "go \u202eevil"
    assert clean(made, visible=True).message == "go \\u202eevil"
    assert clean(made, visible=False).message == "go \u202eevil"  # JSON escapes it


def _plain_fields(**changes: object) -> dict:
    fields = {
        "rule_id": "PC-NET-001",
        "resource_id": "/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/app",
        "status": Status.FAIL,
        "severity": Severity.HIGH,
        "message": "public",
        "evidence": {"properties.publicNetworkAccess": "Enabled"},
    }
    fields.update(changes)
    return fields


def test_only_the_cleaning_code_marks_a_finding_and_a_changed_one_is_cleaned_again():
    made = cleaned(Finding, redact_evidence=True, **_plain_fields())
    assert is_cleaned(made)
    # Anything that changes a finding makes a new one, which is cleaned the long way.
    changed = dataclasses.replace(made, message=FORMS["Pwd"])
    assert not is_cleaned(changed)
    assert PASSWORD_BARE not in clean(changed, visible=False).message
    # The same fields, made by anyone else, are not taken as clean either.
    assert not is_cleaned(Finding(**_plain_fields()))
    # A report read back from JSON is made of findings cleaned at each exit.
    report = api.audit_snapshot(planted_snapshot())
    read_back = type(report).from_json(report.to_json())
    assert not any(is_cleaned(f) for f in read_back.findings)


def test_the_engine_masks_every_finding_it_makes():
    report = audit(parse_snapshot(planted_snapshot(), "planted"), api.select_rules())
    assert report.findings and all(is_cleaned(f) for f in report.findings)
    assert planted_in(repr(report.findings)) == []
    # What is not a finding (here the coverage record's message) is cleaned at each exit.
    assert planted_in(repr(report.coverage_gaps)) != []
    for fmt in FORMATS:
        assert planted_in(render(report, fmt)) == []


def test_findings_changed_after_the_engine_are_masked_in_every_format():
    report = audit(parse_snapshot(planted_snapshot(), "planted"), api.select_rules())
    secret_note = {"kind": "waiver", "reason": FORMS["Bearer"], "owner": FORMS["GitHub token"]}
    report.findings[0] = dataclasses.replace(
        report.findings[0], note=secret_note, status=Status.WAIVED
    )
    report.findings[1] = dataclasses.replace(
        report.findings[1],
        evidence={**report.findings[1].evidence, "attestation.evidence": FORMS["SAS"]},
        resource_name=NAME_TOKEN,
    )
    report.findings[2] = dataclasses.replace(
        report.findings[2],
        evidence={"env": [{"name": "DB_PASSWORD", "value": ENV_PASSWORD}]},
        source_file=FORMS["https userinfo"],
    )
    report.scope["notes"] = FORMS["AccountKey"]
    report.notices.append({"kind": "custom", "message": FORMS["quoted Password"]})
    renderer = Renderer(report)
    for fmt in FORMATS:
        assert planted_in(renderer.render(fmt)) == [], fmt


def test_the_engine_cleans_what_it_adds_to_a_finding_for_a_failed_read():
    doc = planted_snapshot()
    doc["coverage"].append(
        {
            "resourceType": "Microsoft.App/containerApps",
            "scope": doc["coverage"][0]["scope"],
            "status": "failed",
            "statusCode": 500,
            "errorCode": "InternalServerError",
            "message": FORMS["mongodb"],
        }
    )
    report = audit(parse_snapshot(doc, "planted"), api.select_rules())
    not_verified = [f for f in report.findings if f.message.startswith("not verified")]
    assert not_verified
    assert planted_in(repr(report.findings)) == []
    for fmt in FORMATS:
        assert planted_in(render(report, fmt)) == []


@pytest.fixture
def hostile_config(tmp_path):
    today = dt.datetime.now(dt.UTC).date()
    path = tmp_path / "prodcheck.yaml"
    path.write_text(
        "version: 1\n"
        "waivers:\n"
        f"  - rule: 'PC-*'\n"
        "    resource: '*'\n"
        f"    reason: {json.dumps(FORMS['Bearer'])}\n"
        f"    owner: {json.dumps(FORMS['postgres userinfo'])}\n"
        f"    expires: {today + dt.timedelta(days=30)}\n"
        "attestations:\n"
        "  - rule: PC-OPS-001\n"
        f"    by: {json.dumps(FORMS['GitHub token'])}\n"
        f"    date: {today}\n"
        f"    evidence: {json.dumps(FORMS['function code'])}\n"
        "    valid_days: 90\n",
        encoding="utf-8",
    )
    return path


def test_waivers_attestations_and_a_baseline_with_secrets_write_none(
    hostile_config, tmp_path, capsys
):
    snapshot_file = tmp_path / "hostile.json"
    snapshot_file.write_text(json.dumps(planted_snapshot()), encoding="utf-8")
    # A baseline edited to hold secrets: its source, its findings' messages and evidence.
    baseline = api.audit_snapshot(planted_snapshot()).to_json()
    baseline["source"] = FORMS["amqps userinfo"]
    baseline["findings"][0]["message"] = FORMS["client_secret"]
    baseline["findings"][0]["evidence"] = {"token": FORMS["token query"]}
    baseline_file = tmp_path / "baseline.json"
    baseline_file.write_text(json.dumps(baseline), encoding="utf-8")
    outdir = tmp_path / "out"
    args = ["audit", "--snapshot", str(snapshot_file), "-c", str(hostile_config), "-v"]
    args += ["--baseline", str(baseline_file), "--output-dir", str(outdir)]
    for fmt in FORMATS:
        args += ["-f", fmt]
    _, stdout, stderr = run_cli(capsys, *args)
    written = "".join(p.read_text(encoding="utf-8") for p in sorted(outdir.iterdir()))
    assert "WAIVED" in written and "attested" in written.lower()
    assert planted_in(written + stdout + stderr) == []


def test_a_plan_whose_addresses_hold_secrets_writes_none(tmp_path, capsys):
    from prodcheck.plans import ADDRESS_KEY, name_by_address

    doc = planted_snapshot()
    for resource in doc["resources"]:
        resource[ADDRESS_KEY] = f"module.app.azurerm_x[{json.dumps(FORMS['rediss'])}]"
    snap = parse_snapshot(doc, "planted")
    report = audit(snap, api.select_rules())
    name_by_address(report, snap)
    assert not all(is_cleaned(f) for f in report.findings)
    for fmt in FORMATS:
        assert planted_in(render(report, fmt)) == []


def test_a_finding_handed_over_by_pickle_or_copied_keeps_being_cleaned_or_not():
    import copy
    import pickle

    made = cleaned(Finding, redact_evidence=True, **_plain_fields(evidence={"a": [1, 2]}))
    plain = Finding(**_plain_fields(message=FORMS["Pwd"]))
    for protocol in (2, pickle.HIGHEST_PROTOCOL):
        back = pickle.loads(pickle.dumps(made, protocol=protocol))
        assert back == made and is_cleaned(back)
        again = pickle.loads(pickle.dumps(plain, protocol=protocol))
        assert again == plain and not is_cleaned(again)
        assert PASSWORD_BARE not in clean(again, visible=False).message
    assert is_cleaned(copy.copy(made)) and is_cleaned(copy.deepcopy(made))
    assert not is_cleaned(copy.copy(plain))


@pytest.mark.skipif(not fanout.can_fork(), reason="forking is not safe here")
def test_findings_cleaned_in_a_forked_process_arrive_cleaned():
    def task(n: int):
        return lambda: [
            cleaned(Finding, redact_evidence=True, **_plain_fields(message=f"m{n}")),
            Finding(**_plain_fields(message=f"{FORMS['Pwd']} {n}")),
        ]

    results = fanout.share([task(n) for n in range(4)], 2, what="testing")
    assert [is_cleaned(made) for made, _ in results] == [True] * 4
    assert not any(is_cleaned(plain) for _, plain in results)
    report = api.audit_snapshot(planted_snapshot())
    report.findings = [f for pair in results for f in pair]
    for fmt in FORMATS:
        assert planted_in(render(report, fmt)) == []
