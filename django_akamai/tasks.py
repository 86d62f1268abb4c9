"""Celery tasks: purges sent from a worker, and the deliverer of recorded purge intents.

``PurgeRequestTask.delay(obj)`` is the original's entry point. It plans ``obj`` (URLs, model
instances, QuerySets, lists) here, in the caller's process (``django_akamai.funnel``), cuts the
plan into request-sized batches and sends one ``purge_objects`` task per batch. A task message
carries only the planned objects, the options, who asked and the account's name (each
account's part is a task of its own): JSON-serialisable, no model, no credential (the worker
reads its own settings). The worker sends them as planned
(``django_akamai.sender``): the tag prefix is never applied twice.

``PurgeRequestTask.delay_on_commit(obj)`` inside a transaction records purge intents instead
(``django_akamai.funnel``), delivered as ``AKAMAI_DELIVERY`` says. ``deliver_intents`` is the
deliverer as a task (``AKAMAI_DELIVERY = "celery"``): kicked after each commit, and worth
scheduling with Celery beat as the safety net for a lost kick::

    CELERY_BEAT_SCHEDULE = {
        "akamai-deliver": {"task": "django_akamai.tasks.deliver_intents", "schedule": 60.0},
    }

Why a plain front class rather than overriding ``apply_async`` on the Celery task: Celery
itself calls ``apply_async`` for retries and in canvases, with arguments that are already
URLs; keeping the registered task a plain JSON task leaves those paths untouched.

Found by ``app.autodiscover_tasks()`` in a standard Celery + Django layout: ``shared_task``
registers the task with whichever Celery app the project defines.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import Task, shared_task, uuid
from celery.result import ResultSet

from . import conf, funnel, switches
from .delivery import log_report
from .delivery.worker import deliver_pending
from .exceptions import PurgeIncomplete, PurgeRetriesExhausted
from .options import option_arguments, options_dict
from .sender import Sender

logger = logging.getLogger("django_akamai")

__all__ = [
    "PurgeRequestTask",
    "PurgeResults",
    "PurgeTask",
    "deliver_intents",
    "enqueue",
    "kick_delivery",
    "purge_objects",
]

TASK_NAME = "django_akamai.tasks.purge_objects"
DELIVER_TASK_NAME = "django_akamai.tasks.deliver_intents"


class PurgeTask(Task):
    """Base of the purge task: a worker killed mid-task leaves the message to be redelivered."""

    # Acknowledge only once the task has finished, and requeue when the worker process dies:
    # a purge is idempotent, losing one is not.
    acks_late = True
    reject_on_worker_lost = True
    # The original's retry policy; read again from the settings on every retry.
    default_retry_delay = 120
    max_retries = 5


def _retry_policy() -> tuple[float, int]:
    return (
        conf.setting("AKAMAI_CELERY_RETRY_DELAY"),
        conf.setting("AKAMAI_CELERY_MAX_RETRIES"),
    )


@shared_task(bind=True, base=PurgeTask, name=TASK_NAME)
def purge_objects(
    self: PurgeTask,
    objects: list[Any],
    options: dict[str, Any] | None = None,
    actor: str | None = None,
    purged_before: int = 0,
    account: str | None = None,
) -> int:
    """Purge ``objects`` (URLs, tags or CP codes) with ``options`` on ``account`` (a name of
    ``AKAMAI_ACCOUNTS``; ``None``: the default); return how many were purged.

    Transient failures that outlast the client's own retries retry the task with only the
    objects Akamai has not accepted yet. Permanent refusals fail the task with the client's
    exception (Akamai's detail and the objects); rate limits never reach here: the client
    waits them out.
    """
    # Checked like PurgeRequest.add(): a message from another app or an older deploy must not
    # send what add() would refuse. Planned by the sender: never prefixed or normalised twice.
    the_plan = funnel.planned(objects, options, account=account or conf.DEFAULT_ACCOUNT)
    queue = list(the_plan.objects)
    total = len(queue)
    if switches.hold(the_plan, actor=actor or "task"):
        return purged_before + total  # purging is off here, or suspended: nothing to retry
    credentials = conf.resolve_credentials(account=account)
    sender = Sender(credentials, actor=actor or "task", account=account)
    try:
        countdown, max_retries = _retry_policy()
        kwargs: dict[str, Any] = {"options": options, "actor": actor}
        if account:  # an older worker's task takes no account: sent only where one is named
            kwargs["account"] = account
        try:
            sender.send_all(queue, the_plan.options)
        except PurgeRetriesExhausted as exc:
            done = purged_before + total - len(queue)
            raise self.retry(
                args=(list(queue),),
                kwargs={**kwargs, "purged_before": done},
                exc=exc,
                countdown=countdown,
                max_retries=max_retries,
            )
        except PurgeIncomplete as exc:
            refused = set(exc.failed_objects)
            unsent = [obj for obj in queue if obj not in refused]
            if unsent:
                # Some objects were refused for good, others only could not be sent yet:
                # this task fails with the refusal; the rest is retried as a new task (its
                # own id, so a later success does not overwrite this failure).
                self.retry(
                    args=(unsent,),
                    kwargs=kwargs,
                    exc=exc,
                    countdown=countdown,
                    max_retries=max_retries,
                    throw=False,
                    task_id=uuid(),
                )
            raise
        return purged_before + total
    finally:
        sender.close()


@shared_task(bind=True, name=DELIVER_TASK_NAME, ignore_result=True)
def deliver_intents(self: Task, using: str | None = None) -> dict[str, Any]:
    """Deliver the pending purge intents of database ``using`` (default: the intents' own).

    Safe to run on any number of workers at once: one holds the account's lease and sends,
    the others return at once (the holder looks again before it lets go).
    """
    report = deliver_pending(using)
    log_report(report)
    return report.task_result()


def kick_delivery(alias: str) -> Callable[[], None]:
    """``AKAMAI_DELIVERY = "celery"``: what publishes one ``deliver_intents`` task for ``alias``.

    Called after the commit in the committing thread, it only binds the task to this thread's
    Celery app; the delivery thread publishes, so a broker that is down delays delivery (the
    intents are in the database), never the request.
    """
    # shared_task is a proxy: resolve it to the task of the Celery app current in this thread.
    task = deliver_intents._get_current_object()  # type: ignore[attr-defined]
    options = _apply_options({})
    return lambda: task.apply_async(kwargs={"using": alias}, **options)


class PurgeResults(ResultSet):
    """The tasks one purge was split into; ``get()`` returns the total number purged."""

    def get(self, *args: Any, **kwargs: Any) -> int:  # type: ignore[override]
        # join() waits on each result with its backend's own mechanism (e.g. Redis pub/sub);
        # ResultSet.get() would poll the whole set every half second instead.
        return sum(self.join(*args, **kwargs))


def _apply_options(overrides: dict[str, Any]) -> dict[str, Any]:
    options = dict(conf.setting("AKAMAI_CELERY_TASK_OPTIONS") or {})
    queue = conf.setting("AKAMAI_CELERY_QUEUE")
    if queue:
        options["queue"] = queue
    options.update(overrides)
    return options


def enqueue(
    the_plan: funnel.Plan,
    *,
    actor: str | None = None,
    using: str | None = None,
    **apply_options: Any,
) -> PurgeResults:
    """Send one ``purge_objects`` task per request-full of ``the_plan``'s objects, each
    account's apart (``funnel.route``); none when the purge switches hold the plan."""
    plans = funnel.route(the_plan)
    if not plans or switches.hold(plans, using=using, actor=actor):
        return PurgeResults([])
    celery_options = _apply_options(apply_options)
    results = []
    for part in plans:
        kwargs: dict[str, Any] = {"options": options_dict(part.options), "actor": actor}
        named = conf.checked_account(part.account)
        if named is not None:
            kwargs["account"] = named
        for batch in funnel.cut(part.objects, funnel.limits(part.options)):
            results.append(
                purge_objects.apply_async(args=(batch,), kwargs=kwargs, **celery_options)
            )
    if len(results) > 1:
        logger.info("Queued %d object(s) as %d purge tasks", len(the_plan), len(results))
    return PurgeResults(results)


class PurgeRequestTask:
    """The original's task: ``PurgeRequestTask.delay(obj)``.

    ``obj`` is a URL, a list of URLs, a model instance or a QuerySet (or tags / CP codes with
    ``type=``). Keyword arguments: ``action``, ``type``, ``network`` (or ``domain``), or an
    ``options`` dict, ``actor`` and ``account`` (a name of ``AKAMAI_ACCOUNTS``; default: URLs
    go to the account of their host, tags and CP codes to the default account). Returns
    :class:`PurgeResults`; ``.get()`` is the number of objects purged.
    """

    name = TASK_NAME

    @classmethod
    def delay(cls, obj: Any, **kwargs: Any) -> PurgeResults:
        """Queue ``obj`` now (like Celery's ``delay``; see ``delay_on_commit``)."""
        return cls.apply_async((obj,), kwargs)

    @classmethod
    def apply_async(
        cls,
        args: tuple[Any, ...] | list[Any] = (),
        kwargs: dict[str, Any] | None = None,
        **celery_options: Any,
    ) -> PurgeResults:
        """``delay()`` with Celery's ``apply_async`` options (``countdown``, ``queue``...)."""
        if len(args) != 1:
            raise TypeError("PurgeRequestTask takes one positional argument: what to purge.")
        kwargs = dict(kwargs or {})
        options, actor, account = _arguments(kwargs)
        return enqueue(
            funnel.plan(args[0], options, account=account), actor=actor, **celery_options
        )

    @classmethod
    def delay_on_commit(
        cls, obj: Any, *, using: str | None = None, **kwargs: Any
    ) -> PurgeResults | None:
        """Purge ``obj`` once the current transaction commits; ``None`` inside one.

        Inside a transaction the planned objects are recorded as purge intents in it (gone on
        rollback, kept by the commit) and delivered as ``AKAMAI_DELIVERY`` says. Outside one
        it queues at once and returns the results, like ``delay``.
        """
        options, actor, account = _arguments(kwargs)
        return funnel.request_purge(
            obj, options=options, using=using, actor=actor, send=enqueue, account=account
        )


def _arguments(kwargs: dict[str, Any]) -> tuple[dict[str, Any], str, str | None]:
    """``PurgeRequestTask``'s keyword arguments: the options, who asked and the account."""
    options = option_arguments(kwargs)
    actor = kwargs.pop("actor", None) or "task"
    account = kwargs.pop("account", None)
    if kwargs:
        raise TypeError(f"Unexpected argument(s) for PurgeRequestTask: {', '.join(kwargs)}.")
    return options, actor, account
