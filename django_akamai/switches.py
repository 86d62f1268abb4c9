"""The purge switches: the two site-wide decisions every door passes before it records,
queues or sends a purge, made here and nowhere else.

``AKAMAI_PURGE_ENABLED = False`` (development, a staging site without credentials)
    Every door is a no-op: nothing is recorded, queued or sent, and each purge skipped is one
    INFO line on the ``django_akamai`` logger, without a traceback. The deliverer leaves the
    table alone.
``with suspend_purges(): ...`` (data migrations, imports, bulk jobs)
    Everything any door is asked to purge inside the block, in this thread (or asyncio
    context), is collected here; the funnel (``django_akamai.funnel.suspend_purges``) purges it
    once when the outermost block ends.

The funnel calls :func:`hold` with its plans right before recording or sending;
``PurgeRequest`` calls it before each send. The deliverer only asks :func:`purging_enabled`:
it delivers what was decided already, so a ``suspend_purges()`` block never holds it.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS

from . import conf
from .options import Plan, Unplanned

logger = logging.getLogger("django_akamai")

__all__ = [
    "DISABLED",
    "SUSPENDED",
    "SuspendedPurges",
    "collecting",
    "hold",
    "hold_unplanned",
    "holding",
    "purging_enabled",
]

#: What :func:`hold` answers when it stopped a purge.
DISABLED = "disabled"
SUSPENDED = "suspended"

#: Objects named in the INFO line of a skipped purge; the rest are counted.
LISTED = 5

_NOUNS = {"url": "URL", "tag": "cache tag", "cpcode": "CP code"}


@dataclass
class SuspendedPurges:
    """What one ``suspend_purges()`` block collected, and (once it ended) what it purged."""

    #: (database alias, plan, actor) in the order the doors asked.
    requested: list[tuple[str, Plan, str | None]] = field(default_factory=list)
    #: What automatic purging asked for, planned when the block ends (all at once).
    unplanned: list[Unplanned] = field(default_factory=list)
    #: The plans recorded at the end (empty for an inner block: the outer one purges).
    purged: list[Plan] = field(default_factory=list)
    #: Whether the end purged the site's CP codes instead of the objects collected.
    collapsed: bool = False

    @property
    def count(self) -> int:
        """Distinct objects collected (the same URL asked for twice counts once; what
        automatic purging asked for counts as it was given until the block ends)."""
        planned = {(p.options, obj) for _, p, _ in self.requested for obj in p.objects}
        waiting = {(tuple(u.options.items()), v) for u in self.unplanned for v in u.values}
        return len(planned) + len(waiting)


_collecting: contextvars.ContextVar[SuspendedPurges | None] = contextvars.ContextVar(
    "django_akamai_suspended_purges", default=None
)


def purging_enabled() -> bool:
    """``AKAMAI_PURGE_ENABLED`` (default True)."""
    return conf.setting("AKAMAI_PURGE_ENABLED")


def _describe(plans: list[Plan]) -> str:
    counts = ", ".join(f"{len(p)} {_NOUNS.get(p.options.type, p.options.type)}(s)" for p in plans)
    objects = [obj for p in plans for obj in p.objects]
    listed = ", ".join(str(obj) for obj in objects[:LISTED])
    more = len(objects) - LISTED
    return f"{counts}: {listed}" + (f" and {more} more" if more > 0 else "")


def hold(
    plans: Plan | Iterable[Plan],
    *,
    using: str | None = None,
    actor: str | None = None,
) -> str | None:
    """Whether the door must stop here: ``None`` (go on), ``DISABLED`` or ``SUSPENDED``.

    ``DISABLED``: ``AKAMAI_PURGE_ENABLED`` is False; one INFO line names what was skipped.
    ``SUSPENDED``: a ``suspend_purges()`` block is open in this context; the plans are kept
    for its end (``using`` is the database whose transaction they would have joined).
    """
    plans = [p for p in ([plans] if isinstance(plans, Plan) else plans) if p]
    if not plans:
        return None
    state = holding()
    if state is None:
        return None
    if state == DISABLED:
        logger.info(
            "Purging is off (AKAMAI_PURGE_ENABLED = False): skipped purging %s (requested by %s)",
            _describe(plans),
            actor or "PurgeRequest",
        )
        return DISABLED
    collector = _collecting.get()
    assert collector is not None  # SUSPENDED: a suspend_purges() block is open
    for the_plan in plans:
        collector.requested.append((using or DEFAULT_DB_ALIAS, the_plan, actor))
    return SUSPENDED


def hold_unplanned(entry: Unplanned) -> None:
    """Keep what automatic purging asked for in the open ``suspend_purges()`` block, to be
    planned with the rest when it ends (only when :func:`holding` said ``SUSPENDED``)."""
    collector = _collecting.get()
    assert collector is not None
    collector.unplanned.append(entry)


def holding() -> str | None:
    """What ``hold()`` would answer for any plan now, with no side effects: a door holding a
    large batch asks this first, so that it builds the plan only when one is needed."""
    if not purging_enabled():
        return DISABLED
    return None if _collecting.get() is None else SUSPENDED


@contextlib.contextmanager
def collecting() -> Iterator[tuple[SuspendedPurges | None, SuspendedPurges]]:
    """Open a collecting block: yields (the outer block's collector or None, this block's)."""
    outer = _collecting.get()
    mine = SuspendedPurges()
    token = _collecting.set(mine)
    try:
        yield outer, mine
    finally:
        _collecting.reset(token)
