"""Checking input documents against the JSON Schemas prodcheck ships (`prodcheck/schemas/`).

The schemas are the contract of each input (snapshot, report, configuration): editors and other
tools read the same files, and every violation becomes one line that says where it is
(`coverage[3] (Microsoft.Web/sites): unknown key 'Status'`) and what the schema wants there.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from prodcheck.paths import schemas_dir

SNAPSHOT_SCHEMA = "snapshot-v1.schema.json"
REPORT_SCHEMA = "report-v1.schema.json"
CONFIG_SCHEMA = "config-v1.schema.json"


@functools.cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator

    schema = json.loads((schemas_dir() / name).read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def schema_errors(doc: Any, name: str) -> Iterator[Any]:
    """The `jsonschema.ValidationError`s of `doc` against the shipped schema `name`, in order."""
    yield from sorted(_validator(name).iter_errors(doc), key=_order)


def definition_errors(instance: Any, name: str, definition: str) -> Iterator[Any]:
    """The violations of `instance` against `$defs/<definition>` of the schema `name`.

    Their paths are relative to `instance`: for checking the elements of a long list one by
    one, only where a quick test has found something to explain.
    """
    sub = _validator(name).evolve(schema=_validator(name).schema["$defs"][definition])
    yield from sorted(sub.iter_errors(instance), key=_order)


def _order(error: Any) -> tuple[list[str], int]:
    # By place; in one place, an unknown key first: `Status` explains a missing `status`.
    return list(map(str, error.path)), 0 if error.validator == "additionalProperties" else 1


def path_text(path: Any) -> str:
    """`['coverage', 3, 'status']` as `coverage[3].status`.

    A key that is not a plain name (a dot, a bracket, a quote, a control or other invisible
    character, a letter outside ASCII) is shown as a JSON string in brackets
    (`summary["a.b\\n"]`): the path stays on one line and says which key it means."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(str(part))}]"
    return out or "the top level"


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_$@-]+")


def describe(
    error: Any, label: Callable[[list[Any]], str] | None = None, prefix: list[Any] | None = None
) -> str:
    """One line for a schema violation: where it is and what the schema wants there.

    `label` may name the object an error sits in better than its path does (a coverage record
    by its resource type, a resource by its id); `prefix` is the path to where the instance
    checked sits in its document.
    """
    path = list(error.absolute_path) if prefix is None else [*prefix, *error.absolute_path]
    where = label(path) if label else path_text(path)
    validator = error.validator
    if validator == "additionalProperties":
        extra = sorted(
            set(error.instance) - set(error.schema.get("properties", {})),
            key=str,
        )
        known = sorted(error.schema.get("properties", {}))
        close = difflib.get_close_matches(str(extra[0]), known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
        return f"{where}: unknown key {extra[0]!r} ({hint})"
    if validator == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        return f"{where} has no {missing[0]!r}" if missing else f"{where}: {error.message}"
    shown = _shown(error.instance)
    if validator == "type":
        wanted = error.validator_value
        wanted = " or ".join(wanted) if isinstance(wanted, list) else wanted
        return f"{where} must be of type {wanted}, not {shown}"
    if validator == "enum":
        choices = ", ".join(json.dumps(v) for v in error.validator_value)
        return f"{where} must be one of {choices}, not {shown}"
    if validator == "const":
        return f"{where} must be {json.dumps(error.validator_value)}, not {shown}"
    if validator in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        return f"{where} is {shown}, out of range ({validator} {error.validator_value})"
    if validator == "minLength":
        return f"{where} must not be empty"
    if validator == "pattern":
        return f"{where} is {shown}, which is not of the form the schema expects"
    return f"{where}: {error.message[:200]}"


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 60 else text[:57] + "..."
