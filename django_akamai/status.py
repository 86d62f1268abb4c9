"""What the admin's "Akamai" page shows: the pipeline's backlog and the last day of purges.

``pipeline_status()`` reads the intent table (pending, failed, the oldest pending, how many
are backing off after a transient failure) and the purge history of the last 24 hours,
counted per hour in the database (requests accepted and failed, objects, 429s and retries
answered by Akamai), and what verification at the edge found over those hours (URLs fresh,
stale, unverifiable; commit → fresh latency). ``hourly_chart()`` turns the hours into the
geometry of an SVG bar chart, so the page renders it on the server: no script, nothing loaded
from elsewhere. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

from django.db import router
from django.db.models import Count, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from .delivery.worker import pending_summary
from .verification.stats import VerificationSummary
from .verification.stats import summary as verification_summary

__all__ = ["Hour", "PipelineStatus", "hourly_chart", "pipeline_status"]

HOURS = 24


@dataclass
class Hour:
    """The requests of one hour of the purge history."""

    start: datetime  # aware, UTC
    accepted: int = 0
    failed: int = 0
    objects: int = 0
    rate_limited: int = 0
    retries: int = 0

    @property
    def requests(self) -> int:
        return self.accepted + self.failed


@dataclass
class PipelineStatus:
    pending: int = 0  # waiting or being delivered
    failed: int = 0
    backing_off: int = 0  # pending after a transient failure
    oldest_pending: datetime | None = None
    hours: list[Hour] = field(default_factory=list)
    now: datetime = field(default_factory=timezone.now)
    #: Verification at the edge over the last 24 hours (``AKAMAI_VERIFY``).
    verification: VerificationSummary = field(default_factory=VerificationSummary)

    def total(self, name: str) -> int:
        return sum(getattr(hour, name) for hour in self.hours)


def _hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(dt_timezone.utc).replace(minute=0, second=0, microsecond=0)


def pipeline_status(now: datetime | None = None) -> PipelineStatus:
    """The backlog of purge intents and the purge history's last ``HOURS`` hours."""
    from .models import PurgeIntent, PurgeRecord

    status = PipelineStatus(now=now or timezone.now())
    summary = pending_summary()
    status.pending = summary["pending"] + summary["claimed"]
    status.failed = summary["failed"]
    status.oldest_pending = summary["oldest_pending"]
    status.backing_off = (
        PurgeIntent.objects.using(router.db_for_read(PurgeIntent))
        .filter(status=PurgeIntent.PENDING, attempts__gt=0)
        .count()
    )
    first = _hour_floor(status.now) - timedelta(hours=HOURS - 1)
    hours = {first + timedelta(hours=n): Hour(first + timedelta(hours=n)) for n in range(HOURS)}
    rows = (
        PurgeRecord.objects.using(router.db_for_read(PurgeRecord))
        .filter(created_at__gte=first)
        .annotate(hour=TruncHour("created_at", tzinfo=dt_timezone.utc))
        .values("hour", "status")
        .annotate(
            requests=Count("id"),
            objects=Sum("object_count"),
            rate_limited=Sum("rate_limited"),
            retries=Sum("retries"),
        )
    )
    for row in rows:
        hour = hours.get(_hour_floor(row["hour"]))
        if hour is None:  # written after ``now`` was taken
            continue
        if row["status"] == PurgeRecord.ACCEPTED:
            hour.accepted += row["requests"]
            hour.objects += row["objects"] or 0
        else:
            hour.failed += row["requests"]
        hour.rate_limited += row["rate_limited"] or 0
        hour.retries += row["retries"] or 0
    status.hours = list(hours.values())
    status.verification = verification_summary(status.now)
    return status


# --- the chart ------------------------------------------------------------------------------

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 12, 28


def _nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is at least ``value`` (and 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if value <= step * factor:
                return step * factor
        step *= 10


def hourly_chart(hours: list[Hour]) -> dict[str, Any]:
    """SVG geometry of a stacked bar per hour: accepted requests, failed ones above them."""
    top = _nice_ceiling(max((h.requests for h in hours), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(hours))
    bars = []
    for index, hour in enumerate(hours):
        x = LEFT + index * slot + slot * 0.15
        accepted_h = plot_h * hour.accepted / top
        failed_h = plot_h * hour.failed / top
        local = timezone.localtime(hour.start)
        bars.append(
            {
                "x": round(x, 1),
                "width": round(slot * 0.7, 1),
                "accepted_y": round(TOP + plot_h - accepted_h, 1),
                "accepted_h": round(accepted_h, 1),
                "failed_y": round(TOP + plot_h - accepted_h - failed_h, 1),
                "failed_h": round(failed_h, 1),
                "label": local.strftime("%H:00") if index % 3 == 0 else "",
                "label_x": round(x + slot * 0.35, 1),
                "title": (
                    f"{local:%Y-%m-%d %H:00}: {hour.accepted} accepted, {hour.failed} failed "
                    f"request(s), {hour.objects} object(s), {hour.rate_limited} 429(s), "
                    f"{hour.retries} retr{'y' if hour.retries == 1 else 'ies'}"
                ),
                "hour": hour,
            }
        )
    ticks = [
        {"value": value, "y": round(TOP + plot_h - plot_h * value / top, 1)}
        for value in sorted({0, top // 2, top})
    ]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "baseline": TOP + plot_h,
        "label_y": HEIGHT - 8,
        "bars": bars,
        "ticks": ticks,
        "max": top,
    }
