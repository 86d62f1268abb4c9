"""What an editor should learn about a page's purges: failed ones, and ones that are stuck.

A purge intent of one of the page's URLs (on every Site) or of its own cache tag is in
trouble when Akamai refused it (``failed``: it waits for an operator to retry or discard
it) or when it is still waiting after a transient failure or for longer than
``STUCK_AFTER`` (Akamai unreachable, wrong credentials, no deliverer running). Read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import router
from django.db.models import Q
from django.utils import timezone

from ...models import PurgeIntent
from .pages import page_tag, site_root_paths, urls_on_every_site

#: A purge still pending after this long is stuck (the deploy check W005 uses the same).
STUCK_AFTER = timedelta(minutes=10)


@dataclass
class PageTroubles:
    """The page's failed and stuck intents, newest first."""

    failed: list[PurgeIntent] = field(default_factory=list)
    stuck: list[PurgeIntent] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.failed or self.stuck)


def page_objects(page: Any) -> list[str]:
    """What purges of ``page`` name: its URLs on every Site, and its own cache tag."""
    return sorted(urls_on_every_site([page], site_root_paths())) + [page_tag(page)]


def page_troubles(page: Any) -> PageTroubles:
    """The failed and stuck purge intents of ``page``'s URLs and tag."""
    intents = PurgeIntent.objects.using(router.db_for_read(PurgeIntent)).filter(
        value__in=page_objects(page)
    )
    failed = intents.filter(status=PurgeIntent.FAILED).order_by("-id")
    stuck = (
        intents.filter(status__in=[PurgeIntent.PENDING, PurgeIntent.CLAIMED])
        .filter(Q(attempts__gt=0) | Q(created_at__lt=timezone.now() - STUCK_AFTER))
        .order_by("-id")
    )
    return PageTroubles(failed=list(failed), stuck=list(stuck))


def describe(intent: PurgeIntent) -> str:
    """Akamai's answer to one intent, its text escaped (repr-style): it is Akamai's, not ours."""
    parts = [str(intent.http_status)] if intent.http_status else []
    if intent.error_title:
        parts.append(repr(intent.error_title))
    if intent.error_detail:
        parts.append(repr(intent.error_detail))
    return " ".join(parts) or "no answer yet"
