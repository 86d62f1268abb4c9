"""The funnel: every door's one way in. Plan, then the switches, then record or send.

Every door (``PurgeRequest``, the signals, the Celery task, automatic purging, the Wagtail
backend, the command and the admin) translates its arguments and calls this module; none
plans, records or sends on its own.

1. **Plan** (:func:`plan`): what was given is normalised once (URLs absolute and cache-key
   clean, the ``AKAMAI_CACHE_TAG_PREFIX`` applied once, CP codes as integers), de-duplicated in
   order, and each object checked to fit in one request. Bad values raise a specific
   ``InvalidPurgeObject`` before anything is sent or recorded.
2. **Route** (:func:`route`): each object to its Akamai account. An ``account=`` given by
   the door wins; otherwise a URL goes to the account of ``AKAMAI_ACCOUNTS`` whose
   ``HOSTNAMES`` hold its host, and everything else to the default account.
3. **The switches** (``django_akamai.switches``): purging off, or a ``suspend_purges()`` block
   collecting.
4. **Record or send**: inside ``transaction.atomic()`` on the purge's database the plan is
   recorded as purge intents of its account in that transaction (:func:`record`,
   ``django_akamai.intents``):
   dropped on rollback, kept by the commit, delivered afterwards as ``AKAMAI_DELIVERY`` says.
   Outside a transaction it is sent now (:func:`send_now`, through each account's
   ``django_akamai.sender``) or handed to the Celery task (the queueing doors pass
   ``send=tasks.enqueue``).

:func:`requests` and :func:`cut` split a plan into request bodies with the limits the transport
owns, so a dry run, a task split and a real send agree byte for byte.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.core.signals import setting_changed
from django.db import DEFAULT_DB_ALIAS, connections, router

from . import conf, intents, second_purge, switches
from .delivery.lease import account_identity
from .exceptions import (
    AkamaiConfigurationError,
    InvalidPurgeObject,
    InvalidURL,
    NoBaseURLConfigured,
    NotAURL,
    describe,
)
from .normalise import normalise, normalise_url, validate_cpcode, validate_tag
from .options import Plan, PurgeOptions, Unplanned, parse
from .packing import check_all_fit, split_batches
from .sender import Sender
from .switches import SuspendedPurges
from .transport import transport_class
from .transport.base import RequestLimits

logger = logging.getLogger("django_akamai")

__all__ = [
    "Plan",
    "PlannedRequest",
    "alias_of",
    "cut",
    "limits",
    "normalised",
    "plan",
    "plan_each",
    "planned",
    "record",
    "record_each",
    "request_purge",
    "requests",
    "route",
    "send_now",
    "site_cpcodes",
    "suspend_purges",
]


@dataclass(frozen=True)
class PlannedRequest:
    """One request a purge would send: where, the exact body, how many objects."""

    method: str
    url: str
    body: bytes
    count: int


# --- objects --------------------------------------------------------------------------------


def normalised(value: Any, object_type: str, bases: list[str] | None = None) -> list[Any]:
    """Every object in ``value`` normalised once for ``object_type`` (in order, duplicates kept).

    ``bases`` defaults to ``AKAMAI_BASE_URL`` for URLs. Raises a specific
    ``InvalidPurgeObject`` (or ``NoBaseURLConfigured``) naming the bad value.
    """
    if bases is None:
        bases = conf.base_urls() if object_type == "url" else []
    return list(normalise(value, object_type, bases))


def plan(
    objects: Any,
    options: dict[str, Any] | PurgeOptions | None = None,
    *,
    api: str | None = None,
    account: str | None = None,
) -> Plan:
    """Plan a purge of ``objects`` (anything ``PurgeRequest.add()`` takes) with ``options``.

    Model instances and QuerySets are resolved here, in the caller's process, where the
    database and ``AKAMAI_BASE_URL`` are; bad values raise before anything is sent or recorded.
    ``account`` (a name of ``AKAMAI_ACCOUNTS``, or "default") is where it purges; ``None``
    leaves it to :func:`route`. An unknown account raises ``AkamaiConfigurationError``.
    """
    opts = parse(options)
    conf.checked_account(account)
    items = tuple(dict.fromkeys(normalised(objects, opts.type)))
    check_sizes(items, opts, api)
    return Plan(opts, items, account)


def planned(
    objects: Any,
    options: dict[str, Any] | PurgeOptions | None = None,
    *,
    api: str | None = None,
    account: str | None = None,
) -> Plan:
    """A ``Plan`` of objects that were planned already (a task message, the command's lines),
    checked as ``plan()`` checks them but never normalised or prefixed a second time.

    A single string is one object (the original's ``delay(url)`` shape). Anything that is not
    an object in its planned form raises a specific ``InvalidPurgeObject`` naming it, before
    anything is sent: a URL must be absolute and normalised, a tag valid as it stands.
    """
    opts = parse(options)
    conf.checked_account(account)
    if isinstance(objects, (str, bytes, int)):
        objects = [objects]
    if not isinstance(objects, (list, tuple)):
        raise InvalidPurgeObject(
            f"Planned objects must be a list, not {type(objects).__name__} {describe(objects)}.",
            objects,
        )
    items = tuple(dict.fromkeys(_check_planned(obj, opts.type) for obj in objects))
    check_sizes(items, opts, api)
    return Plan(opts, items, account)


def _check_planned(obj: Any, object_type: str) -> Any:
    if object_type == "tag":
        return validate_tag(obj)
    if object_type == "cpcode":
        return validate_cpcode(obj)
    if not isinstance(obj, str):
        raise NotAURL(f"{describe(obj)} is a {type(obj).__name__}, not a URL.", obj)
    try:
        as_planned = normalise_url(obj, []) == [obj]
    except NoBaseURLConfigured:  # a relative path: only a base URL would make it one
        as_planned = False
    if not as_planned:
        # A relative path, another spelling of a URL, or not a URL at all: normalised here it
        # would be purged under another cache key than the one the caller planned.
        raise InvalidURL(
            f"{describe(obj)} is not a planned URL: an absolute, normalised URL such as "
            "'https://www.example.com/path' was expected.",
            obj,
        )
    return obj


def check_sizes(items: Iterable[Any], options: PurgeOptions, api: str | None = None) -> None:
    """Raise ``ObjectTooLarge`` for an object that cannot fit in any request on ``api``
    (default: the configured one): the one size check every plan passes."""
    # JSON takes at most 6 bytes a character and no envelope reaches 200 bytes, so short
    # objects fit whatever the API; only long ones need the API's limits (which may mean
    # reading the credentials) and the exact check.
    max_body_bytes = _max_body_bytes()
    long = [o for o in items if not isinstance(o, int) and len(o) * 6 + 200 > max_body_bytes]
    if long:
        request_limits = limits(options, api)
        check_all_fit(
            long, envelope=request_limits.envelope, max_bytes=request_limits.max_body_bytes
        )


def site_cpcodes() -> list[int]:
    """``AKAMAI_CPCODES``, the site's CP codes, validated (empty when not set): what
    ``akamai_purge --everything`` and a collapsed ``suspend_purges()`` purge."""
    value = conf.get_setting("AKAMAI_CPCODES")
    if not value:
        return []
    try:
        return list(dict.fromkeys(normalised(value, "cpcode")))
    except InvalidPurgeObject as exc:  # a setting, so a configuration error
        raise AkamaiConfigurationError(f"AKAMAI_CPCODES: {exc}") from None


def alias_of(objects: Any) -> str:
    """The database whose transaction a purge of ``objects`` belongs to."""
    from django.db.models import Model
    from django.db.models.query import QuerySet

    candidates = objects if isinstance(objects, (list, tuple)) else (objects,)
    for obj in candidates:
        if isinstance(obj, Model):
            return obj._state.db or router.db_for_write(type(obj), instance=obj)
        if isinstance(obj, QuerySet):
            # _db: the alias given to using(), if any (QuerySet.db would pick a read replica).
            return obj._db or router.db_for_write(obj.model)  # type: ignore[attr-defined]
    return DEFAULT_DB_ALIAS


# --- requests -------------------------------------------------------------------------------


def _max_body_bytes() -> int:
    return conf.setting("AKAMAI_MAX_BODY_BYTES")


def limits(options: PurgeOptions, api: str | None = None) -> RequestLimits:
    """The limits of one request with ``options`` on ``api`` (default: the configured one)."""
    return transport_class(api or conf.configured_api()).request_limits_for(
        options, _max_body_bytes()
    )


def cut(objects: list[Any] | tuple[Any, ...], request_limits: RequestLimits) -> list[list[Any]]:
    """``objects`` cut into the fewest request bodies under ``request_limits``, order kept."""
    return split_batches(
        objects,
        max_bytes=request_limits.max_body_bytes,
        max_objects=request_limits.max_objects,
        envelope=request_limits.envelope,
    )


def requests(
    the_plan: Plan, *, api: str | None = None, base_url: str = "https://<host>", transport=None
) -> list[PlannedRequest]:
    """The requests ``the_plan`` would send: method, URL, exact body and object count each.

    With a ``transport``, its own limits (a learned bucket size) and base URL are used.
    """
    if transport is not None:
        cls, request_limits = type(transport), transport.request_limits(the_plan.options)
        base_url = transport.base_url
    else:
        cls = transport_class(api or conf.configured_api())
        request_limits = cls.request_limits_for(the_plan.options, _max_body_bytes())
    return [
        PlannedRequest(
            "POST",
            base_url + cls.purge_path(the_plan.options),
            cls.purge_body(batch, the_plan.options),
            len(batch),
        )
        for batch in cut(list(the_plan.objects), request_limits)
    ]


def plan_each(
    values: Iterable[Any], options: dict[str, Any] | PurgeOptions | None = None
) -> tuple[Plan, list[tuple[Any, Exception]]]:
    """Plan each of ``values`` on its own (automatic purging: one bad value must not take the
    others with it). Returns the plan of the good ones and each bad value with its error."""
    opts = parse(options)
    values = list(values)
    with contextlib.suppress(Exception):
        # Usually every value is good: planned together, at the cost of one plan.
        return plan(values, opts), []
    objects: list[Any] = []
    errors: list[tuple[Any, Exception]] = []
    for value in values:
        try:
            objects.extend(plan(value, opts).objects)
        except Exception as exc:  # a get_absolute_url() or get_cache_tags() that raised, too
            errors.append((value, exc))
    return Plan(opts, tuple(dict.fromkeys(objects))), errors


def plan_unplanned(entries: Iterable[Unplanned]) -> dict[str | None, list[Plan]]:
    """Plan what doors deferred (``Unplanned``), by actor, as few plans as their options and
    accounts allow: each group at once, and value by value only when a value in it is bad
    (each bad one to its entry's ``on_error``). The plans name their entries' accounts."""
    groups: dict[tuple[Any, ...], list[Unplanned]] = {}
    for entry in entries:
        key = (entry.actor, tuple(entry.options.items()), entry.account)
        groups.setdefault(key, []).append(entry)
    by_actor: dict[str | None, list[Plan]] = {}
    for (actor, _, account), group in groups.items():
        opts = parse(group[0].options)
        values = [value for entry in group for value in entry.values]
        try:
            objects = plan(values, opts, account=account).objects
        except Exception:
            found: list[Any] = []
            for entry in group:
                the_plan, errors = plan_each(entry.values, opts)
                found.extend(the_plan.objects)
                for value, exc in errors:
                    entry.on_error(value, exc)
            objects = tuple(dict.fromkeys(found))
        plans = by_actor.setdefault(actor, [])
        if objects:
            plans.append(Plan(opts, objects, account))
    return by_actor


# --- routing --------------------------------------------------------------------------------


def route(plans: Plan | Iterable[Plan]) -> list[Plan]:
    """Each plan split by the account it purges on; every plan returned names its account
    (``conf.DEFAULT_ACCOUNT`` for the default), so routing again changes nothing.

    A plan that names its account (``account=`` of a door) goes there whole. Otherwise URLs
    go to the account of ``AKAMAI_ACCOUNTS`` whose ``HOSTNAMES`` hold their host, the rest
    (other hosts, tags, CP codes) to the default account. Order is kept within each account.
    """
    routed: list[Plan] = []
    for the_plan in [plans] if isinstance(plans, Plan) else plans:
        if the_plan.account is not None:
            name = conf.checked_account(the_plan.account) or conf.DEFAULT_ACCOUNT
            routed.append(Plan(the_plan.options, the_plan.objects, name))
            continue
        configured = conf.accounts() if the_plan.options.type == "url" else {}
        if not configured:
            routed.append(Plan(the_plan.options, the_plan.objects, conf.DEFAULT_ACCOUNT))
            continue
        by_account: dict[str, list[Any]] = {}
        for obj in the_plan.objects:
            name = conf.account_for_url(obj, configured) or conf.DEFAULT_ACCOUNT
            by_account.setdefault(name, []).append(obj)
        routed.extend(
            Plan(the_plan.options, tuple(objs), name) for name, objs in by_account.items()
        )
    return [p for p in routed if p]


def _by_account(plans: Iterable[Plan]) -> dict[str | None, list[Plan]]:
    """Routed plans grouped by account (``None``: the default), in order."""
    groups: dict[str | None, list[Plan]] = {}
    for the_plan in plans:
        groups.setdefault(conf.checked_account(the_plan.account), []).append(the_plan)
    return groups


# --- record or send -------------------------------------------------------------------------


def record(
    plans: Plan | Iterable[Plan],
    *,
    using: str,
    actor: str | None = None,
    account: str | None = None,
    delay: float = 0.0,
) -> int:
    """Record planned objects as pending intents of their accounts (:func:`route`; ``account``
    names one for plans that name none) in the transaction on ``using``, unless the switches
    hold them. Returns how many rows were offered.

    ``delay``: due that many seconds later. Without one, ``AKAMAI_SECOND_PURGE_SECONDS``
    (when set) records the same objects again, due that much later (``second_purge``)."""
    plans = [plans] if isinstance(plans, Plan) else list(plans)
    if account is not None:
        plans = [p if p.account is not None else Plan(p.options, p.objects, account) for p in plans]
    plans = route(plans)
    if switches.hold(plans, using=using, actor=actor):
        return 0  # purging is off, or suspend_purges() records them at its end
    return _record_by_account(plans, using=using, actor=actor, delay=delay)


def record_each(entries: Iterable[Unplanned]) -> None:
    """Automatic purging's way in: plan each entry's values (a bad one goes to the entry's
    ``on_error`` and must not take the others with it) and record them as :func:`record`
    does, on the entry's database, account and actor.

    Inside a transaction on that database, or a ``suspend_purges()`` block, planning waits
    and is done once for all the purges waiting there: just before the transaction's
    intents are written (before it commits or takes a savepoint, or the table is read), or
    when the block ends. Elsewhere (autocommit mode, purging off) it is done now. The
    entries are of one database (those of one change)."""
    entries = [entry for entry in entries if entry.values]
    if not entries:
        return
    state = switches.holding()
    if state == switches.SUSPENDED:
        for entry in entries:
            switches.hold_unplanned(entry)
        return
    first = entries[0]
    if state is None and intents.gather_later(first, _rows_of, first.using, len(first.values)):
        for entry in entries[1:]:  # the same database: kept there too
            intents.gather_later(entry, _rows_of, entry.using, len(entry.values))
        return
    for actor, plans in plan_unplanned(entries).items():
        record(plans, using=first.using, actor=actor)


def _rows_of(entries: list[Unplanned]) -> list[Any]:
    """The intent rows of a transaction's deferred purges (``intent_writes`` calls this just
    before it writes them). A purge must never fail the transaction it belongs to: an
    error is logged, as a save's own would be."""
    try:
        rows: list[Any] = []
        using = entries[0].using
        for actor, unrouted in plan_unplanned(entries).items():
            plans = route(unrouted)
            accounts = {name: (_identity(name), part) for name, part in _by_account(plans).items()}
            for identity, part in accounts.values():
                rows.extend(intents.rows(part, actor, identity))
                second_purge.record_later(part, using=using, actor=actor, account=identity)
        return rows
    except Exception:
        logger.exception("Could not record the purges of %d change(s)", len(entries))
        return []


# Each account's identity, read once per process: resolving credentials may read an edgerc
# file, which a save must not pay for. Forgotten when a setting changes (tests, mostly); an
# edgerc file edited while the process runs is read again by the next process.
_identities: dict[str | None, str] = {}


def _identity(name: str | None) -> str:
    identity = _identities.get(name)
    if identity is None:
        identity = _identities[name] = account_identity(name)
    return identity


def _forget_identities(setting: str, **kwargs: Any) -> None:
    if setting.startswith("AKAMAI_"):
        _identities.clear()


setting_changed.connect(_forget_identities, dispatch_uid=f"{__name__}._forget_identities")


def _record_by_account(
    plans: list[Plan], *, using: str, actor: str | None, delay: float = 0.0
) -> int:
    """Routed, held-or-not already: each account's intents (and, without ``delay``, its
    second purge)."""
    # Every account's identity first: a named account whose credentials cannot be read
    # raises before anything of this purge is recorded.
    groups = {name: (_identity(name), group) for name, group in _by_account(plans).items()}
    count = 0
    for identity, group in groups.values():
        count += intents.record(group, using=using, actor=actor, account=identity, delay=delay)
        if not delay:
            second_purge.record_later(group, using=using, actor=actor, account=identity)
    return count


def send_now(
    the_plan: Plan, *, actor: str | None = None, using: str = DEFAULT_DB_ALIAS
) -> list[dict[str, Any]]:
    """Send a plan from this process, each account's part with that account's sender;
    ``PurgeRequest.purge_all()``'s results (none when ``django_akamai.switches`` holds it:
    purging is off, or suspended until a block ends)."""
    plans = route(the_plan)
    if not plans or switches.hold(plans, using=using, actor=actor):
        return []
    # Every account's sender first: a configuration error stops before anything is sent.
    senders = []
    try:
        for name, group in _by_account(plans).items():
            credentials = conf.resolve_credentials(account=name)
            senders.append((Sender(credentials, actor=actor, account=name), group))
        results: list[dict[str, Any]] = []
        for sender, group in senders:
            for part in group:
                results.extend(sender.send_all(list(part.objects), part.options))
        return results
    finally:
        for sender, _ in senders:
            sender.close()


#: How a door sends a plan outside a transaction: ``send_now`` (the default) or the Celery
#: task's ``enqueue``; called with the plan and ``actor=``.
SendNow = Callable[..., Any]


def request_purge(
    objects: Any,
    *,
    options: dict[str, Any] | PurgeOptions | None = None,
    using: str | None = None,
    actor: str | None = None,
    fail_silently: bool = False,
    send: SendNow | None = None,
    account: str | None = None,
) -> Any:
    """Purge ``objects`` commit-safely: the funnel, whole.

    ``objects`` is anything ``PurgeRequest.add()`` takes. Inside a transaction on ``using``
    (default: the instance's or QuerySet's database, else ``default``) this records purge
    intents and returns ``None``. Outside one it hands the plan to ``send`` (default
    :func:`send_now`; the queueing doors pass the Celery task's ``enqueue``) and returns what
    that returns. ``fail_silently=True`` logs immediate failures to send instead of raising
    (bad objects and settings still raise, before anything is sent or recorded).
    ``account`` names the account to purge on (a name of ``AKAMAI_ACCOUNTS``, or "default");
    without it URLs go to the account of their host (:func:`route`).
    """
    the_plan = plan(objects, options, account=account)
    alias = using or alias_of(objects)
    if intents.in_transaction(alias):
        record(the_plan, using=alias, actor=actor)
        return None
    try:
        if send is None:
            return send_now(the_plan, actor=actor, using=alias)
        if not the_plan or switches.hold(the_plan, using=alias, actor=actor):
            return None
        return send(the_plan, actor=actor)
    except Exception:
        if not fail_silently:
            raise
        logger.exception("Purging %d object(s) failed", len(the_plan))
        return None


# --- suspend_purges() ---------------------------------------------------------------------


@contextlib.contextmanager
def suspend_purges() -> Iterator[SuspendedPurges]:
    """Collect every purge requested inside; purge it all once at the end.

    See ``django_akamai.switches`` for what is collected.

    Usable as a decorator too. Yields the :class:`SuspendedPurges` being collected. When the
    block raises, what was collected is still purged (changes made in autocommit mode are
    saved), unless the transaction around the block is already broken and will roll back.
    """
    failed = False
    outer: SuspendedPurges | None = None
    mine = SuspendedPurges()
    try:
        with switches.collecting() as (outer, mine):
            yield mine
    except BaseException:
        failed = True
        raise
    finally:
        if outer is not None:
            # The outermost block purges it all.
            outer.requested.extend(mine.requested)
            outer.unplanned.extend(mine.unplanned)
        elif failed:
            try:
                _finish(mine)
            except Exception:  # the block's own exception is the one to see
                logger.exception("Could not purge what suspend_purges() collected")
        else:
            _finish(mine)


def _finish(held: SuspendedPurges) -> None:
    """Record what ``held`` collected as purge intents of their accounts; the default
    account's collapsed to its CP codes if too many."""
    Key = tuple[str, PurgeOptions]  # (account, options)
    by_database: dict[str, list[Unplanned]] = {}
    for entry in held.unplanned:
        by_database.setdefault(entry.using, []).append(entry)
    held.unplanned = []
    for alias, entries in by_database.items():
        # Planned all at once: what automatic purging asked for inside the block.
        for actor, plans in plan_unplanned(entries).items():
            held.requested.extend((alias, p, actor) for p in plans)
    by_alias: dict[str, dict[Key, dict[Any, None]]] = {}
    actors: dict[str, dict[str, None]] = {}
    for alias, the_plan, actor in held.requested:
        for part in route(the_plan):
            objects = by_alias.setdefault(alias, {}).setdefault(
                (str(part.account), part.options), {}
            )
            objects.update(dict.fromkeys(part.objects))
        for name in (actor or "").split(","):
            if name:
                actors.setdefault(alias, {})[name] = None
    total = held.count
    threshold = conf.setting("AKAMAI_COLLAPSE_THRESHOLD")
    if threshold is not None and total > threshold:
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
            # AKAMAI_CPCODES are the default account's: a named account's objects stay.
            by_alias = {alias: _collapsed(groups, cpcodes) for alias, groups in by_alias.items()}
        else:
            logger.warning(
                "suspend_purges(): %d objects collected, more than AKAMAI_COLLAPSE_THRESHOLD "
                "(%s), but AKAMAI_CPCODES is not set: purging them one by one. Set "
                "AKAMAI_CPCODES to the site's CP codes to purge those instead.",
                total,
                threshold,
            )
    for alias, groups in by_alias.items():
        plans = [Plan(options, tuple(objects), name) for (name, options), objects in groups.items()]
        if connections[alias].needs_rollback:
            logger.warning(
                "suspend_purges(): the transaction on %r is rolling back; its %d purge(s) go "
                "with it",
                alias,
                sum(map(len, plans)),
            )
            continue
        actor = ",".join(actors.get(alias, {})) or "suspend_purges"
        _record_by_account(plans, using=alias, actor=actor)  # held already
        held.purged.extend(plans)


def _collapsed(
    groups: dict[tuple[str, PurgeOptions], dict[Any, None]], cpcodes: list[int]
) -> dict[tuple[str, PurgeOptions], dict[Any, None]]:
    """The default account's groups as its CP codes (one group per action and network)."""
    result: dict[tuple[str, PurgeOptions], dict[Any, None]] = {}
    for (name, o), objects in groups.items():
        if name == conf.DEFAULT_ACCOUNT:
            key = (name, PurgeOptions(o.action, "cpcode", o.network))
            result.setdefault(key, {}).update(dict.fromkeys(cpcodes))
        else:
            result.setdefault((name, o), {}).update(objects)
    return result
