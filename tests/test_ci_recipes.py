"""The CI recipes run as written: the GitHub Action (action.yml) and the Azure Pipelines template
(ci/azure-pipelines/prodcheck.yml) are parsed, and their shell steps are run with bash, inputs
substituted, from a clean copy of the repository (the files git tracks or would track, nothing
else), installing prodcheck from that copy into a fresh virtual environment and auditing the
built-in demo. Steps that call other actions or tasks (upload-sarif, upload-artifact,
PublishTestResults...) are not run: the test checks that the files they would publish exist.
No GitHub, no Azure DevOps, no network."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
ACTION = REPO / "action.yml"
TEMPLATE = REPO / "ci" / "azure-pipelines" / "prodcheck.yml"
EXAMPLES = REPO / "docs" / "examples"
ARTIFACT_URL = "https://github.com/your-org/app/actions/runs/1/artifacts/2"


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# ---- a clean checkout and a fresh environment ----------------------------------------------


def clean_copy(target: Path) -> Path:
    """The repository as a fresh clone has it: tracked and trackable files, no venv or caches."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.decode("utf-8")
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def pip_env() -> dict[str, str]:
    """pip as the recipes run it, but offline when the build backend is at hand."""
    # A runner's environment: no prodcheck settings, and no Python path of the caller's own.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PRODCHECK_") and k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    }
    try:
        import hatchling  # noqa: F401

        env.update(PIP_NO_INDEX="1", PIP_NO_BUILD_ISOLATION="0")
    except ImportError:
        pass  # the build backend comes from pip's configured index, as for `python -m build`
    return env


@pytest.fixture(scope="module")
def toolbox(tmp_path_factory) -> dict[str, Path]:
    """A fresh virtual environment whose dependencies are the test environment's own (so pip
    downloads nothing), with nothing of prodcheck installed in it yet."""
    root = tmp_path_factory.mktemp("ci")
    env_dir = root / "venv"
    venv.create(env_dir, with_pip=False)  # pip, like every dependency, comes from the .pth
    site = Path(
        subprocess.run(
            [
                str(env_dir / "bin" / "python"),
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return {"root": root, "bin": env_dir / "bin", "checkout": clean_copy(root / "prodcheck")}


def shell_env(toolbox: dict[str, Path], **extra: str) -> dict[str, str]:
    env = pip_env()
    env["PATH"] = f"{toolbox['bin']}{os.pathsep}{env['PATH']}"
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


def bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def workspace(root: Path) -> Path:
    """A user's repository: a snapshot of the demo estate to audit."""
    ws = root / "workspace"
    ws.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "src" / "prodcheck" / "demos" / "flat.json", ws / "estate.json")
    return ws


# ---- GitHub Actions expressions --------------------------------------------------------------

EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def gh_value(expr: str, ctx: dict[str, Any]) -> str:
    """The expressions action.yml uses in its shell steps: contexts and nothing else."""
    head, _, rest = expr.partition(".")
    if head == "inputs":
        return str(ctx["inputs"][rest])
    if head == "github" and rest == "action_path":
        return str(ctx["action_path"])
    if head == "steps":
        step, _, output = rest.partition(".outputs.")
        return str(ctx["outputs"].get(step, {}).get(output, ""))
    raise AssertionError(f"expression the test does not know: {expr}")


def gh_subst(text: str, ctx: dict[str, Any]) -> str:
    return EXPR.sub(lambda m: gh_value(m.group(1), ctx), text)


def gh_condition(expr: str | None, ctx: dict[str, Any]) -> bool:
    if not expr:
        return True
    result = True
    for part in re.split(r"\s*&&\s*", expr.strip()):
        if part == "always()":
            continue
        if m := re.fullmatch(r"inputs\.([\w-]+) == '([^']*)'", part):
            result = result and str(ctx["inputs"][m.group(1)]) == m.group(2)
        elif m := re.fullmatch(
            r"hashFiles\(format\('\{0\}/([^']+)', inputs\.([\w-]+)\)\) != ''", part
        ):
            result = result and (ctx["cwd"] / str(ctx["inputs"][m.group(2)]) / m.group(1)).is_file()
        else:
            raise AssertionError(f"condition the test does not know: {part}")
    return result


def run_action(toolbox, ws: Path, given: dict[str, str], install: bool = False) -> dict[str, Any]:
    """Every step of action.yml in order, as a runner would: shell steps run, others checked."""
    action = load(ACTION)
    inputs = {k: str(v.get("default", "")) for k, v in action["inputs"].items()}
    unknown = set(given) - set(inputs)
    assert not unknown, f"not inputs of the action: {unknown}"
    inputs.update(given)
    out = ws / "_runner"
    out.mkdir(exist_ok=True)
    summary, outputs_file = out / "summary.md", out / "outputs"
    summary.write_text("", encoding="utf-8")  # a fresh job
    ctx: dict[str, Any] = {
        "inputs": inputs,
        "action_path": toolbox["checkout"],
        "outputs": {},
        "cwd": ws,
    }
    log: dict[str, Any] = {"ran": [], "checked": {}, "codes": {}}
    for step in action["runs"]["steps"]:
        name = step.get("name", step.get("uses", ""))
        if not gh_condition(step.get("if"), ctx):
            continue
        if "uses" in step:
            with_ = {k: gh_subst(str(v), ctx) for k, v in (step.get("with") or {}).items()}
            log["checked"][step["uses"]] = with_
            if step.get("id") == "artifact":  # what upload-artifact would report
                ctx["outputs"]["artifact"] = {"artifact-url": ARTIFACT_URL}
            continue
        if "pip install" in step["run"] and not install:
            continue
        assert step["shell"] == "bash"
        outputs_file.write_text("")
        env = shell_env(
            toolbox,
            GITHUB_OUTPUT=str(outputs_file),
            GITHUB_STEP_SUMMARY=str(summary),
            GITHUB_ACTION_PATH=str(toolbox["checkout"]),
            GITHUB_WORKSPACE=str(ws),
        )
        env.update({k: gh_subst(str(v), ctx) for k, v in (step.get("env") or {}).items()})
        done = bash(gh_subst(step["run"], ctx), ws, env)
        log["ran"].append(name)
        log["codes"][name] = done.returncode
        log.setdefault("stderr", {})[name] = done.stderr
        if step.get("id"):
            pairs = [
                line.split("=", 1) for line in outputs_file.read_text().splitlines() if "=" in line
            ]
            ctx["outputs"][step["id"]] = dict(pairs)
    log["outputs"] = ctx["outputs"]
    log["summary"] = summary.read_text(encoding="utf-8") if summary.exists() else ""
    return log


@pytest.fixture(scope="module")
def installed(toolbox) -> dict[str, Path]:
    """prodcheck installed by the action's own install step, from the clean checkout."""
    action = load(ACTION)
    [step] = [s for s in action["runs"]["steps"] if "pip install" in s.get("run", "")]
    ctx = {"action_path": toolbox["checkout"], "inputs": {}, "outputs": {}}
    done = bash(gh_subst(step["run"], ctx), toolbox["root"], shell_env(toolbox))
    assert done.returncode == 0, done.stderr[-2000:]
    where = subprocess.run(
        [str(toolbox["bin"] / "python"), "-c", "import prodcheck; print(prodcheck.__file__)"],
        cwd=toolbox["root"],
        env=shell_env(toolbox),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert str(toolbox["bin"].parent) in where  # installed, not the source tree's copy
    return toolbox


# ---- the GitHub Action ---------------------------------------------------------------------


def test_the_action_is_composite_installs_from_its_checkout_and_uses_current_majors():
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    uses = [s["uses"] for s in action["runs"]["steps"] if "uses" in s]
    assert "github/codeql-action/upload-sarif@v4" in uses
    assert "actions/upload-artifact@v4" in uses
    assert any(u.startswith("actions/setup-python@") for u in uses)
    install = [s["run"] for s in action["runs"]["steps"] if "pip install" in s.get("run", "")]
    assert install and "${{ github.action_path }}" in install[0]
    assert "prodcheck==" not in ACTION.read_text(encoding="utf-8")
    for name in ("config", "subscriptions", "formats", "fail-on", "baseline"):
        assert name in action["inputs"]
    # Inputs reach the shell through the environment, never pasted into the script.
    for step in action["runs"]["steps"]:
        assert "${{ inputs." not in step.get("run", ""), step.get("name")


def test_the_action_audits_publishes_and_fails_the_gate_from_a_clean_checkout(installed, tmp_path):
    ws = workspace(tmp_path)
    log = run_action(
        installed,
        ws,
        {"snapshot": "estate.json", "output-dir": "reports/prodcheck"},
        install=False,
    )
    out = ws / "reports" / "prodcheck"
    assert log["outputs"]["audit"]["exit-code"] == "1", log.get("stderr")
    for ext in ("json", "sarif", "html", "md", "xml"):
        assert (out / f"prodcheck-report.{ext}").is_file(), ext
    sarif = log["checked"]["github/codeql-action/upload-sarif@v4"]
    assert (ws / sarif["sarif_file"]).is_file() and sarif["category"] == "prodcheck"
    artifact = log["checked"]["actions/upload-artifact@v4"]
    assert (ws / artifact["path"]).is_dir()
    assert log["summary"].startswith("## ❌ prodcheck: gate failed")
    assert f"[Full report]({ARTIFACT_URL})" in log["summary"]
    gate = [name for name in log["ran"] if name.startswith("Gate")]
    assert gate and log["codes"][gate[0]] == 1
    doc = json.loads((out / "prodcheck-report.json").read_text(encoding="utf-8"))
    assert doc["source"].endswith("estate.json") and doc["gate"]["passed"] is False


def test_the_action_with_a_baseline_passes_the_gate_on_an_unchanged_estate(installed, tmp_path):
    ws = workspace(tmp_path)
    first = run_action(installed, ws, {"snapshot": "estate.json", "formats": "json"})
    assert first["outputs"]["audit"]["exit-code"] == "1"
    (ws / "baseline").mkdir()
    shutil.copy(ws / "prodcheck-out" / "prodcheck-report.json", ws / "baseline" / "report.json")
    log = run_action(
        installed,
        ws,
        {
            "snapshot": "estate.json",
            "baseline": "baseline/report.json",
            "fail-on": "high",
            "formats": "terminal json markdown",
            "upload-sarif": "true",
        },
    )
    assert log["outputs"]["audit"]["exit-code"] == "0", log.get("stderr")
    assert "github/codeql-action/upload-sarif@v4" not in log["checked"]  # no SARIF written
    assert log["summary"].startswith("## ✅ prodcheck: gate passed")
    gate = [name for name in log["ran"] if name.startswith("Gate")]
    assert log["codes"][gate[0]] == 0


def test_a_bad_input_fails_the_gate_with_exit_code_2(installed, tmp_path):
    ws = workspace(tmp_path)
    log = run_action(installed, ws, {"snapshot": "missing.json"})
    assert log["outputs"]["audit"]["exit-code"] == "2"
    gate = [name for name in log["ran"] if name.startswith("Gate")]
    assert log["codes"][gate[0]] == 2


# ---- the Azure Pipelines template ----------------------------------------------------------

ADO_EXPR = re.compile(r"\$\{\{\s*parameters\.(\w+)\s*\}\}")
ADO_IF = re.compile(r"\$\{\{\s*if (.+?)\s*\}\}")


def ado_condition(expr: str, params: dict[str, Any]) -> bool:
    if m := re.fullmatch(r"parameters\.(\w+)", expr):
        return bool(params[m.group(1)])
    if m := re.fullmatch(r"(eq|ne)\(parameters\.(\w+), '([^']*)'\)", expr):
        same = str(params[m.group(2)]) == m.group(3)
        return same if m.group(1) == "eq" else not same
    raise AssertionError(f"template condition the test does not know: {expr}")


def ado_steps(steps: list[Any], params: dict[str, Any]) -> list[dict[str, Any]]:
    """The template's steps after its compile-time `${{ if }}` blocks are resolved."""
    out: list[dict[str, Any]] = []
    for step in steps:
        if len(step) == 1 and (m := ADO_IF.fullmatch(next(iter(step)))):
            if ado_condition(m.group(1), params):
                out.extend(ado_steps(next(iter(step.values())), params))
        else:
            out.append(step)
    return out


def ado_subst(text: str, params: dict[str, Any], macros: dict[str, str]) -> str:
    text = ADO_EXPR.sub(lambda m: str(params[m.group(1)]), text)
    for name, value in macros.items():
        text = text.replace(f"$({name})", value)
    assert not re.search(r"\$\((Agent|Build|System)\.", text), f"unknown variable in {text}"
    return text


def run_template(toolbox, root: Path, given: dict[str, Any], install: bool) -> dict[str, Any]:
    template = load(TEMPLATE)
    params = {p["name"]: p.get("default", "") for p in template["parameters"]}
    assert set(given) <= set(params), set(given) - set(params)
    params.update(given)
    agent = root / "agent"
    sources = agent / "s"
    sources.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "src" / "prodcheck" / "demos" / "flat.json", sources / "estate.json")
    macros = {
        "Agent.BuildDirectory": str(agent),
        "Build.SourcesDirectory": str(sources),
        "Build.ArtifactStagingDirectory": str(agent / "a"),
    }
    params = {
        k: ado_subst(str(v), {}, macros) if isinstance(v, str) else v for k, v in params.items()
    }
    log: dict[str, Any] = {"ran": [], "codes": {}, "stdout": {}, "checked": {}, "checkouts": []}
    for step in ado_steps(template["steps"], params):
        name = step.get("displayName", step.get("task", step.get("checkout", "")))
        if "checkout" in step:
            repo = ado_subst(str(step["checkout"]), params, macros)
            log["checkouts"].append((repo, step.get("path")))
            if repo == params["prodcheckRepository"]:
                shutil.copytree(toolbox["checkout"], agent / step["path"], dirs_exist_ok=True)
            continue
        script = step.get("script")
        if step.get("task") == "AzureCLI@2":
            assert step["inputs"]["scriptType"] == "bash"
            script = step["inputs"]["inlineScript"]
        if script is None:
            inputs = {k: ado_subst(str(v), params, macros) for k, v in step["inputs"].items()}
            log["checked"][step["task"] + " " + name] = inputs
            continue
        if "pip install" in script and not install:
            continue
        cwd = Path(ado_subst(step.get("workingDirectory", str(sources)), params, macros))
        env = shell_env(toolbox)
        env.update(
            {k: ado_subst(str(v), params, macros) for k, v in (step.get("env") or {}).items()}
        )
        done = bash(ado_subst(script, params, macros), cwd, env)
        log["ran"].append(name)
        log["codes"][name] = done.returncode
        log["stdout"][name] = done.stdout + done.stderr
    log["params"] = params
    log["agent"] = agent
    return log


@pytest.mark.parametrize("connection", ["", "voice-prod-readonly"])
def test_the_azure_pipelines_template_runs_as_written(installed, tmp_path, connection):
    log = run_template(
        installed,
        tmp_path,
        {"serviceConnection": connection, "snapshot": "estate.json", "failOn": "high"},
        install=False,
    )
    assert ("prodcheck", "prodcheck-tool") in log["checkouts"]
    assert log["codes"]["Audit (the gate)"] == 1, log["stdout"]["Audit (the gate)"][-2000:]
    out = Path(log["params"]["outputDir"])
    for ext in ("json", "sarif", "html", "md", "xml"):
        assert (out / f"prodcheck-report.{ext}").is_file(), ext
    junit = next(v for k, v in log["checked"].items() if k.startswith("PublishTestResults@2"))
    assert Path(junit["testResultsFiles"]).is_file()
    artifacts = [v for k, v in log["checked"].items() if k.startswith("PublishPipelineArtifact@1")]
    assert all(Path(a["targetPath"]).is_dir() for a in artifacts)
    assert any(Path(a["targetPath"], "prodcheck.sarif").is_file() for a in artifacts)
    summary = log["stdout"]["Show the Markdown summary on the run's page"]
    assert f"##vso[task.uploadsummary]{out}/prodcheck-report.md" in summary
    # The publishing steps ran although the gate failed.
    assert all(code == 0 for name, code in log["codes"].items() if name != "Audit (the gate)")


def test_the_azure_pipelines_template_installs_prodcheck_from_its_repository(toolbox, tmp_path):
    log = run_template(toolbox, tmp_path, {"snapshot": "estate.json", "formats": "json"}, True)
    install = "Install prodcheck from its repository"
    assert log["codes"][install] == 0, log["stdout"][install][-2000:]
    assert log["codes"]["Audit (the gate)"] == 1


@pytest.mark.parametrize(("plan", "code"), [("flat-plan.json", "1"), ("hardened-plan.json", "0")])
def test_the_action_audits_a_terraform_plan_before_apply(installed, tmp_path, plan, code):
    ws = workspace(tmp_path)
    shutil.copy(REPO / "src" / "prodcheck" / "demos" / plan, ws / "plan.json")
    log = run_action(installed, ws, {"terraform-plan": "plan.json", "formats": "json"})
    assert log["outputs"]["audit"]["exit-code"] == code, log.get("stderr")
    doc = json.loads((ws / "prodcheck-out" / "prodcheck-report.json").read_text(encoding="utf-8"))
    assert doc["inputKind"] == "terraform-plan"


def test_the_action_points_sarif_at_the_tf_lines_of_the_terraform_source(installed, tmp_path):
    ws = workspace(tmp_path)
    (ws / ".git").mkdir()  # the checkout: SARIF paths are relative to its root
    shutil.copytree(REPO / "src" / "prodcheck" / "demos" / "flat-plan", ws / "infra")
    shutil.copy(REPO / "src" / "prodcheck" / "demos" / "flat-plan.json", ws / "plan.json")
    inputs = {"terraform-plan": "plan.json", "terraform-source": "infra", "formats": "sarif"}
    log = run_action(installed, ws, inputs)
    assert log["outputs"]["audit"]["exit-code"] == "1", log.get("stderr")
    sarif = json.loads((ws / "prodcheck-out" / "prodcheck-report.sarif").read_text("utf-8"))
    uris = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for result in sarif["runs"][0]["results"]
        for loc in result["locations"]
        if loc["physicalLocation"]["artifactLocation"].get("uriBaseId") == "%SRCROOT%"
    }
    assert uris and all(uri.startswith("infra/") and uri.endswith(".tf") for uri in uris)


def test_the_azure_pipelines_template_audits_a_plan_on_top_of_a_snapshot(installed, tmp_path):
    sources = tmp_path / "agent" / "s"
    sources.mkdir(parents=True)
    shutil.copy(REPO / "src" / "prodcheck" / "demos" / "flat-plan.json", sources / "plan.json")
    log = run_template(
        installed,
        tmp_path,
        {"terraformPlan": "plan.json", "withSnapshot": "estate.json", "formats": "json"},
        install=False,
    )
    assert log["codes"]["Audit (the gate)"] == 1, log["stdout"]["Audit (the gate)"][-2000:]
    out = Path(log["params"]["outputDir"])
    doc = json.loads((out / "prodcheck-report.json").read_text(encoding="utf-8"))
    assert doc["inputKind"] == "terraform-plan"


# ---- the documented examples use the recipes -------------------------------------------------


def test_the_github_example_uses_the_action_with_its_inputs():
    doc = load(EXAMPLES / "github-actions.yml")
    assert doc["permissions"]["id-token"] == "write"
    assert doc["permissions"]["security-events"] == "write"
    steps = doc["jobs"]["audit"]["steps"]
    login = next(s for s in steps if s.get("uses", "").startswith("azure/login@"))["with"]
    assert set(login) == {"client-id", "tenant-id", "subscription-id"}  # OIDC: no secret
    [audit] = [s for s in steps if s.get("uses", "").split("@")[0].endswith("/prodcheck")]
    assert set(audit["with"]) <= set(load(ACTION)["inputs"])
    assert "pip install" not in (EXAMPLES / "github-actions.yml").read_text(encoding="utf-8")


def test_the_azure_example_uses_the_template_with_its_parameters():
    doc = load(EXAMPLES / "azure-pipelines.yml")
    [repo] = doc["resources"]["repositories"]
    [step] = doc["steps"]
    path, _, alias = step["template"].partition("@")
    assert alias == repo["repository"] and (REPO / path) == TEMPLATE
    names = {p["name"] for p in load(TEMPLATE)["parameters"]}
    assert set(step["parameters"]) <= names


def test_no_recipe_installs_prodcheck_from_a_package_index_or_uses_a_retired_sarif_upload():
    docs = sorted((REPO / "docs").glob("*.md"))
    for path in [ACTION, TEMPLATE, *EXAMPLES.iterdir(), REPO / "README.md", *docs]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"pip install[^\n]*prodcheck[=<>~]", text), path.name
        assert "upload-sarif@v3" not in text, path.name


@pytest.mark.parametrize(
    "path",
    [EXAMPLES / "github-actions.yml", EXAMPLES / "azure-pipelines.yml"],
)
def test_docs_ci_shows_the_example_files_verbatim(path):
    text = (REPO / "docs" / "ci.md").read_text(encoding="utf-8")
    assert path.read_text(encoding="utf-8").rstrip() in text


def test_the_release_workflow_tests_then_builds_wheel_and_sdist_for_the_release():
    doc = load(REPO / ".github" / "workflows" / "release.yml")
    on = doc.get("on", doc.get(True))  # YAML 1.1 reads the bare key `on` as true
    assert on["push"]["tags"] == ["v*"]
    jobs = doc["jobs"]
    assert jobs["build"]["needs"] == "test" and jobs["publish"]["needs"] == "build"
    build = "\n".join(s.get("run", "") for s in jobs["build"]["steps"])
    assert "python -m build --outdir dist ." in build  # no --wheel/--sdist: both
    publish = "\n".join(s.get("run", "") for s in jobs["publish"]["steps"])
    assert "gh release create" in publish and "dist/*" in publish
    assert jobs["publish"]["permissions"] == {"contents": "write"}
    for job in jobs.values():
        for step in job["steps"]:
            if "run" in step:
                assert subprocess.run(["bash", "-n", "-c", step["run"]]).returncode == 0


def test_the_shared_audit_script_is_valid_bash():
    done = subprocess.run(["bash", "-n", str(REPO / "ci" / "run-audit.sh")], capture_output=True)
    assert done.returncode == 0, done.stderr


if sys.platform == "win32":  # pragma: no cover - the recipes are bash
    pytestmark = pytest.mark.skip("bash recipes")
