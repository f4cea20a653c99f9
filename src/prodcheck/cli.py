"""The `prodcheck` command line.

Exit codes: 0 the gate passed; 1 the gate failed (a FAIL or ERROR at or above the
`--fail-on` severity); 2 usage, configuration or input error (one line on stderr, no traceback).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer

from prodcheck import __version__
from prodcheck.errors import UserError

# `-h` works as `--help` on every command.
HELP = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    name="prodcheck",
    help="Production-readiness auditor for Azure: verifies the go-live checklist of a workload, "
    "resource by resource, and gates CI on the verdict.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings=HELP,
)
rules_app = typer.Typer(
    help="List and explain the rules.", no_args_is_help=True, context_settings=HELP
)
app.add_typer(rules_app, name="rules")

SCOPE = "Scope (live audit)"
# Built-in demos that are deployment plans rather than inventories (see prodcheck.plans).
PLAN_DEMOS = ("flat-plan", "hardened-plan")
SELECTION = "Rule selection"
OUTPUT = "Output"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"prodcheck {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """prodcheck audits an Azure workload against the production deployment checklist."""


# ---- shared option types --------------------------------------------------------------------

RuleOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--rule",
        "-r",
        metavar="ID",
        help="Run only these rules (ids or globs like PC-NET-*); repeatable.",
        rich_help_panel=SELECTION,
    ),
]
SkipOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--skip",
        metavar="ID",
        help="Do not run these rules (ids or globs); repeatable.",
        rich_help_panel=SELECTION,
    ),
]
RulesDirOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--rules-dir",
        metavar="DIR",
        help="Also load rules from this directory; repeatable.",
        rich_help_panel=SELECTION,
    ),
]
SubscriptionOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--subscription",
        metavar="ID",
        help="Audit this subscription (id); repeatable. Default: the Azure CLI's default subscription.",
        rich_help_panel=SCOPE,
    ),
]
AllSubscriptionsOpt = Annotated[
    bool,
    typer.Option(
        "--all-subscriptions",
        help="Audit every subscription the identity can read (see --exclude-subscription).",
        rich_help_panel=SCOPE,
    ),
]
ExcludeSubscriptionOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude-subscription",
        metavar="ID",
        help="Leave this subscription out of --all-subscriptions or --management-group; repeatable.",
        rich_help_panel=SCOPE,
    ),
]
ManagementGroupOpt = Annotated[
    str | None,
    typer.Option(
        "--management-group",
        metavar="ID",
        help="Audit every subscription below this management group.",
        rich_help_panel=SCOPE,
    ),
]
ResourceGroupOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--resource-group",
        "-g",
        metavar="NAME",
        help="Only these resource groups; repeatable.",
        rich_help_panel=SCOPE,
    ),
]
TagOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--tag",
        metavar="KEY=VALUE",
        help="Only resources with this tag, as KEY=VALUE; repeatable (all must match).",
        rich_help_panel=SCOPE,
    ),
]
AuthOpt = Annotated[
    str,
    typer.Option(
        "--auth",
        metavar="MODE",
        help="Credential: default, cli, env, managed-identity or workload-identity.",
        rich_help_panel=SCOPE,
    ),
]
TenantOpt = Annotated[
    str | None,
    typer.Option(
        "--tenant", metavar="ID", help="Entra tenant id for the credential.", rich_help_panel=SCOPE
    ),
]
CloudOpt = Annotated[
    str,
    typer.Option(
        "--cloud",
        metavar="NAME",
        help="Azure cloud: public, usgov or china.",
        rich_help_panel=SCOPE,
    ),
]
EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--arm-endpoint",
        metavar="URL",
        envvar="PRODCHECK_ARM_ENDPOINT",
        help="A custom Resource Manager endpoint (https://...), e.g. Azure Stack Hub.",
        rich_help_panel=SCOPE,
    ),
]
ScopeOpt = Annotated[
    str | None,
    typer.Option(
        "--token-scope",
        metavar="SCOPE",
        envvar="PRODCHECK_TOKEN_SCOPE",
        help="Token scope for a custom endpoint (default: the endpoint + /.default).",
        rich_help_panel=SCOPE,
    ),
]
ConcurrencyOpt = Annotated[
    int | None,
    typer.Option(
        "--concurrency",
        metavar="N",
        min=1,
        # As many as the default may reach with several collecting processes
        # (prodcheck.collect.options.MAX_CONCURRENCY_IN_ALL; a test holds the two together).
        max=256,
        help="Parallel requests to Azure (default: 8 per subscription read, at most 64 per "
        "collecting process and 256 in all).",
        rich_help_panel=SCOPE,
    ),
]
SubscriptionConcurrencyOpt = Annotated[
    int | None,
    typer.Option(
        "--subscription-concurrency",
        metavar="N",
        min=1,
        max=64,
        help="Parallel requests to any one subscription (default: 8, and at most half of "
        "--concurrency when several subscriptions are read).",
        rich_help_panel=SCOPE,
    ),
]
ProcessesOpt = Annotated[
    int | None,
    typer.Option(
        "--collect-processes",
        metavar="N",
        min=1,
        max=64,
        help="Processes that read the subscriptions, each its share (default: one per 8 "
        "subscriptions, at most one more than the CPUs; 1 reads all in one process).",
        rich_help_panel=SCOPE,
    ),
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        min=0.001,
        max=86400,
        help="Seconds each request waits for a connection and for each read of the answer "
        "(default: the configuration's scope.timeout, else 60).",
        rich_help_panel=SCOPE,
    ),
]
DeadlineOpt = Annotated[
    float | None,
    typer.Option(
        "--deadline",
        metavar="SECONDS",
        min=0.001,
        max=604800,
        help="Seconds the whole collection may take; reads still open then are reported as "
        "failed (default: the configuration's scope.deadline, else 3600).",
        rich_help_panel=SCOPE,
    ),
]
MetricsWindowOpt = Annotated[
    str | None,
    typer.Option(
        "--metrics-window",
        metavar="DURATION",
        help="How much Azure Monitor metrics data the metric rules judge, ending now: 1h to "
        "93d, such as 7d or 36h (default: the configuration's scope.metrics_window, else 7d).",
        rich_help_panel=SCOPE,
    ),
]
ScopeUnitOpt = Annotated[
    str | None,
    typer.Option(
        "--scope-unit",
        metavar="UNIT",
        help="What scope-level rules (a WAF gateway, a Key Vault, a budget exists) judge one at "
        "a time: subscription (default), resource-group, or tag:KEY (each value of the tag).",
        rich_help_panel=SELECTION,
    ),
]
GraphOpt = Annotated[
    str | None,
    typer.Option(
        "--resource-graph",
        metavar="auto|always|never",
        help="List top-level resources through Azure Resource Graph: auto (default) for "
        "--all-subscriptions, --management-group or 5 subscriptions and more.",
        rich_help_panel=SCOPE,
    ),
]
JobsOpt = Annotated[
    str | None,
    typer.Option(
        "--jobs",
        "-j",
        metavar="N",
        help="Processes that read a large snapshot, evaluate the rules and write the report "
        "files: auto (default: one per CPU, at most 4, from 2,000 resources, where the system "
        "can fork safely) or 1 to 64; 1 uses one process (default: the configuration's "
        "rules.jobs, else auto).",
        rich_help_panel=SELECTION,
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        metavar="FILE",
        help="Configuration file (default: prodcheck.yaml in the working directory, if present).",
        rich_help_panel=SELECTION,
    ),
]
FormatOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--format",
        "-f",
        metavar="FORMAT",
        help="terminal (default), json, html, sarif, junit, markdown or csv; repeatable.",
        rich_help_panel=OUTPUT,
    ),
]
SarifWaivedOpt = Annotated[
    bool,
    typer.Option(
        "--sarif-include-waived",
        help="Keep waived findings in SARIF as results with an accepted suppression (GitHub "
        "code scanning closes them as suppressed); by default SARIF leaves them out.",
        rich_help_panel=OUTPUT,
    ),
]
ReportUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--report-url",
        metavar="URL",
        help="Where the full report is published (http or https): the Markdown summary links to it.",
        rich_help_panel=OUTPUT,
    ),
]
QuietOpt = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q", help="No progress display while collecting.", rich_help_panel=SCOPE
    ),
]


def _parse_tags(tags: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for tag in tags or []:
        key, sep, value = tag.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--tag {tag!r} is not KEY=VALUE: write it like --tag environment=prod")
        out[key.strip()] = value.strip()
    return out


def _collect_options(
    subscription: list[str] | None,
    resource_group: list[str] | None,
    tag: list[str] | None,
    auth: str,
    tenant: str | None,
    cloud: str,
    arm_endpoint: str | None,
    token_scope: str | None,
    concurrency: int | None,
    quiet: bool,
    timeout: float = 60.0,
    deadline: float = 3600.0,
    all_subscriptions: bool = False,
    exclude_subscription: list[str] | None = None,
    management_group: str | None = None,
    subscription_concurrency: int | None = None,
    resource_graph: str | None = None,
    collect_processes: int | None = None,
) -> Any:
    from prodcheck.collect.options import CollectOptions

    if auth not in ("default", "cli", "env", "managed-identity", "workload-identity"):
        raise UserError(
            f"--auth {auth!r} is not known: use default, cli, env, managed-identity or workload-identity"
        )
    if cloud not in ("public", "usgov", "china"):
        raise UserError(f"--cloud {cloud!r} is not known: use public, usgov or china")
    graph = resource_graph or "auto"
    if graph not in ("auto", "always", "never"):
        raise UserError(f"--resource-graph {graph!r} is not known: use auto, always or never")
    return CollectOptions(
        subscriptions=list(subscription or []),
        resource_groups=list(resource_group or []),
        tags=_parse_tags(tag),
        auth=auth,
        tenant=tenant,
        cloud=cloud,
        arm_endpoint=arm_endpoint,
        credential_scope=token_scope,
        concurrency=concurrency,
        quiet=quiet or not sys.stderr.isatty(),
        timeout=timeout,
        deadline=deadline,
        all_subscriptions=all_subscriptions,
        exclude_subscriptions=list(exclude_subscription or []),
        management_group=management_group,
        subscription_concurrency=subscription_concurrency,
        resource_graph=graph,
        collect_processes=collect_processes,
    )


def _live_options(
    cfg: Any,
    subscription: list[str] | None,
    all_subscriptions: bool,
    exclude_subscription: list[str] | None,
    management_group: str | None,
    resource_group: list[str] | None,
    tag: list[str] | None,
    auth: str,
    tenant: str | None,
    cloud: str,
    arm_endpoint: str | None,
    token_scope: str | None,
    concurrency: int | None,
    quiet: bool,
    timeout: float | None,
    deadline: float | None,
    subscription_concurrency: int | None = None,
    metrics_window: str | None = None,
    resource_graph: str | None = None,
    collect_processes: int | None = None,
) -> Any:
    """The collection options of a live run (`audit` and `snapshot` alike): each flag given on
    the command line, else the configuration's `scope` key, else the default."""
    from prodcheck.collect.options import DEFAULT_METRICS_WINDOW, parse_metrics_window

    window = (
        parse_metrics_window(metrics_window)
        if metrics_window is not None
        else (cfg.metrics_window or DEFAULT_METRICS_WINDOW)
    )
    # A subscription scope on the command line replaces the file's whole subscription scope.
    if not (subscription or all_subscriptions or management_group is not None):
        subscription = cfg.subscriptions or None
        all_subscriptions = cfg.all_subscriptions
        management_group = cfg.management_group
        exclude_subscription = exclude_subscription or cfg.exclude_subscriptions or None
    options = _collect_options(
        subscription,
        resource_group or cfg.resource_groups or None,
        tag or [f"{k}={v}" for k, v in cfg.tags.items()] or None,
        auth,
        tenant,
        cloud,
        arm_endpoint,
        token_scope,
        concurrency,
        quiet,
        timeout if timeout is not None else (cfg.timeout or 60.0),
        deadline if deadline is not None else (cfg.deadline or 3600.0),
        all_subscriptions,
        exclude_subscription,
        management_group,
        subscription_concurrency=subscription_concurrency,
        resource_graph=resource_graph or cfg.resource_graph,
        collect_processes=collect_processes or cfg.collect_processes,
    )
    options.metrics_window = window
    return options


def _selected_rules(
    cfg: Any, rule: list[str] | None, skip: list[str] | None, rules_dir: list[Path] | None
) -> list[Any]:
    """The rules a run selects: `--rule`/`--skip` else the configuration's `rules.select` and
    `rules.skip`, among the built-in rules and those of `--rules-dir` and `rules.dirs`."""
    from prodcheck.registry import Registry

    registry = Registry.load(list(rules_dir or []) + cfg.rules_dirs)
    cfg.check_rules(registry)
    return registry.select(list(rule or cfg.select), list(skip or cfg.skip))


def write_atomically(path: Path, text: str | Iterable[str], protected: list[Path]) -> None:
    """Write `text` (or its pieces, as a renderer hands them over) to `path` without ever
    leaving a half-written file or touching an input.

    The text goes to a new file beside `path`, which replaces `path` only once all of it is
    written; whatever goes wrong on the way (the directory cannot be written, the disk fills,
    rendering fails), that file is removed and `path` is left as it was.
    """
    target = _report_target(path, protected)
    pieces = iter([text] if isinstance(text, str) else text)
    fd, tmp = _new_file(path, target)
    try:
        _fill(fd, pieces, path)
        _put_in_place(tmp, target, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _report_target(path: Path, protected: list[Path]) -> Path:
    """Where the report `path` goes, once checked: not over an input, not a directory, in a
    directory that exists (made if need be)."""
    target = path.resolve()
    for p in protected:
        if p.exists() and target == p.resolve():
            raise UserError(
                f"refusing to write the report over the input {path}: choose another --output"
            )
    if target.is_dir():
        raise UserError(f"--output {path} is a directory: use --output-dir for a directory")
    if not target.parent.is_dir():
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(
                f"cannot write {path}: cannot create directory {target.parent} "
                f"({exc.strerror or exc}): choose another --output"
            ) from None
    return target


def _new_file(path: Path, target: Path) -> tuple[int, str]:
    """A new, empty, private file beside `target`, to be filled and then put in its place."""
    try:
        return tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as exc:
        raise _cannot_write(path, exc) from None


def _fill(fd: int, pieces: Iterable[str], path: Path) -> None:
    """Write `pieces` to the open file `fd` (which this closes)."""
    try:
        fh = os.fdopen(fd, "w", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise
    with fh:
        # The pieces are made as they are asked for: an error in making one is not an
        # error in writing it, and goes on as it is.
        for piece in pieces:
            try:
                for at in range(0, len(piece), 1 << 20):  # a megabyte at a time, no copy
                    fh.write(piece[at : at + (1 << 20)])
            except OSError as exc:
                raise _cannot_write(path, exc) from None
        try:
            fh.flush()
        except OSError as exc:
            raise _cannot_write(path, exc) from None


def _put_in_place(tmp: str, target: Path, path: Path) -> None:
    """Let the written file `tmp` replace `target`."""
    # mkstemp creates the file private (0600); a report is shared like any file the user
    # writes: keep the mode of the file it replaces, or follow the umask.
    try:
        if target.exists():
            mode = target.stat().st_mode & 0o777
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        raise _cannot_write(path, exc) from None


def _cannot_write(path: Path, exc: OSError) -> UserError:
    # The file it would have replaced is untouched: say so, and what to do.
    return UserError(
        f"cannot write {path} ({exc.strerror or exc}); nothing was written: "
        "choose another path, or make room on its disk"
    )


def emit_report(
    report: Any,
    formats: list[str],
    output: Path | None,
    output_dir: Path | None,
    verbose: bool,
    protected: list[Path],
    sarif_include_waived: bool = False,
    report_url: str | None = None,
    jobs: int | None = 1,
) -> None:
    """Render `report` in every requested format to stdout or files.

    The terminal format goes to stdout unless it is the only format and `--output` is given.
    One other format takes `--output` (or stdout without it); several need `--output-dir`.
    Several files are written by `jobs` processes at once (None: chosen by the size of the
    report and the CPUs; see `_write_shared`).
    """
    from prodcheck.reporters import FORMATS, Renderer, RenderOptions, extension

    if report_url:
        from prodcheck.reporters.markdown import safe_url

        if not safe_url(report_url):
            raise UserError(
                f"--report-url {report_url!r} is not an http(s) URL without spaces or quotes: "
                "pass the address of the published report"
            )
    formats = list(dict.fromkeys(formats or ["terminal"]))
    for fmt in formats:
        if fmt not in FORMATS:
            raise UserError(f"unknown format {fmt!r}: use one of {', '.join(sorted(FORMATS))}")
    files = [f for f in formats if f != "terminal"]
    if len(files) > 1 and output is not None and output_dir is None:
        raise UserError(
            "several file formats need --output-dir DIR (each is written as prodcheck-report.<ext>)"
        )
    if output_dir is not None:
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(
                f"cannot create --output-dir {output_dir} ({exc.strerror or exc}): "
                "choose another directory"
            ) from None
    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    renderer = Renderer(report)  # cleans the report once for all the formats
    plan: list[tuple[str, Path | None, RenderOptions]] = []
    for fmt in formats:
        destination: Path | None = None
        if fmt == "terminal":
            if formats == ["terminal"] and output is not None:
                destination = output
        elif output_dir is not None:
            destination = output_dir / f"prodcheck-report.{extension(fmt)}"
        else:
            destination = output
        options = RenderOptions(
            color=color and destination is None,
            verbose=verbose,
            sarif_include_waived=sarif_include_waived,
            report_url=report_url or "",
        )
        plan.append((fmt, destination, options))
    written: set[str] = set()
    to_files = [(fmt, dest, options) for fmt, dest, options in plan if dest is not None]
    if len(to_files) > 1 and jobs != 1:
        from prodcheck.fanout import jobs_for

        count = jobs_for(jobs, len(report.findings), PARALLEL_FINDINGS)
        if count > 1:
            written = _write_shared(renderer, to_files, protected, count)
    for fmt, destination, options in plan:
        if fmt in written:
            typer.echo(f"wrote {fmt} report to {destination}", err=True)
            continue
        # Each format is written as it is rendered, a megabyte at a time: no report is ever
        # held whole.
        pieces = renderer.pieces(fmt, options)
        if destination is None:
            for piece in pieces:
                sys.stdout.write(piece)
            sys.stdout.flush()
        else:
            write_atomically(destination, pieces, protected)
            typer.echo(f"wrote {fmt} report to {destination}", err=True)


# Reports of fewer findings than this are written by one process: forking costs more than it
# saves (see docs/performance.md).
PARALLEL_FINDINGS = 2000
# What each format costs to render, clean and write, about, relative to the others.
_FORMAT_COST = {"json": 5, "html": 5, "sarif": 1}


def _write_shared(
    renderer: Any, files: list[tuple[str, Path, Any]], protected: list[Path], jobs: int
) -> set[str]:
    """Write several report files with `jobs` processes (prodcheck.fanout); the formats written.

    The JSON and HTML reports, the costliest, are handed out first, each to a process, and the
    others together after them, to the first process free (which has cleaned the report for
    them already when it wrote the HTML report: see `Renderer`). Each file is first written in
    full beside its report; the reports are replaced only once every one is: if any fails, none
    is, the new files are removed and the error is reported.
    """
    from functools import partial

    from prodcheck.fanout import share
    from prodcheck.secrets import prepare_masks

    groups = [
        [f for f in files if f[0] == "json"],
        [f for f in files if f[0] == "html"],
        [f for f in files if f[0] not in ("json", "html")],
    ]
    groups = [g for g in groups if g]
    if len(groups) < 2:
        return set()
    prepared: list[tuple[Path, Path, str]] = []  # (destination, target, new file)
    news: dict[str, str] = {}
    try:
        for fmt, destination, _ in files:
            target = _report_target(destination, protected)
            fd, tmp = _new_file(destination, target)
            os.close(fd)
            prepared.append((destination, target, tmp))
            news[fmt] = tmp

        def write(group: list[tuple[str, Path, Any]]) -> None:
            for fmt, destination, options in group:
                fd = os.open(news[fmt], os.O_WRONLY | os.O_TRUNC)
                _fill(fd, renderer.pieces(fmt, options), destination)

        def cost(i: int) -> int:
            return -sum(_FORMAT_COST.get(f[0], 1) for f in groups[i])

        # A process that writes nothing for this long is stuck: the reports are not written.
        stall = 600 + len(renderer.report.findings) / 100
        order = sorted(range(len(groups)), key=cost)
        prepare_masks()  # every process masks what it writes: built once, before they part
        share(
            [partial(write, g) for g in groups],
            jobs,
            what="writing reports",
            stall=stall,
            order=order,
        )
        for destination, target, tmp in prepared:
            _put_in_place(tmp, target, destination)
    except BaseException:
        for _, _, tmp in prepared:
            Path(tmp).unlink(missing_ok=True)
        raise
    return set(news)


@app.command()
def audit(
    snapshot: Annotated[
        Path | None,
        typer.Option(
            "--snapshot",
            "-s",
            metavar="FILE",
            help="Audit this snapshot file (see docs/snapshot-format.md); '-' reads stdin.",
            rich_help_panel="Input",
        ),
    ] = None,
    demo: Annotated[
        str | None,
        typer.Option(
            "--demo",
            metavar="[flat|hardened|flat-plan|hardened-plan]",
            help="Audit a built-in demo: 'flat' (the voice agent accelerator as deployed, the default), 'hardened' (after the production guide), 'flat-plan' (its first Terraform plan, before anything is deployed) or 'hardened-plan' (the Terraform plan that hardens it).",
            rich_help_panel="Input",
        ),
    ] = None,
    what_if: Annotated[
        Path | None,
        typer.Option(
            "--what-if",
            metavar="FILE",
            help="Audit an ARM/Bicep what-if result before deployment: the JSON of 'az deployment group|sub what-if --result-format FullResourcePayloads --no-pretty-print' (see docs/shift-left.md).",
            rich_help_panel="Input",
        ),
    ] = None,
    terraform_plan: Annotated[
        Path | None,
        typer.Option(
            "--terraform-plan",
            metavar="FILE",
            help="Audit a Terraform plan before apply: the JSON of 'terraform show -json plan.tfplan' (azurerm and azapi; see docs/shift-left.md).",
            rich_help_panel="Input",
        ),
    ] = None,
    terraform_source: Annotated[
        Path | None,
        typer.Option(
            "--terraform-source",
            metavar="DIR",
            help="With --terraform-plan: the directory of the root module's .tf files, to place findings at the line that declares each resource (default: the plan file's directory if it holds .tf files, else the current directory).",
            rich_help_panel="Input",
        ),
    ] = None,
    with_snapshot: Annotated[
        Path | None,
        typer.Option(
            "--with-snapshot",
            metavar="FILE",
            help="With --what-if or --terraform-plan: judge the plan applied on top of this snapshot of the deployed estate.",
            rich_help_panel="Input",
        ),
    ] = None,
    subscription: SubscriptionOpt = None,
    all_subscriptions: AllSubscriptionsOpt = False,
    exclude_subscription: ExcludeSubscriptionOpt = None,
    management_group: ManagementGroupOpt = None,
    resource_group: ResourceGroupOpt = None,
    tag: TagOpt = None,
    auth: AuthOpt = "default",
    tenant: TenantOpt = None,
    cloud: CloudOpt = "public",
    arm_endpoint: EndpointOpt = None,
    token_scope: ScopeOpt = None,
    concurrency: ConcurrencyOpt = None,
    subscription_concurrency: SubscriptionConcurrencyOpt = None,
    collect_processes: ProcessesOpt = None,
    timeout: TimeoutOpt = None,
    deadline: DeadlineOpt = None,
    metrics_window: MetricsWindowOpt = None,
    resource_graph: GraphOpt = None,
    quiet: QuietOpt = False,
    rule: RuleOpt = None,
    skip: SkipOpt = None,
    rules_dir: RulesDirOpt = None,
    scope_unit: ScopeUnitOpt = None,
    jobs: JobsOpt = None,
    rule_timeout: Annotated[
        float | None,
        typer.Option(
            "--rule-timeout",
            metavar="SECONDS",
            help="Stop a rule that runs longer than this and report it as ERROR (default: the configuration's rules.timeout, else 60).",
            rich_help_panel=SELECTION,
        ),
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            metavar="SEVERITY",
            help="Fail the gate on FAIL or ERROR findings at or above this severity: critical, high, medium, low or info (default: the configuration's gate.fail_on, else low).",
            rich_help_panel="Gate",
        ),
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option(
            "--baseline",
            metavar="REPORT",
            help="A JSON report of an earlier audit: gate only on findings new or regressed since then.",
            rich_help_panel="Gate",
        ),
    ] = None,
    require_attestations: Annotated[
        bool,
        typer.Option(
            "--require-attestations",
            help="Fail the gate while any MANUAL checklist line (pen test, DR drill, load test...) "
            "lacks a valid attestation (default: the configuration's gate.require_attestations).",
            rich_help_panel="Gate",
        ),
    ] = False,
    config: ConfigOpt = None,
    format: FormatOpt = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the report to this file.",
            rich_help_panel=OUTPUT,
        ),
    ] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir",
            metavar="DIR",
            help="Write each format to DIR/prodcheck-report.<ext>.",
            rich_help_panel=OUTPUT,
        ),
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="List passing findings too.", rich_help_panel=OUTPUT),
    ] = False,
    sarif_include_waived: SarifWaivedOpt = False,
    report_url: ReportUrlOpt = None,
) -> None:
    """Audit a snapshot, a deployment plan, a built-in demo, or a live subscription, and gate on the verdict."""
    from prodcheck import api, waivers
    from prodcheck.config import find_config, load_config
    from prodcheck.model import Severity
    from prodcheck.snapshot import load_demo, load_snapshot

    live = bool(subscription or resource_group or tag or all_subscriptions or management_group)
    plans = [(k, p) for k, p in (("what-if", what_if), ("terraform-plan", terraform_plan)) if p]
    plan_kind, plan = plans[0] if plans else ("", None)
    sources = [s for s in (snapshot is not None, demo is not None) if s] + plans
    if len(sources) > 1:
        raise UserError(
            "give one of --snapshot, --demo, --what-if or --terraform-plan, not several"
        )
    if terraform_source is not None and plan_kind != "terraform-plan":
        raise UserError("--terraform-source goes with a Terraform plan: add --terraform-plan FILE")
    if with_snapshot is not None and plan is None:
        raise UserError(
            "--with-snapshot goes with a plan: add --what-if FILE or --terraform-plan FILE"
        )
    if sources and live:
        raise UserError(
            "--subscription/--resource-group/--tag select a live scope: drop them to audit a "
            "snapshot, plan or demo"
        )
    # prodcheck.yaml gives defaults; flags given on the command line replace them.
    cfg = load_config(config if config is not None else find_config())
    if rule_timeout is not None and not 0 < rule_timeout <= 86400:
        raise UserError(
            f"--rule-timeout {rule_timeout:g} is not a time a rule may run: give seconds "
            "above 0 (at most 86400), like --rule-timeout 60"
        )
    unit = None
    if scope_unit is not None:
        from prodcheck.units import parse_unit

        try:
            unit = parse_unit(scope_unit)
        except ValueError as exc:
            raise UserError(f"--scope-unit: {exc}") from None
    settings = cfg.settings(Severity.parse(fail_on) if fail_on else None, rule_timeout, unit)
    if jobs is not None:
        from prodcheck.fanout import parse_jobs

        settings.jobs = parse_jobs(jobs, "--jobs")
    selected = _selected_rules(cfg, rule, skip, rules_dir)
    from prodcheck.engine import check_selection

    check_selection(selected)
    if demo is not None and demo in PLAN_DEMOS:
        from prodcheck.plans import load_plan_demo

        snap = load_plan_demo(demo, [t for r in selected for t in r.needs])
    elif demo is not None:
        snap = load_demo(demo)
    elif snapshot is not None:
        snap = load_snapshot(snapshot, jobs=settings.jobs)
    elif plan is not None:
        from prodcheck.plans import load_plan

        snap = load_plan(
            plan,
            plan_kind,
            [t for r in selected for t in r.needs],
            terraform_source if terraform_source is not None else cfg.terraform_source,
        )
        if with_snapshot is not None:
            from prodcheck.plans import on_snapshot

            snap = on_snapshot(snap, load_snapshot(with_snapshot))
    else:
        options = _live_options(
            cfg,
            subscription,
            all_subscriptions,
            exclude_subscription,
            management_group,
            resource_group,
            tag,
            auth,
            tenant,
            cloud,
            arm_endpoint,
            token_scope,
            concurrency,
            quiet,
            timeout,
            deadline,
            subscription_concurrency,
            metrics_window,
            resource_graph,
            collect_processes,
        )
        snap = api.collect_for(options, selected, settings.params)
    from prodcheck.engine import audit as run_audit

    report = run_audit(snap, selected, settings)
    if snap.input_kind == "terraform-plan":
        from prodcheck.plans import name_by_address

        name_by_address(report, snap)
    waivers.apply(report, cfg)
    report.require_attestations = require_attestations or cfg.require_attestations
    if baseline is not None:
        from prodcheck.baseline import apply_baseline, load_report

        apply_baseline(report, load_report(baseline), str(baseline))
    protected = [p for p in (snapshot, plan, with_snapshot) if p is not None and str(p) != "-"]
    protected += [p for p in (cfg.path, baseline) if p is not None]
    emit_report(
        report,
        list(format or []),
        output,
        output_dir,
        verbose,
        protected,
        sarif_include_waived=sarif_include_waived,
        report_url=report_url,
        jobs=settings.jobs,
    )
    raise typer.Exit(report.exit_code)


@app.command("snapshot")
def snapshot_cmd(
    output: Annotated[
        Path,
        typer.Option("--output", "-o", metavar="FILE", help="Write the snapshot to this file."),
    ],
    subscription: SubscriptionOpt = None,
    all_subscriptions: AllSubscriptionsOpt = False,
    exclude_subscription: ExcludeSubscriptionOpt = None,
    management_group: ManagementGroupOpt = None,
    resource_group: ResourceGroupOpt = None,
    tag: TagOpt = None,
    auth: AuthOpt = "default",
    tenant: TenantOpt = None,
    cloud: CloudOpt = "public",
    arm_endpoint: EndpointOpt = None,
    token_scope: ScopeOpt = None,
    concurrency: ConcurrencyOpt = None,
    subscription_concurrency: SubscriptionConcurrencyOpt = None,
    collect_processes: ProcessesOpt = None,
    timeout: TimeoutOpt = None,
    deadline: DeadlineOpt = None,
    metrics_window: MetricsWindowOpt = None,
    resource_graph: GraphOpt = None,
    quiet: QuietOpt = False,
    rule: RuleOpt = None,
    skip: SkipOpt = None,
    rules_dir: RulesDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Collect what the selected rules need from Azure into a snapshot file, to audit offline."""
    from prodcheck import api
    from prodcheck.config import find_config, load_config
    from prodcheck.outbound import snapshot_text

    # The same defaults as `audit`: prodcheck.yaml's scope and rule selection, flags first.
    cfg = load_config(config if config is not None else find_config())
    selected = _selected_rules(cfg, rule, skip, rules_dir)
    options = _live_options(
        cfg,
        subscription,
        all_subscriptions,
        exclude_subscription,
        management_group,
        resource_group,
        tag,
        auth,
        tenant,
        cloud,
        arm_endpoint,
        token_scope,
        concurrency,
        quiet,
        timeout,
        deadline,
        subscription_concurrency,
        metrics_window,
        resource_graph,
        collect_processes,
    )
    snap = api.collect_for(options, selected, cfg.params)
    protected = [cfg.path] if cfg.path is not None else []
    write_atomically(output, snapshot_text(snap.unmasked_json()), protected)
    failed = sum(1 for c in snap.coverage or [] if c.failed)
    note = f", {failed} collection(s) failed (see coverage)" if failed else ""
    typer.echo(f"wrote {len(snap.resources)} resources to {output}{note}", err=True)


@rules_app.command("list")
def rules_list(
    rules_dir: RulesDirOpt = None,
    format: Annotated[
        str, typer.Option("--format", "-f", metavar="FORMAT", help="table or json.")
    ] = "table",
) -> None:
    """List every rule: id, severity, section and title."""
    import json

    from prodcheck.outbound import clean, clean_text
    from prodcheck.registry import Registry

    registry = Registry.load(list(rules_dir or []))
    if format == "json":
        rows = [
            {
                "id": r.id,
                "severity": r.severity.value,
                "section": r.section,
                "checklist": r.checklist,
                "title": r.title,
                "origin": r.origin,
            }
            for r in registry.all()
        ]
        typer.echo(json.dumps(clean(rows, visible=False), indent=2))
        return
    if format != "table":
        raise UserError(f"unknown format {format!r}: use table or json")
    from rich.console import Console
    from rich.table import Table

    table = Table(show_edge=False, highlight=False)
    for column in ("id", "severity", "section", "checklist item", "title"):
        table.add_column(column, overflow="fold")
    for r in registry.all():
        table.add_row(
            *(clean_text(c) for c in (r.id, r.severity.value, r.section, r.checklist, r.title))
        )
    Console(highlight=False, markup=False, width=None if sys.stdout.isatty() else 160).print(table)


@rules_app.command("show")
def rules_show(
    rule_id: Annotated[str, typer.Argument(metavar="RULE", help="A rule id, e.g. PC-NET-001.")],
    rules_dir: RulesDirOpt = None,
) -> None:
    """Explain a rule: what it checks, why, its parameters and how to fix a failure."""
    from prodcheck.registry import Registry
    from prodcheck.ruledocs import rule_markdown

    registry = Registry.load(list(rules_dir or []))
    text = rule_markdown(registry.get(rule_id))
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.markdown import Markdown

        Console().print(Markdown(text))
    else:
        typer.echo(text)


@rules_app.command("docs")
def rules_docs(
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", metavar="DIR", help="Directory for the pages.")
    ] = Path("docs/rules"),
    rules_dir: RulesDirOpt = None,
) -> None:
    """Write one Markdown page per rule, and an index, from the rules' own documentation."""
    from prodcheck.registry import Registry
    from prodcheck.ruledocs import write_rule_docs

    registry = Registry.load(list(rules_dir or []))
    written = write_rule_docs(registry.all(), output_dir)
    typer.echo(f"wrote {len(written)} pages to {output_dir}", err=True)


@app.command("report")
def report_cmd(
    results: Annotated[
        Path,
        typer.Argument(
            metavar="RESULTS.json", help="A JSON report saved by 'prodcheck audit --format json'."
        ),
    ],
    format: FormatOpt = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the report to this file.",
            rich_help_panel=OUTPUT,
        ),
    ] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir",
            metavar="DIR",
            help="Write each format to DIR/prodcheck-report.<ext>.",
            rich_help_panel=OUTPUT,
        ),
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="List passing findings too.", rich_help_panel=OUTPUT),
    ] = False,
    sarif_include_waived: SarifWaivedOpt = False,
    report_url: ReportUrlOpt = None,
) -> None:
    """Render a saved JSON report again, in other formats, without touching Azure."""
    from prodcheck.baseline import load_report

    report = load_report(results)
    emit_report(
        report,
        list(format or []),
        output,
        output_dir,
        verbose,
        [results],
        sarif_include_waived=sarif_include_waived,
        report_url=report_url,
    )


@app.command("diff")
def diff_cmd(
    old: Annotated[Path, typer.Argument(metavar="OLD.json", help="The earlier JSON report.")],
    new: Annotated[Path, typer.Argument(metavar="NEW.json", help="The later JSON report.")],
    format: Annotated[
        str,
        typer.Option("--format", "-f", metavar="FORMAT", help="text (default), json or markdown."),
    ] = "text",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write the diff to this file."),
    ] = None,
    exit_code: Annotated[
        bool,
        typer.Option(
            "--exit-code", help="Exit with 1 when any finding is new or regressed (else 0)."
        ),
    ] = False,
) -> None:
    """Compare two JSON reports: what got fixed, what regressed, what is new, by rule and resource."""
    from prodcheck.baseline import compare, load_report, render_diff
    from prodcheck.outbound import clean_output

    diff = compare(load_report(old), load_report(new))
    text = clean_output(render_diff(diff, format), "json" if format == "json" else "text")
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_atomically(output, text, [old, new])
        typer.echo(f"wrote the diff to {output}", err=True)
    raise typer.Exit(1 if exit_code and diff.worse else 0)


@app.command("init")
def init_cmd(
    output: Annotated[
        Path,
        typer.Option("--output", "-o", metavar="FILE", help="Where to write the configuration."),
    ] = Path("prodcheck.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented starter configuration (prodcheck.yaml)."""
    from prodcheck.config import starter_config

    if output.exists() and not force:
        raise UserError(f"{output} already exists: edit it, or pass --force to overwrite it")
    write_atomically(output, starter_config(), [])
    typer.echo(f"wrote {output}: edit it, then run 'prodcheck audit'", err=True)


def _default_demo(argv: list[str]) -> list[str]:
    """`--demo` alone means `--demo flat`: the option's value is optional."""
    out = list(argv)
    for i, arg in enumerate(out):
        if arg == "--demo" and (i + 1 == len(out) or out[i + 1].startswith("-")):
            out.insert(i + 1, "flat")
            break
    return out


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning user errors into one line and exit code 2."""
    from prodcheck.heap import for_bulk_data

    for_bulk_data()
    argv = _default_demo(sys.argv[1:] if argv is None else argv)
    try:
        app(args=argv, prog_name="prodcheck", standalone_mode=True)
    except UserError as exc:
        from prodcheck.outbound import one_line

        # Errors can quote what Azure or an input file said: print it as inert text, one line,
        # with any credential in it masked.
        typer.echo(f"prodcheck: error: {one_line(exc)}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("prodcheck: interrupted", err=True)
        sys.exit(130)
