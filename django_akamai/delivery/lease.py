"""The delivery lease: one sender per Akamai account at a time, on any database.

A ``DeliveryLease`` row per account names its holder and when the lease expires. Taking it is
one compare-and-set ``UPDATE ... WHERE name = %s AND (holder = me OR holder = '' OR
expires_at < now)``: the database applies it atomically (row lock on PostgreSQL and MySQL,
the write lock on SQLite), so of any number of deliverers in any number of processes exactly
one gets ``1`` back. A released lease is tried first (``holder = ''``): the usual case, which
leaves no claimed intents behind; only a lease taken from a holder that never released it
(``Lease.taken_over``) makes the deliverer return that holder's claimed intents to pending.
Where ``UPDATE ... RETURNING`` exists (PostgreSQL, SQLite) the same statement returns the
buckets the last holder left. The holder renews by time (``Lease.renew(every=...)``); a holder
that dies (SIGKILL, power loss) stops renewing and the lease expires, so another deliverer
takes over. ``release`` saves the buckets in the same UPDATE.

Why not ``select_for_update(skip_locked=True)`` on the lease row: it needs a transaction held
open for the whole delivery (minutes, across HTTP requests) and does not exist on SQLite; the
compare-and-set works the same everywhere and holds no lock between statements.
``select_for_update(skip_locked=True)`` is used where it helps: claiming intent rows
(``models.IntentQuerySet.claim``), so a claim never waits behind a row another transaction
holds.

Expiry is judged by the database's clock (``models.DatabaseNow``), never a host's: a
deliverer whose clock runs ten minutes ahead does not take a live holder's lease, one ten
minutes behind does not wait for an expired one.

Holders: a process delivers under one holder id for its life (``process_holder_id``, made
anew in a forked child), so a round that broke without releasing its lease (a database
outage) does not lock the next round of the same process out: ``acquire`` takes a lease its
holder already has. Two threads of one process share that id; the lease is theirs one at a
time (``Lease.acquire`` answers "busy" to the second while the first delivers).

``account_name`` is the one place that names an account: the lease's name and the
``account`` of each intent recorded for it; ``account_identity`` gives it for an account of
the settings (the default, or a name of ``AKAMAI_ACCOUNTS``).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from .. import conf
from ..exceptions import AkamaiConfigurationError

__all__ = [
    "Lease",
    "account_identity",
    "account_name",
    "default_account",
    "new_holder_id",
    "process_holder_id",
]


def account_name(credentials: Any) -> str:
    """The account these credentials purge on: their API and host (never a secret). Names
    the delivery lease and is stamped on each intent recorded for it."""
    host = getattr(credentials, "host", None) or getattr(credentials, "base_url", "")
    return f"{credentials.api} {host}"[:200]


def default_account() -> str:
    """The account of the configured credentials, or "" where none are configured (a web
    process in worker mode may have none: its deliverer, which has them, claims "" too)."""
    try:
        return account_name(conf.resolve_credentials())
    except AkamaiConfigurationError:
        return ""


def account_identity(account: str | None) -> str:
    """What intents of ``account`` (a name of ``AKAMAI_ACCOUNTS``, or ``None``: the default)
    are stamped with: ``default_account()`` for the default, the ``account_name`` of its
    credentials for a named one (which must be readable where a purge is recorded: an
    ``AkamaiConfigurationError`` otherwise, as a row stamped "" would go to the default)."""
    if account is None:
        return default_account()
    return account_name(conf.resolve_credentials(account=account))


def new_holder_id() -> str:
    """A name no other deliverer has: host, process, thread and a random part."""
    return (
        f"{socket.gethostname()[:80]}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:8]}"
    )


_process_holder: str | None = None


def _forget_process_holder() -> None:
    global _process_holder
    _process_holder = None


os.register_at_fork(after_in_child=_forget_process_holder)


def process_holder_id() -> str:
    """This process's holder id: the same for its whole life, a new one after a fork."""
    global _process_holder
    if _process_holder is None:
        _process_holder = new_holder_id()
    return _process_holder


# Which thread of this process is delivering under a (database, lease, holder), and until
# when at most (the lease's length: a thread that broke off without releasing does not keep
# the others out for longer than the lease would).
_local_lock = threading.Lock()
_local_users: dict[tuple[str, str, str], tuple[threading.Thread, float]] = {}


class Lease:
    """The lease on account ``name`` in database ``using``, as held (or wanted) by ``holder``."""

    def __init__(self, name: str, *, using: str, holder: str | None = None, seconds: float = 60.0):
        self.name = name[:200]
        self.using = using
        self.holder = holder or new_holder_id()
        self.seconds = seconds
        self.held = False
        #: Whether ``acquire`` took the lease from a holder that never released it (it died,
        #: or its round broke): only then can intents it claimed be left behind.
        self.taken_over = False
        self._buckets: dict[str, Any] | None = None  # read with the lease, when it could be
        self._renewed = 0.0  # time.monotonic() when the expiry was last set

    def _manager(self) -> Any:
        from ..models import DeliveryLease  # models load after the app registry

        return DeliveryLease.objects.using(self.using)

    def _enter_locally(self) -> bool:
        """Whether no other thread of this process delivers under this holder now."""
        me, slot = threading.current_thread(), (self.using, self.name, self.holder)
        with _local_lock:
            user = _local_users.get(slot)
            if user is not None:
                thread, until = user
                if thread is not me and thread.is_alive() and time.monotonic() < until:
                    return False
            _local_users[slot] = (me, time.monotonic() + self.seconds)
            return True

    def _leave_locally(self) -> None:
        with _local_lock:
            user = _local_users.get((self.using, self.name, self.holder))
            if user is not None and user[0] is threading.current_thread():
                del _local_users[(self.using, self.name, self.holder)]

    def _create_row(self) -> bool:
        """Create the lease row if there is none; whether there was none."""
        if self._manager().filter(name=self.name).exists():
            return False
        try:
            with transaction.atomic(using=self.using):
                self._manager().create(name=self.name)
        except IntegrityError:
            pass  # another deliverer created it first
        return True

    def _times(self, now: datetime | None) -> tuple[Any, Any]:
        """ "now" and the new expiry: the database's clock unless a test passes ``now``."""
        from ..models import database_now

        if now is not None:
            return now, now + timedelta(seconds=self.seconds)
        return database_now(), database_now(self.seconds)

    def _take(self, condition: Q, expiry: Any) -> bool:
        """The compare-and-set; where the database returns rows from an UPDATE, the buckets
        come back in the same statement (the UPDATE leaves them as they are)."""
        from ..models import update_returning, updates_return_rows

        rows = self._manager().filter(condition, name=self.name)
        marks = {"holder": self.holder, "expires_at": expiry}
        if not updates_return_rows(self.using):
            return rows.update(**marks) == 1
        taken = update_returning(rows, marks, ["bucket_state"])
        if taken:
            self._buckets = dict(taken[0][0] or {})
        return bool(taken)

    def acquire(self, now: datetime | None = None) -> bool:
        """Take (or renew) the lease; True when this holder has it until now + seconds.
        The holder's own unreleased lease is taken again, never answered "busy"."""
        if not self._enter_locally():
            self.held = False
            return False
        current, expiry = self._times(now)
        self._buckets = None
        try:
            started = time.monotonic()
            # A released lease first: the usual case, and one that leaves no claims behind.
            self.taken_over = False
            taken = self._take(Q(holder=""), expiry)
            if not taken:
                self.taken_over = True
                unreleased = Q(holder=self.holder) | Q(expires_at__lt=current)
                taken = self._take(Q(holder="") | unreleased, expiry)
                if not taken and self._create_row():
                    taken = self._take(Q(holder=""), expiry)
                    self.taken_over = False
        except BaseException:
            self._leave_locally()
            raise
        self.held = taken
        if self.held:
            self._renewed = started
        else:
            self._leave_locally()
        return self.held

    def renew(self, now: datetime | None = None, *, every: float = 0.0) -> bool:
        """Extend the lease; False when it was lost (expired and taken by someone else).

        With ``every``, only once that many seconds have passed (by this process's monotonic
        clock) since the expiry was last set; until then the lease is known to be held. Safe
        because the expiry is the database's ``now + seconds`` of a statement issued after
        the time noted here, so ``seconds - every`` of it is left at least (the caller makes
        that longer than anything it does before the next call)."""
        if every and self.held and time.monotonic() - self._renewed < every:
            return True
        started = time.monotonic()
        _, expiry = self._times(now)
        renewed = (
            self._manager().filter(name=self.name, holder=self.holder).update(expires_at=expiry)
        )
        self.held = renewed == 1
        if self.held:
            self._renewed = started
        return self.held

    def release(self, bucket_state: dict[str, Any] | None = None) -> None:
        """Give the lease up (only if this holder still has it), leaving ``bucket_state``
        for the next holder when given: one statement."""
        self.held = False
        changes: dict[str, Any] = {"holder": "", "expires_at": None}
        if bucket_state is not None:
            changes["bucket_state"] = bucket_state
        try:
            self._manager().filter(name=self.name, holder=self.holder).update(**changes)
        finally:
            self._leave_locally()

    def bucket_state(self) -> dict[str, Any]:
        """The rate-limit state the last holder left (read with the lease where it could be)."""
        if self._buckets is not None:
            return dict(self._buckets)
        row = self._manager().filter(name=self.name).values_list("bucket_state", flat=True)
        return dict(row.first() or {})

    def save_bucket_state(self, state: dict[str, Any]) -> None:
        self._manager().filter(name=self.name, holder=self.holder).update(bucket_state=state)
