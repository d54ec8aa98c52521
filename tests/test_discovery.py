"""Which files a run looks at: excludes, .gitignore, symlinks, odd names and unreadable places."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from celery_codemods import discovery
from celery_codemods.discovery import PatternError, discover


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n", encoding="utf-8")


def names(root: Path, files: tuple[Path, ...]) -> list[str]:
    return sorted(Path(os.path.relpath(path, root)).as_posix() for path in files)


def test_walks_python_files_and_skips_default_excludes(tmp_path: Path) -> None:
    touch(tmp_path, "app/tasks.py", "app/migrations/0001_initial.py", "node_modules/x.py", "notes.txt", "build/x.py")
    touch(tmp_path, "env/pyvenv.cfg", "env/lib/x.py")
    assert names(tmp_path, discover([tmp_path]).files) == ["app/tasks.py"]


def test_gitignore_is_honoured_and_an_invalid_line_in_it_is_skipped(tmp_path: Path) -> None:
    touch(tmp_path, "keep.py", "generated.py", "sub/other.py")
    (tmp_path / ".gitignore").write_text("generated.py\n!\n\\\nsub/\n", encoding="utf-8")
    assert names(tmp_path, discover([tmp_path]).files) == ["keep.py"]


def test_invalid_exclude_pattern_is_a_pattern_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(PatternError, match="exclude pattern '!' is not valid"):
        discover([tmp_path], exclude=["legacy/", "!"])


def test_names_with_spaces_and_non_ascii(tmp_path: Path) -> None:
    touch(tmp_path, "my app/tâches.py", "日本/任务.py")
    assert names(tmp_path, discover([tmp_path]).files) == ["my app/tâches.py", "日本/任务.py"]


def test_a_path_given_twice_or_inside_another_is_listed_once(tmp_path: Path) -> None:
    touch(tmp_path, "a.py", "pkg/b.py")
    found = discover([tmp_path, tmp_path / "a.py", tmp_path, tmp_path / "pkg", tmp_path / "pkg" / ".." / "a.py"])
    assert names(tmp_path, found.files) == ["a.py", "pkg/b.py"]


def test_missing_path_is_reported(tmp_path: Path) -> None:
    assert discover([tmp_path / "nope"]).missing == (tmp_path / "nope",)


def test_explicit_file_is_kept_whatever_its_name(tmp_path: Path) -> None:
    touch(tmp_path, "build/script")
    assert discover([tmp_path / "build" / "script"]).files == (tmp_path / "build" / "script",)


def test_symlinked_file_inside_the_project_is_listed_once(tmp_path: Path) -> None:
    touch(tmp_path, "real.py")
    (tmp_path / "alias.py").symlink_to("real.py")
    found = discover([tmp_path])
    assert len(found.files) == 1
    assert found.outside == ()


def test_symlink_loop_is_walked_once(tmp_path: Path) -> None:
    touch(tmp_path, "pkg/a.py")
    (tmp_path / "pkg" / "loop").symlink_to("..")
    (tmp_path / "pkg" / "self").symlink_to(".")
    found = discover([tmp_path])
    assert names(tmp_path, found.files) == ["pkg/a.py"]


def test_symlinked_file_outside_the_project_is_read_but_marked_outside(tmp_path: Path) -> None:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    touch(project, "a.py")
    touch(elsewhere, "shared.py")
    (project / "shared.py").symlink_to(elsewhere / "shared.py")
    found = discover([project])
    assert names(project, found.files) == ["a.py", "shared.py"]
    assert found.outside == (project / "shared.py",)


def test_outside_file_given_explicitly_is_not_outside(tmp_path: Path) -> None:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    touch(project, "a.py")
    touch(elsewhere, "shared.py")
    (project / "shared.py").symlink_to(elsewhere / "shared.py")
    assert discover([project, project / "shared.py"]).outside == ()


def test_symlinked_directory_outside_the_project_is_not_walked(tmp_path: Path) -> None:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    touch(project, "a.py")
    touch(elsewhere, "lib/x.py")
    (project / "vendored").symlink_to(elsewhere / "lib")
    (project / "up").symlink_to(tmp_path)
    assert names(project, discover([project]).files) == ["a.py"]


def test_symlinked_directory_inside_the_project_is_walked(tmp_path: Path) -> None:
    touch(tmp_path, "real/a.py")
    (tmp_path / "alias").symlink_to("real")
    found = discover([tmp_path / "alias"])
    assert names(tmp_path, found.files) == ["alias/a.py"]
    assert found.outside == ()


def test_fifo_and_dangling_symlink_named_py_are_skipped(tmp_path: Path) -> None:
    touch(tmp_path, "a.py")
    os.mkfifo(tmp_path / "pipe.py")
    (tmp_path / "dangling.py").symlink_to("nowhere.py")
    assert names(tmp_path, discover([tmp_path]).files) == ["a.py"]


def test_unreadable_directory_is_reported_and_the_walk_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    touch(tmp_path, "a.py", "locked/b.py", "z/c.py")
    real_scandir = os.scandir

    def scandir(path: Path) -> object:
        if Path(path).name == "locked":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        return real_scandir(path)

    monkeypatch.setattr(discovery.os, "scandir", scandir)
    found = discover([tmp_path])
    assert names(tmp_path, found.files) == ["a.py", "z/c.py"]
    assert found.unreadable == ((tmp_path / "locked", "Permission denied"),)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every directory")
def test_unreadable_directory_by_mode(tmp_path: Path) -> None:  # pragma: no cover - not run as root
    touch(tmp_path, "a.py", "locked/b.py")
    (tmp_path / "locked").chmod(0)
    try:
        found = discover([tmp_path])
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert names(tmp_path, found.files) == ["a.py"]
    assert [path for path, _ in found.unreadable] == [tmp_path / "locked"]


def test_anchored_gitignore_patterns_at_every_level_match_relative_to_their_own_directory(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    touch(
        repo, "src/gen.py", "src/app/gen.py", "src/app/deep/gen.py", "src/app/keep.py", "src/top.py", "src/app/top.py"
    )
    (repo / ".git").mkdir()
    (repo / ".gitignore").write_text("/src/top.py\n", encoding="utf-8")  # above the root walked
    (repo / "src" / "app" / ".gitignore").write_text("/gen.py\ndeep/\n", encoding="utf-8")
    found = discover([repo / "src"])
    assert names(repo / "src", found.files) == ["app/keep.py", "app/top.py", "gen.py"]


def test_a_file_reached_through_a_symlinked_directory_inside_is_listed_once_and_writable(tmp_path: Path) -> None:
    touch(tmp_path, "pkg/a.py", "pkg/inner/b.py")
    (tmp_path / "alias").symlink_to("pkg")
    (tmp_path / "pkg" / "inner" / "up").symlink_to("..")
    found = discover([tmp_path])
    assert names(tmp_path, found.files) == ["alias/a.py", "alias/inner/b.py"]
    assert found.outside == ()
