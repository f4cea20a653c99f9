"""The command lines in docs/examples/ are accepted by the real command-line parser.

The CI recipes themselves (action.yml, the Azure Pipelines template) are run in
test_ci_recipes.py."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer
import yaml

from prodcheck.cli import app
from prodcheck.model import Severity
from prodcheck.reporters import FORMATS

DOCS = Path(__file__).resolve().parent.parent / "docs"
EXAMPLES = DOCS / "examples"


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def scripts(node: object) -> list[str]:
    """Every shell script in a workflow: GitHub `run`, Azure `script`/`bash`/`inlineScript`."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("run", "script", "bash", "inlineScript") and isinstance(value, str):
                found.append(value)
            else:
                found.extend(scripts(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(scripts(item))
    return found


def command_lines(script: str) -> list[str]:
    """The `prodcheck ...` commands of a shell script, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", script)
    commands = []
    for line in joined.splitlines():
        line = line.strip()
        if line.startswith("prodcheck "):
            # Stop at shell operators and comments: `prodcheck ... || [ $? -eq 1 ]  # ...`.
            line = re.split(r"\s(?:\|\||&&|;|#)\s?", line)[0]
            commands.append(line)
    return commands


def ci_variables(command: str) -> str:
    """CI placeholders (${{ x }}, $(x), $X) as plain words the parser can take."""
    command = re.sub(r"\$\{\{[^}]*\}\}", "CI_VALUE", command)
    command = re.sub(r"\$\(([^)]*)\)", r"\1", command)
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", r"\1", command)


def parse_cli(argv: list[str]) -> tuple[str, dict]:
    """Parse `argv` with prodcheck's own parser, as the shell would hand it over; run nothing.

    The commands of a freshly built command tree get a recording callback instead of their
    body, so parsing and conversion are the real ones and nothing is audited.
    """
    group = typer.main.get_command(app)
    commands = getattr(group, "commands", {})

    def recorder(name: str):
        def record(**params):
            return name, params

        return record

    def patch(cmds: dict, prefix: str = "") -> None:
        for name, command in cmds.items():
            if getattr(command, "commands", None):
                patch(command.commands, prefix + name + " ")
            else:
                command.callback = recorder(prefix + name)

    patch(commands)
    result = group.main(args=list(argv), prog_name="prodcheck", standalone_mode=False)
    assert isinstance(result, tuple), f"{argv} did not reach a command"
    return result


def is_usage_error(exc: BaseException) -> bool:
    return any(cls.__name__ == "UsageError" for cls in type(exc).__mro__)


def all_commands() -> list[tuple[str, str]]:
    out = []
    for path in sorted(EXAMPLES.iterdir()):
        if path.suffix in (".yml", ".yaml"):
            texts = scripts(load(path))
        else:
            texts = [path.read_text(encoding="utf-8")]
        for text in texts:
            out.extend((path.name, cmd) for cmd in command_lines(text))
    return out


def test_every_example_has_prodcheck_commands():
    files = {name for name, _ in all_commands()}
    assert files == {"refresh-baseline.sh"}


@pytest.mark.parametrize(("name", "command"), all_commands())
def test_prodcheck_command_lines_are_valid(name, command):
    argv = shlex.split(ci_variables(command))
    assert argv[0] == "prodcheck"
    sub_name, params = parse_cli(argv[1:])
    if sub_name == "diff":
        assert params["format"] in ("text", "json", "markdown"), params["format"]
    else:
        for fmt in params.get("format") or []:
            assert fmt in FORMATS, f"{name}: unknown format {fmt!r}"
    if params.get("fail_on"):
        Severity.parse(params["fail_on"])
    if params.get("auth"):
        assert params["auth"] in ("default", "cli", "env", "managed-identity", "workload-identity")
    formats = [f for f in (params.get("format") or []) if f != "terminal"]
    if sub_name in ("audit", "report") and len(formats) > 1 and params.get("output"):
        assert params.get("output_dir"), f"{name}: several formats need --output-dir"


@pytest.mark.parametrize(
    "argv",
    [
        ["audit", "--no-such-option"],
        ["audit", "--format"],
        ["audit", "--concurrency", "many"],
        ["audit", "--concurrency", "257"],
        ["diff", "only-one.json"],
        ["nonsense"],
    ],
)
def test_the_validator_rejects_what_the_cli_rejects(argv):
    with pytest.raises(Exception) as exc:
        parse_cli(argv)
    assert is_usage_error(exc.value), repr(exc.value)


def test_the_validator_returns_the_parsed_options():
    name, params = parse_cli(["audit", "--demo", "flat", "-f", "html", "-f", "sarif"])
    assert name == "audit" and list(params["format"]) == ["html", "sarif"]


def test_docs_ci_shows_the_baseline_script_verbatim():
    text = (DOCS / "ci.md").read_text(encoding="utf-8")
    assert (EXAMPLES / "refresh-baseline.sh").read_text(encoding="utf-8").rstrip() in text


def test_the_concurrency_flag_takes_as_many_as_the_default_may_reach():
    from prodcheck.collect.options import MAX_CONCURRENCY_IN_ALL, CollectOptions

    # With several collecting processes the default reaches MAX_CONCURRENCY_IN_ALL: the flag
    # must let a user ask for as many.
    assert CollectOptions().caps(400, processes=8)[0] == MAX_CONCURRENCY_IN_ALL
    _, params = parse_cli(["audit", "--concurrency", str(MAX_CONCURRENCY_IN_ALL)])
    assert params["concurrency"] == MAX_CONCURRENCY_IN_ALL
