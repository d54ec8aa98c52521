"""The command line: parse options, call the api, print through report.

Exit codes: 0 nothing pending; 1 findings or changes pending (after ``fix``:
something could not be fixed); 2 the tool could not do its job; 130
interrupted (every file is then either unchanged or fully rewritten).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from celery_codemods import __version__
from celery_codemods._gc import collect_less
from celery_codemods.findings import FileError, Finding
from celery_codemods.report.text import format_error, format_finding, statistics
from celery_codemods.results import CheckResult, check_result
from celery_codemods.settings import ConfigError, Settings, find_config, load_settings

# Imported where used: a warm `check` answered from the result cache needs none of them.
if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from celery_codemods.api import Analysis, FileChange, FixPlan
    from celery_codemods.report.summary import Summary
    from celery_codemods.review import ReviewOutcome
    from celery_codemods.rules.base import Rule

EXIT_CLEAN, EXIT_PENDING, EXIT_ERROR = 0, 1, 2
EXIT_INTERRUPTED = 130
PROGRESS_MIN_FILES = 200
"""Fewer files than this are read too fast for a progress bar to help."""

app = typer.Typer(
    name="celery-codemod",
    help="Rewrite Django + Celery code toward task-queue practices that keep queues sane.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class Color(StrEnum):
    auto = "auto"
    always = "always"
    never = "never"


class OutputFormat(StrEnum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"


PathsArg = Annotated[list[Path] | None, typer.Argument(help="Files or directories (default: .).", show_default=False)]
SelectOpt = Annotated[
    list[str] | None, typer.Option("--select", help="Rule codes or prefixes to enable (comma-separated or repeated).")
]
IgnoreOpt = Annotated[list[str] | None, typer.Option("--ignore", help="Rule codes or prefixes to disable.")]
ExcludeOpt = Annotated[list[str] | None, typer.Option("--exclude", help="Extra gitignore-style patterns to skip.")]
UnsafeOpt = Annotated[
    bool | None,
    typer.Option("--unsafe-fixes/--no-unsafe-fixes", help="Also apply fixes a person must judge.", show_default=False),
]
CheckUnsafeOpt = Annotated[
    bool | None,
    typer.Option(
        "--unsafe-fixes/--no-unsafe-fixes",
        help="Count unsafe fixes as applicable and include them in json/sarif fixes.",
        show_default=False,
    ),
]
PreviewOpt = Annotated[
    bool | None, typer.Option("--preview/--no-preview", help="Enable rules still in preview.", show_default=False)
]
JobsOpt = Annotated[int | None, typer.Option("--jobs", "-j", min=1, help="Worker processes (default: CPU count).")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Do not read or write the index cache.")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="pyproject.toml to read [tool.celery-codemod] from.")]
DjangoOpt = Annotated[
    str | None,
    typer.Option(
        "--django-settings", help="Settings module: exact model registry via django.setup() (imports your code)."
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No summary and no progress bar.")]
StatsOpt = Annotated[bool, typer.Option("--statistics", help="Counts by rule instead of each finding.")]
ColorOpt = Annotated[
    Color, typer.Option("--color", help="Colour output: auto, always or never (NO_COLOR is honoured by auto).")
]
FormatOpt = Annotated[
    OutputFormat,
    typer.Option("--output-format", help="text, json (documented schema), github (annotations) or sarif (2.1.0)."),
]
ReportOpt = Annotated[
    Path | None,
    typer.Option("--report", help="Write a Markdown summary of the run (for a pull request description) to FILE."),
]


def _split(values: Sequence[str] | None) -> tuple[str, ...] | None:
    if not values:
        return None
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def _settings(
    paths: Sequence[Path],
    config: Path | None,
    **overrides: object,
) -> Settings:
    config_file = config if config is not None else find_config(paths[0] if paths else Path.cwd())
    if config is not None and not config.is_file():
        raise ConfigError(f"{config}: no such config file")
    settings = load_settings(config_file)
    extra_exclude = overrides.pop("exclude", None)
    if extra_exclude:
        overrides["exclude"] = (*settings.exclude, *extra_exclude)  # type: ignore[misc]
    return settings.with_overrides(**overrides)


def _settings_or_fail(
    err: Console,
    targets: Sequence[Path],
    config: Path | None,
    select: Sequence[str] | None,
    ignore: Sequence[str] | None,
    exclude: Sequence[str] | None,
    unsafe_fixes: bool | None,
    preview: bool | None,
    jobs: int | None,
    no_cache: bool,
    django_settings: str | None,
) -> Settings:
    """Config file, then flags; a bad value ends the run with exit 2 and the reason."""
    try:
        return _settings(
            targets,
            config,
            select=_split(select),
            ignore=_split(ignore),
            exclude=_split(exclude),
            unsafe_fixes=unsafe_fixes,
            preview=preview,
            jobs=jobs,
            cache=False if no_cache else None,
            django_settings=django_settings,
        )
    except ConfigError as exc:
        _fail(err, str(exc))


def _consoles(color: Color) -> tuple[Console, Console]:
    """stdout and stderr consoles: ``always`` forces colour, ``never`` removes it, ``auto`` asks the terminal."""
    force = True if color is Color.always else None
    no_color = {Color.always: False, Color.never: True}.get(color)  # None: rich reads NO_COLOR
    out = Console(force_terminal=force, no_color=no_color, highlight=False, soft_wrap=True, emoji=False)
    err = Console(stderr=True, force_terminal=force, no_color=no_color, highlight=False, soft_wrap=True, emoji=False)
    return out, err


def _fail(err: Console, message: str) -> NoReturn:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(EXIT_ERROR)


def _run_analysis(err: Console, paths: list[Path], settings: Settings, quiet: bool) -> Analysis:
    from celery_codemods.api import analyze

    _require_paths(err, paths)
    try:
        with _progress_bar(err, enabled=not quiet) as progress:
            return analyze(paths, settings, progress=progress)
    except ConfigError as exc:
        _fail(err, str(exc))


def _run_check(err: Console, paths: list[Path], settings: Settings, quiet: bool) -> CheckResult:
    """Like ``_run_analysis``, answered from the result cache when nothing changed since the last run."""
    _require_paths(err, paths)
    try:
        with _progress_bar(err, enabled=not quiet) as progress:
            return check_result(paths, settings, progress=progress)
    except ConfigError as exc:
        _fail(err, str(exc))


def _require_paths(err: Console, paths: list[Path]) -> None:
    for path in paths:
        if not path.exists():
            _fail(err, f"{path}: no such file or directory")


@contextmanager
def _progress_bar(err: Console, enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A bar on stderr while files are read, only on a terminal and only for many files."""
    if not enabled or not err.is_terminal:
        yield None
        return
    bar = _LazyProgress(err)
    try:
        yield bar.advance
    finally:
        bar.stop()


class _LazyProgress:
    """Shows nothing at all until a run turns out to have many files."""

    def __init__(self, err: Console) -> None:
        self.err = err
        self.progress: Progress | None = None
        self.task: TaskID | None = None

    def advance(self, done: int, total: int) -> None:
        if total < PROGRESS_MIN_FILES:
            return
        if self.progress is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            columns = (TextColumn("reading files"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            self.progress = Progress(*columns, console=self.err, transient=True)
            self.progress.start()
            self.task = self.progress.add_task("read", total=total)
        assert self.task is not None
        self.progress.update(self.task, completed=done, total=total)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def _print_errors(err: Console, errors: Sequence[FileError]) -> None:
    for error in errors:
        err.print(format_error(error), markup=False)


def _print_summary(err: Console, summary: Summary) -> None:
    from celery_codemods.report import summary as run_summary

    if err.is_terminal:
        err.print(run_summary.as_rich(summary))
    else:
        err.print(run_summary.as_text(summary), markup=False)


def _print_finding(out: Console, finding: Finding) -> None:
    text = format_finding(finding)
    if out.is_terminal and not out.no_color:
        location, _, rest = text.partition(": ")
        code, _, message = rest.partition(" ")
        out.print(f"[bold]{escape(location)}[/]: [bold red]{code}[/] {escape(message)}", highlight=False)
    else:
        out.print(text, markup=False)


@app.command()
def check(
    paths: PathsArg = None,
    output_format: FormatOpt = OutputFormat.text,
    select: SelectOpt = None,
    ignore: IgnoreOpt = None,
    exclude: ExcludeOpt = None,
    unsafe_fixes: CheckUnsafeOpt = None,
    preview: PreviewOpt = None,
    jobs: JobsOpt = None,
    no_cache: NoCacheOpt = False,
    config: ConfigOpt = None,
    django_settings: DjangoOpt = None,
    quiet: QuietOpt = False,
    show_statistics: StatsOpt = False,
    color: ColorOpt = Color.auto,
) -> None:
    """Report every finding, fixable or not. Writes nothing."""
    out, err = _consoles(color)
    if show_statistics and output_format in (OutputFormat.github, OutputFormat.sarif):
        _fail(err, "--statistics prints text or json; it cannot be combined with --output-format github or sarif")
    targets = paths or [Path(".")]
    settings = _settings_or_fail(
        err, targets, config, select, ignore, exclude, unsafe_fixes, preview, jobs, no_cache, django_settings
    )
    if show_statistics or output_format in (OutputFormat.text, OutputFormat.github):
        result = _run_check(err, targets, settings, quiet)
        errors: list[FileError] = list(result.errors)
        if show_statistics:
            _print_statistics(out, result, output_format)
        else:
            _print_check(out, result, output_format)
    else:  # the fixes' diffs are part of the output: plan them
        analysis = _run_analysis(err, targets, settings, quiet)
        result = CheckResult.of(analysis)
        errors = [*analysis.errors, *_print_planned(analysis, output_format)]
    _print_errors(err, errors)
    if not quiet:
        from celery_codemods.report.summary import for_check

        _print_summary(err, for_check(result, len(errors)))
    raise typer.Exit(EXIT_PENDING if result.findings or errors else EXIT_CLEAN)


def _print_statistics(out: Console, result: CheckResult, output_format: OutputFormat) -> None:
    if output_format is OutputFormat.json:
        from celery_codemods.report import json as json_report

        sys.stdout.write(json_report.statistics(result))
    elif result.findings:
        out.print(statistics(result.findings), markup=False)


def _print_check(out: Console, result: CheckResult, output_format: OutputFormat) -> None:
    """The findings as text or GitHub annotations."""
    if output_format is OutputFormat.text:
        for finding in result.findings:
            _print_finding(out, finding)
        return
    from celery_codemods.report import github

    sys.stdout.write(github.render(result.findings, result.errors))


def _print_planned(analysis: Analysis, output_format: OutputFormat) -> tuple[FileError, ...]:
    """The findings with their planned fixes as json or sarif; return errors met while planning."""
    from celery_codemods.api import plan_fixes
    from celery_codemods.report.planned import PlannedFixes

    planned = PlannedFixes(plan_fixes(analysis))  # the same single plan as `fix --diff`
    if output_format is OutputFormat.json:
        from celery_codemods.report import json as json_report

        sys.stdout.write(json_report.render(analysis, planned))
    else:
        from celery_codemods.report import sarif

        sys.stdout.write(sarif.render(analysis, planned))
    return planned.plan.errors


@app.command()
def fix(
    paths: PathsArg = None,
    diff: Annotated[bool, typer.Option("--diff", help="Print a unified diff and write nothing.")] = False,
    interactive: Annotated[
        bool,
        typer.Option("--interactive", "-i", help="Review change set by change set; write only the accepted ones."),
    ] = False,
    select: SelectOpt = None,
    ignore: IgnoreOpt = None,
    exclude: ExcludeOpt = None,
    unsafe_fixes: UnsafeOpt = None,
    preview: PreviewOpt = None,
    jobs: JobsOpt = None,
    no_cache: NoCacheOpt = False,
    config: ConfigOpt = None,
    django_settings: DjangoOpt = None,
    quiet: QuietOpt = False,
    show_fixes: Annotated[
        bool, typer.Option("--show-fixes", help="List each fix applied (or, with --diff, to apply).")
    ] = False,
    report: ReportOpt = None,
    color: ColorOpt = Color.auto,
) -> None:
    """Apply fixes in place (or show them with --diff, or review them with -i)."""
    out, err = _consoles(color)
    if interactive and diff:
        _fail(err, "--interactive and --diff cannot be used together")
    if interactive and not sys.stdin.isatty():
        _fail(err, "--interactive needs a terminal on standard input; use --diff to review without one")
    targets = paths or [Path(".")]
    settings = _settings_or_fail(
        err, targets, config, select, ignore, exclude, unsafe_fixes, preview, jobs, no_cache, django_settings
    )
    from celery_codemods.api import plan_fixes
    from celery_codemods.report import summary as run_summary
    from celery_codemods.review import apply_review, write_together

    analysis = _run_analysis(err, targets, settings, quiet)
    if interactive:
        outcome = _review_in_terminal(out, err, analysis)
        plan, _, write_errors = apply_review(analysis, outcome)
        if not quiet:
            err.print(review_summary(outcome), markup=False)
    else:
        outcome = None
        plan = plan_fixes(analysis)
        write_errors = _print_diffs(out, plan.changes) if diff else write_together(plan.changes)[1]
    for finding in plan.remaining:
        _print_finding(err if diff else out, finding)
    errors = [*analysis.errors, *plan.errors, *write_errors]
    _print_errors(err, errors)
    if show_fixes:
        _print_fixes(err, plan, written=not diff)
    if not quiet:
        _print_summary(err, run_summary.for_fix(analysis, plan, written=not diff, error_count=len(errors)))
    if report is not None:
        _write_report(err, report, analysis, plan, written=not diff, outcome=outcome)
    pending = plan.remaining or errors or (diff and plan.changes)
    raise typer.Exit(EXIT_PENDING if pending else EXIT_CLEAN)


def _review_in_terminal(out: Console, err: Console, analysis: Analysis) -> ReviewOutcome:
    from celery_codemods.report.review_ui import TerminalReview
    from celery_codemods.review import review

    try:
        with TerminalReview(out, sys.stdin.fileno()) as terminal:
            return review(analysis, terminal)
    except (KeyboardInterrupt, EOFError):
        err.print("\ninterrupted: nothing written", markup=False)
        raise typer.Exit(EXIT_INTERRUPTED) from None


def review_summary(outcome: ReviewOutcome) -> str:
    text = f"Reviewed change sets: {len(outcome.accepted)} accepted, {len(outcome.declined)} declined"
    text += f", {len(outcome.unreviewed)} findings not reviewed (quit)." if outcome.quit else "."
    lines = [text]
    lines.extend(f"  not offered: {f.path}:{f.line}: {f.code} {reason}" for f, reason in outcome.unplannable)
    return "\n".join(lines)


def _print_diffs(out: Console, changes: Sequence[FileChange]) -> list[FileError]:
    from rich.syntax import Syntax

    from celery_codemods.report.text import unified_diff

    for change in changes:
        text = unified_diff(change)
        if out.is_terminal and not out.no_color:
            out.print(Syntax(text, "diff", theme="ansi_dark", background_color="default"))
        else:
            sys.stdout.write(text)
    return []


def _print_fixes(err: Console, plan: FixPlan, written: bool) -> None:
    verb = "fixed" if written else "would fix"
    for finding in plan.applied:
        description = finding.fix.description if finding.fix else ""
        err.print(f"{verb} {finding.path}:{finding.line}: {finding.code} {description}", markup=False)


def _write_report(
    err: Console, path: Path, analysis: Analysis, plan: FixPlan, written: bool, outcome: ReviewOutcome | None
) -> None:
    from celery_codemods.report import markdown

    declined = [f for change_set in outcome.declined for f in change_set.findings] if outcome else []
    text = markdown.render(analysis, plan, written, declined, outcome.unreviewed if outcome else ())
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(err, f"{path}: cannot write the report: {exc.strerror or exc}")


@app.command("rules")
def list_rules(
    color: ColorOpt = Color.auto,
) -> None:
    """List every rule: code, name, fix, and what it finds."""
    from rich.table import Table

    from celery_codemods.rules import all_rules

    out, _ = _consoles(color)
    rows = [(rule.code, rule.name, rule.fix_availability, _default_state(rule), rule.summary) for rule in all_rules()]
    if not out.is_terminal:  # one line per rule, for grep and scripts: no wrapping at 80 columns
        width = max(len(name) for _, name, _, _, _ in rows)
        for code, name, fix_availability, default, summary in rows:
            sys.stdout.write(f"{code}  {name:<{width}}  {fix_availability:<9}  {default:<7}  {summary}\n")
        return
    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("Code", "Name", "Fix", "Default", "Summary"):
        table.add_column(column, no_wrap=column != "Summary")
    for row in rows:
        table.add_row(*row)
    out.print(table)


def _default_state(rule: type[Rule]) -> str:
    return "preview" if rule.preview else ("on" if rule.enabled_by_default else "off")


@app.command()
def explain(code: Annotated[str, typer.Argument(help="A rule code (CEL001) or name (silent-except).")]) -> None:
    """Print a rule's documentation."""
    from celery_codemods.rules import all_rules, rule_by_code

    rule = rule_by_code(code.upper()) or next((r for r in all_rules() if r.name == code), None)
    if rule is None:
        Console(stderr=True).print(f"error: unknown rule {code!r}; `celery-codemod rules` lists them", markup=False)
        raise typer.Exit(EXIT_ERROR)
    sys.stdout.write(rule.docs() + "\n")


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"celery-codemod {__version__}\n")
        raise typer.Exit(EXIT_CLEAN)


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Rewrite Django + Celery code toward task-queue practices that keep queues sane."""


def main() -> None:
    collect_less()
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted; every file is either unchanged or fully rewritten\n")
        sys.exit(EXIT_INTERRUPTED)
