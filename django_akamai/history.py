"""The purge history: receivers that write a ``PurgeRecord`` for every request sent.

Connected when the app is ready. Recording is best effort by design: a purge that Akamai
accepted must never look failed because its history row could not be written, so every
error here is logged and swallowed, and the INSERT runs in a savepoint when the caller is
inside a transaction, so that a failure (no table yet) cannot break that transaction.

The row is written at once, on the caller's connection: one INSERT per request sent (a
request carries up to 50,000 bytes of objects), plus a commit in autocommit mode. The
deliverer takes the row of each accepted request instead (``handed_over``) and writes it with
the deletion of the request's intents (``delivery.worker._settling``): one statement on
PostgreSQL, one transaction elsewhere, one commit either way; should that fail, it writes the
row here (``write``, in a savepoint, so a failed INSERT never undoes the deletion) and deletes
again. Why not a
background thread: a second connection writing concurrently is what SQLite, the database of
most development machines and test suites, handles worst ("database is locked"), and the
caller's transaction semantics stay plain. What it costs is measured by
``benchmarks/bench_history.py``. A purge sent inside a transaction that later rolls back
loses its record with it; route ``PurgeRecord`` to a second database alias with a router if
that matters (django-akamai's own signals and tasks send after the commit).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from django.db import router, transaction
from django.dispatch import receiver
from django.utils import timezone

from . import conf
from .exceptions import AkamaiConfigurationError
from .sender import request_accepted, request_failed

logger = logging.getLogger("django_akamai.history")

#: Longest error text kept; Akamai's problem details are a few hundred characters.
MAX_ERROR_CHARS = 2000

# Warn once per process (when the table is missing, say), not on every purge.
_warned = False


def history_enabled() -> bool:
    """``AKAMAI_HISTORY`` (default True) and ``AKAMAI_HISTORY_MAX_OBJECTS`` valid.

    A malformed one is logged (the checks report it at start-up, E009) and nothing is
    recorded: the purge it would record has gone out already, and recording must never
    fail it.
    """
    try:
        conf.setting("AKAMAI_HISTORY_MAX_OBJECTS")
        return conf.setting("AKAMAI_HISTORY")
    except AkamaiConfigurationError as exc:
        logger.error("Purge history not recorded: %s", exc)
        return False


def bounded_objects(objects: Sequence[Any], limit: int | None) -> tuple[str, bool]:
    """The objects one per line, at most ``limit`` of them; and whether some were left out."""
    kept = objects if limit is None else objects[: max(0, int(limit))]
    return "\n".join(str(obj) for obj in kept), len(kept) < len(objects)


# (database alias, rows): where ``handed_over`` is active in this thread, and what it took.
_taker: ContextVar[tuple[str, list[dict[str, Any]]] | None] = ContextVar(
    "django_akamai_history_taker", default=None
)


@contextmanager
def handed_over(using: str) -> Iterator[list[dict[str, Any]]]:
    """While active (in this thread), the row of an accepted request is appended to the list
    given instead of written, when ``PurgeRecord`` is stored in database ``using``: the
    caller writes it with its own statements (``write`` if they fail). History routed to
    another database is written there at once, as always."""
    rows: list[dict[str, Any]] = []
    token = _taker.set((using, rows))
    try:
        yield rows
    finally:
        _taker.reset(token)


def write(fields: dict[str, Any]) -> None:
    """Write one ``PurgeRecord`` of these field values; never raises (logged instead)."""
    global _warned
    from .models import PurgeRecord

    try:
        using = router.db_for_write(PurgeRecord)
        # A savepoint inside the caller's transaction; a transaction of its own otherwise.
        with transaction.atomic(using=using):
            PurgeRecord.objects.using(using).create(**fields)
    except Exception as exc:  # recording must never fail a purge
        if not _warned:
            _warned = True
            logger.warning(
                "Purge history not recorded (%s: %s). Run 'manage.py migrate "
                "django_akamai', or set AKAMAI_HISTORY = False.",
                type(exc).__name__,
                exc,
            )
        else:
            logger.debug("Purge history not recorded: %r", exc)


def _common(
    api: str, options: Any, objects: Sequence[Any], actor: str | None, account: str
) -> dict[str, Any]:
    text, truncated = bounded_objects(list(objects), conf.setting("AKAMAI_HISTORY_MAX_OBJECTS"))
    return {
        "created_at": timezone.now(),
        "actor": (actor or "")[:200],
        "api": api,
        "account": (account or "")[:64],
        "action": options.action,
        "network": options.network,
        "object_type": options.type,
        "object_count": len(objects),
        "objects_text": text,
        "objects_truncated": truncated,
    }


@receiver(request_accepted, dispatch_uid="django_akamai.history.accepted")
def record_accepted(
    sender: Any,
    *,
    api: str,
    options: Any,
    objects: Sequence[Any],
    actor: str | None = None,
    result: dict[str, Any] | None = None,
    rate_limited: int = 0,
    retries: int = 0,
    account: str = "",
    **kwargs: Any,
) -> None:
    """Write the row for a request Akamai accepted."""
    if not history_enabled():
        return
    result = result if isinstance(result, dict) else {}
    estimated = result.get("estimatedSeconds")
    fields = _common(api, options, objects, actor, account)
    fields.update(
        status="accepted",
        http_status=_int_or_none(result.get("httpStatus")),
        purge_id=str(result.get("purgeId") or "")[:100],
        support_id=str(result.get("supportId") or "")[:100],
        estimated_seconds=float(estimated) if isinstance(estimated, (int, float)) else None,
        # Accepted, but the answer was not Akamai's JSON (transport.accepted_result).
        error=str(result.get("warning") or "")[:MAX_ERROR_CHARS],
        rate_limited=max(0, int(rate_limited)),
        retries=max(0, int(retries)),
    )
    taker = _taker.get()
    if taker is not None:
        from .models import PurgeRecord

        if router.db_for_write(PurgeRecord) == taker[0]:
            taker[1].append(fields)
            return
    write(fields)


@receiver(request_failed, dispatch_uid="django_akamai.history.failed")
def record_failed(
    sender: Any,
    *,
    api: str,
    options: Any,
    objects: Sequence[Any],
    actor: str | None = None,
    error: BaseException | None = None,
    rate_limited: int = 0,
    retries: int = 0,
    account: str = "",
    **kwargs: Any,
) -> None:
    """Write the row for a request Akamai refused or that never got through."""
    if not history_enabled():
        return
    fields = _common(api, options, objects, actor, account)
    fields.update(
        status="failed",
        http_status=_int_or_none(getattr(error, "status", None)),
        support_id=str(getattr(error, "support_id", "") or "")[:100],
        # Exceptions of this app never carry a secret (see exceptions.py).
        error=str(error or "")[:MAX_ERROR_CHARS],
        rate_limited=max(0, int(rate_limited)),
        retries=max(0, int(retries)),
    )
    write(fields)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def prune(days: float | None = None, *, using: str | None = None, dry_run: bool = False) -> int:
    """Delete records older than ``days`` (default ``AKAMAI_HISTORY_RETENTION_DAYS``).

    Returns how many were (or, with ``dry_run``, would be) deleted; 0 when retention is None.
    """
    from .models import PurgeRecord

    if days is None:
        days = conf.setting("AKAMAI_HISTORY_RETENTION_DAYS")
    if days is None:
        return 0
    cutoff = timezone.now() - timedelta(days=float(days))
    using = using or router.db_for_write(PurgeRecord)
    old = PurgeRecord.objects.using(using).filter(created_at__lt=cutoff)
    if dry_run:
        return old.count()
    # No relations or signals on this model, so this is one DELETE statement.
    deleted, _ = old.delete()
    return deleted
