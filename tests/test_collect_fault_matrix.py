"""The fault matrix: a live audit through the fake ARM under every kind of failure ends in bounded
time with exit 1 and its report; no verdict resting on data that could not be read is PASS
(checked finding by finding against the offline audit of the same, complete data); and no
request to any host but the Resource Manager endpoint carries the token."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest
from fake_arm.server import RecordingServer

from prodcheck import api, cli
from prodcheck.cli import main

pytest_plugins = ["fake_arm.fixtures"]

DEMO = Path(__file__).resolve().parents[1] / "src/prodcheck/demos/hardened.json"
RG = "rg-artagent-prod"
VAULTS = r"providers/Microsoft\.KeyVault/vaults$"  # listed by the SDK (new-style models)
APIM = r"providers/Microsoft\.ApiManagement/service$"  # listed by the SDK (old-style models)
STORAGE = r"providers/Microsoft\.Storage/storageAccounts"  # listed by prodcheck's REST pager
ENDPOINTS = r"providers/Microsoft\.Network/privateEndpoints"  # the SDK's pager, with nextLinks
ELSEWHERE = "elsewhere"  # stands for the recording server's URL

TRUNCATED = b'{"value": [{"id": "/subscriptions/6f1c2b7e-3d4a-4c8e-9b1a-2e5f7d9c0a11", '
HTML = b"<html><body><h1>502 Bad Gateway</h1></body></html>"

# Bounds given on the command line: generous for loopback, except where a case tests them.
BOUNDS = ["--timeout", "5", "--deadline", "30"]
CASE_BOUNDS = {
    "timeout": ["--timeout", "0.3", "--deadline", "30"],
    "answer trickling in past the deadline": ["--timeout", "5", "--deadline", "1"],
}

# id -> (faults as (pattern, fault keywords), error codes the failed reads may carry)
MATRIX: dict[str, tuple[list[tuple[str, dict]], set[str]]] = {
    "403 on a type": ([(VAULTS, {"status": 403})], {"AuthorizationFailed"}),
    "403 on the resource group": (
        [(rf"/resourceGroups/{RG}/", {"status": 403})],
        {"AuthorizationFailed"},
    ),
    "401": (
        [(STORAGE, {"status": 401, "code": "InvalidAuthenticationToken"})],
        {"InvalidAuthenticationToken"},
    ),
    "404 on a child collection": (
        [(r"/apis/[^/]+/policies$", {"status": 404, "code": "ResourceNotFound"})],
        {"ResourceNotFound"},
    ),
    "409": ([(APIM, {"status": 409, "code": "Conflict"})], {"Conflict"}),
    "429 storm": ([(VAULTS, {"status": 429, "retry_after": 0})], {"SubscriptionRequestsThrottled"}),
    "500 and 503": (
        [(VAULTS, {"status": 500}), (STORAGE, {"status": 503})],
        {"InternalServerError", "ServiceUnavailable"},
    ),
    "timeout": ([(APIM, {"hang": True})], {"Timeout"}),
    "malformed JSON": ([(STORAGE, {"malformed": True})], {"MalformedResponse"}),
    "truncated page": (
        [(VAULTS, {"body": TRUNCATED, "truncated": True})],
        {"ConnectionError", "MalformedResponse"},
    ),
    "HTML page": (
        [
            (APIM, {"body": HTML, "content_type": "text/html"}),
            (STORAGE, {"body": HTML, "content_type": "text/html"}),
        ],
        {"MalformedResponse"},
    ),
    "value not a list": (
        [(ENDPOINTS, {"body": '{"value": {"id": "x"}}'}), (STORAGE, {"body": '{"value": "x"}'})],
        {"MalformedResponse"},
    ),
    "paging loop": (
        [(ENDPOINTS, {"next_link": "loop"}), (STORAGE, {"next_link": "loop"})],
        {"PagingLoop"},
    ),
    "endless pages": (
        [(ENDPOINTS, {"next_link": "endless"}), (STORAGE, {"next_link": "endless"})],
        {"PageLimitExceeded"},
    ),
    "foreign nextLink": (
        [(ENDPOINTS, {"next_link": ELSEWHERE}), (STORAGE, {"next_link": ELSEWHERE})],
        {"ForeignEndpoint"},
    ),
    "foreign redirect": (
        [(VAULTS, {"status": 302, "headers": {"Location": ELSEWHERE + "/subscriptions"}})],
        {"ForeignEndpoint"},
    ),
    "huge Retry-After": ([(VAULTS, {"status": 429, "retry_after": 3600})], {"RetryAfterTooLong"}),
    "answer trickling in past the deadline": ([(APIM, {"drip": 0.3})], {"DeadlineExceeded"}),
}


@pytest.fixture(scope="module")
def inventory():
    return json.loads(DEMO.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def offline(inventory):
    report = api.audit_snapshot(inventory)
    return {(f.rule_id, f.resource_id.lower()): f.status.value for f in report.findings}


@pytest.fixture
def elsewhere(arm_ca):
    with RecordingServer(arm_ca) as server:
        yield server


@pytest.fixture
def fast_retries(monkeypatch):
    """The CLI's collection, with retries, Retry-After and pages bounded for a quick test."""
    real = cli._collect_options

    def options(*args, **kwargs):
        return dataclasses.replace(
            real(*args, **kwargs),
            retry_total=1,
            retry_backoff=0.01,
            max_retry_after=1.0,
            max_pages=10,
            rate_limit=0,
        )

    monkeypatch.setattr(cli, "_collect_options", options)


def _needs_type(rule, resource_type: str) -> bool:
    wanted = resource_type.lower()
    return any(
        n.lower() == wanted or n.lower().startswith(wanted + "/providers/") for n in rule.needs
    )


def _rests_on(finding: dict, gap: dict) -> bool:
    """Whether a verdict of a rule that reads the gap's type rests on the gap: a verdict on the
    scope holding a failed list, or on the resource (or below it) whose child collection failed.
    Verdicts on other resources of a scope whose list failed are the engine's own dependency
    tracking, tested in its own tests."""
    rid, scope = finding["resourceId"].lower().rstrip("/"), gap["scope"].lower().rstrip("/")
    if "/providers/" not in scope:  # a failed list: scope-level verdicts rest on it
        return "/providers/" not in rid and (scope.startswith(rid + "/") or rid == scope)
    return rid == scope or rid.startswith(scope + "/") or scope.startswith(rid + "/")


_WITH_GAP: dict[tuple[str, str], dict[tuple[str, str], str]] = {}


def _offline_with_gap(inventory: dict, gap: dict) -> dict[tuple[str, str], str]:
    """The offline audit's verdicts on the complete data less what `gap` could not read, with
    a failed coverage record for it (cached per gap)."""
    key = (gap["resourceType"].lower(), gap["scope"].lower().rstrip("/"))
    if key not in _WITH_GAP:
        kind, scope = key
        doc = dict(inventory)
        doc["resources"] = [
            r
            for r in inventory["resources"]
            if not (r["type"].lower() == kind and r["id"].lower().startswith(scope + "/"))
        ]
        subscription = "/subscriptions/" + inventory["resources"][0]["id"].split("/")[2]
        everything_read = [
            {"resourceType": need, "scope": subscription, "status": "ok"}
            for need in api.needs_of(api.select_rules())
        ]
        doc["coverage"] = [
            *everything_read,
            {
                "resourceType": gap["resourceType"],
                "scope": gap["scope"],
                "status": "failed",
                "statusCode": 0,
                "errorCode": "DeadlineExceeded",
            },
        ]
        report = api.audit_snapshot(doc)
        _WITH_GAP[key] = {
            (f.rule_id, f.resource_id.lower()): f.status.value for f in report.findings
        }
    return _WITH_GAP[key]


@pytest.fixture(scope="module", autouse=True)
def _sdks_imported():
    """Import the SDK clients once, so that a run's deadline measures reading, not importing."""
    import importlib

    from prodcheck.collect.clients import SDK_CLIENTS

    for module, _ in SDK_CLIENTS.values():
        importlib.import_module(module)


@pytest.mark.parametrize("case", list(MATRIX))
def test_every_fault_ends_with_exit_1_its_report_and_no_pass_on_unread_data(
    case,
    inventory,
    offline,
    fake_arm,
    fake_az,
    elsewhere,
    fast_retries,
    tmp_path,
    monkeypatch,
    capsys,
):
    faults, codes = MATRIX[case]
    fake_arm.page_size = 3
    fake_arm.serve(inventory)
    for pattern, kwargs in faults:
        kwargs = {
            k: (v.replace(ELSEWHERE, elsewhere.base_url) if isinstance(v, str) else v)
            for k, v in kwargs.items()
        }
        if "headers" in kwargs:
            kwargs["headers"] = {
                k: v.replace(ELSEWHERE, elsewhere.base_url) for k, v in kwargs["headers"].items()
            }
        fake_arm.fault(pattern, **kwargs)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake_arm.ca_path(tmp_path))
    out = tmp_path / "report.json"
    args = ["audit", "--arm-endpoint", fake_arm.base_url, "--auth", "cli", "-q"]
    args += ["--subscription", inventory["scope"]["subscriptions"][0], "--resource-group", RG]
    args += CASE_BOUNDS.get(case, BOUNDS) + ["-f", "json", "-o", str(out)]

    started = time.monotonic()
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert time.monotonic() - started < 60  # minutes to hours without the bounds
    capsys.readouterr()
    assert exited.value.code == 1
    report = json.loads(out.read_text(encoding="utf-8"))

    # Nothing, least of all the token, went anywhere but the endpoint.
    assert elsewhere.requests == []

    gaps = report["coverageGaps"]
    assert gaps, "the report lists what could not be read"
    assert {g["errorCode"] for g in gaps} <= codes | {"NotCollected"}
    assert {g["errorCode"] for g in gaps} & codes

    # Finding by finding against the offline audit of the complete data: a verdict is what it
    # was, or ERROR; never a new PASS.
    for f in report["findings"]:
        key = (f["ruleId"], f["resourceId"].lower())
        assert f["status"] in {offline.get(key), "ERROR"}, (key, f["status"], offline.get(key))
        assert key in offline or f["status"] != "PASS", key

    # No verdict that rests on a failed read is PASS. A PASS on a resource whose child
    # collection failed stands only if the offline audit, told of the same gap, keeps it: the
    # rule decided without that data (a namespace with public access off needs no rule sets).
    rules = {r.id: r for r in api.select_rules()}
    for gap in gaps:
        for f in report["findings"]:
            rule = rules.get(f["ruleId"])
            if (
                rule
                and f["status"] == "PASS"
                and _needs_type(rule, gap["resourceType"])
                and _rests_on(f, gap)
            ):
                verdicts = _offline_with_gap(inventory, gap)
                assert verdicts.get((f["ruleId"], f["resourceId"].lower())) == "PASS", (
                    f["ruleId"],
                    f["resourceId"],
                    gap,
                )
