"""The gate every door passes just before it records, queues or sends a purge.

Two site-wide decisions are made here and nowhere else:

``AKAMAI_PURGE_ENABLED = False`` (development, a staging site without credentials)
    Every door is a no-op: nothing is recorded, queued or sent, and each purge skipped is one
    INFO line on the ``django_akamai`` logger, without a traceback. ``PurgeRequest`` may then
    be built without credentials (it never sends), and the deliverer leaves the table alone.
``with suspend_purges(): ...`` (data migrations, imports, bulk jobs)
    Everything any door is asked to purge inside the block, in this thread (or asyncio
    context), is collected; when the outermost block ends it is purged once, through the
    pipeline: recorded as purge intents (in the transaction around the block, if any) and
    delivered packed into the fewest requests. Above ``AKAMAI_COLLAPSE_THRESHOLD`` objects
    the site's CP codes (``AKAMAI_CPCODES``) are purged instead of tens of thousands of URLs;
    without CP codes configured everything is purged one by one, with a warning. Blocks nest
    (the inner one hands its objects to the outer one) and never see other threads' purges.

The doors call :func:`hold` with their plan right before the step that would make it happen
(``intents.record``, ``tasks.enqueue``, ``purging.send_now``, ``PurgeRequest.purge`` and
``purge_all``); the deliverer asks :func:`purging_enabled` before it claims anything and runs
:func:`unsuspended`, since it only delivers what was already decided.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

from . import conf
from .options import PurgeOptions
from .plan import Plan, site_cpcodes

logger = logging.getLogger("django_akamai")

__all__ = ["DISABLED", "SUSPENDED", "SuspendedPurges", "hold", "purging_enabled", "suspend_purges"]

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
    #: The plans recorded at the end (empty for an inner block: the outer one purges).
    purged: list[Plan] = field(default_factory=list)
    #: Whether the end purged the site's CP codes instead of the objects collected.
    collapsed: bool = False

    @property
    def count(self) -> int:
        """Distinct objects collected (the same URL asked for twice counts once)."""
        return len({(p.options, obj) for _, p, _ in self.requested for obj in p.objects})


_collecting: contextvars.ContextVar[SuspendedPurges | None] = contextvars.ContextVar(
    "django_akamai_suspended_purges", default=None
)


def purging_enabled() -> bool:
    """``AKAMAI_PURGE_ENABLED`` (default True)."""
    return bool(conf.get_setting("AKAMAI_PURGE_ENABLED"))


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


def holding() -> str | None:
    """What ``hold()`` would answer for any plan now, with no side effects: a door holding a
    large batch asks this first, so that it builds the plan only when one is needed."""
    if not purging_enabled():
        return DISABLED
    return None if _collecting.get() is None else SUSPENDED


@contextlib.contextmanager
def unsuspended() -> Iterator[None]:
    """Run the body as if no ``suspend_purges()`` block were open (the deliverer's)."""
    token = _collecting.set(None)
    try:
        yield
    finally:
        _collecting.reset(token)


@contextlib.contextmanager
def suspend_purges() -> Iterator[SuspendedPurges]:
    """Collect every purge requested inside; purge it all once at the end (see the module).

    Usable as a decorator too. Yields the :class:`SuspendedPurges` being collected. When the
    block raises, what was collected is still purged (changes made in autocommit mode are
    saved), unless the transaction around the block is already broken and will roll back.
    """
    outer = _collecting.get()
    mine = SuspendedPurges()
    token = _collecting.set(mine)
    failed = False
    try:
        yield mine
    except BaseException:
        failed = True
        raise
    finally:
        _collecting.reset(token)
        if outer is not None:
            outer.requested.extend(mine.requested)
        elif failed:
            try:
                _finish(mine)
            except Exception:  # the block's own exception is the one to see
                logger.exception("Could not purge what suspend_purges() collected")
        else:
            _finish(mine)


def _finish(held: SuspendedPurges) -> None:
    """Record what ``held`` collected as purge intents, collapsed to CP codes if too many."""
    from . import intents

    by_alias: dict[str, dict[PurgeOptions, dict[Any, None]]] = {}
    actors: dict[str, dict[str, None]] = {}
    for alias, the_plan, actor in held.requested:
        objects = by_alias.setdefault(alias, {}).setdefault(the_plan.options, {})
        objects.update(dict.fromkeys(the_plan.objects))
        for name in (actor or "").split(","):
            if name:
                actors.setdefault(alias, {})[name] = None
    total = held.count
    threshold = conf.get_setting("AKAMAI_COLLAPSE_THRESHOLD")
    if threshold is not None and total > int(threshold):
        cpcodes = site_cpcodes()
        if cpcodes:
            logger.info(
                "suspend_purges(): %d objects collected, more than AKAMAI_COLLAPSE_THRESHOLD "
                "(%s); purging the site's CP codes %s instead",
                total,
                threshold,
                ", ".join(map(str, cpcodes)),
            )
            held.collapsed = True
            by_alias = {
                alias: {
                    PurgeOptions(o.action, "cpcode", o.network): dict.fromkeys(cpcodes)
                    for o in groups
                }
                for alias, groups in by_alias.items()
            }
        else:
            logger.warning(
                "suspend_purges(): %d objects collected, more than AKAMAI_COLLAPSE_THRESHOLD "
                "(%s), but AKAMAI_CPCODES is not set: purging them one by one. Set "
                "AKAMAI_CPCODES to the site's CP codes to purge those instead.",
                total,
                threshold,
            )
    for alias, groups in by_alias.items():
        plans = [Plan(options, tuple(objects)) for options, objects in groups.items()]
        if connections[alias].needs_rollback:
            logger.warning(
                "suspend_purges(): the transaction on %r is rolling back; its %d purge(s) go "
                "with it",
                alias,
                sum(map(len, plans)),
            )
            continue
        actor = ",".join(actors.get(alias, {})) or "suspend_purges"
        intents.record(plans, using=alias, actor=actor)
        held.purged.extend(plans)
