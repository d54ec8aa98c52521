from __future__ import annotations

from pathlib import Path

from tests.helpers import check_tree

CODE = "CEL514"


def findings(root: Path, source: str) -> list[tuple[int, str]]:
    return [(f.line, f.message) for f in check_tree(root, {"tasks.py": source}, CODE, preview=True)]


def test_loop_over_a_manager_queryset_without_progress(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task


        @shared_task
        def reindex_products():
            for product in Product.objects.all():
                search.index(product)
        """
    assert findings(tmp_path, source) == [
        (
            6,
            "task `reindex_products` works through `Product.objects.all()` one item at a time with no progress: "
            "no `update_state`, no log inside the loop, no subtasks; a long run looks hung and loses its place "
            "when stopped; report progress with `self.update_state(...)` (bind=True), log every N items, or "
            "split it into subtasks (`chunks`, `group`)",
        )
    ]


def test_iterator_and_queryset_wrappers(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task


        @shared_task
        def sweep(queryset):
            for row in queryset.filter(active=True).iterator(chunk_size=500):
                row.refresh()
            for org in RangeQuerySetWrapper(Organization.objects.all(), step=1000):
                bill(org)
        """
    assert [line for line, _ in findings(tmp_path, source)] == [6, 8]


def test_needs_preview(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task


        @shared_task
        def reindex_products():
            for product in Product.objects.all():
                search.index(product)
        """
    assert check_tree(tmp_path, {"tasks.py": source}, CODE) == []


# --- look-alikes ---------------------------------------------------------------------------------


def test_progress_by_update_state_or_log(tmp_path: Path) -> None:
    source = """\
        import logging

        from celery import shared_task

        logger = logging.getLogger(__name__)


        @shared_task(bind=True)
        def reindex_products(self):
            for done, product in enumerate(Product.objects.iterator()):
                search.index(product)
            self.update_state(state="PROGRESS", meta={"done": done})


        @shared_task
        def reindex_orders():
            for order in Order.objects.all():
                search.index(order)
                logger.info("indexed %s", order.pk)
        """
    assert findings(tmp_path, source) == []


def test_fan_out_to_subtasks(tmp_path: Path) -> None:
    source = """\
        from celery import group, shared_task


        @shared_task
        def reindex_all():
            for product in Product.objects.all():
                reindex_one.delay(product.pk)
            for component in Component.objects.all():
                component.schedule_update()
            for chunk in Order.objects.iterator():
                group(reindex_one.s(chunk.pk))
        """
    assert findings(tmp_path, source) == []


def test_small_or_trivial_loops_and_non_tasks(tmp_path: Path) -> None:
    source = """\
        from celery import shared_task


        @shared_task
        def collect(order_id):
            order = Order.objects.get(pk=order_id)
            for line in order.lines.all():
                ship(line)
            ids = []
            for product in Product.objects.filter(active=True):
                ids.append(product.pk)
            for value in range(10):
                ship(value)
            return ids


        def reindex_products():
            for product in Product.objects.all():
                search.index(product)
        """
    assert findings(tmp_path, source) == []
