"""``AKAMAI_DELIVERY = "tasks"``: the deliverer runs as a task of Django's Tasks framework.

Once purge intents are committed, the pipeline kicks the delivery (``delivery.kick``); in
this mode the kick is :func:`kick_delivery`, and the pipeline's delivery thread enqueues
:func:`deliver_intents` on the task backend of ``TASKS`` (so a slow task backend never holds
up the request) (with django-tasks-db, a row in the database that ``manage.py db_worker`` runs).
The task runs the pipeline's deliverer, ``delivery.worker.deliver_pending``: one sender per Akamai
account thanks to the lease, so any number of workers may run it at once.

The framework retries nothing, so the task does it itself: when intents are backing off
after a transient failure (the backoff is stored on the intents), it enqueues itself again to
run when the earliest falls due, on backends that can defer (``supports_defer``). Backends
that cannot (the immediate one) leave them to the next kick or to ``manage.py akamai_worker``.
A kick lost with its process leaves the intents pending in the database, never lost: the next
commit's kick delivers them too.

Its only argument is a database alias: no credential and no model goes into the queue.
``AKAMAI_TASKS_OPTIONS`` (e.g. ``{"queue_name": "akamai", "priority": 10}``) is passed to
``Task.using()``.

Which framework: ``django.tasks`` on Django 6.0 and later, the ``django-tasks`` backport
(the ``tasks`` extra) on Django 5.2.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import django
from django.utils import timezone

from .. import conf
from ..delivery.worker import deliver_pending

if django.VERSION >= (6, 0):
    from django.tasks import task
else:  # Django 5.2: the backport, same API
    from django_tasks import task  # type: ignore[no-redef,unused-ignore]

logger = logging.getLogger("django_akamai")

__all__ = ["deliver_intents", "kick_delivery"]


def _task_options() -> dict[str, Any]:
    return dict(conf.setting("AKAMAI_TASKS_OPTIONS") or {})


@task()
def deliver_intents(using: str | None = None) -> dict[str, Any]:
    """Deliver the pending purge intents of database ``using``; enqueue a retry if due later."""
    report = deliver_pending(using)
    if report.config_error:
        logger.error("Purge intents stay pending: %s", report.config_error)
    elif not report.busy and report.next_attempt_at is not None:
        # The lease holder (when busy) looks again before it lets go; otherwise nobody
        # else will come back for intents that are backing off: schedule it.
        _enqueue(using, run_after=max(report.next_attempt_at, timezone.now()))
    return report.task_result()


def _enqueue(using: str | None, run_after: Any = None) -> None:
    options = _task_options()
    configured = deliver_intents.using(**options) if options else deliver_intents
    if run_after is not None:
        if not configured.get_backend().supports_defer:
            logger.warning(
                "Purge intents back off until %s; the task backend %r cannot defer a task, "
                "so they go out with the next delivery",
                run_after.isoformat(),
                configured.backend,
            )
            return
        configured = configured.using(run_after=run_after)
    configured.enqueue(using)


def kick_delivery(alias: str) -> Callable[[], None]:
    """``AKAMAI_DELIVERY = "tasks"``: what enqueues one ``deliver_intents`` task for ``alias``.

    Called after the commit in the committing thread; the pipeline's delivery thread runs
    what it returns, so a slow task backend delays delivery (the intents are in the
    database), never the request.
    """
    return lambda: _enqueue(alias)
