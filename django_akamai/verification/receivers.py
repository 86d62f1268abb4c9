"""The receiver that hands each accepted purge request to the verifier, without waiting.

Connected to ``sender.request_accepted`` when the app is ready (after the history's, so the
record exists by the time the outcome is written). It runs in whatever thread sent the
request (a delivery, a ``PurgeRequest``): it reads ``AKAMAI_VERIFY``, picks the sample, asks
the intent table once when the change was committed (the purge's intents are still claimed
while the request is being reported), and queues a job. A receiver that raises is logged
and ignored by the sender; this one returns quietly when verification is off.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.db import connections, router
from django.db.models import Min
from django.dispatch import receiver

from ..sender import request_accepted
from . import worker
from .options import enabled, verify_options

logger = logging.getLogger("django_akamai.verification")

__all__ = ["queue_verification"]

_warned = False


def _commit_time(objects: Sequence[Any]) -> float | None:
    """When the first of ``objects`` was recorded as a purge intent (≈ its commit), epoch
    seconds; None for a purge sent directly (no intent)."""
    from ..models import PurgeIntent

    using = router.db_for_read(PurgeIntent)
    if connections[using].in_atomic_block:
        return None  # a direct send inside someone's transaction: never risk breaking it
    try:
        first = (
            PurgeIntent.objects.using(using)
            .filter(status=PurgeIntent.CLAIMED, value__in=[str(obj) for obj in objects])
            .aggregate(first=Min("created_at"))["first"]
        )
    except Exception:  # no table: the purge was sent directly
        return None
    return first.timestamp() if first is not None else None


@receiver(request_accepted, dispatch_uid="django_akamai.verification.accepted")
def queue_verification(
    sender: Any,
    *,
    options: Any,
    objects: Sequence[Any],
    actor: str | None = None,
    result: dict[str, Any] | None = None,
    **kwargs: Any,
) -> None:
    """Queue the verification of an accepted request (when ``AKAMAI_VERIFY`` is on)."""
    global _warned
    if not enabled() or actor == worker.VERIFY_ACTOR:
        return  # off, or the verifier's own purge (it follows that one itself)
    try:
        settings = verify_options()
    except Exception as exc:  # the system check names it; say it once here
        if not _warned:
            _warned = True
            logger.error("Purges are not verified: %s", exc)
        return
    if settings is None or options.network != settings.network:
        return
    result = result if isinstance(result, dict) else {}
    the_verifier = worker.verifier()
    now, wall = the_verifier.clock(), the_verifier.wall()
    estimated = worker.estimated_seconds(result)
    job = worker.Job(
        purge_id=str(result.get("purgeId") or ""),
        options=options,
        urls=[],
        accepted=now,
        due=now + estimated + settings.margin,
    )
    if options.type == "url":
        urls = [str(obj) for obj in objects]
        job.urls = worker.sample(urls, settings.sample)
        if len(job.urls) < len(urls):
            job.objects = urls  # purged again whole if the sample shows it did not take
        committed = _commit_time(job.urls)
        job.changed_at = committed if committed is not None else wall
        job.changed_after = max(0.0, wall - job.changed_at)
    elif options.type == "tag":
        job.tags = [str(obj) for obj in objects]
        job.unverifiable = (
            "a tag purge: which URLs carry the tag is unknown (AKAMAI_VERIFY['TAG_URLS'] can tell)"
        )
    else:
        job.urls = [str(obj) for obj in objects]
        job.unverifiable = "a CP code purge: which URLs it covers is unknown"
        job.due = now
    if job.unverifiable and not (job.tags and settings.tag_urls is not None):
        job.due = now  # nothing to wait for: record it at once
    the_verifier.submit(job)
