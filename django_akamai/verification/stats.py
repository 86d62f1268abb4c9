"""Verification over a recent window: counts, the share fresh, commit → fresh latency.

Read from the history records the verifier wrote (``verify_state`` "done"); for the status
page, ``akamai_worker --status`` (its ``verified:`` line) and the admin. Nothing here writes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import router
from django.utils import timezone

from .options import enabled

__all__ = ["WINDOW", "VerificationSummary", "percentile", "status_line", "summary"]

#: The recent window the summary covers.
WINDOW = timedelta(hours=24)


@dataclass
class VerificationSummary:
    enabled: bool = False
    purges: int = 0  # requests verified (their sample judged)
    fresh: int = 0
    stale: int = 0
    unverifiable: int = 0
    repurged: int = 0
    latencies: list[float] = field(default_factory=list)  # commit → fresh, per purge, sorted
    window: timedelta = WINDOW

    @property
    def checked(self) -> int:
        return self.fresh + self.stale + self.unverifiable

    @property
    def share_fresh(self) -> float | None:
        """Fresh URLs over every URL checked (None when none was)."""
        return self.fresh / self.checked if self.checked else None

    @property
    def median(self) -> float | None:
        return percentile(self.latencies, 50)

    @property
    def p99(self) -> float | None:
        return percentile(self.latencies, 99)


def percentile(values: list[float], pct: float) -> float | None:
    """The nearest-rank percentile of sorted ``values`` (None when empty)."""
    if not values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(values)))
    return values[min(rank, len(values)) - 1]


def summary(now: datetime | None = None, window: timedelta = WINDOW) -> VerificationSummary:
    """The verified purges of the last ``window``."""
    from ..models import PurgeRecord

    result = VerificationSummary(enabled=enabled(), window=window)
    since = (now or timezone.now()) - window
    rows = (
        PurgeRecord.objects.using(router.db_for_read(PurgeRecord))
        .filter(verify_state="done", verified_at__gte=since)
        .values_list(
            "verified_fresh",
            "verified_stale",
            "verified_unverifiable",
            "verify_repurged",
            "verify_latency",
        )
    )
    latencies = []
    for fresh, stale, unverifiable, repurged, latency in rows.iterator():
        result.purges += 1
        result.fresh += fresh or 0
        result.stale += stale or 0
        result.unverifiable += unverifiable or 0
        result.repurged += repurged or 0
        if latency is not None:
            latencies.append(latency)
    result.latencies = sorted(latencies)
    return result


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def status_line(data: VerificationSummary) -> str:
    """``verified: ...``: the line ``akamai_worker --status`` prints."""
    if not data.enabled and not data.purges:
        return "verified: off (AKAMAI_VERIFY is not set)"
    share = "-" if data.share_fresh is None else f"{data.share_fresh:.1%}"
    hours = data.window.total_seconds() / 3600
    return (
        f"verified: fresh {data.fresh}, stale {data.stale}, unverifiable {data.unverifiable} "
        f"({share} fresh, {data.purges} purge(s), {data.repurged} URL(s) purged again, last "
        f"{hours:g}h); commit to fresh median {_seconds(data.median)}, p99 {_seconds(data.p99)}"
    )
