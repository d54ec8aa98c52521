"""Project-wide task decorator.

Every team wrapped shared_task at some point; ours turns on acks_late and
puts a hard time limit on everything so that a stuck task cannot hold a
worker forever.
"""
from celery import shared_task


def shop_task(**opts):
    opts.setdefault("acks_late", True)
    opts.setdefault("time_limit", 300)

    def deco(func):
        return shared_task(**opts)(func)

    return deco
