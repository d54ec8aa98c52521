#!/usr/bin/env python3
"""Run celery-codemod over real Django + Celery projects and check it breaks nothing.

For each pinned project (the list of shared/CORPUS.md): download its wheel once
(``pip download --no-deps --only-binary=:all:``) into a cache directory outside
the repository, extract it, copy it, then on the copy:

1. analyse, plan and write through the api (every rule, preview and unsafe
   fixes included, so every rewrite is exercised), counting findings by rule,
   fixes applied, change sets withheld and errors;
2. check that every file the fix changed still parses;
3. run the real CLI: ``check``, then ``fix`` a second time, which must change
   no file; neither may print a traceback or exit 2.

Every step runs in a child process, timed, with its peak memory.

Usage::

    python scripts/sweep.py [--cache DIR] [--only NAME ...] [--rules all|default] [--json FILE]

Exit status 0 when every project meets the bar (no traceback, every rewrite
parses, the second fix changes nothing), 1 otherwise.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
import zipfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Mirrors shared/CORPUS.md: name on the package index, pinned version.
PROJECTS = (
    ("pretix", "2026.8.0"),
    ("Weblate", "5.14.3"),
    ("mayan-edms", "4.12.2"),
    ("sentry", "21.12.0"),
)
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "celery-codemod-sweep"


@dataclass
class ProjectReport:
    project: str
    files_scanned: int = 0
    files_indexed: int = 0
    findings_by_rule: dict[str, int] = field(default_factory=dict)
    fixes_applied: int = 0
    files_changed: int = 0
    change_sets_withheld: int = 0
    withheld_reasons: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)
    unparsable_rewrites: list[str] = field(default_factory=list)
    changed_by_second_fix: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not (self.tracebacks or self.unparsable_rewrites or self.changed_by_second_fix)


def main() -> int:
    options = _arguments()
    if options.api_step:
        return _api_step(options.api_step, options.rules)
    cache = options.cache.resolve()
    if cache == REPO or REPO in cache.parents:
        sys.exit(f"the cache directory must be outside the repository: {cache}")
    wanted = {name.lower() for name in options.only}
    reports = []
    for name, version in PROJECTS:
        if wanted and name.lower() not in wanted:
            continue
        source = _fetch(cache, name, version)
        report = sweep(f"{name} {version}", source, cache / "work" / f"{name}-{version}", options.rules)
        _print_report(report)
        reports.append(report)
    if options.json:
        options.json.write_text(json.dumps([asdict(report) for report in reports], indent=2), encoding="utf-8")
    return 0 if all(report.clean for report in reports) else 1


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"downloads and copies ({DEFAULT_CACHE})")
    parser.add_argument("--only", nargs="*", default=(), help="project names to sweep (default: all)")
    parser.add_argument("--rules", choices=("all", "default"), default="all", help="every rule, or the default set")
    parser.add_argument("--json", type=Path, help="also write the reports as JSON here")
    parser.add_argument("--api-step", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


def _cli_flags(command: str, rules: str) -> list[str]:
    flags = ["--no-cache", "--color", "never"]
    if rules == "all":
        flags += ["--select", "ALL", "--preview"]
        if command == "fix":
            flags.append("--unsafe-fixes")
    return flags


# --- fetching ------------------------------------------------------------------------------------


def _fetch(cache: Path, name: str, version: str) -> Path:
    """The extracted wheel of name==version, downloaded and extracted once."""
    target = cache / "src" / f"{name}-{version}"
    if (target / ".extracted").exists():
        return target
    wheels = cache / "wheels"
    wheel = _find_wheel(wheels, name, version)
    if wheel is None:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
        subprocess.run([*command, "-d", str(wheels), f"{name}=={version}"], check=True)
        wheel = _find_wheel(wheels, name, version)
        if wheel is None:
            sys.exit(f"pip did not leave a wheel of {name}=={version} in {wheels}")
    shutil.rmtree(target, ignore_errors=True)
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    (target / ".extracted").touch()
    return target


def _find_wheel(wheels: Path, name: str, version: str) -> Path | None:
    prefix = f"{name.lower().replace('-', '_')}-{version}-"
    return next((p for p in sorted(wheels.glob("*.whl")) if p.name.lower().startswith(prefix)), None)


# --- one project ---------------------------------------------------------------------------------


def sweep(label: str, source: Path, work: Path, rules: str) -> ProjectReport:
    report = ProjectReport(project=label)
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(source, work, symlinks=True)
    before = _snapshot(work)
    numbers = _run(
        report, "api analyze+fix", [str(Path(__file__).resolve()), "--api-step", str(work), "--rules", rules]
    )
    if numbers:
        for key, value in json.loads(numbers).items():
            if key == "seconds":
                report.seconds.update(value)
            else:
                setattr(report, key, value)
    after = _snapshot(work)
    changed = sorted(path for path, digest in after.items() if before.get(path) != digest)
    report.unparsable_rewrites = [f"{path}: {problem}" for path in changed if (problem := _parse_problem(path))]
    _run(report, "cli check", ["-m", "celery_codemods", "check", *_cli_flags("check", rules), str(work)])
    _run(report, "cli fix again", ["-m", "celery_codemods", "fix", *_cli_flags("fix", rules), str(work)])
    again = _snapshot(work)
    report.changed_by_second_fix = sorted(path for path, digest in again.items() if after.get(path) != digest)
    return report


def _api_step(work: Path, rules: str) -> int:
    """In a child process: analyse, plan and write through the api; print the numbers as JSON."""
    sys.path.insert(0, str(REPO))
    from celery_codemods.api import analyze, plan_fixes, write_changes
    from celery_codemods.settings import Settings

    if rules == "default":
        settings = Settings(cache=False)
    else:
        settings = Settings(select=("ALL",), preview=True, unsafe_fixes=True, cache=False)
    try:
        started = time.perf_counter()
        analysis = analyze([work], settings)
        analysed = time.perf_counter()
        plan = plan_fixes(analysis)
        planned = time.perf_counter()
        _, write_errors = write_changes(plan.changes)
    except Exception:  # noqa: BLE001 - the point is to catch and report it
        traceback.print_exc()
        return 2
    withheld_sets = {id(finding.fix): reason for finding, reason in plan.withheld}
    result = {
        "files_scanned": analysis.files_discovered,
        "files_indexed": analysis.files_indexed,
        "findings_by_rule": dict(sorted(Counter(f.code for f in analysis.findings).items())),
        "fixes_applied": len(plan.applied),
        "files_changed": len(plan.changes) - len(write_errors),
        "change_sets_withheld": len(withheld_sets),
        "withheld_reasons": sorted(set(withheld_sets.values())),
        "errors": [str(error) for error in (*analysis.errors, *plan.errors, *write_errors)],
        "seconds": {"api analyze": round(analysed - started, 2), "api plan": round(planned - analysed, 2)},
    }
    sys.stdout.write(json.dumps(result))
    return 0


def _snapshot(root: Path) -> dict[str, str]:
    digests = {}
    for path in root.rglob("*.py"):
        if path.is_file() and not path.is_symlink():
            digests[str(path)] = hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
    return digests


def _parse_problem(path: str) -> str | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(Path(path).read_bytes(), filename=path)
    except (SyntaxError, ValueError) as exc:
        return str(exc)
    return None


def _run(report: ProjectReport, step: str, arguments: list[str]) -> str:
    """Run Python in a child process; record time, peak memory, tracebacks and exit 2; return stdout.

    The peak memory is the child's own (index workers are not counted). This
    process never imports celery_codemods, so the child does not inherit a
    large high-water mark through fork.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, *arguments], cwd=REPO, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        seconds = round(time.perf_counter() - started, 2)
        report.seconds[step] = seconds
        report.peak_rss_mb[step] = round(usage.ru_maxrss / 1024, 1)
        err.seek(0)
        stderr = err.read().decode("utf-8", errors="replace")
        out.seek(0)
        stdout = out.read().decode("utf-8", errors="replace")
    if "Traceback (most recent call last)" in stderr or code not in (0, 1):
        report.tracebacks.append(f"{step}: exit {code}\n{stderr[-4000:]}")
    return stdout if code == 0 else ""


def _print_report(report: ProjectReport) -> None:
    status = "OK" if report.clean else "FAILED"
    print(f"== {report.project}: {status}")
    print(f"   files scanned {report.files_scanned} (indexed {report.files_indexed})")
    findings = ", ".join(f"{code} {count}" for code, count in report.findings_by_rule.items()) or "none"
    print(f"   findings by rule: {findings} (total {sum(report.findings_by_rule.values())})")
    print(f"   fixes applied {report.fixes_applied} in {report.files_changed} files")
    print(f"   change sets withheld {report.change_sets_withheld}")
    for reason in report.withheld_reasons:
        print(f"     withheld: {reason}")
    for title, lines in (
        ("errors", report.errors),
        ("tracebacks", report.tracebacks),
        ("rewrites that do not parse", report.unparsable_rewrites),
        ("files changed by a second fix", report.changed_by_second_fix),
    ):
        print(f"   {title} {len(lines)}")
        for line in lines:
            print("     " + line.replace("\n", "\n     "))
    print("   time: " + ", ".join(f"{step} {seconds} s" for step, seconds in report.seconds.items()))
    print("   peak memory: " + ", ".join(f"{step} {mb} MB" for step, mb in report.peak_rss_mb.items()))


if __name__ == "__main__":
    sys.exit(main())
