"""The delivery lease: one sender per Akamai account at a time, on any database.

A ``DeliveryLease`` row per account names its holder and when the lease expires. Taking it is
one compare-and-set ``UPDATE ... WHERE name = %s AND (holder = me OR holder = '' OR
expires_at < now)``: the database applies it atomically (row lock on PostgreSQL and MySQL,
the write lock on SQLite), so of any number of deliverers in any number of processes exactly
one gets ``1`` back. The holder renews before every request; a holder that dies (SIGKILL,
power loss) stops renewing and the lease expires, so another deliverer takes over and first
returns the dead holder's claimed intents to pending.

Why not ``select_for_update(skip_locked=True)`` on the lease row: it needs a transaction held
open for the whole delivery (minutes, across HTTP requests) and does not exist on SQLite; the
compare-and-set works the same everywhere and holds no lock between statements.
``select_for_update(skip_locked=True)`` is used where it helps: claiming intent rows
(``deliver``), so a claim never waits behind a row another transaction holds.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

__all__ = ["Lease", "new_holder_id"]


def new_holder_id() -> str:
    """A name no other deliverer has: host, process, thread and a random part."""
    return (
        f"{socket.gethostname()[:80]}:{os.getpid()}:{threading.get_ident()}:{uuid.uuid4().hex[:8]}"
    )


class Lease:
    """The lease on account ``name`` in database ``using``, as held (or wanted) by ``holder``."""

    def __init__(self, name: str, *, using: str, holder: str | None = None, seconds: float = 60.0):
        self.name = name[:200]
        self.using = using
        self.holder = holder or new_holder_id()
        self.seconds = seconds
        self.held = False

    def _manager(self) -> Any:
        from ..models import DeliveryLease

        return DeliveryLease.objects.using(self.using)

    def _ensure_row(self) -> None:
        if self._manager().filter(name=self.name).exists():
            return
        try:
            with transaction.atomic(using=self.using):
                self._manager().create(name=self.name)
        except IntegrityError:
            pass  # another deliverer created it first

    def acquire(self, now: datetime | None = None) -> bool:
        """Take (or renew) the lease; True when this holder has it until now + seconds."""
        now = now or timezone.now()
        self._ensure_row()
        taken = (
            self._manager()
            .filter(name=self.name)
            .filter(Q(holder=self.holder) | Q(holder="") | Q(expires_at__lt=now))
            .update(holder=self.holder, expires_at=now + timedelta(seconds=self.seconds))
        )
        self.held = taken == 1
        return self.held

    def renew(self, now: datetime | None = None) -> bool:
        """Extend the lease; False when it was lost (expired and taken by someone else)."""
        now = now or timezone.now()
        renewed = (
            self._manager()
            .filter(name=self.name, holder=self.holder)
            .update(expires_at=now + timedelta(seconds=self.seconds))
        )
        self.held = renewed == 1
        return self.held

    def release(self) -> None:
        """Give the lease up (only if this holder still has it)."""
        self._manager().filter(name=self.name, holder=self.holder).update(
            holder="", expires_at=None
        )
        self.held = False

    def bucket_state(self) -> dict[str, Any]:
        """The rate-limit state the last holder left."""
        row = self._manager().filter(name=self.name).values_list("bucket_state", flat=True)
        return dict(row.first() or {})

    def save_bucket_state(self, state: dict[str, Any]) -> None:
        self._manager().filter(name=self.name, holder=self.holder).update(bucket_state=state)
