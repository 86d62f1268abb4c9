"""Celery tasks: purges sent from a worker, one task per Akamai request, retried safely.

``PurgeRequestTask.delay(obj)`` is the original's entry point. It resolves ``obj`` (URLs, model
instances, QuerySets, lists) to URLs here, in the caller's process, cuts them into
request-sized batches and sends one ``purge_objects`` task per batch. A task message carries
only the objects, the options and who asked: JSON-serialisable, no model, no credential (the
worker reads its own settings).

Why a plain front class rather than overriding ``apply_async`` on the Celery task: Celery
itself calls ``apply_async`` for retries and in canvases, with arguments that are already
URLs; keeping the registered task a plain JSON task leaves those paths untouched.

Found by ``app.autodiscover_tasks()`` in a standard Celery + Django layout: ``shared_task``
registers the task with whichever Celery app the project defines.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task, uuid
from celery.result import ResultSet

from . import conf
from .coalesce import option_arguments, options_dict, request_purge, resolve, split_requests
from .exceptions import PurgeIncomplete, PurgeRetriesExhausted
from .objects import PurgeOptions

logger = logging.getLogger("django_akamai")

__all__ = ["PurgeRequestTask", "PurgeResults", "PurgeTask", "enqueue", "purge_objects"]

TASK_NAME = "django_akamai.tasks.purge_objects"


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
        float(conf.get_setting("AKAMAI_CELERY_RETRY_DELAY")),
        int(conf.get_setting("AKAMAI_CELERY_MAX_RETRIES")),
    )


@shared_task(bind=True, base=PurgeTask, name=TASK_NAME)
def purge_objects(
    self: PurgeTask,
    objects: list[Any],
    options: dict[str, Any] | None = None,
    actor: str | None = None,
    purged_before: int = 0,
) -> int:
    """Purge ``objects`` (URLs, tags or CP codes) with ``options``; return how many were purged.

    Transient failures that outlast the client's own retries retry the task with only the
    objects Akamai has not accepted yet. Permanent refusals fail the task with the client's
    exception (Akamai's detail and the objects); rate limits never reach here: the client
    waits them out.
    """
    from .purge import PurgeRequest

    request = PurgeRequest(options=options, actor=actor or "task")
    try:
        request.add(objects)
        total = len(request.urls)
        countdown, max_retries = _retry_policy()
        kwargs = {"options": options, "actor": actor}
        try:
            request.purge_all()
        except PurgeRetriesExhausted as exc:
            done = purged_before + total - len(request.urls)
            raise self.retry(
                args=(list(request.urls),),
                kwargs={**kwargs, "purged_before": done},
                exc=exc,
                countdown=countdown,
                max_retries=max_retries,
            )
        except PurgeIncomplete as exc:
            refused = set(exc.failed_objects)
            unsent = [obj for obj in request.urls if obj not in refused]
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
        request.transport.close()


class PurgeResults(ResultSet):
    """The tasks one purge was split into; ``get()`` returns the total number purged."""

    def get(self, *args: Any, **kwargs: Any) -> int:  # type: ignore[override]
        # join() waits on each result with its backend's own mechanism (e.g. Redis pub/sub);
        # ResultSet.get() would poll the whole set every half second instead.
        return sum(self.join(*args, **kwargs))


def _apply_options(overrides: dict[str, Any]) -> dict[str, Any]:
    options = dict(conf.get_setting("AKAMAI_CELERY_TASK_OPTIONS") or {})
    queue = conf.get_setting("AKAMAI_CELERY_QUEUE")
    if queue:
        options["queue"] = queue
    options.update(overrides)
    return options


def enqueue(
    items: list[Any], options: PurgeOptions, *, actor: str | None = None, **apply_options: Any
) -> PurgeResults:
    """Send one ``purge_objects`` task per request-full of already normalised ``items``."""
    celery_options = _apply_options(apply_options)
    results = []
    for batch in split_requests(items, options):
        results.append(
            purge_objects.apply_async(
                args=(batch,),
                kwargs={"options": options_dict(options), "actor": actor},
                **celery_options,
            )
        )
    if len(results) > 1:
        logger.info("Queued %d object(s) as %d purge tasks", len(items), len(results))
    return PurgeResults(results)


class PurgeRequestTask:
    """The original's task: ``PurgeRequestTask.delay(obj)``.

    ``obj`` is a URL, a list of URLs, a model instance or a QuerySet (or tags / CP codes with
    ``type=``). Keyword arguments: ``action``, ``type``, ``network`` (or ``domain``), or an
    ``options`` dict, and ``actor``. Returns :class:`PurgeResults`; ``.get()`` is the number of
    objects purged.
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
        options = option_arguments(kwargs)
        actor = kwargs.pop("actor", None) or "task"
        if kwargs:
            raise TypeError(f"Unexpected argument(s) for PurgeRequestTask: {', '.join(kwargs)}.")
        opts, items = resolve(args[0], options)
        return enqueue(items, opts, actor=actor, **celery_options)

    @classmethod
    def delay_on_commit(
        cls, obj: Any, *, using: str | None = None, **kwargs: Any
    ) -> PurgeResults | None:
        """Queue ``obj`` once the current transaction commits, merged with the rest of it.

        Outside a transaction it queues at once and returns the results; inside one it
        returns ``None``.
        """
        options = option_arguments(kwargs)
        actor = kwargs.pop("actor", None) or "task"
        if kwargs:
            raise TypeError(f"Unexpected argument(s) for PurgeRequestTask: {', '.join(kwargs)}.")
        return request_purge(obj, options=options, queue=True, using=using, actor=actor)
