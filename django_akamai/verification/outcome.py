"""Each purge's verification outcome, written on its history record (``PurgeRecord``).

The verifier calls :func:`save` from its own thread once a purge's sample is judged (and
again after a stale URL's second check). The record is found by ``purgeId``; without the
purge history (``AKAMAI_HISTORY = False``) the outcome is only logged. Like the history,
writing is best effort: an error is logged, never raised into the verifier.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import router
from django.utils import timezone

from .judge import FRESH, STALE, UNVERIFIABLE, Verdict

logger = logging.getLogger("django_akamai.verification")

__all__ = ["Outcome", "save"]

#: Longest text of per-URL verdicts kept on a record.
MAX_DETAIL_CHARS = 8000

# What a record's ``verify_state`` says.
PENDING = "pending"  # a stale URL was purged again; its second check is to come
DONE = "done"


@dataclass
class Outcome:
    """What verification found for one purge request (its sample)."""

    purge_id: str
    verdicts: list[Verdict] = field(default_factory=list)
    repurged: int = 0
    latency: float | None = None  # commit → the last URL verified fresh, seconds
    final: bool = True

    def count(self, state: str) -> int:
        return sum(1 for verdict in self.verdicts if verdict.state == state)

    @property
    def stale_urls(self) -> list[str]:
        return [verdict.url for verdict in self.verdicts if verdict.state == STALE]

    def details(self, verdicts: Sequence[Verdict] | None = None) -> str:
        # Stale first, then unverifiable, then fresh: what needs a look comes first.
        order = {STALE: 0, UNVERIFIABLE: 1, FRESH: 2}
        chosen = sorted(verdicts or self.verdicts, key=lambda v: order.get(v.state, 3))
        text = "\n".join(verdict.line() for verdict in chosen)
        return text[:MAX_DETAIL_CHARS]

    def fields(self) -> dict[str, object]:
        return {
            "verify_state": DONE if self.final else PENDING,
            "verified_at": timezone.now(),
            "verified_fresh": self.count(FRESH),
            "verified_stale": self.count(STALE),
            "verified_unverifiable": self.count(UNVERIFIABLE),
            "verify_repurged": self.repurged,
            "verify_latency": self.latency,
            "verify_stale_urls": "\n".join(self.stale_urls),
            "verify_details": self.details(),
        }


def save(outcome: Outcome) -> int:
    """Write ``outcome`` on the purge's record; return how many records were updated."""
    from ..models import PurgeRecord

    fresh, stale, unverifiable = (outcome.count(s) for s in (FRESH, STALE, UNVERIFIABLE))
    level = logging.WARNING if stale and outcome.final else logging.INFO
    logger.log(
        level,
        "Purge %s verified at the edge: %d fresh, %d stale, %d unverifiable, %d purged again%s",
        outcome.purge_id,
        fresh,
        stale,
        unverifiable,
        outcome.repurged,
        "" if not stale else f"; stale: {', '.join(map(repr, outcome.stale_urls))}",
    )
    if not outcome.purge_id:
        return 0
    try:
        using = router.db_for_write(PurgeRecord)
        return (
            PurgeRecord.objects.using(using)
            .filter(purge_id=outcome.purge_id)
            .update(**outcome.fields())
        )
    except Exception as exc:  # a missing table must not stop the verifier
        logger.warning("Verification of purge %s not recorded: %r", outcome.purge_id, exc)
        return 0
