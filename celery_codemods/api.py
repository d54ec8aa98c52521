"""The stable surface: analyse paths, plan fixes, write them. Never prints.

``analyze`` runs discovery, the index pass and every enabled rule;
``plan_fixes`` turns accepted change sets into new file contents, verified;
``write_changes`` writes them atomically.
"""

from __future__ import annotations

import os
import pickle
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from msgspec import Struct, field

from celery_codemods._gc import collect_less
from celery_codemods.cache import IndexCache
from celery_codemods.discovery import Discovery, PatternError, discover
from celery_codemods.findings import Edit, FileError, Finding, Fix, fix_allowed
from celery_codemods.index.facts import ModuleFacts
from celery_codemods.index.models import RuntimeModels
from celery_codemods.index.project import Project
from celery_codemods.index.reader import index_source
from celery_codemods.index.runner import file_size, index_paths
from celery_codemods.rules import all_rules, matches
from celery_codemods.rules.base import Rule
from celery_codemods.settings import ConfigError, Settings, effective_jobs
from celery_codemods.sourcefile import SourceError, SourceFile, decode_source, read_source, write_source

__all__ = [
    "Analysis",
    "FileChange",
    "FileError",
    "FixPlan",
    "analyze",
    "enabled_rules",
    "fix_allowed",
    "plan_fixes",
    "write_changes",
]


class Analysis(Struct, frozen=True):
    settings: Settings
    project: Project
    rules: dict[str, Rule]
    findings: tuple[Finding, ...]
    errors: tuple[FileError, ...]
    files_discovered: int
    files_indexed: int
    outside: frozenset[str] = frozenset()
    """Files read through a symlink to outside the paths given: never written."""


class FileChange(Struct, frozen=True):
    path: str
    source: SourceFile
    new_text: str
    fixes: tuple[Finding, ...]


class FixPlan(Struct, frozen=True):
    changes: tuple[FileChange, ...]
    applied: tuple[Finding, ...]
    withheld: tuple[tuple[Finding, str], ...]
    """Fixable findings whose change set could not be made, with the reason."""
    remaining: tuple[Finding, ...]
    """Findings still pending after these changes (no fix, unsafe, withheld, declined)."""
    errors: tuple[FileError, ...] = field(default=())


def enabled_rules(settings: Settings) -> dict[str, Rule]:
    codes = [rule.code for rule in all_rules()]
    for selector in (*settings.select, *settings.ignore):
        if selector != "ALL" and not any(code.startswith(selector) for code in codes):
            raise ConfigError(f"unknown rule code or prefix {selector!r} (see `celery-codemod rules`)")
    chosen: dict[str, Rule] = {}
    for rule in all_rules():
        if rule.preview and not settings.preview:
            continue
        selected = (
            matches(rule.code, settings.select) or "ALL" in settings.select
            if settings.select
            else rule.enabled_by_default
        )
        if selected and not matches(rule.code, settings.ignore):
            chosen[rule.code] = rule(settings)
    return chosen


def analyze(
    paths: Sequence[Path],
    settings: Settings,
    progress: Callable[[int, int], None] | None = None,
    found: Discovery | None = None,
) -> Analysis:
    """Raises ConfigError for bad settings; every per-file problem is in ``errors``.

    ``progress(done, total)`` is called as files are read, for a progress bar.
    ``found`` is ``discover(paths, settings.exclude)`` when the caller already has it.
    """
    rules = enabled_rules(settings)
    if found is None:
        try:
            found = discover(paths, settings.exclude)
        except PatternError as exc:
            raise ConfigError(str(exc)) from None
    cache_root = settings.config_file.parent if settings.config_file else Path.cwd()
    cache = IndexCache.for_project(cache_root, settings.fingerprint(), settings.cache)
    run = index_paths(
        [str(path) for path in found.files], settings.task_decorators, effective_jobs(settings), cache, progress
    )
    errors = [FileError(str(path), "no such file or directory") for path in found.missing]
    errors.extend(FileError(str(path), f"cannot read directory: {reason}") for path, reason in found.unreadable)
    runtime = _runtime_models(settings, found.files, [facts.module for facts in run.modules])
    project = Project(run.modules, settings.task_decorators, runtime)
    return Analysis(
        settings=settings,
        project=project,
        rules=rules,
        findings=tuple(run_rules(project, rules)),
        errors=(*errors, *run.errors),
        files_discovered=len(found.files),
        files_indexed=len(run.modules),
        outside=frozenset(str(path) for path in found.outside),
    )


def _runtime_models(settings: Settings, files: Sequence[Path], modules: Sequence[str]) -> RuntimeModels | None:
    """Django's model registry when ``django_settings`` is set: imports the project, in this process only."""
    if settings.django_settings is None:
        return None
    from celery_codemods.index.django_models import DjangoSetupError, load_runtime_models, project_roots

    roots = project_roots(settings.config_file, files)
    try:
        return load_runtime_models(settings.django_settings, roots, modules)
    except DjangoSetupError as exc:
        raise ConfigError(str(exc)) from None


def run_rules(project: Project, rules: dict[str, Rule]) -> list[Finding]:
    findings: list[Finding] = []
    for rule in rules.values():
        for finding in rule.check(project):
            module = project.modules.get(finding.path)
            lines = (finding.line, *finding.suppress_lines)
            if module is None or not any(module.is_suppressed(line, finding.code) for line in lines):
                findings.append(finding)
    return sorted(findings, key=lambda finding: finding.sort_key)


def plan_fixes(analysis: Analysis, accept: Callable[[Finding], bool] = lambda finding: True) -> FixPlan:
    """New contents for every file touched by an accepted change set; never raises.

    A change set whose rewrite fails in any file is withheld whole, and the
    remaining sets are planned again without it.
    """
    settings = analysis.settings
    candidates = [f for f in analysis.findings if fix_allowed(f, settings) and accept(f)]
    withheld = [(f, _outside_reason(f, analysis.outside)) for f in candidates if _touches(f, analysis.outside)]
    candidates = [f for f in candidates if not _touches(f, analysis.outside)]
    errors: list[FileError] = []
    changes: dict[str, FileChange] = {}
    pool = _RewritePool(analysis.rules, settings)
    try:
        for _ in range(4):
            changes, failures, indexed = _rewrite_all(pool, analysis, candidates)
            if not failures:
                failures = _second_run_changes(analysis, candidates, changes, indexed)
            if not failures:
                break
            for path, reason in failures.items():
                errors.append(FileError(path, reason))
            blocked = {id(f) for f in candidates if set(f.fix.paths if f.fix else ()) & set(failures)}
            withheld.extend((f, _reason_for(f, failures)) for f in candidates if id(f) in blocked)
            candidates = [f for f in candidates if id(f) not in blocked]
        else:  # pragma: no cover - four rounds of failures means a rule bug: apply nothing
            withheld.extend((f, "could not be planned consistently") for f in candidates)
            candidates, changes = [], {}
    finally:
        pool.close()
    applied_ids = {id(f) for f in candidates}
    return FixPlan(
        changes=tuple(changes[path] for path in sorted(changes)),
        applied=tuple(candidates),
        withheld=tuple(withheld),
        remaining=tuple(f for f in analysis.findings if id(f) not in applied_ids),
        errors=tuple(errors),
    )


def _touches(finding: Finding, paths: frozenset[str]) -> bool:
    return bool(paths) and finding.fix is not None and not paths.isdisjoint(finding.fix.paths)


def _outside_reason(finding: Finding, outside: frozenset[str]) -> str:
    path = next(path for path in (finding.fix.paths if finding.fix else ()) if path in outside)
    return f"{path} is a symlink to a file outside the paths given; name it on the command line to fix it"


def _reason_for(finding: Finding, failures: dict[str, str]) -> str:
    paths = finding.fix.paths if finding.fix else ()
    return "; ".join(f"{path}: {failures[path]}" for path in paths if path in failures)


_MIN_FILES_FOR_POOL = 4
"""Fewer files than this are rewritten in this process: starting workers would cost more."""


class _FileRewrite(Struct, frozen=True):
    """One file's rewrite: its new text and that text's index (for the second-run check), or why not."""

    source: SourceFile | None = None
    new_text: str | None = None
    again: ModuleFacts | FileError | None = None
    failure: str | None = None


class _RewritePool(Struct):
    """Worker processes for rewrites, started on first use when there are enough files."""

    rules: dict[str, Rule]
    settings: Settings
    executor: ProcessPoolExecutor | None = None

    def map(self, jobs: list[tuple[str, ModuleFacts | None, list[Edit]]]) -> list[_FileRewrite]:
        workers = min(effective_jobs(self.settings), len(jobs))
        if workers > 1 and len(jobs) >= _MIN_FILES_FOR_POOL:
            try:
                if self.executor is None:
                    self.executor = ProcessPoolExecutor(
                        workers, initializer=_start_rewrite_worker, initargs=(self.rules, self.settings)
                    )
                # Largest files first, so no large one starts last while the other workers idle.
                order = sorted(range(len(jobs)), key=lambda index: -file_size(jobs[index][0]))
                done = self.executor.map(_rewrite_in_worker, *zip(*(jobs[index] for index in order), strict=True))
                results = dict(zip(order, done, strict=True))
                return [results[index] for index in range(len(jobs))]
            except (OSError, BrokenProcessPool, pickle.PicklingError, TypeError):  # rewrite in this process instead
                self.close()
        return [_rewrite_file(path, facts, edits, self.rules, self.settings) for path, facts, edits in jobs]

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(cancel_futures=True)
            self.executor = None


_worker_state: dict[str, tuple[dict[str, Rule], Settings]] = {}
"""In a rewrite worker: the rules and settings, sent once when it starts."""


def _start_rewrite_worker(rules: dict[str, Rule], settings: Settings) -> None:
    collect_less()
    _worker_state["plan"] = (rules, settings)


def _rewrite_in_worker(path: str, facts: ModuleFacts | None, edits: list[Edit]) -> _FileRewrite:
    return _rewrite_file(path, facts, edits, *_worker_state["plan"])


def _rewrite_all(
    pool: _RewritePool, analysis: Analysis, candidates: Iterable[Finding]
) -> tuple[dict[str, FileChange], dict[str, str], dict[str, ModuleFacts | FileError]]:
    """New contents (and their index) for every file with edits, in parallel when worth it; and the failures."""
    edits: dict[str, list[Edit]] = defaultdict(list)
    fixes_by_path: dict[str, list[Finding]] = defaultdict(list)
    for finding in candidates:
        assert finding.fix is not None
        for path in finding.fix.paths:
            fixes_by_path[path].append(finding)
        for edit in finding.fix.edits:
            if edit not in edits[edit.path]:
                edits[edit.path].append(edit)
    jobs = [(path, analysis.project.modules.get(path), file_edits) for path, file_edits in edits.items()]
    changes: dict[str, FileChange] = {}
    failures: dict[str, str] = {}
    indexed: dict[str, ModuleFacts | FileError] = {}
    for (path, _, _), result in zip(jobs, pool.map(jobs), strict=True):
        if result.failure is not None:
            failures[path] = result.failure
        elif result.source is not None and result.new_text is not None and result.again is not None:
            changes[path] = FileChange(path, result.source, result.new_text, tuple(fixes_by_path[path]))
            indexed[path] = result.again
    return changes, failures, indexed


def _rewrite_file(
    path: str, facts: ModuleFacts | None, edits: list[Edit], rules: dict[str, Rule], settings: Settings
) -> _FileRewrite:
    if facts is None:
        return _FileRewrite(failure="not part of the analysed files")
    try:
        source = read_source(Path(path))
    except SourceError as exc:
        return _FileRewrite(failure=str(exc))
    if source.digest != facts.digest:
        return _FileRewrite(failure="changed on disk since it was analysed; run again")
    from celery_codemods.rewrite import rewrite_source  # LibCST only when something is to be rewritten

    outcome = rewrite_source(source.text, facts, edits, rules, settings)
    if outcome.error is not None:
        return _FileRewrite(failure=outcome.error)
    if outcome.new_text is None or outcome.new_text == source.text:
        return _FileRewrite()
    problem = source.unencodable(outcome.new_text)
    if problem is not None:
        return _FileRewrite(failure=f"{problem}; not written")
    rewritten = decode_source(source.path, source.encode(outcome.new_text))
    parsed = outcome.tree if rewritten.text == outcome.new_text else None
    # As a fresh run would index it: eagerly only where the run did (a project wrapper made a task
    # of a function its decorators do not name so); else the rules' facts of views would be wasted.
    eager = not any(function.deferred for function in facts.functions)
    again = index_source(path, rewritten, settings.task_decorators, eager=eager, tree=parsed)
    return _FileRewrite(source, outcome.new_text, again)


def _second_run_changes(
    analysis: Analysis,
    applied: list[Finding],
    changes: dict[str, FileChange],
    indexed: dict[str, ModuleFacts | FileError],
) -> dict[str, str]:
    """Files where planning again on the new contents would find more to fix."""
    if not changes:
        return {}
    new_modules: list[ModuleFacts] = []
    failures: dict[str, str] = {}
    for path in changes:
        result = indexed[path]
        if isinstance(result, FileError):
            failures[path] = f"the rewrite cannot be analysed again ({result.message}); not written"
        else:
            new_modules.append(result)
    if failures:
        return failures
    replanned = run_rules(analysis.project.replace(new_modules), analysis.rules)
    applied_ids = {id(f) for f in applied}
    for path in changes:
        before = sum(
            1 for f in analysis.findings if id(f) not in applied_ids and _fix_touches(f, path, analysis.settings)
        )
        after = sum(1 for f in replanned if _fix_touches(f, path, analysis.settings))
        if after > before:
            failures[path] = (
                "a second run would change it again (a bug in celery-codemod; please report it); not written"
            )
    return failures


def _fix_touches(finding: Finding, path: str, settings: Settings) -> bool:
    return fix_allowed(finding, settings) and path in (finding.fix.paths if finding.fix else ())


def write_changes(changes: Iterable[FileChange]) -> tuple[list[FileChange], list[FileError]]:
    """Write each change atomically; a file that fails keeps its old content."""
    written: list[FileChange] = []
    errors: list[FileError] = []
    for change in changes:
        try:
            write_source(change.source, change.new_text)
        except SourceError as exc:
            errors.append(FileError(change.path, str(exc)))
        else:
            written.append(change)
    return written, errors


def display_path(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # pragma: no cover - another drive on Windows
        return str(path)


def group_by_fix(findings: Iterable[Finding]) -> dict[Fix, list[Finding]]:
    grouped: dict[Fix, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.fix is not None:
            grouped[finding.fix].append(finding)
    return grouped
