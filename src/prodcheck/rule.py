"""Declaring rules: the `@rule` decorator and the metadata it records.

A rule is a pure function of the inventory and its parameters that yields verdicts. Its
metadata sits with its logic::

    @rule(
        id="PC-KV-002",
        title="Key Vault is recoverable and RBAC-governed",
        checklist="Key Vault integration for all secrets",
        severity=Severity.HIGH,
        needs=["Microsoft.KeyVault/vaults"],
        params={"min_retention_days": 90},
        rationale="A deleted or purged vault takes every secret of the workload with it.",
        remediation="az keyvault update -n {name} -g {resource_group} --enable-purge-protection true",
        links=["https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview"],
    )
    def vault_is_recoverable(inv, p):
        '''Markdown documentation: what it checks, why, an example, how to fix.'''
        for vault in inv.of_type("Microsoft.KeyVault/vaults"):
            ...
            yield vault.ok("...") or vault.fail("...")

`needs` drives collection: live audits collect exactly the types the selected rules need.
"""

from __future__ import annotations

import inspect
import re
import signal
import sys
import textwrap
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, TypeVar
from urllib.parse import quote

from prodcheck.checklist import GUIDE, section_of
from prodcheck.errors import UserError
from prodcheck.inventory import Inventory, Verdict
from prodcheck.model import Severity

RULE_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

RuleFunction = Callable[[Inventory, "Params"], Iterable[Verdict]]
T = TypeVar("T")

# How long one rule may run (seconds) before it is stopped and reported as ERROR.
DEFAULT_RULE_TIMEOUT = 60.0


class RuleTimeout(BaseException):
    """Raised inside rule (or plugin) code whose time budget ran out.

    A BaseException, so that a rule's own `except Exception` does not swallow it.
    """


def can_time_out() -> bool:
    """Whether a time budget can stop code here: a Unix main thread (it uses SIGALRM)."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def call_with_budget(seconds: float | None, func: Callable[[], T]) -> tuple[T | None, bool]:
    """`(func(), False)`, or `(None, True)` when `func` was stopped after `seconds`.

    The budget interrupts the code where it stands, with `RuleTimeout`, and again every 50 ms
    until it lets go; code that keeps catching it is then interrupted on every line it runs,
    which an `except` clause cannot swallow. Where that cannot work (Windows, or not the main
    thread: see `can_time_out`), or when `seconds` is None or not positive, `func` runs
    without a budget.
    """
    if seconds is None or seconds <= 0 or not can_time_out():
        return func(), False
    active = [True]
    alarms = [0]
    # This frame and `on_line` (which hands itself on): both would refer to themselves, and
    # hold what the call made until the cycle collector found them, so they are kept here and
    # let go when the call ends.
    held: list[Any] = [sys._getframe()]
    previous_trace = sys.gettrace()

    def on_line(frame: FrameType, event: str, arg: Any) -> Any:
        if active[0] and event == "line":
            raise RuleTimeout(seconds)
        return held[1] if active[0] else None

    def on_call(frame: FrameType, event: str, arg: Any) -> Any:
        if not active[0]:
            return None
        frame.f_trace_lines = True
        return held[1]

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        if not active[0]:
            return
        alarms[0] += 1
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        if alarms[0] > 3:
            # The code swallowed the interruption: interrupt every line it runs from now on.
            sys.settrace(on_call)
            while frame is not None and frame is not held[0]:
                frame.f_trace_lines = True
                frame.f_trace = held[1]
                frame = frame.f_back
        raise RuleTimeout(seconds)

    held.append(on_line)
    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, seconds)
            return func(), False
        finally:
            active[0] = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            sys.settrace(previous_trace)
    except RuleTimeout:
        # Also reached when the alarm lands in the cleanup above; by now it cannot fire again.
        active[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        sys.settrace(previous_trace)
        return None, True
    finally:
        signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
        held.clear()


class Params:
    """A rule's parameters: defaults from the rule, overridden by configuration.

    Read them as attributes (`p.min_retention_days`); an unknown name is a bug in the rule
    and raises AttributeError naming the parameters it has.
    """

    def __init__(self, rule_id: str, values: Mapping[str, Any]) -> None:
        self._rule_id = rule_id
        self._values = dict(values)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            known = ", ".join(sorted(self._values)) or "none"
            raise AttributeError(
                f"rule {self._rule_id} has no parameter {name!r} (it has: {known})"
            ) from None

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)


@dataclass
class Rule:
    """A check and everything a reviewer needs to know about it."""

    id: str
    title: str
    checklist: str
    severity: Severity
    needs: tuple[str, ...]
    func: RuleFunction
    section: str = GUIDE
    params: dict[str, Any] = field(default_factory=dict)
    rationale: str = ""
    remediation: str = ""
    links: tuple[str, ...] = ()
    doc: str = ""
    # Where the rule came from: "builtin", a directory path, or "plugin:<distribution>".
    origin: str = "builtin"
    source_file: str = ""
    # Whether verdicts about the audited scope ("a WAF gateway exists") are made per workload
    # unit (prodcheck.units); None: when the function reads `inv.scope`.
    scope_level: bool | None = None

    def resolve_params(self, overrides: Mapping[str, Any] | None = None) -> Params:
        """Defaults with `overrides` applied; an unknown name or a wrong type is a UserError."""
        values = dict(self.params)
        for name, value in (overrides or {}).items():
            if name not in self.params:
                known = ", ".join(sorted(self.params)) or "none"
                raise UserError(f"rule {self.id} has no parameter {name!r}: use one of {known}")
            values[name] = coerce_param(self.id, name, self.params[name], value)
        return Params(self.id, values)

    def needs_with(self, params: Params) -> list[str]:
        """`needs` with each `{name}` of a parameter filled in with its value, URL-quoted (a
        metrics need names the custom metrics its parameters give:
        `.../metrics?metricnamespace={stt_namespace}&metricnames={stt_metric}`)."""
        values = params.as_dict()

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in values:
                return match.group(0)
            return quote(str(values[name]), safe="")

        return [_PLACEHOLDER.sub(fill, t) if "{" in t else t for t in self.needs]

    def run(self, inventory: Inventory, params: Params) -> list[Verdict]:
        return list(self.func(inventory, params) or [])


def coerce_param(rule_id: str, name: str, default: Any, value: Any) -> Any:
    """`value` converted to the type of `default`, or a UserError saying what was expected."""
    expected = type(default)
    ok: bool
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int | float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and isinstance(default, int) and isinstance(value, float) and not value.is_integer():
            ok = False
        if ok:
            value = expected(value)
    elif isinstance(default, list | tuple):
        ok = isinstance(value, list | tuple)
        if ok:
            value = list(value)
    else:
        ok = isinstance(value, expected)
    if not ok:
        raise UserError(
            f"parameter {name!r} of rule {rule_id} must be a {expected.__name__} "
            f"like {default!r}, not {value!r}"
        )
    return value


def rule(
    *,
    id: str,
    title: str,
    checklist: str,
    severity: Severity,
    needs: Iterable[str],
    section: str | None = None,
    params: Mapping[str, Any] | None = None,
    rationale: str = "",
    remediation: str = "",
    links: Iterable[str] = (),
    scope_level: bool | None = None,
) -> Callable[[RuleFunction], RuleFunction]:
    """Declare a rule. The decorated function stays callable as it was.

    `scope_level` says whether the rule judges the audited scope as a whole (one verdict per
    workload unit, see prodcheck.units); by default, when the function reads `inv.scope`.
    """

    if not RULE_ID.match(id):
        raise ValueError(f"rule id {id!r} must look like PC-NET-001 (upper case, dash-separated)")

    def decorate(func: RuleFunction) -> RuleFunction:
        doc = textwrap.dedent(inspect.getdoc(func) or "").strip()
        meta = Rule(
            id=id,
            title=title,
            checklist=checklist,
            section=section or section_of(checklist) or GUIDE,
            severity=severity,
            needs=tuple(needs),
            func=func,
            params=dict(params or {}),
            rationale=textwrap.dedent(rationale).strip(),
            remediation=textwrap.dedent(remediation).strip(),
            links=tuple(links),
            doc=doc,
            source_file=inspect.getsourcefile(func) or "",
            scope_level=scope_level,
        )
        func.__prodcheck_rule__ = meta  # type: ignore[attr-defined]
        return func

    return decorate


def rules_in(namespace: Mapping[str, Any]) -> list[Rule]:
    """The rules declared in a module's namespace, in definition order."""
    found = []
    for value in namespace.values():
        meta = getattr(value, "__prodcheck_rule__", None)
        if isinstance(meta, Rule) and meta not in found:
            if not meta.doc:
                # A docstring set after decoration (rules made by a factory) still counts.
                meta.doc = textwrap.dedent(inspect.getdoc(meta.func) or "").strip()
            found.append(meta)
    return found
