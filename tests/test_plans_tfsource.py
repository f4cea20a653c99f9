"""Findings of a Terraform plan at the `.tf` line that declares the resource."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from builders import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tfplan import change, plan, resource_config

from prodcheck.model import Finding, Severity, Status
from prodcheck.paths import demos_dir
from prodcheck.plans import tfsource
from prodcheck.plans.terraform import parse_terraform_plan
from prodcheck.plans.tfsource import SOURCE_KEY, find_sources, scan_blocks
from prodcheck.report import finding_from_json, finding_to_json

SARIF_SCHEMA = Path(__file__).parent / "fixtures" / "sarif-schema-2.1.0.json"
RG = "rg-app"

VAULT_TF = """\
# The vault. resource "azurerm_key_vault" "commented" {
/* a block comment: resource "azurerm_key_vault" "hidden" {
   } */
locals {
  name = "kv-${var.env}-{"
}

resource "azurerm_key_vault" "main" {
  name = "kv-app}}"
  tags = { note = "a } brace", other = "${lookup({ a = "}" }, "a")}" }
  policy = <<-EOT
    resource "azurerm_key_vault" "in_heredoc" {
  EOT
}

resource azurerm_key_vault "bare" {
}
"""


def vault(name: str = "kv-app", **attrs: Any) -> dict[str, Any]:
    return {
        "name": name,
        "location": "eastus",
        "resource_group_name": RG,
        "sku_name": "standard",
        "tenant_id": "11111111-2222-3333-4444-555555555555",
        "enable_rbac_authorization": True,
        "public_network_access_enabled": False,
        "purge_protection_enabled": False,
        "soft_delete_retention_days": 90,
        "network_acls": [],
        "tags": {"environment": "prod"},
        **attrs,
    }


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.Draft4Validator:
    return jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text(encoding="utf-8")))


# ---- the scanner ------------------------------------------------------------------------------


def test_blocks_are_found_at_their_line_and_not_inside_comments_strings_or_heredocs():
    assert scan_blocks(VAULT_TF) == {"azurerm_key_vault.main": 8, "azurerm_key_vault.bare": 16}


def test_data_blocks_are_addressed_as_data_and_the_first_declaration_wins():
    text = 'data "azapi_resource" "role" {}\nresource "a_b" "x" {}\nresource "a_b" "x" {}\n'
    assert scan_blocks(text) == {"data.azapi_resource.role": 1, "a_b.x": 2}


def test_a_label_with_a_template_or_odd_characters_is_not_an_address():
    text = 'resource "a_b" "${var.x}" {}\nresource "a.b" "c" {}\nresource "a_b" "ok" {}\n'
    assert scan_blocks(text) == {"a_b.ok": 3}


def test_literal_template_markers_and_escaped_quotes_do_not_open_anything():
    text = (
        'resource "a_b" "one" {\n'
        '  x = "$${not a template {"\n'
        '  y = "an \\" escaped quote {"\n'
        "}\n"
        'resource "a_b" "two" {}\n'
    )
    assert scan_blocks(text) == {"a_b.one": 1, "a_b.two": 5}


def test_an_unterminated_string_or_comment_does_not_hide_the_rest_of_the_line_count():
    text = 'resource "a_b" "one" {\n  x = "open\n}\nresource "a_b" "two" {}\n/* never closed'
    assert scan_blocks(text) == {"a_b.one": 1, "a_b.two": 4}


HCL_PIECES = st.sampled_from(
    [
        'resource "a_b" "n" {',
        "resource a_b m {",
        'data "x_y" "d" {',
        "}",
        "{",
        '"',
        "${",
        "%{",
        "$${",
        "<<EOT\n",
        "<<-EOT\n",
        "EOT\n",
        "#",
        "//",
        "/*",
        "*/",
        "\\",
        "\n",
        " = ",
        "x",
        "\u202e",
        "\udcff",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=400), st.lists(HCL_PIECES, max_size=60).map("".join)))
def test_the_scanner_never_fails_and_gives_lines_inside_the_text(text):
    found = scan_blocks(text)
    lines = text.count("\n") + 1
    for address, line in found.items():
        assert 1 <= line <= lines
        assert address.count(".") in (1, 2)


# ---- finding the files --------------------------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _configuration(calls: dict[str, Any]) -> dict[str, Any]:
    return {"root_module": {"resources": [], "module_calls": calls}}


def test_local_modules_are_read_from_their_source_and_remote_ones_are_named(tmp_path):
    root = tmp_path / "infra"
    _write(root / "main.tf", 'module "ai" {\n  source = "./modules/ai"\n}\n')
    _write(root / "modules/ai/main.tf", '\n\nresource "azurerm_cognitive_account" "main" {\n}\n')
    _write(root / "modules/ai/nested/x.tf", 'resource "azurerm_key_vault" "kv" {}\n')
    configuration = _configuration(
        {
            "ai": {
                "source": "./modules/ai",
                "module": {"module_calls": {"kv": {"source": "./nested", "module": {}}}},
            },
            "net": {"source": "Azure/avm-res-network-virtualnetwork/azurerm", "module": {}},
        }
    )
    sources = find_sources(root, configuration, prefix="")
    assert sources.locate("module.ai.azurerm_cognitive_account.main") == tfsource.Location(
        "modules/ai/main.tf", 3
    )
    assert sources.locate("module.ai.module.kv.azurerm_key_vault.kv") == tfsource.Location(
        "modules/ai/nested/x.tf", 1
    )
    assert "not a local path" in sources.skipped_modules["module.net"]


def test_a_module_source_or_a_symlink_that_leads_outside_the_source_directory_is_not_read(
    tmp_path,
):
    root = tmp_path / "repo"
    outside = _write(tmp_path / "elsewhere" / "secret.tf", 'resource "x_y" "outside" {}\n')
    _write(root / "main.tf", 'resource "x_y" "inside" {}\n')
    try:
        (root / "linked.tf").symlink_to(outside)
        (root / "linkdir").symlink_to(outside.parent, target_is_directory=True)
    except OSError:
        pytest.skip("no symlinks on this system")
    configuration = _configuration(
        {
            "up": {"source": "../elsewhere", "module": {}},
            "link": {"source": "./linkdir", "module": {}},
        }
    )
    sources = find_sources(root, configuration, prefix="")
    assert sources.locate("x_y.inside") == tfsource.Location("main.tf", 1)
    assert not any("outside" in address for address in sources.blocks)
    assert "outside the source directory" in sources.skipped_modules["module.up"]
    assert "outside the source directory" in sources.skipped_modules["module.link"]
    assert any("linked.tf" in f for f in sources.skipped_files)


def test_a_file_not_in_utf8_is_read_and_one_too_large_is_skipped(tmp_path, monkeypatch):
    (tmp_path / "latin1.tf").write_bytes(b'# caf\xe9 \xff\nresource "x_y" "a" {}\n')
    _write(tmp_path / "big.tf", 'resource "x_y" "big" {}\n' + "#" * 2000 + "\n")
    monkeypatch.setattr(tfsource, "MAX_FILE_BYTES", 1000)
    sources = find_sources(tmp_path, {}, prefix="")
    assert sources.locate("x_y.a") == tfsource.Location("latin1.tf", 2)
    assert sources.locate("x_y.big") is None
    assert any("big.tf" in f for f in sources.skipped_files)


def test_file_names_are_relative_to_the_repository_root(tmp_path):
    (tmp_path / ".git").mkdir()
    _write(tmp_path / "infra" / "main.tf", 'resource "x_y" "a" {}\n')
    sources = find_sources(tmp_path / "infra", {})
    assert sources.locate("x_y.a") == tfsource.Location("infra/main.tf", 1)


SOURCE_TEXT = st.lists(
    st.sampled_from(["./", "../", "..", ".", "/", "mod", "link", "x", "\x00", "~", "\\"]),
    max_size=8,
).map("".join)


@pytest.fixture(scope="module")
def hostile_tree(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("tree")
    root = base / "repo"
    _write(base / "outside" / "o.tf", 'resource "x_y" "outside" {}\n')
    _write(root / "main.tf", 'resource "x_y" "root" {}\n')
    _write(root / "mod" / "m.tf", 'resource "x_y" "mod" {}\n')
    try:
        (root / "link").symlink_to(base / "outside", target_is_directory=True)
        (root / "mod" / "up.tf").symlink_to(base / "outside" / "o.tf")
    except OSError:
        pass
    return root


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.recursive(
        st.dictionaries(
            st.sampled_from(["a", "b", "c"]),
            st.fixed_dictionaries({"source": SOURCE_TEXT}),
            max_size=3,
        ),
        lambda inner: st.dictionaries(
            st.sampled_from(["a", "b"]),
            st.fixed_dictionaries(
                {"source": SOURCE_TEXT, "module": st.fixed_dictionaries({"module_calls": inner})}
            ),
            max_size=2,
        ),
        max_leaves=6,
    )
)
def test_no_module_source_makes_the_scanner_read_outside_its_directory(
    hostile_tree, monkeypatch, calls
):
    root = hostile_tree.resolve()
    read: list[Path] = []
    real_read = tfsource._read

    def recording(path: Path) -> str | None:
        read.append(path.resolve())
        return real_read(path)

    monkeypatch.setattr(tfsource, "_read", recording)
    sources = find_sources(hostile_tree, _configuration(calls), prefix="")
    assert all(p == root or root in p.parents for p in read), read
    assert not any(address.endswith("x_y.outside") for address in sources.blocks)
    for where in sources.blocks.values():
        assert not where.file.startswith(("/", "..")) and "/../" not in where.file


# ---- through the plan, the report and SARIF ------------------------------------------------------


def _vault_plan(address: str = "azurerm_key_vault.main") -> dict[str, Any]:
    return plan(
        [change(address, vault(), unknown={"id": True})],
        [resource_config("azurerm_key_vault.main")],
    )


def test_each_planned_resource_carries_the_file_and_line_of_its_block(tmp_path):
    _write(tmp_path / "vault.tf", VAULT_TF)
    snap = parse_terraform_plan(_vault_plan(), "plan.json", source_dir=tmp_path, source_prefix="")
    (resource,) = snap.resources
    assert resource[SOURCE_KEY] == {"file": "vault.tf", "line": 8}
    assert snap.scope["plan"]["sources"] == {"located": 1, "notLocated": 0}


def test_count_and_for_each_instances_point_at_their_block(tmp_path):
    _write(
        tmp_path / "main.tf",
        '\nresource "azurerm_key_vault" "kv" {\n  count = 2\n}\n',
    )
    changes = [
        change(f"azurerm_key_vault.kv[{i}]", vault(f"kv-{i}"), unknown={"id": True})
        for i in range(2)
    ]
    snap = parse_terraform_plan(plan(changes), "plan.json", source_dir=tmp_path, source_prefix="")
    assert [r[SOURCE_KEY] for r in snap.resources] == [{"file": "main.tf", "line": 2}] * 2


def test_instances_of_a_module_called_with_for_each_point_at_the_block_in_the_module(tmp_path):
    _write(tmp_path / "main.tf", 'module "kv" {\n  source   = "./modules/kv"\n  for_each = x\n}\n')
    _write(tmp_path / "modules" / "kv" / "main.tf", '\nresource "azurerm_key_vault" "this" {\n}\n')
    changes = [
        change(
            f'module.kv["{key}"].azurerm_key_vault.this', vault(f"kv-{key}"), unknown={"id": True}
        )
        for key in ("a", "b")
    ]
    data = plan(changes, modules={"kv": []})
    snap = parse_terraform_plan(data, "plan.json", source_dir=tmp_path, source_prefix="")
    assert [r[SOURCE_KEY] for r in snap.resources] == [
        {"file": "modules/kv/main.tf", "line": 2}
    ] * 2


def test_a_resource_without_a_declaration_keeps_its_arm_location(tmp_path, capsys):
    _write(tmp_path / "main.tf", "# nothing declared here\n")
    plan_path = _write(tmp_path / "plan.json", json.dumps(_vault_plan()))
    code, out, _ = run_cli(
        capsys, "audit", "--terraform-plan", str(plan_path), "-f", "sarif", "-r", "PC-KV-002"
    )
    assert code == 1
    (result,) = json.loads(out)["runs"][0]["results"]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].startswith("subscriptions/")
    assert "uriBaseId" not in location["artifactLocation"]


def test_sarif_points_at_the_tf_line_with_the_address_as_a_logical_location(
    tmp_path, capsys, sarif_validator
):
    _write(tmp_path / "vault.tf", VAULT_TF)
    plan_path = _write(tmp_path / "plan.json", json.dumps(_vault_plan()))
    code, out, _ = run_cli(
        capsys, "audit", "--terraform-plan", str(plan_path), "-f", "sarif", "-r", "PC-KV-002"
    )
    assert code == 1
    doc = json.loads(out)
    assert not list(sarif_validator.iter_errors(doc))
    (result,) = doc["runs"][0]["results"]
    location = result["locations"][0]
    assert location["physicalLocation"] == {
        "artifactLocation": {"uri": "vault.tf", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 8},
    }
    names = [(x["fullyQualifiedName"], x["kind"]) for x in location["logicalLocations"]]
    assert names[0] == ("azurerm_key_vault.main", "resource")
    assert names[1][0].endswith("/providers/Microsoft.KeyVault/vaults/kv-app")
    assert "%SRCROOT%" in doc["runs"][0]["originalUriBaseIds"]


def test_the_source_directory_comes_from_the_flag_or_the_configuration(
    tmp_path, capsys, monkeypatch
):
    _write(tmp_path / "infra" / "vault.tf", VAULT_TF)
    plan_path = _write(tmp_path / "out" / "plan.json", json.dumps(_vault_plan()))
    args = ("audit", "--terraform-plan", str(plan_path), "-f", "json", "-r", "PC-KV-002")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(capsys, *args, "--terraform-source", str(tmp_path / "infra"))
    (finding,) = json.loads(out)["findings"]
    assert finding["source"] == {"file": "vault.tf", "line": 8}
    _write(tmp_path / "prodcheck.yaml", "scope:\n  terraform_source: infra\n")
    code, out, _ = run_cli(capsys, *args)
    (finding,) = json.loads(out)["findings"]
    assert finding["source"] == {"file": "vault.tf", "line": 8}
    assert json.loads(out)["scope"]["plan"]["sources"]["located"] == 1


def test_a_source_directory_that_is_not_one_is_a_user_error(tmp_path, capsys):
    plan_path = _write(tmp_path / "plan.json", json.dumps(_vault_plan()))
    code, _, err = run_cli(
        capsys,
        "audit",
        "--terraform-plan",
        str(plan_path),
        "--terraform-source",
        str(tmp_path / "missing"),
    )
    assert code == 2 and "not a directory" in err and "Traceback" not in err
    code, _, err = run_cli(capsys, "audit", "--demo", "flat", "--terraform-source", str(tmp_path))
    assert code == 2 and "--terraform-plan" in err


@pytest.mark.parametrize("fmt", ["sarif", "json", "terminal", "markdown", "html"])
def test_a_misleading_file_name_is_cleaned_like_all_outbound_text(tmp_path, capsys, fmt):
    name = "va\u202eult.tf"
    try:
        _write(tmp_path / name, VAULT_TF)
    except (OSError, UnicodeEncodeError):
        pytest.skip("the file system refuses the name")
    plan_path = _write(tmp_path / "plan.json", json.dumps(_vault_plan()))
    _, out, _ = run_cli(
        capsys, "audit", "--terraform-plan", str(plan_path), "-f", fmt, "-r", "PC-KV-002"
    )
    assert "\u202e" not in out
    if fmt == "json":
        assert json.loads(out)["findings"][0]["source"]["file"] == name


def test_a_findings_source_survives_the_json_report():
    f = Finding(
        "PC-KV-002",
        "/subscriptions/x/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv",
        Status.FAIL,
        Severity.HIGH,
        "purge protection is off",
        source_file="infra/vault.tf",
        source_line=12,
    )
    assert finding_from_json(finding_to_json(f)) == f
    bad = {**finding_to_json(f), "source": {"file": "x.tf", "line": "12"}}
    assert finding_from_json(bad).source_file == ""


# ---- the demo plans ------------------------------------------------------------------------------


def test_every_resource_of_the_flat_plan_demo_is_declared_in_its_tf_files():
    data = json.loads((demos_dir() / "flat-plan.json").read_text(encoding="utf-8"))
    sources = find_sources(demos_dir() / "flat-plan", data["configuration"], prefix="")
    declared = {r["address"] for r in data["configuration"]["root_module"]["resources"]}
    assert declared and declared <= set(sources.blocks)
    for rc in data["resource_changes"]:
        config = rc["address"].split("[")[0]
        assert config in sources.blocks, config


def test_the_flat_plan_demo_in_sarif_annotates_its_tf_lines(capsys, sarif_validator):
    code, out, _ = run_cli(capsys, "audit", "--demo", "flat-plan", "-f", "sarif")
    assert code == 1
    doc = json.loads(out)
    assert not list(sarif_validator.iter_errors(doc))
    folder = demos_dir() / "flat-plan"
    located = 0
    for result in doc["runs"][0]["results"]:
        physical = result["locations"][0]["physicalLocation"]
        if physical["artifactLocation"].get("uriBaseId") != "%SRCROOT%":
            # scope-level findings (no WAF gateway in the resource group) name no resource
            assert result["properties"]["resourceId"].count("/") == 4, result["properties"]
            continue
        located += 1
        path = folder / physical["artifactLocation"]["uri"]
        line = path.read_text(encoding="utf-8").splitlines()[physical["region"]["startLine"] - 1]
        address = result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
        type_, name = address.split("[")[0].split(".")[-2:]
        assert line.startswith(f'resource "{type_}" "{name}"'), (address, line)
    assert located >= 50


def test_reading_the_demo_sources_needs_no_file_outside_the_package():
    folder = demos_dir() / "flat-plan"
    assert all(not os.path.islink(p) for p in folder.iterdir())
    assert sum(p.stat().st_size for p in folder.iterdir()) < 64 * 1024
