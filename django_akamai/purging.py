"""``request_purge()``: the door the signals share, commit-safe.

What to purge is planned at once (``plan``; the objects may change or vanish later). Inside
``transaction.atomic()`` on the purge's database, the plan is recorded as purge intents in that
transaction (``intents``): dropped on rollback or with a rolled-back savepoint, kept by the
commit, delivered afterwards as ``AKAMAI_DELIVERY`` says, packed with everything else pending.
Outside a transaction it is sent at once (``PurgeRequest``, the original's behaviour) or, with
``queue=True``, handed to the Celery task at once.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DEFAULT_DB_ALIAS

from . import gate, intents, plan

logger = logging.getLogger("django_akamai")

__all__ = ["request_purge", "send_now"]


def send_now(
    the_plan: plan.Plan, *, actor: str | None = None, using: str = DEFAULT_DB_ALIAS
) -> list[dict[str, Any]]:
    """Send a plan from this process; ``PurgeRequest.purge_all()``'s results (none when
    ``django_akamai.gate`` holds it: purging is off, or suspended until a block ends)."""
    if not the_plan or gate.hold(the_plan, using=using, actor=actor):
        return []
    from .purge import PurgeRequest

    with PurgeRequest(options=plan.options_dict(the_plan.options), actor=actor) as request:
        request.add_planned(the_plan.objects)
        return request.purge_all()


def request_purge(
    objects: Any,
    *,
    options: dict[str, Any] | None = None,
    queue: bool = False,
    using: str | None = None,
    actor: str | None = None,
    fail_silently: bool = False,
) -> Any:
    """Purge ``objects`` (or queue them with ``queue=True``), commit-safely.

    ``objects`` is anything ``PurgeRequest.add()`` takes. Inside a transaction on ``using``
    (default: the instance's or QuerySet's database, else ``default``) this records purge
    intents and returns ``None``. Outside one it sends at once and returns what was sent:
    ``PurgeRequest.purge_all()``'s results, or the task results (``tasks.PurgeResults``).
    ``fail_silently=True`` logs immediate failures to send instead of raising (bad objects
    and settings still raise, before anything is sent or recorded).
    """
    the_plan = plan.plan(objects, options)
    if queue:
        from . import tasks  # fail now, not after the commit, when Celery is missing
    alias = using or plan.alias_of(objects)
    if intents.in_transaction(alias):
        intents.record(the_plan, using=alias, actor=actor)
        return None
    try:
        if queue:
            return tasks.enqueue(the_plan, actor=actor)
        return send_now(the_plan, actor=actor, using=alias)
    except Exception:
        if not fail_silently:
            raise
        logger.exception("Purging %d object(s) failed", len(the_plan))
        return None
