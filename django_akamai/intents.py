"""Recording purge intents: what a door planned, written in the caller's own transaction.

``record(plan, using=...)`` writes one ``PurgeIntent`` row per object, on the database whose
transaction the purge belongs to (``intent_writes``: in autocommit mode one INSERT at once;
inside ``transaction.atomic()`` the transaction's rows together, just before it commits).
Because the rows live in the caller's transaction, a rollback (or a rolled-back savepoint)
drops them and a commit keeps them whatever happens to the process afterwards. An identical
pending intent of an account is stored once (the unique constraint on ``account`` and
``pending_key``). Each row is stamped with its account and the database's clock. Nothing here
talks to Akamai or a broker.

Once the rows are committed, the configured delivery is kicked (``delivery.kick``): at once in
autocommit mode, otherwise from one ``on_commit`` hook per transaction (see
``_kick_after_commit`` for why one is enough with savepoints).
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.db import connections, router, transaction

from . import conf, switches
from .delivery import lease as leases
from .delivery import modes as delivery
from .options import Plan, PurgeOptions

logger = logging.getLogger("django_akamai")

__all__ = [
    "gather_later",
    "in_transaction",
    "intent_key",
    "record",
    "record_unplannable",
    "rows",
]

#: Longest actor kept (the column's size).
MAX_ACTOR = 200


def intent_key(options: PurgeOptions, value: Any) -> str:
    """The de-duplication key of one object with these options (a SHA-256, hex)."""
    text = f"{options.type}\x1f{options.action}\x1f{options.network}\x1f{value}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def intents_alias(using: str) -> str:
    """Where intents of a transaction on ``using`` are written: ``using`` itself when the
    intent table is there (atomic with the change), else the router's choice."""
    aliases = _intents_aliases()
    found = aliases.get(using)
    if found is None:
        found = aliases[using] = _route_intents(using)
    return found


@conf.per_settings
def _intents_aliases() -> dict[str, str]:
    # The routers' answer, asked once per database and process (every save asks).
    return {}


def _route_intents(using: str) -> str:
    from .models import PurgeIntent

    if router.allow_migrate_model(using, PurgeIntent):
        return using
    return router.db_for_write(PurgeIntent)


def in_transaction(using: str) -> bool:
    """Whether ``using`` is inside ``transaction.atomic()`` (so a purge must wait for it)."""
    return connections[using].in_atomic_block


def rows(plans: Iterable[Plan], actor: str | None, account: str, delay: float = 0.0) -> list[Any]:
    """The intent rows (``intent_writes.Row``) of ``plans`` for ``account``, not written."""
    Row = _writes().Row  # noqa: N806 (the class)
    actor = (actor or "")[:MAX_ACTOR]
    rows = []
    for the_plan in plans:
        o = the_plan.options
        for value in the_plan.objects:
            key = intent_key(o, value)
            if delay > 0:
                # A key of its own: a delayed intent must neither swallow nor be swallowed by
                # the same object's immediate one.
                key = hashlib.sha256(f"{key}\x1fdelayed".encode()).hexdigest()
            rows.append(Row(key, account, o.type, o.action, o.network, str(value), actor))
    return rows


def record(
    plans: Plan | Iterable[Plan],
    *,
    using: str,
    actor: str | None = None,
    account: str | None = None,
    delay: float = 0.0,
) -> int:
    """Record planned objects as pending intents in the transaction on ``using``.

    Each intent belongs to ``account`` (``delivery.lease.account_name`` of the credentials it
    is to be sent with); by default the configured credentials' account, or "" where none are
    configured (their deliverer claims those too). Returns how many rows were offered
    (identical pending ones are stored once). Delivery is kicked once the rows are committed.
    ``delay`` makes them due that many seconds later, by the database's clock (the second
    purge against races). Inside ``transaction.atomic()`` the rows are written together
    before the transaction commits (``intent_writes.gather``). The funnel
    (``django_akamai.funnel.record``) asks the purge switches first; call that, not this.
    """
    plans = [plans] if isinstance(plans, Plan) else list(plans)
    if account is None:
        account = leases.default_account()
    new_rows = rows(plans, actor, account, delay)
    if not new_rows:
        return 0
    alias = intents_alias(using)
    if alias != using and connections[using].in_atomic_block:
        # The table lives elsewhere: write it once this transaction commits (not atomic with
        # the change, but never for a change that rolled back).
        transaction.on_commit(lambda: _write_now(new_rows, alias, delay), using=using)
        return len(new_rows)
    if delay > 0 or not connections[alias].in_atomic_block:
        _write_now(new_rows, alias, delay)
    else:
        _writes().gather(new_rows, alias, after_commit=_kicker(alias))
    return len(new_rows)


def gather_later(entry: Any, rows_of: Any, alias: str, size: int = 1) -> bool:
    """Have ``rows_of`` make ``entry``'s rows together with the rest of the transaction open
    on ``alias``, when its rows are written (``intent_writes.gather_later``); delivery is
    kicked after the commit. False, and nothing kept, where that cannot be: outside a
    transaction, or where the intent table lives on another database."""
    connection = connections[alias]
    if not connection.in_atomic_block or intents_alias(alias) != alias:
        return False
    _writes().gather_later(entry, rows_of, alias, _kicker(alias), size, connection=connection)
    return True


@functools.cache
def _writes() -> Any:
    from . import intent_writes  # it imports the models: once the apps are loaded

    return intent_writes


@functools.cache
def _kicker(alias: str) -> Callable[[], None]:
    """Delivery's kick for ``alias``, once the transaction that recorded on it committed."""
    return lambda: delivery.kick(alias)


def _write_now(rows: list[Any], alias: str, delay: float) -> None:
    _writes().write(rows, alias, delay)
    if delay > 0:
        _push_later(rows, alias, delay)
    _kick_after_commit(alias)


def _push_later(rows: list[Any], alias: str, delay: float) -> None:
    """An object saved again while its delayed intent waits: that one intent is now due
    ``delay`` after the latest save (one second purge per object, after the last change)."""
    from .models import PurgeIntent, chunks, database_now

    due = database_now(delay)
    pending = PurgeIntent.objects.using(alias).filter(status=PurgeIntent.PENDING)
    for keys in chunks(row.key for row in rows):  # SQLite's historical parameter limit
        pending.filter(key__in=keys, account=rows[0].account, next_attempt_at__lt=due).update(
            next_attempt_at=due
        )


def record_unplannable(
    what: Any,
    reason: str,
    *,
    using: str,
    object_type: str,
    actor: str | None = None,
    account: str | None = None,
) -> None:
    """Keep a purge that could not be planned visible: a failed intent naming the object
    and why (e.g. ``get_absolute_url()`` raised); the same object failing again counts on
    that row (attempts + 1, the newest reason). Never raises; records nothing when
    ``AKAMAI_PURGE_ENABLED`` is False."""
    from .models import PurgeIntent, database_now

    if not switches.purging_enabled():
        return

    value = f"<not planned: {what}>"
    try:
        if account is None:
            account = leases.default_account()
        text = f"unplannable\x1f{object_type}\x1f{value}"
        PurgeIntent.objects.using(intents_alias(using)).record_failed(
            key=hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(),
            account=account,
            object_type=object_type,
            action="",
            network="",
            value=value,
            created_at=database_now(),
            actor=(actor or "")[:MAX_ACTOR],
            error_title="could not be planned",
            error_detail=reason[:2000],
        )
    except Exception:  # the purge is already logged; the save must still succeed
        logger.exception("Could not record the unplannable purge of %s", what)


# --- kicking delivery after the commit ------------------------------------------------------

# The on-commit list the kick hook was last registered in, per connection. Django replaces
# that list on commit, rollback and savepoint rollback, so "still the same list" means the
# hook is still there.
_HOOKS_ATTR = "_django_akamai_kick_hooks"


def _kick_after_commit(alias: str) -> None:
    connection = connections[alias]
    if not connection.in_atomic_block:
        delivery.kick(alias)
        return
    if getattr(connection, _HOOKS_ATTR, None) is connection.run_on_commit:
        return
    # One hook per transaction. Registered inside a savepoint, it is dropped only if that
    # savepoint rolls back (and the list replaced, so the next recording registers again);
    # once the savepoint is released it can no longer roll back on its own. A kick that finds
    # nothing to send costs one query, so an extra one is harmless; a missing one is not.
    transaction.on_commit(lambda: delivery.kick(alias), using=alias)
    setattr(connection, _HOOKS_ATTR, connection.run_on_commit)
