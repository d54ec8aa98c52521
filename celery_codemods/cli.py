"""The command line: parse options, call the api, print through report.

Exit codes: 0 nothing pending; 1 findings or changes pending (after ``fix``:
something could not be fixed); 2 the tool could not do its job.
"""

from __future__ import annotations

import sys
import termios
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from celery_codemods import __version__
from celery_codemods.api import Analysis, FixPlan, analyze, plan_fixes
from celery_codemods.report.text import (
    check_summary,
    fix_summary,
    format_error,
    format_finding,
    statistics,
    unified_diff,
)
from celery_codemods.review import ReviewOutcome, apply_review, review, write_together
from celery_codemods.rules import all_rules, rule_by_code
from celery_codemods.settings import ConfigError, Settings, find_config, load_settings

EXIT_CLEAN, EXIT_PENDING, EXIT_ERROR = 0, 1, 2
EXIT_INTERRUPTED = 130

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
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Only findings and errors; no summary.")]
StatsOpt = Annotated[bool, typer.Option("--statistics", help="Counts by rule instead of each finding.")]
ColorOpt = Annotated[
    Color, typer.Option("--color", help="Colour output: auto, always or never (NO_COLOR is honoured).")
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


def _consoles(color: Color) -> tuple[Console, Console]:
    force = {Color.always: True, Color.never: False}.get(color)
    no_color = color is Color.never or None
    out = Console(force_terminal=force, no_color=no_color, highlight=False, soft_wrap=True, emoji=False)
    err = Console(stderr=True, force_terminal=force, no_color=no_color, highlight=False, soft_wrap=True, emoji=False)
    return out, err


def _fail(err: Console, message: str) -> NoReturn:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(EXIT_ERROR)


def _run_analysis(err: Console, paths: list[Path], settings: Settings) -> Analysis:
    for path in paths:
        if not path.exists():
            _fail(err, f"{path}: no such file or directory")
    try:
        return analyze(paths, settings)
    except ConfigError as exc:
        _fail(err, str(exc))


def _print_errors(err: Console, analysis_errors: Sequence[object]) -> None:
    for error in analysis_errors:
        err.print(format_error(error), markup=False)  # type: ignore[arg-type]


@app.command()
def check(
    paths: PathsArg = None,
    select: SelectOpt = None,
    ignore: IgnoreOpt = None,
    exclude: ExcludeOpt = None,
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
    targets = paths or [Path(".")]
    try:
        settings = _settings(
            targets,
            config,
            select=_split(select),
            ignore=_split(ignore),
            exclude=_split(exclude),
            preview=preview,
            jobs=jobs,
            cache=False if no_cache else None,
            django_settings=django_settings,
        )
    except ConfigError as exc:
        _fail(err, str(exc))
    analysis = _run_analysis(err, targets, settings)
    if show_statistics:
        if analysis.findings:
            out.print(statistics(analysis.findings), markup=False)
    else:
        for finding in analysis.findings:
            out.print(format_finding(finding), markup=False)
    _print_errors(err, analysis.errors)
    if not quiet:
        err.print(check_summary(analysis), markup=False)
    raise typer.Exit(EXIT_PENDING if analysis.findings or analysis.errors else EXIT_CLEAN)


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
    show_fixes: Annotated[bool, typer.Option("--show-fixes", help="List each fix applied.")] = False,
    color: ColorOpt = Color.auto,
) -> None:
    """Apply fixes in place (or show them with --diff, or review them with -i)."""
    out, err = _consoles(color)
    if interactive and diff:
        _fail(err, "--interactive and --diff cannot be used together")
    if interactive and not sys.stdin.isatty():
        _fail(err, "--interactive needs a terminal on standard input; use --diff to review without one")
    targets = paths or [Path(".")]
    try:
        settings = _settings(
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
    analysis = _run_analysis(err, targets, settings)
    if interactive:
        _fix_interactively(out, err, analysis, quiet=quiet)
    plan = plan_fixes(analysis)
    write_errors: list[object] = []
    if diff:
        for change in plan.changes:
            _print_diff(out, unified_diff(change))
        remaining_to = err
    else:
        _, errors = write_together(plan.changes)
        write_errors.extend(errors)
        remaining_to = out
    for finding in plan.remaining:
        remaining_to.print(format_finding(finding), markup=False)
    _print_errors(err, [*analysis.errors, *plan.errors, *write_errors])
    if show_fixes:
        for finding in plan.applied:
            err.print(
                f"fixed {finding.path}:{finding.line}: {finding.code} {finding.fix.description if finding.fix else ''}",
                markup=False,
            )
    if not quiet:
        err.print(fix_summary(plan, written=not diff, notes=_notes(analysis, plan)), markup=False)
    pending = plan.remaining or analysis.errors or plan.errors or write_errors or (diff and plan.changes)
    raise typer.Exit(EXIT_PENDING if pending else EXIT_CLEAN)


def _fix_interactively(out: Console, err: Console, analysis: Analysis, quiet: bool) -> NoReturn:
    from celery_codemods.report.review_ui import TerminalReview

    try:
        with TerminalReview(out, sys.stdin.fileno()) as terminal:
            outcome = review(analysis, terminal)
    except (KeyboardInterrupt, EOFError, termios.error):
        err.print("\ninterrupted: nothing written", markup=False)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    plan, _, write_errors = apply_review(analysis, outcome)
    for finding in plan.remaining:
        out.print(format_finding(finding), markup=False)
    _print_errors(err, [*analysis.errors, *plan.errors, *write_errors])
    if not quiet:
        err.print(review_summary(outcome), markup=False)
        err.print(fix_summary(plan, written=True, notes=_notes(analysis, plan)), markup=False)
    pending = plan.remaining or analysis.errors or plan.errors or write_errors
    raise typer.Exit(EXIT_PENDING if pending else EXIT_CLEAN)


def review_summary(outcome: ReviewOutcome) -> str:
    lines = [
        f"Reviewed change sets: {len(outcome.accepted)} accepted, {len(outcome.declined)} declined"
        + (f", {len(outcome.unreviewed)} findings not reviewed (quit)." if outcome.quit else ".")
    ]
    lines.extend(f"  not offered: {f.path}:{f.line}: {f.code} {reason}" for f, reason in outcome.unplannable)
    return "\n".join(lines)


def _notes(analysis: Analysis, plan: FixPlan) -> list[str]:
    codes = {finding.code for finding in plan.applied}
    return [rule.fix_note for code, rule in analysis.rules.items() if code in codes and rule.fix_note]


def _print_diff(out: Console, text: str) -> None:
    if out.is_terminal and not out.no_color:
        out.print(Syntax(text, "diff", theme="ansi_dark", background_color="default"))
    else:
        sys.stdout.write(text)


@app.command("rules")
def list_rules(
    color: ColorOpt = Color.auto,
) -> None:
    """List every rule: code, name, fix, and what it finds."""
    out, _ = _consoles(color)
    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("Code", "Name", "Fix", "Default", "Summary"):
        table.add_column(column, no_wrap=column != "Summary")
    for rule in all_rules():
        default = "preview" if rule.preview else ("on" if rule.enabled_by_default else "off")
        table.add_row(rule.code, rule.name, rule.fix_availability, default, rule.summary)
    out.print(table)


@app.command()
def explain(code: Annotated[str, typer.Argument(help="A rule code (CEL001) or name (silent-except).")]) -> None:
    """Print a rule's documentation."""
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
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted; every file is either unchanged or fully rewritten\n")
        sys.exit(EXIT_INTERRUPTED)
