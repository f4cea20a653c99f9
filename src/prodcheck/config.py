"""`prodcheck.yaml`: scope defaults, rule selection and parameters, the gate, waivers, attestations.

The file is validated on load, and every problem is one `UserError` line naming the file, the
line, what is wrong and how to fix it (`prodcheck.yaml:12: unknown key 'fail-on' in gate: did
you mean 'fail_on'?`). Line numbers come from PyYAML's node marks: the document is composed
into nodes first and checked node by node, so each error points at the offending key or value.

Checks that need the rules (unknown rule ids, parameter names and types) run in
`Config.check_rules`, once the rule registry is loaded; the positions are kept for them.

Command-line flags win over the file: `--rule`/`--skip` replace `rules.select`/`rules.skip`,
`--fail-on` replaces `gate.fail_on`, and a live scope on the command line replaces `scope`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import fnmatch
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from prodcheck.errors import UserError
from prodcheck.model import Severity

if TYPE_CHECKING:
    from prodcheck.engine import AuditSettings
    from prodcheck.registry import Registry

CONFIG_NAMES = ("prodcheck.yaml", "prodcheck.yml", ".prodcheck.yaml")
VERSION = 1

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


@dataclass(frozen=True)
class Waiver:
    """Accepts FAIL/ERROR findings of matching rules on matching resources until `expires`."""

    rule: str
    resource: str
    reason: str
    owner: str
    expires: dt.date
    number: int
    where: str

    def matches_rule(self, rule_id: str) -> bool:
        return fnmatch.fnmatchcase(rule_id.upper(), self.rule)

    def matches_resource(self, resource_id: str, resource_name: str = "") -> bool:
        return resource_matches(self.resource, resource_id, resource_name)

    def describe(self) -> str:
        return f"waiver #{self.number} ({self.rule} on {self.resource}, owner {self.owner})"


@dataclass(frozen=True)
class Attestation:
    """A person's word, with evidence, that a MANUAL checklist line is done; valid for N days."""

    rule: str
    by: str
    date: dt.date
    evidence: str
    valid_days: int
    resource: str
    number: int
    where: str
    note: str = ""

    @property
    def valid_until(self) -> dt.date:
        return self.date + dt.timedelta(days=self.valid_days)

    def describe(self) -> str:
        return f"attestation #{self.number} ({self.rule} by {self.by} on {self.date.isoformat()})"


def resource_matches(pattern: str, resource_id: str, resource_name: str = "") -> bool:
    """A glob over ARM ids (case-insensitive); a pattern without '/' matches resource names."""
    pattern = pattern.strip().lower()
    if "/" not in pattern:
        return fnmatch.fnmatchcase((resource_name or "").lower(), pattern)
    return fnmatch.fnmatchcase(resource_id.strip().lower().rstrip("/"), pattern.rstrip("/"))


@dataclass
class Config:
    """A loaded and structurally validated configuration (empty when there is no file)."""

    path: Path | None = None
    subscriptions: list[str] = field(default_factory=list)
    resource_groups: list[str] = field(default_factory=list)
    # scope.all_subscriptions / management_group / exclude_subscriptions: a tenant-wide scope.
    all_subscriptions: bool = False
    management_group: str | None = None
    exclude_subscriptions: list[str] = field(default_factory=list)
    # scope.resource_graph: auto | always | never (None: the command line's default, auto).
    resource_graph: str | None = None
    # scope.collect_processes: processes that read the subscriptions (None: the default).
    collect_processes: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    # scope.timeout / scope.deadline: the live collection's bounds in seconds (None: the defaults).
    timeout: float | None = None
    deadline: float | None = None
    # scope.metrics_window: seconds of Azure Monitor metrics the metric rules judge (None: a week).
    metrics_window: float | None = None
    # scope.unit: what scope-level rules judge one at a time (prodcheck.units); None: default.
    unit: str | None = None
    # scope.terraform_source: the directory of a Terraform plan's .tf files (relative paths
    # are relative to the file's directory).
    terraform_source: Path | None = None
    select: list[str] = field(default_factory=list)
    skip: list[str] = field(default_factory=list)
    rules_dirs: list[Path] = field(default_factory=list)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    severity: dict[str, Severity] = field(default_factory=dict)
    # Seconds one rule may run (rules.timeout); None: the engine's default.
    rule_timeout: float | None = None
    # rules.jobs: processes that evaluate the rules and write the reports (None: automatic).
    jobs: int | None = None
    fail_on: Severity | None = None
    # gate.require_attestations: every MANUAL line needs a valid attestation to pass the gate.
    require_attestations: bool = False
    waivers: list[Waiver] = field(default_factory=list)
    attestations: list[Attestation] = field(default_factory=list)
    # Where each rule reference sits in the file, for errors found once rules are loaded:
    # (rule id or glob, what refers to it, "file:line", parameter name -> "file:line").
    _rule_refs: list[tuple[str, str, str]] = field(default_factory=list, repr=False)
    _param_lines: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)

    @property
    def label(self) -> str:
        return str(self.path) if self.path else "configuration"

    def check_rules(self, registry: Registry) -> None:
        """Every rule id, glob and parameter in the file refers to a known rule: else UserError."""
        known = sorted(r.id for r in registry.all())
        for ref, what, where in self._rule_refs:
            if any(fnmatch.fnmatchcase(rid, ref) for rid in known):
                continue
            close = difflib.get_close_matches(ref, known, n=3)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise UserError(
                f"{where}: unknown rule {ref!r} in {what}: {hint}"
                "run 'prodcheck rules list' to see rule ids"
            )
        from prodcheck.rule import coerce_param

        for rule_id, values in self.params.items():
            rule = registry.get(rule_id)
            for name, value in values.items():
                where = self._param_lines.get(rule_id, {}).get(name, self.label)
                if name not in rule.params:
                    names = sorted(rule.params)
                    close = difflib.get_close_matches(name, names, n=1)
                    hint = f"did you mean {close[0]!r}? " if close else ""
                    choices = ", ".join(names) or "none (it takes no parameters)"
                    raise UserError(
                        f"{where}: rule {rule_id} has no parameter {name!r}: {hint}"
                        f"its parameters are {choices}"
                    )
                default = rule.params[name]
                try:
                    values[name] = coerce_param(rule_id, name, default, value)
                except UserError as exc:
                    raise UserError(f"{where}: {exc}") from None
                _check_number(values[name], default, f"{where}: parameter {name!r} of {rule_id}")

    def settings(
        self,
        fail_on: Severity | None = None,
        rule_timeout: float | None = None,
        unit: str | None = None,
    ) -> AuditSettings:
        """The engine's settings: `fail_on`, `rule_timeout` and `unit` from the command line
        win."""
        from prodcheck.engine import AuditSettings

        settings = AuditSettings(
            fail_on=fail_on or self.fail_on or Severity.LOW,
            params={k: dict(v) for k, v in self.params.items()},
            severity=dict(self.severity),
        )
        if unit or self.unit:
            settings.unit = str(unit or self.unit)
        timeout = rule_timeout if rule_timeout is not None else self.rule_timeout
        if timeout is not None:
            settings.rule_timeout = timeout
        settings.jobs = self.jobs
        return settings


def _check_number(value: Any, default: Any, what: str) -> None:
    """A number must be finite, and not negative where the rule's default is not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise UserError(f"{what} must be a finite number, not {value!r}")
    if isinstance(default, int | float) and default >= 0 and value < 0:
        raise UserError(f"{what} must not be negative (its default is {default!r}), not {value!r}")


def find_config(directory: Path | None = None) -> Path | None:
    """The configuration file in `directory` (default: the working directory), if any."""
    base = directory or Path.cwd()
    for name in CONFIG_NAMES:
        if (base / name).is_file():
            # Named as the user would (prodcheck.yaml:12: ...) when found in the working directory.
            return base / name if directory is not None else Path(name)
    return None


def load_config(path: Path | None, *, today: dt.date | None = None) -> Config:
    """Read and validate `path`; None gives the empty configuration."""
    if path is None:
        return Config()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(
            f"configuration file {path} not found: check the path, or run 'prodcheck init' to create one"
        ) from None
    except IsADirectoryError:
        raise UserError(f"configuration {path} is a directory: pass a YAML file") from None
    except UnicodeDecodeError:
        raise UserError(f"configuration {path} is not UTF-8 text: save it as UTF-8") from None
    except OSError as exc:
        raise UserError(f"cannot read configuration {path}: {exc.strerror}") from None
    return parse_config(text, path, today=today)


def parse_config(text: str, path: Path | str, *, today: dt.date | None = None) -> Config:
    """Validate the YAML `text` of the configuration file `path`."""
    return _Parser(Path(path), today or dt.date.today()).parse(text)


# ---- the checker --------------------------------------------------------------------------

_TOP = ("version", "scope", "rules", "gate", "waivers", "attestations")
# Dates a waiver or an attestation may carry, and how long an attestation may hold: beyond
# these is a typo, and near year 1 or 9999 date arithmetic leaves the calendar.
_FIRST_DATE = dt.date(1900, 1, 1)
_LAST_DATE = dt.date(2999, 12, 31)
MAX_VALID_DAYS = 36500
# No configuration needs more nesting than this; deeper YAML is refused before it is read.
MAX_DEPTH = 32
# The YAML tags a configuration may use: plain values, lists and mappings (no custom tags,
# no Python objects, no binary, sets or ordered maps).
_PLAIN_TAGS = frozenset(
    {_STR, _INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP, "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"}
)
_SCOPE = (
    "subscriptions",
    "resource_groups",
    "tags",
    "all_subscriptions",
    "management_group",
    "exclude_subscriptions",
    "timeout",
    "deadline",
    "unit",
    "terraform_source",
    "metrics_window",
    "resource_graph",
    "collect_processes",
)
# The largest bounds a live collection accepts, in seconds: a day per request, a week in all.
MAX_TIMEOUT = 86400.0
MAX_DEADLINE = 604800.0
_RULES = ("select", "skip", "dirs", "params", "severity", "timeout", "jobs")
_GATE = ("fail_on", "require_attestations")
_WAIVER_REQUIRED = ("rule", "resource", "reason", "owner", "expires")
_WAIVER = _WAIVER_REQUIRED
_ATTESTATION_REQUIRED = ("rule", "by", "date", "evidence", "valid_days")
_ATTESTATION = (*_ATTESTATION_REQUIRED, "resource", "note")

_TYPE_NAMES = {
    _STR: "a string",
    _INT: "a number",
    _FLOAT: "a number",
    _BOOL: "true or false",
    _NULL: "empty",
    _TIMESTAMP: "a date",
}


class _Parser:
    def __init__(self, path: Path, today: dt.date) -> None:
        self.path = path
        self.today = today
        self.config = Config(path=path)

    # -- helpers ---------------------------------------------------------------------------

    def at(self, node: yaml.Node) -> str:
        return f"{self.path}:{node.start_mark.line + 1}"

    def error(self, node: yaml.Node, message: str) -> UserError:
        return UserError(f"{self.at(node)}: {message}")

    @staticmethod
    def kind(node: yaml.Node) -> str:
        if isinstance(node, yaml.MappingNode):
            return "a mapping"
        if isinstance(node, yaml.SequenceNode):
            return "a list"
        return _TYPE_NAMES.get(node.tag, "a value")

    @staticmethod
    def value(node: yaml.Node) -> Any:
        return yaml.SafeLoader("").construct_object(node, deep=True)

    def mapping(
        self, node: yaml.Node, where: str, allowed: tuple[str, ...], example: str
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if isinstance(node, yaml.ScalarNode) and node.tag == _NULL:
            return {}
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{where} must be a mapping, not {self.kind(node)}: {example}")
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _STR:
                raise self.error(key_node, f"keys in {where} must be names: {example}")
            key = key_node.value
            if key in out:
                raise self.error(
                    key_node,
                    f"{key!r} appears twice in {where} "
                    f"(first at line {out[key][0].start_mark.line + 1}): keep one",
                )
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = (
                    f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(allowed)}"
                )
                raise self.error(key_node, f"unknown key {key!r} in {where}: {hint}")
            out[key] = (key_node, value_node)
        return out

    def string(self, node: yaml.Node, where: str, example: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag != _STR or not str(node.value).strip():
            got = (
                "an empty string"
                if isinstance(node, yaml.ScalarNode) and node.tag == _STR
                else self.kind(node)
            )
            raise self.error(node, f"{where} must be a non-empty string, not {got}: {example}")
        return str(node.value).strip()

    def strings(self, node: yaml.Node, where: str, example: str) -> list[str]:
        if isinstance(node, yaml.ScalarNode) and node.tag == _NULL:
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, f"{where} must be a list, not {self.kind(node)}: {example}")
        return [self.string(item, f"each entry of {where}", example) for item in node.value]

    def date(self, node: yaml.Node, where: str) -> dt.date:
        raw: Any = None
        if isinstance(node, yaml.ScalarNode):
            try:
                raw = self.value(node)
            except ValueError:  # YAML took it for a date that does not exist (2027-13-01)
                raw = str(node.value)
        day: dt.date | None = None
        if isinstance(raw, dt.datetime):
            day = raw.date()
        elif isinstance(raw, dt.date):
            day = raw
        elif isinstance(raw, str):
            with contextlib.suppress(ValueError):
                day = dt.date.fromisoformat(raw.strip())
        if day is not None:
            if not _FIRST_DATE <= day <= _LAST_DATE:
                raise self.error(
                    node,
                    f"{where} {day.isoformat()} is out of range: use a date between "
                    f"{_FIRST_DATE.isoformat()} and {_LAST_DATE.isoformat()}",
                )
            return day
        shown = repr(raw) if raw is not None else self.kind(node)
        raise self.error(node, f"{where} must be a date like 2027-03-31, not {shown}")

    def severity(self, node: yaml.Node, where: str) -> Severity:
        text = self.string(node, where, "critical, high, medium, low or info")
        try:
            return Severity(text.lower())
        except ValueError:
            names = ", ".join(s.value for s in Severity)
            raise self.error(
                node, f"{where} {text!r} is not a severity: use one of {names}"
            ) from None

    def rule_id(self, node: yaml.Node, where: str, *, glob: bool) -> str:
        rid = self.string(node, where, "a rule id like PC-NET-001").upper()
        if not glob and any(c in rid for c in "*?["):
            raise self.error(node, f"{where} must be one rule id, not the pattern {rid!r}")
        self.config._rule_refs.append((rid, where, self.at(node)))
        return rid

    def entries(
        self, node: yaml.Node, what: str, example: str
    ) -> list[tuple[int, yaml.Node, dict[str, tuple[yaml.Node, yaml.Node]]]]:
        if isinstance(node, yaml.ScalarNode) and node.tag == _NULL:
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(
                node,
                f"{what}s must be a list of entries (each starting with '- '), not {self.kind(node)}",
            )
        allowed = _WAIVER if what == "waiver" else _ATTESTATION
        required = _WAIVER_REQUIRED if what == "waiver" else _ATTESTATION_REQUIRED
        out = []
        for number, item in enumerate(node.value, start=1):
            fields = self.mapping(item, f"{what} #{number}", allowed, example)
            missing = [k for k in required if k not in fields]
            if missing:
                raise self.error(
                    item,
                    f"{what} #{number} has no {', '.join(repr(m) for m in missing)}: "
                    f"every {what} needs {', '.join(required)}",
                )
            out.append((number, item, fields))
        return out

    # -- sections --------------------------------------------------------------------------

    def parse(self, text: str) -> Config:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = f":{mark.line + 1}" if mark else ""
            problem = " ".join(str(exc.problem or exc.context or "syntax error").split())
            raise UserError(
                f"{self.path}{line}: not valid YAML ({problem}): fix the syntax "
                "(indent with spaces, quote values containing ': ')"
            ) from None
        except yaml.YAMLError as exc:
            problem = " ".join(str(exc).split())
            raise UserError(f"{self.path}: not valid YAML ({problem}): fix the syntax") from None
        except RecursionError:
            raise UserError(
                f"{self.path}: nested deeper than {MAX_DEPTH} levels: no configuration needs that"
            ) from None
        if root is None:
            return self.config
        self.check_plain(root)
        top = self.mapping(root, "the configuration", _TOP, "see 'prodcheck init' for a starter")
        if "version" in top:
            node = top["version"][1]
            if self.value(node) != VERSION or node.tag != _INT:
                raise self.error(
                    node, f"version must be {VERSION}: this prodcheck reads version {VERSION}"
                )
        handlers: dict[str, Callable[[yaml.Node], None]] = {
            "scope": self.scope,
            "rules": self.rules,
            "gate": self.gate,
            "waivers": self.waivers,
            "attestations": self.attestations,
        }
        for key, handler in handlers.items():
            if key in top:
                handler(top[key][1])
        self.check_schema(root)
        return self.config

    def check_plain(self, root: yaml.Node) -> None:
        """Plain YAML only: no custom tags, no anchors or aliases, bounded nesting, Unicode text."""
        seen: set[int] = set()
        stack: list[tuple[yaml.Node, int]] = [(root, 1)]
        while stack:
            node, depth = stack.pop()
            if id(node) in seen:
                raise self.error(
                    node,
                    "anchors and aliases (&name, *name) are not read here: write the value out",
                )
            seen.add(id(node))
            if depth > MAX_DEPTH:
                raise self.error(
                    node, f"nested deeper than {MAX_DEPTH} levels: no configuration needs that"
                )
            if node.tag not in _PLAIN_TAGS:
                raise self.error(
                    node,
                    f"the YAML tag {node.tag!r} is not read here: write a plain value, list or "
                    "mapping (no '!' tags)",
                )
            if isinstance(node, yaml.ScalarNode):
                try:
                    str(node.value).encode("utf-8")
                except UnicodeEncodeError:
                    raise self.error(
                        node, "the text holds a lone UTF-16 surrogate, which is not Unicode"
                    ) from None
            elif isinstance(node, yaml.SequenceNode):
                stack.extend((item, depth + 1) for item in node.value)
            elif isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    stack.append((key_node, depth + 1))
                    stack.append((value_node, depth + 1))

    def seconds(self, node: yaml.Node, where: str, most: float, example: str) -> float:
        """A positive, finite number of seconds of at most `most`, else a one-line error."""
        seconds = -1.0
        if isinstance(node, yaml.ScalarNode) and node.tag in (_INT, _FLOAT):
            with contextlib.suppress(ValueError):
                seconds = float(str(node.value).replace("_", ""))
        if not 0 < seconds <= most:
            raise self.error(
                node,
                f"{where} must be a number of seconds above 0 (at most {most:g}), "
                f"not {self.shown(node)}: {example}",
            )
        return seconds

    def shown(self, node: yaml.Node) -> str:
        if isinstance(node, yaml.ScalarNode) and node.tag in (_STR, _INT, _FLOAT):
            return repr(str(node.value)[:40])
        return self.kind(node)

    def plain(self, node: yaml.Node) -> Any:
        """A node as JSON would hold it, for the schema: dates (and what YAML cannot read as the
        type it guessed) stay the text they were written as."""
        if isinstance(node, yaml.MappingNode):
            return {str(k.value): self.plain(v) for k, v in node.value}
        if isinstance(node, yaml.SequenceNode):
            return [self.plain(item) for item in node.value]
        if node.tag == _TIMESTAMP:
            return str(node.value)
        try:
            return self.value(node)
        except (ValueError, yaml.YAMLError):
            return str(node.value)

    def check_schema(self, root: yaml.Node) -> None:
        """The document against the shipped schema (`schemas/config-v1.schema.json`).

        The checks above explain the common mistakes in the file's own terms; the schema is the
        contract editors read too, and catches whatever they do not.
        """
        from prodcheck.validation import CONFIG_SCHEMA, describe, schema_errors

        doc = self.plain(root)
        for error in schema_errors(doc, CONFIG_SCHEMA):
            node = _node_at(root, list(error.absolute_path))
            raise self.error(node, describe(error) + ": see docs/configuration.md")

    def scope(self, node: yaml.Node) -> None:
        fields = self.mapping(
            node, "scope", _SCOPE, "scope: {subscriptions: [ID], resource_groups: [NAME]}"
        )
        c = self.config
        if "subscriptions" in fields:
            c.subscriptions = self.strings(
                fields["subscriptions"][1],
                "scope.subscriptions",
                "subscriptions: [00000000-0000-...]",
            )
        if "resource_groups" in fields:
            c.resource_groups = self.strings(
                fields["resource_groups"][1], "scope.resource_groups", "resource_groups: [rg-app]"
            )
        if "all_subscriptions" in fields:
            flag = fields["all_subscriptions"][1]
            if not (isinstance(flag, yaml.ScalarNode) and flag.tag == _BOOL):
                raise self.error(
                    flag,
                    f"scope.all_subscriptions must be true or false, not {self.kind(flag)}: "
                    "all_subscriptions: true",
                )
            c.all_subscriptions = bool(self.value(flag))
        if "management_group" in fields:
            c.management_group = self.string(
                fields["management_group"][1], "scope.management_group", "management_group: mg-prod"
            )
        if "resource_graph" in fields:
            mode = self.string(
                fields["resource_graph"][1], "scope.resource_graph", "resource_graph: never"
            )
            if mode not in ("auto", "always", "never"):
                raise self.error(
                    fields["resource_graph"][1],
                    f"scope.resource_graph must be auto, always or never, not {mode!r}: "
                    "resource_graph: never",
                )
            c.resource_graph = mode
        if "collect_processes" in fields:
            node = fields["collect_processes"][1]
            count = self.value(node) if isinstance(node, yaml.ScalarNode) else None
            if node.tag != _INT or not isinstance(count, int) or not 1 <= count <= 64:
                raise self.error(
                    node,
                    f"scope.collect_processes must be a whole number from 1 to 64, not "
                    f"{self.kind(node)}: collect_processes: 4",
                )
            c.collect_processes = count
        if "exclude_subscriptions" in fields:
            c.exclude_subscriptions = self.strings(
                fields["exclude_subscriptions"][1],
                "scope.exclude_subscriptions",
                "exclude_subscriptions: [00000000-0000-...]",
            )
        if "timeout" in fields:
            c.timeout = self.seconds(
                fields["timeout"][1],
                "scope.timeout",
                MAX_TIMEOUT,
                "timeout: 60 (how long each request to Azure waits for a connection and a read)",
            )
        if "deadline" in fields:
            c.deadline = self.seconds(
                fields["deadline"][1],
                "scope.deadline",
                MAX_DEADLINE,
                "deadline: 3600 (how long the whole collection may take)",
            )
        if "metrics_window" in fields:
            from prodcheck.collect.options import parse_metrics_window

            window_node = fields["metrics_window"][1]
            window: Any = self.kind(window_node)
            if isinstance(window_node, yaml.ScalarNode):
                window = int(window_node.value) if window_node.tag == _INT else window_node.value
            try:
                c.metrics_window = parse_metrics_window(window, "scope.metrics_window")
            except UserError as exc:
                raise self.error(window_node, str(exc)) from None
        if "unit" in fields:
            from prodcheck.units import parse_unit

            unit_node = fields["unit"][1]
            if not (isinstance(unit_node, yaml.ScalarNode) and unit_node.tag == _NULL):
                text = self.string(unit_node, "scope.unit", "unit: resource-group")
                try:
                    c.unit = parse_unit(text)
                except ValueError as exc:
                    raise self.error(unit_node, f"scope.unit: {exc}") from None
        if "terraform_source" in fields:
            text = self.string(
                fields["terraform_source"][1], "scope.terraform_source", "terraform_source: infra"
            )
            c.terraform_source = self.path.parent / text
        if "tags" in fields:
            tags_node = fields["tags"][1]
            if isinstance(tags_node, yaml.ScalarNode) and tags_node.tag == _NULL:
                return
            if not isinstance(tags_node, yaml.MappingNode):
                raise self.error(
                    tags_node,
                    f"scope.tags must be a mapping, not {self.kind(tags_node)}: tags: {{environment: prod}}",
                )
            for key_node, value_node in tags_node.value:
                key = self.string(key_node, "a tag name", "tags: {environment: prod}")
                if not isinstance(value_node, yaml.ScalarNode) or value_node.tag in (_NULL,):
                    raise self.error(
                        value_node, f"tag {key!r} needs a value: tags: {{{key}: VALUE}}"
                    )
                c.tags[key] = str(value_node.value)

    def rules(self, node: yaml.Node) -> None:
        fields = self.mapping(
            node, "rules", _RULES, "rules: {select: [PC-NET-*], skip: [PC-OPS-011]}"
        )
        c = self.config
        for key in ("select", "skip"):
            if key in fields:
                seq = fields[key][1]
                if isinstance(seq, yaml.ScalarNode) and seq.tag == _NULL:
                    continue
                if not isinstance(seq, yaml.SequenceNode):
                    raise self.error(
                        seq,
                        f"rules.{key} must be a list of rule ids or globs, not {self.kind(seq)}: {key}: [PC-NET-*]",
                    )
                ids = [self.rule_id(item, f"rules.{key}", glob=True) for item in seq.value]
                setattr(c, key, ids)
        if "dirs" in fields:
            base = self.path.parent
            c.rules_dirs = [
                (base / d) if not Path(d).is_absolute() else Path(d)
                for d in self.strings(fields["dirs"][1], "rules.dirs", "dirs: [./our-rules]")
            ]
        if "params" in fields:
            self.params(fields["params"][1])
        if "timeout" in fields:
            t_node = fields["timeout"][1]
            seconds = -1.0
            if isinstance(t_node, yaml.ScalarNode) and t_node.tag in (_INT, _FLOAT):
                with contextlib.suppress(ValueError):
                    seconds = float(str(t_node.value).replace("_", ""))
            if not 0 < seconds <= 86400:
                raise self.error(
                    t_node,
                    "rules.timeout must be a number of seconds above 0 (at most 86400), "
                    "the time one rule may run: timeout: 60",
                )
            c.rule_timeout = seconds
        if "jobs" in fields:
            from prodcheck.fanout import MAX_JOBS

            j_node = fields["jobs"][1]
            count: Any = None
            if isinstance(j_node, yaml.ScalarNode) and j_node.tag == _INT:
                count = self.value(j_node)
            elif isinstance(j_node, yaml.ScalarNode) and j_node.tag == _STR:
                count = j_node.value.strip().lower()
            if count != "auto" and not (isinstance(count, int) and 1 <= count <= MAX_JOBS):
                raise self.error(
                    j_node,
                    f"rules.jobs must be auto or a whole number of processes from 1 to "
                    f"{MAX_JOBS}, not {self.shown(j_node)}: jobs: 2 (1 uses one process)",
                )
            c.jobs = None if count == "auto" else count
        if "severity" in fields:
            sev_node = fields["severity"][1]
            if not (isinstance(sev_node, yaml.ScalarNode) and sev_node.tag == _NULL):
                if not isinstance(sev_node, yaml.MappingNode):
                    raise self.error(
                        sev_node,
                        f"rules.severity must map rule ids to severities, not {self.kind(sev_node)}: "
                        "severity: {PC-OPS-011: info}",
                    )
                for key_node, value_node in sev_node.value:
                    rid = self.rule_id(key_node, "rules.severity", glob=False)
                    c.severity[rid] = self.severity(value_node, f"rules.severity of {rid}")

    def params(self, node: yaml.Node) -> None:
        if isinstance(node, yaml.ScalarNode) and node.tag == _NULL:
            return
        example = "params: {PC-MON-002: {cpu_threshold: 80}}"
        if not isinstance(node, yaml.MappingNode):
            raise self.error(
                node,
                f"rules.params must map rule ids to parameters, not {self.kind(node)}: {example}",
            )
        for key_node, value_node in node.value:
            rid = self.rule_id(key_node, "rules.params", glob=False)
            if not isinstance(value_node, yaml.MappingNode):
                raise self.error(
                    value_node,
                    f"rules.params of {rid} must map parameter names to values, not {self.kind(value_node)}: "
                    f"{rid}: {{name: value}}",
                )
            values: dict[str, Any] = {}
            lines: dict[str, str] = {}
            for name_node, param_node in value_node.value:
                name = self.string(name_node, f"a parameter name of {rid}", example)
                try:
                    values[name] = self.value(param_node)
                except (ValueError, yaml.YAMLError):
                    raise self.error(
                        param_node,
                        f"parameter {name!r} of {rid} has a value YAML cannot read: quote it",
                    ) from None
                lines[name] = self.at(param_node)
            self.config.params[rid] = values
            self.config._param_lines[rid] = lines

    def gate(self, node: yaml.Node) -> None:
        fields = self.mapping(node, "gate", _GATE, "gate: {fail_on: high}")
        if "fail_on" in fields:
            self.config.fail_on = self.severity(fields["fail_on"][1], "gate.fail_on")
        if "require_attestations" in fields:
            node = fields["require_attestations"][1]
            if not (isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:bool"):
                raise self.error(
                    node,
                    f"gate.require_attestations must be true or false, not {self.kind(node)}: "
                    "gate: {require_attestations: true}",
                )
            self.config.require_attestations = bool(self.value(node))

    def waivers(self, node: yaml.Node) -> None:
        example = "- {rule: PC-NET-001, resource: '*/redis-voice', reason: ..., owner: ..., expires: 2027-03-31}"
        for number, item, f in self.entries(node, "waiver", example):
            where = f"waiver #{number}"
            self.config.waivers.append(
                Waiver(
                    rule=self.rule_id(f["rule"][1], f"{where} rule", glob=True),
                    resource=self.string(
                        f["resource"][1], f"{where} resource", "resource: '*/rg-app/*'"
                    ),
                    reason=self.string(
                        f["reason"][1], f"{where} reason", "reason: why the risk is accepted"
                    ),
                    owner=self.string(f["owner"][1], f"{where} owner", "owner: team@contoso.com"),
                    expires=self.date(f["expires"][1], f"{where} expires"),
                    number=number,
                    where=self.at(item),
                )
            )

    def attestations(self, node: yaml.Node) -> None:
        example = (
            "- {rule: PC-OPS-001, by: ..., date: 2026-11-20, evidence: https://..., valid_days: 90}"
        )
        for number, item, f in self.entries(node, "attestation", example):
            where = f"attestation #{number}"
            date_node = f["date"][1]
            date = self.date(date_node, f"{where} date")
            if date > self.today:
                raise self.error(
                    date_node,
                    f"{where} is dated {date.isoformat()}, in the future: date it the day the evidence was checked",
                )
            days_node = f["valid_days"][1]
            days = self.value(days_node) if isinstance(days_node, yaml.ScalarNode) else None
            if days_node.tag != _INT or not isinstance(days, int) or days < 1:
                raise self.error(
                    days_node,
                    f"{where} valid_days must be a whole number of days of at least 1, not {days!r}: valid_days: 90",
                )
            if days > MAX_VALID_DAYS:
                raise self.error(
                    days_node,
                    f"{where} valid_days is {days}: an attestation holds at most {MAX_VALID_DAYS} "
                    "days (a century); attest again when it expires",
                )
            resource = "*"
            if "resource" in f:
                resource = self.string(f["resource"][1], f"{where} resource", "resource: '*'")
            note = ""
            if "note" in f:
                note = self.string(f["note"][1], f"{where} note", "note: free text")
            self.config.attestations.append(
                Attestation(
                    rule=self.rule_id(f["rule"][1], f"{where} rule", glob=False),
                    by=self.string(f["by"][1], f"{where} by", "by: jane.doe@contoso.com"),
                    date=date,
                    evidence=self.string(
                        f["evidence"][1], f"{where} evidence", "evidence: https://link/to/report"
                    ),
                    valid_days=days,
                    resource=resource,
                    number=number,
                    where=self.at(item),
                    note=note,
                )
            )


def _node_at(root: yaml.Node, path: list[Any]) -> yaml.Node:
    """The node at a JSON path in the composed document (as near as it gets)."""
    node = root
    for part in path:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == part:
                    node = value_node
                    break
            else:
                return node
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return node
            node = node.value[part]
        else:
            return node
    return node


def schema_path() -> Path:
    """The JSON Schema of `prodcheck.yaml` shipped with this prodcheck."""
    from prodcheck.paths import schemas_dir

    return schemas_dir() / "config-v1.schema.json"


def starter_config() -> str:
    """The commented configuration `prodcheck init` writes.

    Its first line points editors (the YAML language server: VS Code, Neovim, ...) at the
    schema of this installation, for completion and checks as the file is edited.
    """
    from prodcheck.paths import templates_dir

    header = f"# yaml-language-server: $schema={schema_path().as_uri()}\n"
    return header + (templates_dir() / "prodcheck.yaml").read_text(encoding="utf-8")
