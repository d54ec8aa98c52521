from __future__ import annotations

from pathlib import Path

from celery_codemods.findings import Finding
from tests.helpers import check_tree

CODE = "CEL401"

SHOP_TASKS = """\
    from celery import shared_task


    @shared_task
    def purge_sessions():
        pass


    @shared_task(name="reports.nightly")
    def build_nightly_report():
        pass
    """


def django_project(schedule: str, **more: str) -> dict[str, str]:
    """A Django layout: settings in ``config``, tasks in the ``shop`` app."""
    return {
        "manage.py": "import os\n",
        "config/__init__.py": "",
        "config/settings.py": "from celery.schedules import crontab\n\nCELERY_BEAT_SCHEDULE = " + schedule,
        "shop/__init__.py": "",
        "shop/tasks.py": SHOP_TASKS,
        **more,
    }


def findings(tmp_path: Path, files: dict[str, str]) -> list[Finding]:
    return check_tree(tmp_path, files, CODE)


def test_typo_in_settings_schedule_is_reported_with_the_closest_name(tmp_path: Path) -> None:
    schedule = """{
    "purge": {"task": "shop.tasks.purge_sesions", "schedule": crontab(hour=3)},
}
"""
    [finding] = findings(tmp_path, django_project(schedule))
    assert finding.path.endswith("config/settings.py")
    assert (finding.line, finding.col) == (4, 22)
    assert finding.message == (
        "beat entry 'purge' names task 'shop.tasks.purge_sesions', which no task in the project registers; "
        "did you mean 'shop.tasks.purge_sessions'?"
    )


def test_names_in_other_apps_resolve_through_packages(tmp_path: Path) -> None:
    schedule = """{
    "purge": {"task": "shop.tasks.purge_sessions", "schedule": crontab(hour=3)},
    "rates": {"task": "fx.jobs.refresh.refresh_rates", "schedule": 60.0},
}
"""
    files = django_project(
        schedule,
        **{
            "fx/__init__.py": "",
            "fx/jobs/__init__.py": "",
            "fx/jobs/refresh.py": "from config.celery import app\n\n@app.task\ndef refresh_rates():\n    pass\n",
        },
    )
    assert findings(tmp_path, files) == []


def test_explicit_name_is_the_registered_name(tmp_path: Path) -> None:
    schedule = '{"nightly": {"task": "reports.nightly", "schedule": crontab(hour=1)}}\n'
    assert findings(tmp_path, django_project(schedule)) == []


def test_import_path_of_a_renamed_task_says_which_name_to_use(tmp_path: Path) -> None:
    schedule = '{"nightly": {"task": "shop.tasks.build_nightly_report", "schedule": crontab(hour=1)}}\n'
    [finding] = findings(tmp_path, django_project(schedule))
    assert finding.message == (
        "beat entry 'nightly' names task 'shop.tasks.build_nightly_report', the import path of a task "
        "registered as 'reports.nightly' (its `name=`); beat sends by registered name, so use 'reports.nightly'"
    )


def test_app_task_with_name_and_registration_call(tmp_path: Path) -> None:
    files = {
        "proj/__init__.py": "",
        "proj/celery.py": """\
            from celery import Celery

            app = Celery("proj")


            def ping():
                pass


            ping_task = app.task(name="proj.ping")(ping)


            @app.task(name="proj.pong")
            def pong():
                pass


            app.conf.beat_schedule = {
                "ping": {"task": "proj.ping", "schedule": 10.0},
                "pong": {"task": "proj.pong", "schedule": 10.0},
                "pang": {"task": "proj.pang", "schedule": 10.0},
            }
            """,
    }
    [finding] = findings(tmp_path, files)
    assert finding.line == 21
    assert "'proj.pang'" in finding.message


def test_project_wrapper_decorator_registers_tasks(tmp_path: Path) -> None:
    files = {
        "proj/__init__.py": "",
        "proj/celery.py": "from celery import Celery\n\napp = Celery('proj')\n",
        "proj/decorators.py": """\
            from proj.celery import app


            def job(**options):
                return app.task(**options)
            """,
        "proj/tasks.py": """\
            \"\"\"Search tasks.\"\"\"  # the index's byte prefilter skips files that never say 'task'
            from proj.decorators import job


            @job()
            def reindex():
                pass
            """,
        "proj/celeryconfig.py": """\
            beat_schedule = {
                "reindex": {"task": "proj.tasks.reindex", "schedule": 60.0},
                "reindex-typo": {"task": "proj.tasks.reindx", "schedule": 60.0},
            }
            """,
    }
    [finding] = findings(tmp_path, files)
    assert finding.line == 3
    assert finding.message.endswith("did you mean 'proj.tasks.reindex'?")


def test_class_based_task_name_is_known(tmp_path: Path) -> None:
    files = {
        "proj/__init__.py": "",
        "proj/tasks.py": """\
            from celery import Task, shared_task

            from proj.celery import app


            class Cleanup(Task):
                name = "proj.cleanup"

                def run(self):
                    pass


            app.register_task(Cleanup())


            @shared_task
            def other():
                pass


            app.conf.beat_schedule = {"cleanup": {"task": "proj.cleanup", "schedule": 60.0}}
            """,
    }
    assert findings(tmp_path, files) == []


def test_add_periodic_task_with_signature_by_name(tmp_path: Path) -> None:
    files = {
        "proj/__init__.py": "",
        "proj/tasks.py": """\
            from celery import shared_task

            from proj.celery import app


            @shared_task
            def ping():
                pass


            @app.on_after_configure.connect
            def setup(sender, **kwargs):
                sender.add_periodic_task(10.0, sender.signature("proj.tasks.pong"))
                sender.add_periodic_task(10.0, sender.signature("proj.tasks.ping"))
            """,
    }
    [finding] = findings(tmp_path, files)
    assert finding.line == 13
    assert finding.message.startswith("periodic task names task 'proj.tasks.pong'")


# --- look-alikes: nothing to report ------------------------------------------------


def test_celery_builtin_and_third_party_names_are_not_reported(tmp_path: Path) -> None:
    schedule = """{
    "cleanup": {"task": "celery.backend_cleanup", "schedule": crontab(hour=4)},
    "results": {"task": "django_celery_results.tasks.clean", "schedule": crontab(hour=5)},
    "mail": {"task": "djcelery_email_send_multiple", "schedule": 60.0},
}
"""
    assert findings(tmp_path, django_project(schedule)) == []


def test_no_tasks_in_scanned_paths_reports_nothing(tmp_path: Path) -> None:
    files = {
        "config/__init__.py": "",
        "config/settings.py": 'CELERY_BEAT_SCHEDULE = {"x": {"task": "config.tasks.nope", "schedule": 60.0}}\n',
    }
    assert findings(tmp_path, files) == []


def test_computed_task_name_is_not_reported(tmp_path: Path) -> None:
    schedule = """{
    "purge": {"task": PREFIX + ".purge", "schedule": crontab(hour=3)},
    "other": {"task": f"shop.tasks.{NAME}", "schedule": crontab(hour=3)},
}
"""
    assert findings(tmp_path, django_project(schedule)) == []


def test_task_with_computed_name_makes_every_name_possible(tmp_path: Path) -> None:
    schedule = '{"purge": {"task": "shop.tasks.whatever", "schedule": 60.0}}\n'
    files = django_project(
        schedule,
        **{"shop/more.py": "from celery import shared_task\n\n@shared_task(name=NAME)\ndef f():\n    pass\n"},
    )
    assert findings(tmp_path, files) == []


def test_local_variable_named_beat_schedule_is_not_configuration(tmp_path: Path) -> None:
    files = django_project(
        "{}\n",
        **{
            "shop/report.py": """\
                def describe():
                    beat_schedule = {"x": {"task": "shop.tasks.nope", "schedule": 1}}
                    return beat_schedule
                """
        },
    )
    assert findings(tmp_path, files) == []


def test_namespace_package_prefix_still_matches(tmp_path: Path) -> None:
    # ``shop`` has no __init__.py: the index sees module ``tasks``, Celery ``shop.tasks``.
    files = {
        "shop/tasks.py": SHOP_TASKS,
        "config/__init__.py": "",
        "config/settings.py": 'CELERY_BEAT_SCHEDULE = {"p": {"task": "shop.tasks.purge_sessions", "schedule": 1.0}}\n',
    }
    assert findings(tmp_path, files) == []


def test_suppression_comment(tmp_path: Path) -> None:
    schedule = """{
    "purge": {"task": "shop.tasks.purge_sesions", "schedule": 1.0},  # noqa: CEL401
}
"""
    assert findings(tmp_path, django_project(schedule)) == []
