"""The built-in demo inventories (src/prodcheck/demos).

flat.json models the voice agent accelerator's default deployment as the reference describes it
(../shared/reference/voice-agent-accelerator-as-deployed.md); hardened.json models the same
workload after the production guide was applied. Rules are tested against both, so these tests
hold the files to what they claim: well-formed snapshots, ARM ids that agree with names and
types, the flat settings exactly as deployed, references that resolve, and no credentials.

Only the standard library and jsonschema are used.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMOS_DIR = ROOT / "src" / "prodcheck" / "demos"
SCHEMA_FILE = ROOT / "src" / "prodcheck" / "schemas" / "snapshot-v1.schema.json"

SUB = "6f1c2b7e-3d4a-4c8e-9b1a-2e5f7d9c0a11"
GROUP = {"flat": "rg-artagent-dev", "hardened": "rg-artagent-prod"}
TOKEN = {"flat": "k3x9p2qa", "hardened": "p5h2n8wd"}
DEMO_NAMES = ("flat", "hardened")

# The demos are complete by construction: no coverage records, and this much of a snapshot.
DEMO_SHAPE = {
    "type": "object",
    "required": ["format", "collectedAt", "scope", "resources"],
    "not": {"required": ["coverage"]},
    "properties": {
        "format": {"const": "prodcheck.snapshot/v1"},
        "collectedAt": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"},
        "scope": {
            "type": "object",
            "required": ["subscriptions", "resourceGroups"],
            "properties": {
                "subscriptions": {"type": "array", "items": {"const": SUB}, "minItems": 1},
                "resourceGroups": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            },
        },
        "resources": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "name", "type"],
                "properties": {
                    "id": {"type": "string", "pattern": "^/subscriptions/"},
                    "name": {"type": "string", "minLength": 1},
                    "type": {"type": "string", "pattern": r"^[A-Za-z]+\.[A-Za-z]+/[A-Za-z]"},
                },
            },
        },
    },
}


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


@cache
def _text(name: str) -> str:
    return (DEMOS_DIR / f"{name}.json").read_text(encoding="utf-8")


def load(name: str) -> dict[str, Any]:
    # A fresh copy each time: no test can change what another sees.
    return json.loads(_text(name))


def resources(name: str) -> list[dict[str, Any]]:
    return load(name)["resources"]


def by_id(res: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["id"].lower(): r for r in res}


def of_type(res: list[dict[str, Any]], rtype: str) -> list[dict[str, Any]]:
    return [r for r in res if r["type"].lower() == rtype.lower()]


def one(res: list[dict[str, Any]], rtype: str, name: str) -> dict[str, Any]:
    found = [r for r in of_type(res, rtype) if r["name"].lower() == name.lower()]
    assert len(found) == 1, f"expected exactly one {rtype} named {name}, found {len(found)}"
    return found[0]


MISSING = object()


def get(obj: Any, path: str) -> Any:
    """`properties.a.0.b` -> obj["properties"]["a"][0]["b"], or MISSING."""
    for part in path.split("."):
        if isinstance(obj, list) and part.isdigit() and int(part) < len(obj):
            obj = obj[int(part)]
        elif isinstance(obj, dict) and part in obj:
            obj = obj[part]
        else:
            return MISSING
    return obj


def type_and_name_from_id(rid: str) -> tuple[str, str]:
    """ARM id -> (type, name), the part after the last /providers/ (extension resources too)."""
    tail = re.split(r"/providers/", rid, flags=re.IGNORECASE)[-1]
    parts = tail.split("/")
    assert len(parts) >= 3 and len(parts) % 2 == 1, f"malformed ARM id {rid}"
    return parts[0] + "/" + "/".join(parts[1::2]), parts[-1]


def extension_parent(rid: str) -> str:
    return re.split(
        r"/providers/microsoft\.insights/diagnosticsettings/", rid, flags=re.IGNORECASE
    )[0]


def diag_settings_of(res: list[dict[str, Any]], target_id: str) -> list[dict[str, Any]]:
    return [
        d
        for d in of_type(res, "Microsoft.Insights/diagnosticSettings")
        if extension_parent(d["id"]).lower() == target_id.lower()
    ]


def host(url: str) -> str:
    return (urlparse(url).hostname or "").lower()


def walk(node: Any, path: str = "$"):
    """Yield (path, key_or_None, value) for every dict key and every scalar in a JSON tree."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield f"{path}.{k}", k, None
            yield from walk(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}[{i}]")
    else:
        yield path, None, node


def is_authorization(r: dict[str, Any]) -> bool:
    """Role assignments and definitions, and model catalogue items: no tags; definitions and
    catalogue items live at the subscription."""
    return r["type"].lower().startswith("microsoft.authorization/") or (
        r["type"].lower() == "microsoft.cognitiveservices/locations/models"
    )


def is_tracked(r: dict[str, Any]) -> bool:
    """Top-level resources that carry tags in ARM (not children, extension resources or budgets)."""
    tail = re.split(r"/providers/", r["id"], flags=re.IGNORECASE)[-1]
    return (
        len(tail.split("/")) == 3
        and "diagnosticsettings" not in r["type"].lower()
        and r["type"].lower() != "microsoft.insights/metrics"
        and "microsoft.consumption/budgets" not in r["type"].lower()
        and not is_authorization(r)
    )


# --------------------------------------------------------------------------------------------
# both demos: snapshot shape and ids
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("demo", DEMO_NAMES)
def test_demo_is_a_complete_v1_snapshot(demo):
    doc = load(demo)
    jsonschema.validate(doc, DEMO_SHAPE)
    assert doc["scope"]["resourceGroups"] == [GROUP[demo]]


@pytest.mark.parametrize("demo", DEMO_NAMES)
def test_demo_validates_against_the_shipped_schema(demo):
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.validate(load(demo), schema)


@pytest.mark.parametrize("demo", DEMO_NAMES)
def test_every_resource_has_id_name_and_type(demo):
    for i, r in enumerate(resources(demo)):
        for key in ("id", "name", "type"):
            assert isinstance(r.get(key), str) and r[key], f"resource #{i + 1} has no {key}"


@pytest.mark.parametrize("demo", DEMO_NAMES)
def test_ids_are_unique_ignoring_case(demo):
    seen: dict[str, str] = {}
    for r in resources(demo):
        key = r["id"].lower()
        assert key not in seen, f"{r['id']} duplicates {seen[key]}"
        seen[key] = r["id"]


@pytest.mark.parametrize("demo", DEMO_NAMES)
def test_every_id_is_in_the_subscription_and_resource_group(demo):
    prefix = f"/subscriptions/{SUB}/resourcegroups/{GROUP[demo]}/providers/"
    outside = (
        f"/subscriptions/{SUB}/providers/microsoft.authorization/roledefinitions/",
        f"/subscriptions/{SUB}/providers/microsoft.cognitiveservices/locations/eastus/models/",
    )
    for r in resources(demo):
        assert r["id"].lower().startswith((prefix, *outside)), r["id"]


# ARM names a storage account's lifecycle policy `DefaultManagementPolicy` in its body, `default`
# in its id.
NAMED_APART = {("microsoft.storage/storageaccounts/managementpolicies", "defaultmanagementpolicy")}


@pytest.mark.parametrize("demo", DEMO_NAMES)
def test_name_and_type_agree_with_the_id(demo):
    for r in resources(demo):
        rtype, name = type_and_name_from_id(r["id"])
        assert rtype.lower() == r["type"].lower(), f"{r['id']}: type {r['type']}"
        if (rtype.lower(), r["name"].lower()) in NAMED_APART:
            continue
        assert name.lower() == r["name"].lower(), f"{r['id']}: name {r['name']}"


def _id_like(value: str) -> str | None:
    if value.lower().startswith("/subscriptions/"):
        return value
    if value.lower().startswith("https://management.azure.com/subscriptions/"):
        return value[len("https://management.azure.com") :]
    return None


@pytest.mark.parametrize("demo", DEMO_NAMES)
def test_every_reference_by_id_resolves(demo):
    """Any ARM id mentioned in the file names a resource in it, a sub-resource declared inline
    (a gateway's listener, a virtual network's subnet), or the subscription / resource group.
    Case is ignored: ARM itself is not consistent about it."""
    res = resources(demo)
    known = set(by_id(res))
    scopes = {
        f"/subscriptions/{SUB}".lower(),
        f"/subscriptions/{SUB}/resourcegroups/{GROUP[demo]}".lower(),
    }
    declared: set[str] = set()
    references: list[tuple[str, str]] = []

    def collect(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("id"), str) and ({"name", "properties", "type"} & node.keys()):
                declared.add(node["id"].lower())
            for k, v in node.items():
                ref = _id_like(k)
                if ref:
                    references.append((f"{where}.{k} (key)", ref))
                if k == "id" and ({"name", "properties", "type"} & node.keys()):
                    continue
                collect(v, f"{where}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                collect(v, f"{where}[{i}]")
        elif isinstance(node, str):
            key = _id_like(node)
            if key:
                references.append((where, key))
        # tag keys such as hidden-link:/subscriptions/... are references too
        if isinstance(node, dict):
            for k in node:
                if k.lower().startswith("hidden-link:"):
                    references.append((f"{where}.{k}", k.split(":", 1)[1]))

    for r in res:
        collect({k: v for k, v in r.items() if k != "id"}, r["id"])
    unresolved = [
        (where, ref)
        for where, ref in references
        if ref.lower() not in known and ref.lower() not in declared and ref.lower() not in scopes
    ]
    assert not unresolved, "references to nothing in the file:\n" + "\n".join(
        f"  {w}: {r}" for w, r in unresolved
    )


# --------------------------------------------------------------------------------------------
# both demos: no credentials
# --------------------------------------------------------------------------------------------

CREDENTIAL_VALUES = [
    ("AccountKey=", re.compile(r"AccountKey\s*=", re.IGNORECASE)),
    ("SharedAccessKey=", re.compile(r"SharedAccessKey\s*=", re.IGNORECASE)),
    ("AccessKey=", re.compile(r"(?<![A-Za-z])AccessKey\s*=", re.IGNORECASE)),
    ("Password=", re.compile(r"(?<![A-Za-z])(Password|Pwd)\s*=", re.IGNORECASE)),
    ("SAS signature", re.compile(r"[?&]sig=[^&\s]+", re.IGNORECASE)),
    ("private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    # ARM's own template, mongodb+srv://<user>:<password>@..., is not a credential.
    (
        "mongodb://user:pass@",
        re.compile(r"mongodb(\+srv)?://(?!<user>:<password>@)[^:/@\s]+:[^@\s]+@", re.IGNORECASE),
    ),
    ("redis://:pass@", re.compile(r"rediss?://[^:/@\s]*:[^@\s]+@", re.IGNORECASE)),
    (
        "key-like blob",
        re.compile(
            r"(?<![A-Za-z0-9+/])(?=[A-Za-z0-9+/]*\d)(?=[A-Za-z0-9+/]*[a-z])(?=[A-Za-z0-9+/]*[A-Z])[A-Za-z0-9+/]{40,}={0,2}"
        ),
    ),
]
CREDENTIAL_NAMES = re.compile(
    r"(CONNECTION_?STRING|(^|_)(API_?|ACCESS_?|ACCOUNT_?|PRIMARY_?)?KEY$|SECRET$|PASSWORD$|PWD$)",
    re.IGNORECASE,
)


@pytest.mark.parametrize("demo", DEMO_NAMES)
def test_no_credentials_other_than_the_app_insights_connection_string(demo):
    res = resources(demo)
    components = of_type(res, "microsoft.insights/components")
    assert len(components) == 1
    ikey = components[0]["properties"]["InstrumentationKey"]
    # The one identifier that looks like a credential is an obviously fake GUID.
    assert re.fullmatch(r"00000000-0000-0000-0000-0000000000[0-9a-f]{2}", ikey)
    allowed = components[0]["properties"]["ConnectionString"]
    assert allowed.startswith(f"InstrumentationKey={ikey};")

    problems = []
    for r in res:
        for path, key, value in walk(r, r["id"]):
            text = key if key is not None else value
            if not isinstance(text, str):
                continue
            if "instrumentationkey=" in text.lower():
                if text != allowed:
                    problems.append(
                        (
                            path,
                            "an Application Insights connection string that is not the component's",
                        )
                    )
                continue
            for label, pattern in CREDENTIAL_VALUES:
                # ARM ids and URLs are long runs of letters, digits and slashes by nature.
                if label == "key-like blob" and re.match(
                    r"^(/subscriptions/|https?://)", text, re.IGNORECASE
                ):
                    continue
                if pattern.search(text):
                    problems.append((path, label))
    # Literal values under credential-like names in container app configuration.
    for app in of_type(res, "Microsoft.App/containerApps"):
        for c in app["properties"]["template"]["containers"]:
            for var in c.get("env") or []:
                if "value" in var and CREDENTIAL_NAMES.search(var["name"]):
                    if (
                        var["name"] == "APPLICATIONINSIGHTS_CONNECTION_STRING"
                        and var["value"] == allowed
                    ):
                        continue
                    problems.append(
                        (
                            f"{app['name']} env {var['name']}",
                            "literal value under a credential name",
                        )
                    )
    assert not problems, "\n".join(f"{p}: {why}" for p, why in problems)


# --------------------------------------------------------------------------------------------
# flat: the default deployment, exactly as the reference describes it
# --------------------------------------------------------------------------------------------

T = TOKEN["flat"]
ABSENT = MISSING


def _modes(v):
    return isinstance(v, list) and sorted(v) == ["MicrosoftEntraID", "NativeAuth"]


def _both_identities(v):
    return isinstance(v, str) and set(v.replace(" ", "").split(",")) == {
        "SystemAssigned",
        "UserAssigned",
    }


def _falsy(v):
    return v is MISSING or not v


def _not_true(v):
    return v is not True


FLAT_AS_DEPLOYED = [
    (
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        f"artagent-backend-{T}",
        {"location": "eastus"},
    ),
    (
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        f"artagent-frontend-{T}",
        {"location": "eastus"},
    ),
    (
        "Microsoft.OperationalInsights/workspaces",
        f"log-{T}",
        {"properties.sku.name": "PerGB2018", "properties.retentionInDays": 30},
    ),
    (
        "Microsoft.Insights/components",
        f"ai-{T}",
        {
            "kind": "web",
            "properties.IngestionMode": "LogAnalytics",
            "properties.WorkspaceResourceId": lambda v: (
                isinstance(v, str) and v.lower().endswith(f"/workspaces/log-{T}")
            ),
            "properties.DisableLocalAuth": _not_true,
        },
    ),
    (
        "Microsoft.KeyVault/vaults",
        f"kv-{T}",
        {
            "properties.sku.name": "standard",
            "properties.enableRbacAuthorization": True,
            "properties.publicNetworkAccess": "Enabled",
            "properties.networkAcls": ABSENT,
            "properties.enableSoftDelete": True,
            "properties.softDeleteRetentionInDays": 7,
            "properties.enablePurgeProtection": _not_true,
        },
    ),
    ("Microsoft.KeyVault/vaults/secrets", "acs-connection-string", {}),
    ("Microsoft.KeyVault/vaults/secrets", "cosmos-admin-password", {}),
    ("Microsoft.KeyVault/vaults/secrets", "cosmos-connection-string", {}),
    ("Microsoft.KeyVault/vaults/secrets", "cosmos-entra-connection-string", {}),
    (
        "Microsoft.AppConfiguration/configurationStores",
        f"appconfig-dev-{T}",
        {
            "sku.name": "standard",
            "properties.disableLocalAuth": True,
            "properties.publicNetworkAccess": "Enabled",
            "properties.enablePurgeProtection": False,
            "properties.softDeleteRetentionInDays": 1,
        },
    ),
    (
        "Microsoft.ContainerRegistry/registries",
        f"crartagent{T}",
        {
            "sku.name": "Basic",
            "properties.adminUserEnabled": False,
            "properties.publicNetworkAccess": "Enabled",
        },
    ),
    (
        "Microsoft.App/managedEnvironments",
        f"cae-artagent-dev-{T}",
        {
            "properties.vnetConfiguration": ABSENT,
            "properties.zoneRedundant": False,
            "properties.appLogsConfiguration.destination": "log-analytics",
        },
    ),
    (
        "Microsoft.App/containerApps",
        f"artagent-frontend-{T}",
        {
            "tags.azd-service-name": "rtaudio-client",
            "identity.type": _both_identities,
            "properties.configuration.ingress.external": True,
            "properties.configuration.ingress.targetPort": 8080,
            "properties.template.scale.minReplicas": 1,
            "properties.template.scale.maxReplicas": 10,
            "properties.template.scale.rules": _falsy,
            "properties.configuration.secrets": _falsy,
            "properties.template.containers.0.resources.cpu": 0.5,
            "properties.template.containers.0.resources.memory": "1Gi",
        },
    ),
    (
        "Microsoft.App/containerApps",
        f"artagent-backend-{T}",
        {
            "tags.azd-service-name": "rtaudio-server",
            "identity.type": _both_identities,
            "properties.configuration.ingress.external": True,
            "properties.configuration.ingress.targetPort": 8000,
            "properties.template.scale.minReplicas": 5,
            "properties.template.scale.maxReplicas": 50,
            "properties.template.scale.rules": _falsy,
            "properties.configuration.secrets": _falsy,
            "properties.template.containers.0.resources.cpu": 2,
            "properties.template.containers.0.resources.memory": "4Gi",
        },
    ),
    (
        "Microsoft.Storage/storageAccounts",
        f"st{T}",
        {
            "kind": "StorageV2",
            "sku.name": "Standard_LRS",
            "properties.minimumTlsVersion": "TLS1_2",
            "properties.publicNetworkAccess": "Enabled",
            "properties.allowBlobPublicAccess": False,
            "properties.allowSharedKeyAccess": lambda v: v is not False,
        },
    ),
    (
        "Microsoft.Storage/storageAccounts/blobServices",
        "default",
        {
            "properties.deleteRetentionPolicy.enabled": True,
            "properties.deleteRetentionPolicy.days": 7,
        },
    ),
    (
        "Microsoft.DocumentDB/mongoClusters",
        f"cosmos-cluster-{T}",
        {
            "properties.compute.tier": "M30",
            "properties.highAvailability.targetMode": "Disabled",
            "properties.publicNetworkAccess": "Enabled",
            "properties.authConfig.allowedModes": _modes,
        },
    ),
    (
        "Microsoft.DocumentDB/mongoClusters/firewallRules",
        "allowAll",
        {"properties.startIpAddress": "0.0.0.0", "properties.endIpAddress": "255.255.255.255"},
    ),
    (
        "Microsoft.Cache/redisEnterprise",
        f"redis{T}",
        {
            "sku.name": "MemoryOptimized_M10",
            "properties.highAvailability": "Enabled",
            "properties.minimumTlsVersion": "1.2",
            "properties.publicNetworkAccess": ABSENT,
            "properties.privateEndpointConnections": _falsy,
        },
    ),
    (
        "Microsoft.Cache/redisEnterprise/databases",
        "default",
        {
            "properties.port": 10000,
            "properties.clientProtocol": "Encrypted",
            "properties.accessKeysAuthentication": "Disabled",
        },
    ),
    (
        "Microsoft.Communication/communicationServices",
        f"acs-artagent-dev-{T}",
        {
            "location": "global",
            "properties.dataLocation": "United States",
            "properties.disableLocalAuth": False,
            "properties.publicNetworkAccess": "Enabled",
            "identity.type": "SystemAssigned",
        },
    ),
    ("Microsoft.Communication/emailServices", f"email-artagent-dev-{T}", {"location": "global"}),
    (
        "Microsoft.Communication/emailServices/domains",
        "AzureManagedDomain",
        {"properties.domainManagement": "AzureManaged"},
    ),
    (
        "Microsoft.EventGrid/systemTopics",
        f"eg-topic-acs-{T}",
        {
            "location": "global",
            "properties.source": lambda v: v.lower().endswith(
                f"/communicationservices/acs-artagent-dev-{T}"
            ),
        },
    ),
    (
        "Microsoft.CognitiveServices/accounts",
        f"artagent{T}aif",
        {
            "kind": "AIServices",
            "sku.name": "S0",
            "location": "eastus",
            "identity.type": "SystemAssigned",
            "properties.publicNetworkAccess": "Enabled",
            "properties.disableLocalAuth": False,
        },
    ),
    (
        "Microsoft.CognitiveServices/accounts",
        f"artagent{T}avl",
        {
            "kind": "AIServices",
            "sku.name": "S0",
            "location": "eastus2",
            "identity.type": "SystemAssigned",
            "properties.publicNetworkAccess": "Enabled",
            "properties.disableLocalAuth": False,
        },
    ),
] + [
    (
        "Microsoft.CognitiveServices/accounts/deployments",
        d,
        {
            "properties.model.name": d,
            "sku.name": lambda v: v in ("DataZoneStandard", "GlobalStandard"),
            "id": lambda v: f"/accounts/artagent{T}aif/".lower() in v.lower(),
        },
    )
    for d in (
        "gpt-4o",
        "gpt-4o-mini",
        "o3-mini",
        "gpt-5.1",
        "text-embedding-3-large",
        "gpt-realtime",
        "gpt-4o-transcribe",
    )
]


@pytest.mark.parametrize(
    ("rtype", "name", "checks"),
    FLAT_AS_DEPLOYED,
    ids=[f"{t.split('/', 1)[1]}:{n}" for t, n, _ in FLAT_AS_DEPLOYED],
)
def test_flat_has_each_resource_with_the_settings_as_deployed(rtype, name, checks):
    r = one(resources("flat"), rtype, name)
    for path, expected in checks.items():
        actual = get(r, path)
        if expected is ABSENT:
            assert actual is MISSING or actual is None, (
                f"{name}: {path} should be absent, is {actual!r}"
            )
        elif callable(expected):
            assert expected(actual), f"{name}: {path} = {actual!r}"
        else:
            assert actual == expected, f"{name}: {path} = {actual!r}, expected {expected!r}"


def test_flat_models_every_listed_resource_and_nothing_else():
    listed = {(t.lower(), n.lower()) for t, n, _ in FLAT_AS_DEPLOYED}
    extensions = {
        "microsoft.insights/diagnosticsettings",
        "microsoft.authorization/roleassignments",
        "microsoft.authorization/roledefinitions",
        "microsoft.cognitiveservices/locations/models",
        "microsoft.insights/metrics",
    }
    present = {
        (r["type"].lower(), r["name"].lower())
        for r in resources("flat")
        if r["type"].lower() not in extensions
    }
    assert present == listed


def test_flat_tags_carry_the_policy_exemption():
    for r in resources("flat"):
        if not is_tracked(r):
            continue
        tags = r.get("tags") or {}
        assert tags.get("SecurityControl") == "Ignore", r["id"]
        assert tags.get("environment") == "dev" and tags.get("azd-env-name") == "dev", r["id"]
        assert (
            tags.get("project") == "gbb-ai-audio-agent" and tags.get("deployment") == "terraform"
        ), r["id"]
        assert tags.get("hidden-title") == "Real Time Audio dev" and tags.get("deployed_by"), r[
            "id"
        ]


def test_flat_apps_get_the_app_insights_connection_string_as_a_plain_variable():
    res = resources("flat")
    conn = of_type(res, "microsoft.insights/components")[0]["properties"]["ConnectionString"]
    for app in of_type(res, "Microsoft.App/containerApps"):
        env = {v["name"]: v for v in app["properties"]["template"]["containers"][0]["env"]}
        assert set(env) == {
            "AZURE_APPCONFIG_ENDPOINT",
            "AZURE_APPCONFIG_LABEL",
            "AZURE_CLIENT_ID",
            "APPLICATIONINSIGHTS_CONNECTION_STRING",
            "PORT",
        }
        assert env["APPLICATIONINSIGHTS_CONNECTION_STRING"].get("value") == conn
        assert "secretRef" not in env["APPLICATIONINSIGHTS_CONNECTION_STRING"]
        # The registry is pulled with the user-assigned identity.
        registry = app["properties"]["configuration"]["registries"][0]
        assert registry["identity"].lower() in {
            k.lower() for k in app["identity"]["userAssignedIdentities"]
        }


def test_flat_diagnostic_settings_are_only_the_deployed_ones():
    res = resources("flat")
    workspace_id = of_type(res, "Microsoft.OperationalInsights/workspaces")[0]["id"].lower()
    settings = of_type(res, "Microsoft.Insights/diagnosticSettings")
    parents = sorted(type_and_name_from_id(extension_parent(d["id"]))[1] for d in settings)
    assert parents == sorted([f"acs-artagent-dev-{T}", f"artagent{T}aif", f"artagent{T}avl"])
    for d in settings:
        assert d["properties"]["workspaceId"].lower() == workspace_id
        if "/accounts/" in d["id"].lower():
            logs = {entry["category"] for entry in d["properties"]["logs"] if entry["enabled"]}
            metrics = {
                entry["category"] for entry in d["properties"]["metrics"] if entry["enabled"]
            }
            assert logs == {"Audit", "RequestResponse"} and metrics == {"AllMetrics"}


NOT_DEPLOYED = [
    "Microsoft.Network/virtualNetworks",
    "Microsoft.Network/privateEndpoints",
    "Microsoft.Network/privateDnsZones",
    "Microsoft.Network/applicationGateways",
    "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies",
    "Microsoft.ApiManagement/service",
    "Microsoft.Insights/metricAlerts",
    "Microsoft.Insights/actionGroups",
    "Microsoft.Insights/scheduledQueryRules",
    "Microsoft.Insights/webtests",
    "Microsoft.Insights/workbooks",
    "Microsoft.Portal/dashboards",
    "Microsoft.Dashboard/grafana",
    "Microsoft.ServiceBus/namespaces",
    "Microsoft.SignalRService/SignalR",
    "Microsoft.EventHub/namespaces",
    "Microsoft.LoadTestService/loadTests",
    "Microsoft.App/containerApps/authConfigs",
]


@pytest.mark.parametrize("rtype", NOT_DEPLOYED)
def test_flat_lacks_what_the_reference_says_is_not_deployed(rtype):
    assert not of_type(resources("flat"), rtype)


# --------------------------------------------------------------------------------------------
# hardened: the production guide applied
# --------------------------------------------------------------------------------------------

H = TOKEN["hardened"]

# Private link: (service type, group id) -> the private DNS zones its endpoint must register in.
PRIVATE_LINK_ZONES = {
    ("microsoft.keyvault/vaults", "vault"): {"privatelink.vaultcore.azure.net"},
    ("microsoft.appconfiguration/configurationstores", "configurationstores"): {
        "privatelink.azconfig.io"
    },
    ("microsoft.containerregistry/registries", "registry"): {"privatelink.azurecr.io"},
    ("microsoft.storage/storageaccounts", "blob"): {"privatelink.blob.core.windows.net"},
    ("microsoft.cache/redisenterprise", "redisenterprise"): {"privatelink.redis.azure.net"},
    ("microsoft.documentdb/mongoclusters", "mongocluster"): {
        "privatelink.mongocluster.cosmos.azure.com"
    },
    ("microsoft.documentdb/databaseaccounts", "sql"): {"privatelink.documents.azure.com"},
    ("microsoft.cognitiveservices/accounts", "account"): {
        "privatelink.cognitiveservices.azure.com",
        "privatelink.openai.azure.com",
        "privatelink.services.ai.azure.com",
    },
    ("microsoft.servicebus/namespaces", "namespace"): {"privatelink.servicebus.windows.net"},
}
PRIVATE_LINK_TYPES = sorted({t for t, _ in PRIVATE_LINK_ZONES})


def _endpoints(res):
    return of_type(res, "Microsoft.Network/privateEndpoints")


def _zone_group(res, pe):
    groups = [
        r
        for r in of_type(res, "Microsoft.Network/privateEndpoints/privateDnsZoneGroups")
        if r["id"].lower() == f"{pe['id']}/privateDnsZoneGroups/default".lower()
    ]
    assert len(groups) == 1, f"{pe['name']} has no privateDnsZoneGroups/default"
    return groups[0]


def test_hardened_private_endpoints_target_resources_in_the_file_and_are_approved():
    res = resources("hardened")
    index = by_id(res)
    assert len(_endpoints(res)) >= len(PRIVATE_LINK_TYPES)
    for pe in _endpoints(res):
        conns = pe["properties"]["privateLinkServiceConnections"]
        assert conns and not pe["properties"]["manualPrivateLinkServiceConnections"], pe["name"]
        for c in conns:
            target = index.get(c["properties"]["privateLinkServiceId"].lower())
            assert target is not None, (
                f"{pe['name']} targets {c['properties']['privateLinkServiceId']}"
            )
            assert c["properties"]["privateLinkServiceConnectionState"]["status"] == "Approved"
            assert (
                target["type"].lower(),
                c["properties"]["groupIds"][0].lower(),
            ) in PRIVATE_LINK_ZONES


def test_hardened_private_endpoints_name_the_right_private_dns_zones():
    res = resources("hardened")
    index = by_id(res)
    links = of_type(res, "Microsoft.Network/privateDnsZones/virtualNetworkLinks")
    for pe in _endpoints(res):
        c = pe["properties"]["privateLinkServiceConnections"][0]["properties"]
        target = index[c["privateLinkServiceId"].lower()]
        expected = PRIVATE_LINK_ZONES[(target["type"].lower(), c["groupIds"][0].lower())]
        zones = set()
        for cfg in _zone_group(res, pe)["properties"]["privateDnsZoneConfigs"]:
            zone = index.get(cfg["properties"]["privateDnsZoneId"].lower())
            assert zone is not None and zone["type"] == "Microsoft.Network/privateDnsZones", cfg
            assert cfg["properties"]["recordSets"], f"{pe['name']}: no A record in {zone['name']}"
            zones.add(zone["name"])
            assert any(link["id"].lower().startswith(zone["id"].lower() + "/") for link in links), (
                zone["name"]
            )
        assert zones == expected, (
            f"{pe['name']}: zones {sorted(zones)}, expected {sorted(expected)}"
        )


def test_hardened_services_list_their_endpoint_with_resource_group_case_shifted():
    """Each service's own privateEndpointConnections names its endpoint, with the resource
    group in a different case from the endpoint's id, as ARM returns it."""
    res = resources("hardened")
    endpoints = {pe["id"].lower(): pe["id"] for pe in _endpoints(res)}
    for rtype in PRIVATE_LINK_TYPES:
        services = of_type(res, rtype)
        assert services, f"no {rtype} in the hardened demo"
        for svc in services:
            conns = svc["properties"].get("privateEndpointConnections") or []
            approved = [
                c
                for c in conns
                if c["properties"]["privateLinkServiceConnectionState"]["status"] == "Approved"
            ]
            assert approved, f"{svc['name']} lists no approved private endpoint connection"
            for c in approved:
                ref = c["properties"]["privateEndpoint"]["id"]
                assert ref.lower() in endpoints, f"{svc['name']}: {ref}"
                assert ref != endpoints[ref.lower()], f"{svc['name']}: same case on both sides"
            targeted = [
                pe
                for pe in _endpoints(res)
                if pe["properties"]["privateLinkServiceConnections"][0]["properties"][
                    "privateLinkServiceId"
                ].lower()
                == svc["id"].lower()
            ]
            assert targeted, f"no private endpoint targets {svc['name']}"


def test_hardened_public_network_access_is_closed_everywhere_it_can_be():
    res = resources("hardened")
    exceptions = {}
    for r in res:
        value = get(r, "properties.publicNetworkAccess")
        if value is MISSING:
            continue
        if value != "Disabled":
            exceptions[r["type"].lower()] = (r, value)
    assert set(exceptions) == {
        "microsoft.apimanagement/service",
        "microsoft.communication/communicationservices",
    }
    apim, value = exceptions["microsoft.apimanagement/service"]
    # Classic-tier APIM in a VNet cannot take a private endpoint; internal mode is what makes it private.
    assert value == "Enabled" and apim["properties"]["virtualNetworkType"] == "Internal"
    acs, value = exceptions["microsoft.communication/communicationservices"]
    # ACS has no private link; its public endpoint is governed by an enforced network security perimeter.
    assert value == "SecuredByPerimeter"
    assoc = [
        a
        for a in of_type(res, "Microsoft.Network/networkSecurityPerimeters/resourceAssociations")
        if a["properties"]["privateLinkResource"]["id"].lower() == acs["id"].lower()
    ]
    assert assoc and assoc[0]["properties"]["accessMode"] == "Enforced"
    rules = of_type(res, "Microsoft.Network/networkSecurityPerimeters/profiles/accessRules")
    assert rules and all(not r["properties"]["addressPrefixes"] for r in rules)
    # Firewall-style switches agree.
    for r in res:
        acl = get(r, "properties.networkAcls")
        if isinstance(acl, dict) and "defaultAction" in acl:
            assert acl["defaultAction"] == "Deny" and not acl.get("ipRules"), r["id"]


def test_hardened_has_no_open_firewall_rules():
    text = _text("hardened")
    assert "firewallRules" not in text
    assert "255.255.255.255" not in text and "0.0.0.0/0" not in text


def test_hardened_container_apps_environment_is_internal_zone_redundant_and_in_the_vnet():
    res = resources("hardened")
    (env,) = of_type(res, "Microsoft.App/managedEnvironments")
    vnet = of_type(res, "Microsoft.Network/virtualNetworks")[0]
    subnets = {s["id"].lower(): s for s in vnet["properties"]["subnets"]}
    cfg = env["properties"]["vnetConfiguration"]
    assert cfg["internal"] is True and env["properties"]["zoneRedundant"] is True
    subnet = subnets[cfg["infrastructureSubnetId"].lower()]
    assert [d["properties"]["serviceName"] for d in subnet["properties"]["delegations"]] == [
        "Microsoft.App/environments"
    ]


def test_hardened_application_gateway_is_waf_v2_in_prevention_with_tls_and_probes():
    res = resources("hardened")
    index = by_id(res)
    vault_hosts = {
        host(v["properties"]["vaultUri"]) for v in of_type(res, "Microsoft.KeyVault/vaults")
    }
    (agw,) = of_type(res, "Microsoft.Network/applicationGateways")
    p = agw["properties"]
    assert p["sku"]["tier"] == "WAF_v2" and p["sku"]["name"] == "WAF_v2"
    assert p["autoscaleConfiguration"]["minCapacity"] >= 2 and len(agw["zones"]) >= 2
    assert p["sslPolicy"] == {"policyType": "Predefined", "policyName": "AppGwSslPolicy20220101S"}

    waf = index[p["firewallPolicy"]["id"].lower()]
    assert waf["type"] == "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies"
    assert waf["properties"]["policySettings"]["state"] == "Enabled"
    assert waf["properties"]["policySettings"]["mode"] == "Prevention"
    sets = {
        (s["ruleSetType"], s["ruleSetVersion"])
        for s in waf["properties"]["managedRules"]["managedRuleSets"]
    }
    assert ("Microsoft_DefaultRuleSet", "2.1") in sets or ("OWASP", "3.2") in sets
    assert agw["id"].lower() in {g["id"].lower() for g in waf["properties"]["applicationGateways"]}

    sub = {
        s["id"].lower(): s
        for kind, items in p.items()
        if isinstance(items, list)
        for s in items
        if isinstance(s, dict) and "id" in s
    }
    listeners = p["httpListeners"]
    assert {li["properties"]["protocol"] for li in listeners} == {"Https", "Http"}
    for li in listeners:
        if li["properties"]["protocol"] == "Https":
            cert = sub[li["properties"]["sslCertificate"]["id"].lower()]
            assert host(cert["properties"]["keyVaultSecretId"]) in vault_hosts
            continue
        rules = [
            r
            for r in p["requestRoutingRules"]
            if r["properties"]["httpListener"]["id"].lower() == li["id"].lower()
        ]
        assert rules, f"{li['name']} has no rule"
        for rule in rules:
            assert (
                "backendAddressPool" not in rule["properties"]
                and "urlPathMap" not in rule["properties"]
            )
            redirect = sub[rule["properties"]["redirectConfiguration"]["id"].lower()]
            target = sub[redirect["properties"]["targetListener"]["id"].lower()]
            assert target["properties"]["protocol"] == "Https"
    probes = {pr["id"].lower() for pr in p["probes"]}
    for settings in p["backendHttpSettingsCollection"]:
        assert settings["properties"]["probe"]["id"].lower() in probes, settings["name"]


def _policy(res, api=None):
    suffix = "/policies/policy" if api is None else f"/apis/{api}/policies/policy"
    found = [
        r
        for r in res
        if r["id"].lower().endswith(suffix)
        and "/microsoft.apimanagement/service/" in r["id"].lower()
        and (api is not None or "/apis/" not in r["id"].lower())
    ]
    assert len(found) == 1, suffix
    assert found[0]["properties"]["format"] == "xml"
    return ET.fromstring(found[0]["properties"]["value"])


def test_hardened_api_management_is_internal_and_limits_every_api():
    res = resources("hardened")
    (apim,) = of_type(res, "Microsoft.ApiManagement/service")
    assert apim["properties"]["virtualNetworkType"] == "Internal"
    assert "SystemAssigned" in apim["identity"]["type"]
    assert _policy(res).find("inbound/rate-limit-by-key") is not None
    apis = {a["name"] for a in of_type(res, "Microsoft.ApiManagement/service/apis")}
    assert apis == {"realtime-voice", "openai"}
    for api in apis:
        inbound = _policy(res, api).find("inbound")
        assert inbound is not None and inbound[0].tag == "base", (
            f"{api}: inbound does not start with <base />"
        )
        assert inbound.find("rate-limit-by-key") is not None, api


def test_hardened_openai_api_is_an_ai_gateway_with_a_circuit_breaker():
    res = resources("hardened")
    root = _policy(res, "openai")
    inbound = root.find("inbound")
    for element in (
        "llm-token-limit",
        "llm-emit-token-metric",
        "cache-lookup",
        "set-backend-service",
    ):
        assert inbound.find(element) is not None, element
    backend_id = inbound.find("set-backend-service").get("backend-id")
    backend = one(res, "Microsoft.ApiManagement/service/backends", backend_id)
    ai_hosts = set()
    for account in of_type(res, "Microsoft.CognitiveServices/accounts"):
        ai_hosts |= {host(u) for u in account["properties"]["endpoints"].values()}
    assert host(backend["properties"]["url"]) in ai_hosts
    rules = backend["properties"]["circuitBreaker"]["rules"]
    ranges = [
        (r["min"], r["max"]) for rule in rules for r in rule["failureCondition"]["statusCodeRanges"]
    ]
    assert any(lo <= 429 <= hi for lo, hi in ranges)
    assert any(lo <= 503 <= hi and lo >= 500 for lo, hi in ranges)


# The guide's key metrics table: (resource type, resource name, metric, operator, threshold).
KEY_METRIC_ALERTS = [
    ("Microsoft.App/containerApps", f"artagent-frontend-{H}", "CpuPercentage", "GreaterThan", 85),
    ("Microsoft.App/containerApps", f"artagent-backend-{H}", "CpuPercentage", "GreaterThan", 85),
    ("Microsoft.Cache/redisEnterprise", f"redis{H}", "usedmemorypercentage", "GreaterThan", 80),
    ("microsoft.insights/components", f"ai-{H}", "requests/duration", "GreaterThan", 4000),
    (
        "microsoft.insights/components",
        f"ai-{H}",
        "availabilityResults/availabilityPercentage",
        "LessThan",
        99.5,
    ),
    (
        "microsoft.insights/components",
        f"ai-{H}",
        "speech_cascade.stt.recognition",
        "GreaterThan",
        1000,
    ),
    (
        "microsoft.insights/components",
        f"ai-{H}",
        "speech_cascade.tts.synthesis",
        "GreaterThan",
        2000,
    ),
    ("microsoft.insights/components", f"ai-{H}", "voice.call_drop_rate", "GreaterThan", 2),
]


@pytest.mark.parametrize(
    ("rtype", "name", "metric", "operator", "threshold"),
    KEY_METRIC_ALERTS,
    ids=[f"{m}:{n}" for _, n, m, _, _ in KEY_METRIC_ALERTS],
)
def test_hardened_alerts_cover_each_key_metric(rtype, name, metric, operator, threshold):
    res = resources("hardened")
    index = by_id(res)
    target = one(res, rtype, name)
    matching = []
    for alert in of_type(res, "Microsoft.Insights/metricAlerts"):
        p = alert["properties"]
        if target["id"].lower() not in {s.lower() for s in p["scopes"]}:
            continue
        for c in p["criteria"]["allOf"]:
            if c["metricName"].lower() == metric.lower():
                matching.append((alert, c))
    assert len(matching) == 1, f"{len(matching)} alerts on {metric} for {name}"
    alert, criterion = matching[0]
    assert alert["properties"]["enabled"] is True
    assert criterion["operator"] == operator
    if operator == "GreaterThan":
        assert criterion["threshold"] <= threshold
    else:
        assert criterion["threshold"] >= threshold
    actions = alert["properties"]["actions"]
    assert actions
    for action in actions:
        group = index[action["actionGroupId"].lower()]
        gp = group["properties"]
        receivers = sum(len(v) for k, v in gp.items() if k.endswith("Receivers"))
        assert gp["enabled"] is True and receivers > 0


def test_hardened_availability_alert_watches_a_real_availability_test():
    res = resources("hardened")
    (component,) = of_type(res, "microsoft.insights/components")
    tests = [
        w
        for w in of_type(res, "Microsoft.Insights/webtests")
        if any(k.lower() == f"hidden-link:{component['id']}".lower() for k in w.get("tags", {}))
    ]
    assert tests and tests[0]["properties"]["Enabled"] is True
    (alert,) = [
        a
        for a in of_type(res, "Microsoft.Insights/metricAlerts")
        if a["name"] == "alert-availability"
    ]
    dims = alert["properties"]["criteria"]["allOf"][0]["dimensions"]
    assert dims[0]["values"] == [tests[0]["name"]]


DIAGNOSED_TYPES = [
    "Microsoft.ApiManagement/service",
    "Microsoft.Network/applicationGateways",
    "Microsoft.KeyVault/vaults",
    "Microsoft.CognitiveServices/accounts",
    "Microsoft.Cache/redisEnterprise",
    "Microsoft.Cache/redisEnterprise/databases",
    "Microsoft.DocumentDB/mongoClusters",
    "Microsoft.Communication/communicationServices",
    "Microsoft.App/managedEnvironments",
]


@pytest.mark.parametrize("rtype", DIAGNOSED_TYPES)
def test_hardened_diagnostic_settings_send_to_the_workspace(rtype):
    res = resources("hardened")
    index = by_id(res)
    targets = of_type(res, rtype)
    assert targets
    for target in targets:
        settings = diag_settings_of(res, target["id"])
        assert settings, f"no diagnostic setting on {target['name']}"
        for d in settings:
            ws = index[d["properties"]["workspaceId"].lower()]
            assert ws["type"] == "Microsoft.OperationalInsights/workspaces"
            logs = [entry for entry in d["properties"]["logs"] if entry["enabled"]]
            metrics = [entry for entry in d["properties"]["metrics"] if entry["enabled"]]
            # Redis Enterprise: metrics on the cluster, connection logs on the database.
            assert logs or (rtype == "Microsoft.Cache/redisEnterprise" and metrics), target["name"]


def test_hardened_container_apps_use_identity_key_vault_references_and_scale_rules():
    res = resources("hardened")
    index = by_id(res)
    vaults = {
        host(v["properties"]["vaultUri"]): v for v in of_type(res, "Microsoft.KeyVault/vaults")
    }
    secret_ids = {r["id"].lower() for r in of_type(res, "Microsoft.KeyVault/vaults/secrets")}
    auth = {
        a["id"].lower().rsplit("/authconfigs/", 1)[0]: a
        for a in of_type(res, "Microsoft.App/containerApps/authConfigs")
    }
    apps = of_type(res, "Microsoft.App/containerApps")
    assert len(apps) == 2
    for app in apps:
        p = app["properties"]
        assigned = {k.lower() for k in app["identity"]["userAssignedIdentities"]}
        assert all(
            index[k]["type"] == "Microsoft.ManagedIdentity/userAssignedIdentities" for k in assigned
        )
        for reg in p["configuration"]["registries"]:
            assert reg["identity"].lower() in assigned and not reg.get("passwordSecretRef")
        secrets = {s["name"]: s for s in p["configuration"]["secrets"]}
        assert secrets
        for s in secrets.values():
            assert s["identity"].lower() in assigned, s["name"]
            vault = vaults[host(s["keyVaultUrl"])]
            assert (
                f"{vault['id']}/secrets/{s['keyVaultUrl'].rstrip('/').rsplit('/', 1)[1]}".lower()
                in secret_ids
            )
            assert "value" not in s
        for var in p["template"]["containers"][0]["env"]:
            if "secretRef" in var:
                assert var["secretRef"] in secrets, var["name"]
        env = {v["name"]: v for v in p["template"]["containers"][0]["env"]}
        assert "secretRef" in env["APPLICATIONINSIGHTS_CONNECTION_STRING"]
        scale = p["template"]["scale"]
        assert scale["minReplicas"] == 2 and scale["maxReplicas"] == 20
        rules = {r["name"]: r for r in scale["rules"]}
        assert rules["http-requests"]["http"]["metadata"]["concurrentRequests"] == "50"
        assert rules["cpu-utilization"]["custom"]["type"] == "cpu"
        assert rules["cpu-utilization"]["custom"]["metadata"]["value"] == "70"
        cfg = auth[app["id"].lower()]["properties"]
        assert cfg["platform"]["enabled"] is True
        assert cfg["identityProviders"]["azureActiveDirectory"]["enabled"] is True
        assert cfg["globalValidation"]["unauthenticatedClientAction"] != "AllowAnonymous"


def test_hardened_key_based_auth_is_off_everywhere():
    res = resources("hardened")
    checks = [
        ("Microsoft.CognitiveServices/accounts", "properties.disableLocalAuth", True),
        ("Microsoft.Communication/communicationServices", "properties.disableLocalAuth", True),
        ("Microsoft.AppConfiguration/configurationStores", "properties.disableLocalAuth", True),
        ("Microsoft.ServiceBus/Namespaces", "properties.disableLocalAuth", True),
        ("Microsoft.Storage/storageAccounts", "properties.allowSharedKeyAccess", False),
        ("Microsoft.ContainerRegistry/registries", "properties.adminUserEnabled", False),
        ("microsoft.insights/components", "properties.DisableLocalAuth", True),
        (
            "Microsoft.Cache/redisEnterprise/databases",
            "properties.accessKeysAuthentication",
            "Disabled",
        ),
        (
            "Microsoft.DocumentDB/mongoClusters",
            "properties.authConfig.allowedModes",
            ["MicrosoftEntraID"],
        ),
    ]
    for rtype, path, expected in checks:
        found = of_type(res, rtype)
        assert found, rtype
        for r in found:
            assert get(r, path) == expected, f"{r['name']}: {path}"


def test_hardened_key_vault_is_recoverable_and_rbac_governed():
    (kv,) = of_type(resources("hardened"), "Microsoft.KeyVault/vaults")
    p = kv["properties"]
    assert p["enableSoftDelete"] is True and p["softDeleteRetentionInDays"] >= 90
    assert p["enablePurgeProtection"] is True and p["enableRbacAuthorization"] is True


def test_hardened_observability_scale_and_hygiene():
    res = resources("hardened")
    index = by_id(res)
    (component,) = of_type(res, "microsoft.insights/components")
    ws = index[component["properties"]["WorkspaceResourceId"].lower()]
    assert ws["properties"]["retentionInDays"] >= 30
    assert of_type(res, "microsoft.insights/workbooks")
    assert of_type(res, "Microsoft.LoadTestService/loadTests")
    assert of_type(res, "Microsoft.ServiceBus/Namespaces")
    for d in of_type(res, "Microsoft.CognitiveServices/accounts/deployments"):
        assert d["properties"]["raiPolicyName"] == "Microsoft.DefaultV2", d["name"]
    (mongo,) = of_type(res, "Microsoft.DocumentDB/mongoClusters")
    assert mongo["properties"]["highAvailability"]["targetMode"] != "Disabled"
    (redis,) = of_type(res, "Microsoft.Cache/redisEnterprise")
    assert redis["properties"]["highAvailability"] == "Enabled"
    for r in res:
        tags = r.get("tags") or {}
        assert not any(k.lower() == "securitycontrol" for k in tags), r["id"]
        if is_tracked(r):
            assert tags.get("environment") == "prod", r["id"]


# --------------------------------------------------------------------------------------------
# both demos: role assignments
# --------------------------------------------------------------------------------------------


def _grants(demo: str) -> set[tuple[str, str, str]]:
    """(role name, target name, principal's resource name) of every role assignment."""
    res = resources(demo)
    index = by_id(res)
    principals = {}
    for r in res:
        if r["type"].lower() == "microsoft.managedidentity/userassignedidentities":
            principals[r["properties"]["principalId"]] = r["name"]
        elif isinstance(r.get("identity"), dict) and r["identity"].get("principalId"):
            principals[r["identity"]["principalId"]] = r["name"] + " (system)"
    out = set()
    for a in of_type(res, "Microsoft.Authorization/roleAssignments"):
        props = a["properties"]
        definition = index[props["roleDefinitionId"].lower()]
        target = index[props["scope"].lower()]
        assert a["id"].lower().startswith(props["scope"].lower() + "/providers/"), a["id"]
        out.add(
            (
                definition["properties"]["roleName"],
                target["name"],
                principals.get(props["principalId"], props["principalType"]),
            )
        )
    return out


@pytest.mark.parametrize("demo", DEMO_NAMES)
def test_role_assignments_use_definitions_in_the_file_and_no_broad_scope(demo):
    for a in of_type(resources(demo), "Microsoft.Authorization/roleAssignments"):
        scope = a["properties"]["scope"].lower()
        assert "/providers/" in scope, f"{a['id']} is assigned at a subscription or group"
        assert a["properties"]["condition"] is None
    for d in of_type(resources(demo), "Microsoft.Authorization/roleDefinitions"):
        assert d["properties"]["type"] == "BuiltInRole" and d["properties"]["permissions"]


def test_flat_role_assignments_are_those_the_accelerator_makes():
    grants = _grants("flat")
    t = TOKEN["flat"]
    assert ("Key Vault Secrets User", f"kv-{t}", f"artagent-backend-{t}") in grants
    assert ("AcrPull", f"crartagent{t}", f"artagent-frontend-{t}") in grants
    assert ("Cognitive Services OpenAI User", f"artagent{t}aif", f"artagent-backend-{t}") in grants
    assert ("Key Vault Administrator", f"kv-{t}", "User") in grants
    # the frontend identity is never given Key Vault access
    assert not [g for g in grants if g[1] == f"kv-{t}" and "frontend" in g[2]]


def test_hardened_role_assignments_cover_every_identity_chain():
    grants = _grants("hardened")
    for app in ("frontend", "backend"):
        for role, target in (
            ("Key Vault Secrets User", f"kv-{H}"),
            ("AcrPull", f"crartagent{H}"),
            ("App Configuration Data Reader", f"appconfig-prod-{H}"),
        ):
            assert (role, target, f"artagent-{app}-{H}") in grants
    assert (
        "Cognitive Services OpenAI User",
        f"artagent{H}aif",
        f"apim-artagent-prod-{H} (system)",
    ) in grants
    assert (
        "Azure Service Bus Data Sender",
        f"sb-artagent-prod-{H}",
        f"artagent-backend-{H}",
    ) in grants


@pytest.mark.parametrize("demo", DEMO_NAMES)
def test_every_model_deployment_has_its_catalogue_item(demo):
    res = resources(demo)
    catalogue = {
        (m["model"]["format"], m["model"]["name"], m["model"]["version"])
        for m in of_type(res, "Microsoft.CognitiveServices/locations/models")
    }
    for m in of_type(res, "Microsoft.CognitiveServices/locations/models"):
        model = m["model"]
        assert m["name"] == f"{m['kind']}~{model['format']}~{model['name']}~{model['version']}"
    for d in of_type(res, "Microsoft.CognitiveServices/accounts/deployments"):
        model = d["properties"]["model"]
        assert (model["format"], model["name"], model["version"]) in catalogue, d["id"]
