from __future__ import annotations

from pathlib import Path

from tests.helpers import assert_fixes, assert_unchanged, check_tree

CODE = "CEL002"

# Fixes


def test_single_return_is_computed_before_the_completion_record(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        import logging

        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def send_receipt(order_id, template):
            order = Order.objects.get(pk=order_id)
            return mail_receipt(order, template)
        """,
        """\
        import logging

        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def send_receipt(order_id, template):
            logger.info("send_receipt started (order_id=%s)", order_id)
            order = Order.objects.get(pk=order_id)
            result = mail_receipt(order, template)
            logger.info("send_receipt completed")
            return result
        """,
        CODE,
    )


def test_every_return_path_logs_completion(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def recalculate(order_pk):
            order = load(order_pk)
            if order.closed:
                return None
            elif not order.lines:
                # nothing to add up
                return "0.00"  # as text
            else:
                return str(order.total())
        """,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def recalculate(order_pk):
            logger.info("recalculate started (order_pk=%s)", order_pk)
            order = load(order_pk)
            if order.closed:
                logger.info("recalculate completed")
                return None
            elif not order.lines:
                # nothing to add up
                logger.info("recalculate completed")
                return "0.00"  # as text
            else:
                result = str(order.total())
                logger.info("recalculate completed")
                return result
        """,
        CODE,
    )


def test_return_on_the_same_line_as_its_if_gets_a_block(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def refresh(user_id):
            if skip(user_id): return False  # cheap exit
            done = refresh_all(user_id); return done
        """,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def refresh(user_id):
            logger.info("refresh started (user_id=%s)", user_id)
            if skip(user_id):  # cheap exit
                logger.info("refresh completed")
                return False
            done = refresh_all(user_id)
            result = done
            logger.info("refresh completed")
            return result
        """,
        CODE,
    )


def test_return_inside_try_finally_logs_before_the_finally(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def export(report_id):
            handle = open_export(report_id)
            try:
                return handle.write_all()
            finally:
                handle.close()
        """,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def export(report_id):
            logger.info("export started (report_id=%s)", report_id)
            handle = open_export(report_id)
            try:
                result = handle.write_all()
                logger.info("export completed")
                return result
            finally:
                handle.close()
        """,
        CODE,
    )


def test_return_in_a_loop_and_falling_off_the_end_both_log(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def first_free(slot_ids):
            for slot_id in slot_ids:
                if is_free(slot_id):
                    return reserve(slot_id)
            notify_full()
        """,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def first_free(slot_ids):
            logger.info("first_free started (slot_ids=%s)", slot_ids)
            for slot_id in slot_ids:
                if is_free(slot_id):
                    result = reserve(slot_id)
                    logger.info("first_free completed")
                    return result
            notify_full()
            logger.info("first_free completed")
        """,
        CODE,
    )


def test_bare_return_gets_the_record_before_it(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def ping(host):
            if not host:
                return
            send_ping(host)
        """,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def ping(host):
            logger.info("ping started")
            if not host:
                logger.info("ping completed")
                return
            send_ping(host)
            logger.info("ping completed")
        """,
        CODE,
    )


def test_no_completion_record_after_a_final_raise_or_exhaustive_if(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def check(item_id):
            if valid(item_id):
                return True
            else:
                raise ValueError("invalid")


        @shared_task
        def fail(item_id):
            raise NotImplementedError
        """,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def check(item_id):
            logger.info("check started (item_id=%s)", item_id)
            if valid(item_id):
                logger.info("check completed")
                return True
            else:
                raise ValueError("invalid")


        @shared_task
        def fail(item_id):
            logger.info("fail started (item_id=%s)", item_id)
            raise NotImplementedError
        """,
        CODE,
    )


def test_no_completion_record_after_an_endless_loop_or_a_returning_with_block(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def drain(queue_id):
            while True:
                if not pop(queue_id):
                    return


        @shared_task
        def locked(queue_id):
            with lock(queue_id):
                return pop(queue_id)


        @shared_task
        def poll(queue_id):
            while True:
                for item in pop(queue_id):
                    if item is None:
                        break  # leaves only the inner loop
        """,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def drain(queue_id):
            logger.info("drain started (queue_id=%s)", queue_id)
            while True:
                if not pop(queue_id):
                    logger.info("drain completed")
                    return


        @shared_task
        def locked(queue_id):
            logger.info("locked started (queue_id=%s)", queue_id)
            with lock(queue_id):
                result = pop(queue_id)
                logger.info("locked completed")
                return result


        @shared_task
        def poll(queue_id):
            logger.info("poll started (queue_id=%s)", queue_id)
            while True:
                for item in pop(queue_id):
                    if item is None:
                        break  # leaves only the inner loop
        """,
        CODE,
    )


def test_a_loop_that_can_break_still_reaches_the_end(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def drain(queue_id):
            while True:
                for item in pop(queue_id):
                    if item is None:
                        break
                else:
                    break
        """,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def drain(queue_id):
            logger.info("drain started (queue_id=%s)", queue_id)
            while True:
                for item in pop(queue_id):
                    if item is None:
                        break
                else:
                    break
            logger.info("drain completed")
        """,
        CODE,
    )


def test_return_in_finally_and_exhaustive_match_need_no_record_at_the_end(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def close(conn_id):
            try:
                work(conn_id)
            finally:
                return cleanup(conn_id)


        @shared_task
        def route(event_id):
            match load(event_id):
                case {"kind": kind}:
                    if kind: record(kind)
                    return kind
                case _:
                    return None
        """,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def close(conn_id):
            logger.info("close started (conn_id=%s)", conn_id)
            try:
                work(conn_id)
            finally:
                result = cleanup(conn_id)
                logger.info("close completed")
                return result


        @shared_task
        def route(event_id):
            logger.info("route started (event_id=%s)", event_id)
            match load(event_id):
                case {"kind": kind}:
                    if kind: record(kind)
                    result = kind
                    logger.info("route completed")
                    return result
                case _:
                    logger.info("route completed")
                    return None
        """,
        CODE,
    )


def test_names_bound_by_imports_globals_and_patterns_are_not_reused(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def tally(event_id):
            global result
            import json as result_1
            match load(event_id):
                case {**result_2}:
                    result += 1
            return result_1.dumps(result_2)
        """,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def tally(event_id):
            logger.info("tally started (event_id=%s)", event_id)
            global result
            import json as result_1
            match load(event_id):
                case {**result_2}:
                    result += 1
            result_3 = result_1.dumps(result_2)
            logger.info("tally completed")
            return result_3
        """,
        CODE,
    )


def test_start_record_goes_after_the_docstring(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def purge(days):
            \"\"\"Delete what is older than ``days``.\"\"\"

            # the cutoff is computed once
            cutoff = now() - days
            Thing.objects.filter(created__lt=cutoff).delete()
        """,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def purge(days):
            \"\"\"Delete what is older than ``days``.\"\"\"
            logger.info("purge started")

            # the cutoff is computed once
            cutoff = now() - days
            Thing.objects.filter(created__lt=cutoff).delete()
            logger.info("purge completed")
        """,
        CODE,
    )


def test_existing_logger_is_used_whatever_its_name(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery import shared_task
        from celery.utils.log import get_task_logger

        log = get_task_logger(__name__)


        @shared_task
        def rebuild_index(pk):
            rebuild(pk)
        """,
        """\
        from celery import shared_task
        from celery.utils.log import get_task_logger

        log = get_task_logger(__name__)


        @shared_task
        def rebuild_index(pk):
            log.info("rebuild_index started (pk=%s)", pk)
            rebuild(pk)
            log.info("rebuild_index completed")
        """,
        CODE,
    )


def test_module_without_a_logger_gets_one(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery import shared_task


        @shared_task
        def rebuild_index(pk):
            rebuild(pk)
        """,
        """\
        from celery import shared_task
        import logging

        logger = logging.getLogger(__name__)


        @shared_task
        def rebuild_index(pk):
            logger.info("rebuild_index started (pk=%s)", pk)
            rebuild(pk)
            logger.info("rebuild_index completed")
        """,
        CODE,
    )


def test_logger_factory_setting_adds_a_celery_task_logger(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery import shared_task


        @shared_task
        def rebuild_index(pk):
            rebuild(pk)
        """,
        """\
        from celery import shared_task
        from celery.utils.log import get_task_logger

        logger = get_task_logger(__name__)


        @shared_task
        def rebuild_index(pk):
            logger.info("rebuild_index started (pk=%s)", pk)
            rebuild(pk)
            logger.info("rebuild_index completed")
        """,
        CODE,
        logger_factory="get_task_logger",
    )


def test_bound_task_skips_self_and_app_task_logs_only_id_arguments(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        import logging
        from celery import Celery, shared_task

        app = Celery("shop")
        logger = logging.getLogger(__name__)


        @shared_task(bind=True)
        def charge(self, order_id, amount, *, user_pk, card):
            gateway.charge(order_id, amount, card)


        @app.task
        def notify(id, customer, message_uuid, line_ids=(), **extra_id):
            push(id, customer, message_uuid, line_ids)
        """,
        """\
        import logging
        from celery import Celery, shared_task

        app = Celery("shop")
        logger = logging.getLogger(__name__)


        @shared_task(bind=True)
        def charge(self, order_id, amount, *, user_pk, card):
            logger.info("charge started (order_id=%s, user_pk=%s)", order_id, user_pk)
            gateway.charge(order_id, amount, card)
            logger.info("charge completed")


        @app.task
        def notify(id, customer, message_uuid, line_ids=(), **extra_id):
            logger.info("notify started (id=%s, message_uuid=%s, line_ids=%s)", id, message_uuid, line_ids)
            push(id, customer, message_uuid, line_ids)
            logger.info("notify completed")
        """,
        CODE,
    )


def test_result_local_does_not_clash_with_names_the_function_uses(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def total(order_id):
            result = fetch(order_id)
            result_1 = [line for line in result]
            return sum(result_1)
        """,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def total(order_id):
            logger.info("total started (order_id=%s)", order_id)
            result = fetch(order_id)
            result_1 = [line for line in result]
            result_2 = sum(result_1)
            logger.info("total completed")
            return result_2
        """,
        CODE,
    )


def test_nested_function_returns_are_untouched(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def resize(image_id):
            def scale(size):
                return size // 2

            class Box:
                def area(self):
                    return 4

            sizes = map(lambda s: s + 1, [scale(8)])
            return store(image_id, sizes, Box())
        """,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def resize(image_id):
            logger.info("resize started (image_id=%s)", image_id)
            def scale(size):
                return size // 2

            class Box:
                def area(self):
                    return 4

            sizes = map(lambda s: s + 1, [scale(8)])
            result = store(image_id, sizes, Box())
            logger.info("resize completed")
            return result
        """,
        CODE,
    )


def test_one_line_task_body_becomes_a_block(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def square(n): return n * n
        """,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def square(n):
            logger.info("square started")
            result = n * n
            logger.info("square completed")
            return result
        """,
        CODE,
    )


def test_composes_with_silent_except_in_the_same_run(tmp_path: Path) -> None:
    assert_fixes(
        tmp_path,
        """\
        from celery import shared_task


        @shared_task
        def sync(product_ids):
            for product_id in product_ids:
                try:
                    push(product_id)
                except Exception:
                    continue
            try:
                return summary(product_ids)
            except Exception:
                pass
        """,
        """\
        from celery import shared_task
        import logging

        logger = logging.getLogger(__name__)


        @shared_task
        def sync(product_ids):
            logger.info("sync started (product_ids=%s)", product_ids)
            for product_id in product_ids:
                try:
                    push(product_id)
                except Exception:
                    logger.exception("sync: exception ignored")
                    continue
            try:
                result = summary(product_ids)
                logger.info("sync completed")
                return result
            except Exception:
                logger.exception("sync: exception ignored")
            logger.info("sync completed")
        """,
        ("CEL001", "CEL002"),
    )


def test_finding_names_the_task_and_is_safe(tmp_path: Path) -> None:
    [finding] = check_tree(
        tmp_path,
        {
            "tasks.py": """\
            from celery import shared_task


            @shared_task
            def rebuild_index(pk):
                rebuild(pk)
            """
        },
        CODE,
    )
    assert (finding.line, finding.col) == (5, 0)
    assert finding.message == "task `rebuild_index` logs nothing: no record of when it starts or completes"
    assert finding.fix is not None and finding.fix.safety.value == "safe"


# Look-alikes


def test_task_logging_through_the_module_logger_is_left_alone(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def send(order_id):
            if not order_id:
                logger.debug("nothing to send")
                return None
            return deliver(order_id)
        """,
        CODE,
    )


def test_task_logging_through_the_logging_module_is_left_alone(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        import logging
        from celery import shared_task


        @shared_task
        def send(order_id):
            logging.info("sending %s", order_id)
            return deliver(order_id)
        """,
        CODE,
    )


def test_task_calling_an_imported_logging_function_is_left_alone(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        from logging import warning
        from celery import shared_task


        @shared_task
        def resend(order_id):
            warning("resending %s", order_id)
            return deliver(order_id)
        """,
        CODE,
    )


def test_task_with_a_local_task_logger_is_left_alone(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        from celery import shared_task
        from celery.utils.log import get_task_logger


        @shared_task
        def send(order_id):
            log = get_task_logger(__name__)
            try:
                deliver(order_id)
            except Exception:
                log.exception("send failed")
                raise
        """,
        CODE,
    )


def test_bound_task_logging_through_its_own_logger_is_left_alone(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        from celery import shared_task


        @shared_task(bind=True)
        def resend(self, order_id):
            self.get_logger().warning("resending %s", order_id)
            return deliver(order_id)
        """,
        CODE,
    )


def test_task_logging_through_structlog_is_left_alone(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        import structlog
        from celery import shared_task

        log = structlog.get_logger()


        @shared_task
        def send(order_id):
            log.bind(order_id=order_id).info("send")
            return deliver(order_id)
        """,
        CODE,
    )


def test_task_logging_through_an_imported_logger_is_left_alone(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        from celery import shared_task

        from shop.logs import log


        @shared_task
        def send(order_id):
            if not deliver(order_id):
                log.error("order %s not delivered", order_id)
        """,
        CODE,
    )


def test_logging_in_a_nested_function_counts_as_logging(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def resend(order_id):
            def report(outcome):
                logger.log(logging.INFO, "resend %s: %s", order_id, outcome)

            report(deliver(order_id))
        """,
        CODE,
    )


def test_anything_that_looks_like_a_logger_method_counts_as_logging(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        import warnings
        from celery import shared_task


        @shared_task
        def legacy_sync(order_id):
            warnings.warn("legacy_sync is deprecated", DeprecationWarning)
            return deliver(order_id)
        """,
        CODE,
    )


def test_non_task_functions_are_left_alone(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        import functools


        @functools.lru_cache
        def rates(currency_id):
            return fetch_rates(currency_id)


        def send(order_id):
            return deliver(order_id)
        """,
        CODE,
    )


def test_method_of_a_plain_class_is_left_alone(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        class Sender:
            @staticmethod
            def send_task(order_id):
                return deliver(order_id)
        """,
        CODE,
    )


def test_generator_task_is_left_alone(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        from celery import shared_task


        @shared_task
        def chunks(order_ids):
            for order_id in order_ids:
                yield load(order_id)
        """,
        CODE,
    )
    assert check_tree(tmp_path, {}, CODE) == []


def test_async_task_is_left_alone(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        from celery import shared_task


        @shared_task
        async def fetch(order_id):
            return await client.get(order_id)
        """,
        CODE,
    )
    assert check_tree(tmp_path, {}, CODE) == []


def test_docstring_only_task_is_left_alone(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        from celery import shared_task


        @shared_task
        def later(order_id):
            \"\"\"Implemented by the billing team.\"\"\"
        """,
        CODE,
    )


def test_pass_and_ellipsis_tasks_are_left_alone(tmp_path: Path) -> None:
    assert_unchanged(
        tmp_path,
        """\
        from celery import shared_task


        @shared_task
        def stub(order_id): ...


        @shared_task
        def noop(order_id):
            \"\"\"Does nothing yet.\"\"\"
            pass
        """,
        CODE,
    )


def test_print_does_not_count_as_logging_but_a_math_log_call_does_not_hide_it(tmp_path: Path) -> None:
    findings = check_tree(
        tmp_path,
        {
            "tasks.py": """\
            import math
            from celery import shared_task


            @shared_task
            def score(order_id):
                print("scoring", order_id)
                return math.log(order_id)
            """
        },
        CODE,
    )
    assert [finding.line for finding in findings] == [6]


def test_local_shadowing_the_logger_is_reported_without_a_fix(tmp_path: Path) -> None:
    source = """\
        import logging
        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task
        def send(order_id, logger=None):
            return deliver(order_id, logger)
        """
    assert_unchanged(tmp_path, source, CODE)
    [finding] = check_tree(tmp_path, {}, CODE)
    assert finding.fix is None
    assert "a local named `logger` shadows the module's logger" in finding.message


def test_suppression_comment_on_the_decorator_silences_the_finding(tmp_path: Path) -> None:
    findings = check_tree(
        tmp_path,
        {
            "tasks.py": """\
            from celery import shared_task


            @shared_task  # celery-codemod: ignore[CEL002]
            def rebuild_index(pk):
                rebuild(pk)
            """
        },
        CODE,
    )
    assert findings == []
