"""Benchmark celery-codemod on the pinned real projects of shared/CORPUS.md.

    python benchmarks/run.py [--cache-dir DIR] [--jobs N] [--repeat N] [--project NAME ...]

Downloads each pinned wheel once into the cache dir (outside the repository),
extracts it, and reports, side by side in one run: the floor (read every file;
`ast.parse` every file in one process; LibCST parse of every file), LibCST's
own codemod runner applying a no-op codemod with the same jobs, and
celery-codemod `check` and `fix --diff`, cold (empty index cache) and warm.
For each: wall time, CPU time, peak RSS, files per second, the median of
``--repeat`` rounds (each round runs every kind once, so a slow minute on a
shared machine slows all kinds alike), and the targets' ratios as the median
of the rounds' own ratios. Every measurement runs in a fresh interpreter, as a
user would run it, with the tool's bytecode compiled first (an install compiles
it; ``PYTHONDONTWRITEBYTECODE`` would otherwise make every run compile the tool).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROJECTS = {
    "sentry": ("sentry", "21.12.0", "sentry"),
    "pretix": ("pretix", "2026.8.0", "pretix"),
    "weblate": ("Weblate", "5.14.3", "weblate"),
    "mayan": ("mayan-edms", "4.12.2", "mayan"),
}
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Sample:
    wall: float
    cpu: float
    peak_rss_mb: float
    exit_code: int


def fetch(name: str, cache: Path) -> Path:
    package, version, top = PROJECTS[name]
    target = cache / f"{name}-{version}"
    if (target / top).is_dir():
        return target / top
    downloads = cache / "wheels"
    downloads.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
            str(downloads),
            f"{package}=={version}",
        ],
        check=True,
    )
    normalized = package.lower().replace("-", "_")
    wheel = next(p for p in downloads.glob("*.whl") if p.name.lower().startswith(f"{normalized}-{version}"))
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    return target / top


def measure(command: list[str], env: dict[str, str] | None = None) -> Sample:
    """Run ``command`` in a child; wall time, and CPU and peak RSS of it and its workers."""
    before = os.times()
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    # ru_maxrss of the child: its own peak (workers are separate processes, reported by their own peak).
    return Sample(wall, cpu, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status))


FLOOR_READ = "import pathlib,sys\nfor p in pathlib.Path(sys.argv[1]).rglob('*.py'): p.read_bytes()"
FLOOR_AST = textwrap.dedent(
    """
    import ast, pathlib, sys, warnings
    warnings.simplefilter("ignore")
    for p in pathlib.Path(sys.argv[1]).rglob('*.py'):
        try: ast.parse(p.read_bytes())
        except SyntaxError: pass
    """
)
FLOOR_LIBCST = textwrap.dedent(
    """
    import pathlib, sys, libcst
    for p in pathlib.Path(sys.argv[1]).rglob('*.py'):
        try: libcst.parse_module(p.read_bytes())
        except Exception: pass
    """
)
LIBCST_NOOP = textwrap.dedent(
    """
    import pathlib, sys
    from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand, parallel_exec_transform_with_prettyprint

    class NoOp(VisitorBasedCodemodCommand):
        DESCRIPTION = "no-op"

    files = [str(p) for p in pathlib.Path(sys.argv[1]).rglob('*.py')]
    parallel_exec_transform_with_prettyprint(
        NoOp(CodemodContext()), files, jobs=int(sys.argv[2]), hide_progress=True,
        include_generated=True, unified_diff=1, repo_root=sys.argv[1],
    )
    """
)


def median_of(samples: list[Sample]) -> Sample:
    """The median wall time's run (CPU and RSS from that same run), and the worst exit code."""
    ordered = sorted(samples, key=lambda sample: sample.wall)
    middle = ordered[len(ordered) // 2]
    return Sample(middle.wall, middle.cpu, middle.peak_rss_mb, max(sample.exit_code for sample in samples))


def run_project(
    name: str, cache: Path, jobs: int, with_libcst: bool, repeat: int
) -> tuple[list[tuple[str, Sample]], list[str]]:
    """The rows of the project's table, and the targets' ratios."""
    source = fetch(name, cache)
    work = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    tree = work / source.name
    shutil.copytree(source, tree)  # fix --diff writes nothing, but never run a tool on the cached original
    index_cache = work / "index-cache"
    env = {**os.environ, "CELERY_CODEMOD_CACHE_DIR": str(index_cache), "PYTHONPATH": str(ROOT)}
    tool = [sys.executable, "-m", "celery_codemods"]

    def floor(command: list[str]) -> Callable[[], Sample]:
        return lambda: measure(command)

    def cold(arguments: list[str]) -> Callable[[], Sample]:
        def run() -> Sample:
            shutil.rmtree(index_cache, ignore_errors=True)
            return measure([*tool, *arguments, "-q", "-j", str(jobs), str(tree)], env)

        return run

    def warm(arguments: list[str]) -> Callable[[], Sample]:
        return lambda: measure([*tool, *arguments, "-q", "-j", str(jobs), str(tree)], env)  # after its cold run

    plan = [
        ("floor: read every file", floor([sys.executable, "-c", FLOOR_READ, str(tree)])),
        ("floor: ast.parse every file (1 process)", floor([sys.executable, "-c", FLOOR_AST, str(tree)])),
        ("check, cold", cold(["check"])),
        ("check, warm", warm(["check"])),
        ("fix --diff, cold", cold(["fix", "--diff"])),
        ("fix --diff, warm", warm(["fix", "--diff"])),
    ]
    # Round after round of every run, not all runs of one kind in a row: on a shared machine a
    # slow minute then slows every kind alike, and the ratios below compare runs of one round.
    rounds: dict[str, list[Sample]] = {label: [] for label, _ in plan}
    for _ in range(repeat):
        for label, run in plan:
            rounds[label].append(run())
    samples = [(label, median_of(rounds[label])) for label, _ in plan]
    if with_libcst:  # minutes per run: measured once
        samples[2:2] = [
            ("floor: LibCST parse every file (1 process)", measure([sys.executable, "-c", FLOOR_LIBCST, str(tree)])),
            (f"LibCST no-op codemod, {jobs} jobs", measure([sys.executable, "-c", LIBCST_NOOP, str(tree), str(jobs)])),
        ]
    shutil.rmtree(work, ignore_errors=True)
    ratios = [
        _ratio(
            "check, cold / ast.parse floor", rounds["check, cold"], rounds["floor: ast.parse every file (1 process)"]
        ),
        _ratio("fix --diff, cold / check, cold", rounds["fix --diff, cold"], rounds["check, cold"]),
    ]
    return samples, ratios


def _ratio(label: str, numerators: list[Sample], denominators: list[Sample]) -> str:
    """The median of the rounds' ratios of wall times (each round's runs ran minutes apart at most)."""
    each = sorted(top.wall / bottom.wall for top, bottom in zip(numerators, denominators, strict=True))
    listed = ", ".join(f"{ratio:.2f}" for ratio in each)
    return f"{label}: {each[len(each) // 2]:.2f} (median of rounds: {listed})"


def report(name: str, files: int, size_mb: float, samples: list[tuple[str, Sample]]) -> str:
    lines = [
        f"### {name}: {files:,} Python files, {size_mb:.1f} MB",
        "",
        "| run | wall s | CPU s | peak RSS MB | files/s | exit |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, sample in samples:
        rate = files / sample.wall if sample.wall else 0.0
        cells = (f"{sample.wall:.2f}", f"{sample.cpu:.2f}", f"{sample.peak_rss_mb:.0f}", f"{rate:,.0f}")
        lines.append(f"| {label} | {' | '.join(cells)} | {sample.exit_code} |")
    return "\n".join(lines)


def machine() -> str:
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "celery-codemod-bench")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--project", action="append", choices=sorted(PROJECTS), help="default: all")
    parser.add_argument("--skip-libcst", action="store_true", help="skip the slow LibCST floor and no-op runs")
    parser.add_argument("--repeat", type=int, default=5, help="rounds of every run; the medians are reported")
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "celery_codemods")], check=True)
    print(f"Machine: {machine()}; jobs {args.jobs}; median of {args.repeat} rounds\n")
    for name in args.project or sorted(PROJECTS):
        source = fetch(name, args.cache_dir)
        python_files = list(source.rglob("*.py"))
        size = sum(p.stat().st_size for p in python_files) / 1e6
        samples, ratios = run_project(name, args.cache_dir, args.jobs, not args.skip_libcst, args.repeat)
        print(report(name, len(python_files), size, samples), "\n", flush=True)
        print("\n".join(f"- {ratio}" for ratio in ratios), "\n", flush=True)


if __name__ == "__main__":
    main()
