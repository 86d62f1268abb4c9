"""The second purge against races: ``AKAMAI_SECOND_PURGE_SECONDS`` (None: off).

A request that read the old data before a commit can put the old page back into the cache
after the purge (a read replica that lags, a slow request, a cache in front of the database).
With this setting, every purge recorded as intents (saves, Wagtail, signals inside a
transaction, the end of ``suspend_purges()``) is recorded a second time, due that many
seconds later. The delayed intents are ordinary pending intents: delivered by the same
deliverer, coalesced with whatever else is due then, counted against the same buckets. An
object has at most one delayed intent waiting; saved again meanwhile, it is due that many
seconds after the latest save.

What it costs: twice the objects sent (the second ones usually share requests with other
purges, so the extra requests are fewer than the extra objects) and one more revalidation at
the origin per purged object that was requested again between the two purges.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import conf, intents
from .options import Plan

__all__ = ["SETTING", "record_later", "seconds"]

SETTING = "AKAMAI_SECOND_PURGE_SECONDS"


def seconds() -> float | None:
    """The validated setting: seconds after the first purge, or None when off."""
    value = conf.setting(SETTING)  # validated there (conf.SPECS): above 0, or None
    return None if value is None else float(value)


def record_later(
    plans: Sequence[Plan], *, using: str, actor: str | None = None, account: str | None = None
) -> int:
    """Record ``plans`` again, due ``AKAMAI_SECOND_PURGE_SECONDS`` later (nothing when off).
    The purge switches already let these through: this is the same purge, only later."""
    delay = seconds()
    if delay is None:
        return 0
    return intents.record(plans, using=using, actor=actor, account=account, delay=delay)
