"""The deliverer: sends pending purge intents to Akamai, one sender per account at a time.

``deliver_pending(using)`` is the whole job, whoever runs it (the background thread, ``manage.py
akamai_worker``, the Celery task): for each account, take its lease (``lease``), return what a
lost round had claimed to pending, then until nothing is due: claim pending intents, group them
by options, pack each group into the fewest requests (``sender.Sender`` with the transport's
limits, so 1,000 saves committed one by one go out in about ``ceil(bytes / 50,000)``
requests), pace from the account's buckets (continued from the state the last holder saved on
the lease), and settle each request:

- accepted: the intents are deleted and the purge history records the request (the sender's
  ``request_accepted``, as for every other purge), in one transaction: one commit
  (``_settling``, entered once Akamai answered, through ``Sender.send``'s ``settle``);
- transient failure (timeouts, 5xx, 429s past the request's deadline): the intents go back to
  pending with ``attempts`` + 1 and ``next_attempt_at`` backed off, stored in the table so a
  restart keeps it; this round stops (Akamai is unreachable);
- refused (400, 403, 413): the request is split in halves until the refused objects stand
  alone, so everything else is delivered; a refused object is kept as a ``failed`` intent with
  Akamai's status, title, detail and supportId, and never retried unless someone asks
  (``retry_failed``);
- a refusal of the credentials or the clock (the EdgeGrid gateway's,
  ``sender.refused_by_gateway``): the intents go back to pending as they were, with no attempt
  counted and no backoff, and the report says why (``config_error``); ``delivery.modes`` looks
  again later.

What a round asks of the database, for one intent: the lease (with the buckets its last holder
left, in one statement where ``UPDATE ... RETURNING`` exists); the claim (one statement there);
the history row and the DELETE (one transaction; one statement on PostgreSQL); the release
(with the buckets, one UPDATE); and, once released, one look at what is pending (when the
next intent is due, and whether one became due meanwhile): five statements on PostgreSQL,
six on SQLite, eight on MariaDB, and one statement (two elsewhere) and a commit per further
request (``tests/test_delivery_statements.py``). The lease is renewed by time
(``renew_every``), not before every request; the dead holder's claims are looked for only when
the lease was taken from a holder that never released it; what is still claimed at the end is
looked up only when the round broke off. The database's work overlaps Akamai's: the next
request goes out (a thread that only speaks HTTP) while the one before is settled, and the
next batch is claimed ahead on a connection of its own while one is sent (``_Claims``).

Public functions: ``deliver_pending``, ``retry_failed``, ``discard_failed``, ``pending_summary``,
``intent_databases``, ``account_name``. Nothing here decides *when* to deliver: that is
``delivery.modes``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from django.db import DatabaseError, connections, router, transaction

from .. import conf, history, switches
from ..exceptions import (
    AkamaiConfigurationError,
    InvalidPurgeObject,
    PurgeRequestFailed,
    PurgeRetriesExhausted,
    preview,
    shown,
)
from ..options import PurgeOptions
from ..sender import Answer, Sender, default_retry, refuses_objects
from .lease import Lease, account_name, process_holder_id

logger = logging.getLogger("django_akamai")

if TYPE_CHECKING:
    from ..models import Claimed, PurgeIntent


def _model() -> type[PurgeIntent]:
    # The models load after the app registry; this module loads with the doors (a settings
    # file or a Celery config may import them first).
    from ..models import PurgeIntent

    return PurgeIntent


def _database_now(seconds: float = 0.0) -> Any:
    from ..models import database_now

    return database_now(seconds)


__all__ = [
    "DeliveryReport",
    "Refusal",
    "account_name",
    "deliver_pending",
    "discard_failed",
    "pending_summary",
    "retry_failed",
    "summary_by_account",
]

#: Intents claimed at a time: enough for several full requests, bounded memory.
CLAIM_BATCH = 10_000
#: How long one request may keep retrying (and waiting for tokens) at most before its intents
#: are backed off in the table instead (``AKAMAI_RETRY_DEADLINE`` when shorter); bounds how
#: long a lease must last.
REQUEST_DEADLINE = 60.0


@dataclass(frozen=True)
class Refusal:
    """One object Akamai refused, with its reason."""

    object: Any
    object_type: str
    status: int | None
    title: str
    detail: str
    support_id: str

    def __str__(self) -> str:
        reason = "; ".join(shown(p) for p in (self.title, self.detail) if p) or "refused"
        support = f" (supportId {shown(self.support_id)})" if self.support_id else ""
        status = f"HTTP {self.status}" if self.status else "not sent"
        return f"{self.object} refused, {status}: {reason}{support}"


@dataclass
class DeliveryReport:
    """What one ``deliver_pending`` call did."""

    busy: bool = False  # another deliverer holds the account's lease
    accepted: int = 0  # intents delivered and removed
    requests: int = 0  # requests Akamai accepted
    refused: list[Refusal] = field(default_factory=list)
    deferred: int = 0  # intents backed off after a transient failure
    config_error: str | None = None
    next_attempt_at: datetime | None = None  # the earliest pending intent not yet due
    #: Seconds until then by the database's clock (None: nothing pending), for a process
    #: whose own clock may be off.
    seconds_until_due: float | None = None

    @property
    def ok(self) -> bool:
        return not (self.refused or self.deferred or self.config_error)

    def task_result(self) -> dict[str, Any]:
        """The counts a delivery task returns (Celery's and Django Tasks' alike)."""
        return {
            "busy": self.busy,
            "accepted": self.accepted,
            "requests": self.requests,
            "refused": len(self.refused),
            "deferred": self.deferred,
        }

    def merge(self, other: DeliveryReport) -> None:
        self.busy = self.busy or other.busy
        self.accepted += other.accepted
        self.requests += other.requests
        self.refused.extend(other.refused)
        self.deferred += other.deferred
        self.config_error = self.config_error or other.config_error
        self.next_attempt_at = other.next_attempt_at
        self.seconds_until_due = other.seconds_until_due


class _Stop(Exception):
    """This round ends: Akamai unreachable, a setup refusal, the lease lost or a stop asked."""


UNREACHABLE = "Akamai unreachable"


def request_deadline() -> float:
    return min(conf.setting("AKAMAI_RETRY_DEADLINE"), REQUEST_DEADLINE)


def longest_request() -> float:
    """The longest one request can take: no retry starts past the deadline, and the last
    attempt may take a connect and a read timeout."""
    connect, read = conf.timeouts()
    return request_deadline() + connect + read


def lease_seconds() -> float:
    """Longer than any one request can take (``longest_request``), with the timeouts again
    and 5 s for slack; also how long a dead holder blocks its account.
    ``AKAMAI_DELIVERY_LEASE_SECONDS`` overrides it."""
    configured = conf.setting("AKAMAI_DELIVERY_LEASE_SECONDS")
    if configured is not None:
        return float(configured)
    connect, read = conf.timeouts()
    return longest_request() + connect + read + 5.0


def renew_every(seconds: float) -> float:
    """How often the holder of a lease of ``seconds`` renews it: before a request, once half
    of the slack the lease has over ``longest_request`` has passed since the expiry was last
    set, so at least ``longest_request`` plus half that slack is left when a request starts.
    That is one renewal every few seconds of sending instead of one per request (a statement
    and a commit each); a lease shorter than a request (a setting) renews before every one."""
    return max(0.0, (seconds - longest_request()) / 2)


def _intents(using: str) -> Any:
    return _model().objects.using(using)


def _backoff_seconds(attempts: int) -> float:
    base = conf.setting("AKAMAI_DELIVERY_RETRY_BACKOFF")
    ceiling = conf.setting("AKAMAI_DELIVERY_RETRY_BACKOFF_MAX")
    return min(ceiling, base * 2 ** max(0, attempts - 1)) * random.uniform(0.75, 1.0)


# --- claiming and settling rows -------------------------------------------------------------
# Thin calls onto the intent table's queryset (``models.IntentQuerySet``), which owns its
# states and its clock (the database's).


@dataclass(frozen=True)
class _Account:
    """The account one round delivers: its name in the settings (``None``: the default),
    its identity (``lease.account_name``, the intents' ``account``) and its credentials."""

    name: str | None
    identity: str
    credentials: Any = field(repr=False, compare=False)

    @property
    def unstamped(self) -> bool:
        """The default account also sends what was recorded where no credentials were
        configured (account ""); a named account only its own."""
        return self.name is None


def _account_intents(using: str, account: _Account) -> Any:
    """The intents this deliverer sends: its account's (and the unstamped ones, for the
    default account)."""
    return _intents(using).for_account(account.identity, unstamped=account.unstamped)


def _claim(using: str, holder: str, burst: bool, account: _Account) -> list[Claimed]:
    """Mark up to ``CLAIM_BATCH`` due intents of ``account`` as claimed by ``holder``."""
    return _account_intents(using, account).claim(holder, CLAIM_BATCH, burst=burst)


def _back_to_pending(
    using: str, ids: list[int], from_status: str = "claimed", **changes: Any
) -> None:
    """Claimed (or failed) intents back to pending; one whose object was recorded again
    meanwhile (an identical pending intent) is deleted instead: the newer one covers it."""
    _intents(using).back_to_pending(ids, from_status, **changes)


def _return_orphans(using: str, account: _Account) -> int:
    """Every claimed intent of ``account`` goes back to pending: this deliverer holds the
    account's lease and a process runs one round at a time, so whatever is claimed now was
    left by a holder that died or by a round that broke (this process's own too: a database
    outage in the middle of its round)."""
    count = _account_intents(using, account).return_orphans()
    if count:
        logger.warning("Returned %d purge intent(s) of a lost delivery round to pending", count)
    return count


@contextmanager
def _settling(using: str, ids: list[int]) -> Iterator[None]:
    """Where an accepted request is reported (``Sender.send``'s ``settle``), entered after
    the HTTP answer: the receivers of ``request_accepted`` run, the purge history handing
    its row over (``history.handed_over``) instead of writing it; then the row and the
    deletion of the request's intents are one transaction, one commit: one statement on
    PostgreSQL, in autocommit mode (``IntentQuerySet.settle``), the INSERT and the DELETE
    elsewhere. Should that
    fail, it is settled again, the row in a savepoint of its own (a failed INSERT rolled
    back alone, never undoing the deletion) and the DELETE; a DELETE that fails again
    raises, and the intents go back to pending (``_round``) to be sent again. History
    routed to another database is written there, in a transaction of its own."""
    with history.handed_over(using) as rows:
        yield
    record = rows[0] if rows else None
    for extra in rows[1:]:  # another receiver of the same request: written apart
        history.write(extra)
    if record is not None:
        try:
            _intents(using).settle(ids, record)
            return
        except DatabaseError:
            logger.debug("Settling with the history row failed; settling again", exc_info=True)
        with transaction.atomic(using=using):
            history.write(record)
            _intents(using).settle(ids)
    else:
        _intents(using).settle(ids)


def _defer(using: str, ids: list[int], error: PurgeRequestFailed | None, reason: str) -> None:
    """Transient failure: attempts + 1 and a later next_attempt_at, stored on each intent."""
    _intents(using).back_off(ids, error, reason, _backoff_seconds)


def _fail(using: str, ids: list[int], error: Any, status: int | None = None) -> None:
    _intents(using).fail(ids, error, status)


# --- sending one group ------------------------------------------------------------------


class _Group:
    """The claimed intents of one set of options, sent through the round's ``Sender``."""

    def __init__(self, using: str, options: PurgeOptions, intents: list[Any], report: Any):
        self.using = using
        self.options = options
        self.report = report
        self.ids: dict[Any, list[int]] = {}
        for intent in intents:
            self.ids.setdefault(intent.object, []).append(intent.pk)
        actors: dict[str, None] = {}
        for recorded in dict.fromkeys(intent.actor for intent in intents):  # few distinct
            for actor in recorded.split(","):
                if actor:
                    actors[actor] = None
        self.actor = ",".join(actors)[:200] or None

    def all_ids(self, objects: Iterable[Any] | None = None) -> list[int]:
        keys = self.ids if objects is None else objects
        return [pk for obj in keys for pk in self.ids.get(obj, ())]


def _cannot_send(group: _Group, objects: list[Any], error: Exception) -> None:
    """Objects no request can carry: failed intents with the reason; the round goes on."""
    _fail(group.using, group.all_ids(objects), error)
    group.report.refused.extend(
        Refusal(obj, group.options.type, None, "cannot be sent", str(error), "") for obj in objects
    )
    logger.error("Cannot send %s; kept as failed purge intent(s): %s", preview(objects), error)


def _new_sender(account: _Account, bucket_state: dict[str, Any]) -> Sender:
    """The round's sender: the request deadline bounds a lease, the pacer continues from the
    buckets the last holder saved."""
    sender = Sender(
        account.credentials,
        retry=default_retry(deadline=request_deadline()),
        account=account.name,
    )
    sender.transport.pacer.restore(bucket_state)
    return sender


_T = TypeVar("_T")


class _InThread(threading.Thread, Generic[_T]):
    """One call run in a thread of its own, started at once; ``result()`` waits for it.
    A daemon thread: a process that exits (after ``AKAMAI_DELIVERY_EXIT_WAIT``) never
    waits for a request still retrying."""

    def __init__(self, name: str, call: Callable[[], _T]):
        super().__init__(name=name, daemon=True)
        self.call = call
        self.value: _T | None = None
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.value = self.call()
        except BaseException as exc:  # handed to the thread that waits for it
            self.error = exc

    def result(self) -> _T:
        self.join()
        if self.error is not None:
            raise self.error
        return cast(_T, self.value)


def _send_group(group: _Group, sender: Sender, lease: Lease, stop: threading.Event | None) -> None:
    """Send every object of ``group``; raise ``_Stop`` when the round must end.

    One request at a time; once one is accepted, the next goes out (``Sender.post``, in a
    thread that only speaks HTTP) before it is settled, so its transaction runs while the
    next request is on its way, in this thread, on this thread's connection
    (``unsettled``: at most one)."""
    options = group.options
    queue = list(group.ids)
    start = 0  # queue[:start] is answered
    sender.actor = group.actor
    every = renew_every(lease.seconds)
    unsettled: list[tuple[Answer, list[int]]] = []  # accepted, its intents not yet deleted

    def settle() -> None:
        while unsettled:
            answer, ids = unsettled.pop()
            # Deleted with the history row, in one commit (``_settling``).
            sender.report(answer, settle=partial(_settling, group.using, ids))
            group.report.accepted += len(ids)
            group.report.requests += 1

    def send(limit: int | None) -> None:
        nonlocal start
        if stop is not None and stop.is_set():
            raise _Stop("stop requested")
        if not lease.renew(every=every):
            raise _Stop("the delivery lease was lost")
        try:
            count = sender.count_fitting(queue, options, start, limit)
        except InvalidPurgeObject as exc:
            # Recorded before every door planned (an older version, a hand-made row): it can
            # never be sent, so it becomes a failed intent and the round goes on.
            start += 1
            _cannot_send(group, [queue[start - 1]], exc)
            return
        batch = queue[start : start + count]
        ids = group.all_ids(batch)
        if unsettled:
            on_its_way = _InThread("akamai-delivery-post", partial(sender.post, batch, options))
            try:
                settle()
            except BaseException:
                # This one was sent all the same: if accepted, it is settled on the way out
                # when the database lets it (``_send_group``), else sent again.
                if on_its_way.result().error is None:
                    unsettled.append((on_its_way.result(), ids))
                raise
            answer = on_its_way.result()
        else:
            answer = sender.post(batch, options)
        if answer.error is None:
            start += count
            unsettled.append((answer, ids))
            return
        try:
            sender.report(answer)  # the failure: reported, then raised
        except PurgeRetriesExhausted as exc:
            _defer(group.using, ids, exc, exc.reason)
            group.report.deferred += len(ids)
            logger.warning("Akamai unreachable; %d purge intent(s) backed off: %s", len(ids), exc)
            raise _Stop(UNREACHABLE) from None
        except PurgeRequestFailed as exc:
            if not refuses_objects(exc):
                # The setup's problem (credentials, clock): nothing is blamed on the objects
                # and nothing backs off; the process looks again (delivery.modes) and a fixed
                # setup sends them at once.
                unsent = group.all_ids(queue[start:])
                _intents(group.using).wait_for_setup(unsent, exc)
                group.report.deferred += len(unsent)
                group.report.config_error = str(exc)
                logger.error(
                    "Akamai refused a purge request (not its objects); %d purge intent(s) stay "
                    "pending: %s",
                    len(unsent),
                    exc,
                    exc_info=True,
                )
                raise _Stop("setup refused") from None
            if len(batch) > 1:
                half = len(batch) // 2
                send(half)
                send(len(batch) - half)
                return
            start += 1
            _fail(group.using, ids, exc)
            group.report.refused.extend(
                Refusal(obj, options.type, exc.status, exc.title, exc.detail, exc.support_id)
                for obj in batch
            )
            logger.error("Akamai refused %s; kept as a failed purge intent: %s", batch[0], exc)

    try:
        while start < len(queue):
            send(None)
    except BaseException:
        # The round ends (a stop, Akamai unreachable, an error): what Akamai accepted is
        # still settled if the database lets it; otherwise it is sent again.
        try:
            settle()
        except Exception:
            logger.warning("An accepted purge request could not be settled", exc_info=True)
        raise
    settle()


# --- the job ----------------------------------------------------------------------------


class _Claims:
    """The claims of one round (``_claim``), in order. After a full batch (``CLAIM_BATCH``:
    more may be due), the next is claimed ahead, in a thread of its own on a connection of
    its own, while this one is sent: a claim of 10,000 rows takes as long as a dozen
    requests. Not on SQLite (one writer at a time, and an in-memory database is this
    connection's alone) nor inside the caller's transaction (another connection would not
    see it)."""

    def __init__(self, using: str, holder: str, burst: bool, account: _Account):
        self.args = (using, holder, burst, account)
        connection = connections[using]
        self.ahead_allowed = connection.vendor != "sqlite" and not connection.in_atomic_block
        self.ahead: _InThread[list[Claimed]] | None = None

    def next(self) -> list[Claimed]:
        """The next batch of claimed intents (empty: nothing more is due)."""
        if self.ahead is not None:
            ahead, self.ahead = self.ahead, None
            claimed = ahead.result()
        else:
            claimed = _claim(*self.args)
        if len(claimed) >= CLAIM_BATCH and self.ahead_allowed:
            self.ahead = _InThread("akamai-delivery-claim", self._claim_apart)
        return claimed

    def _claim_apart(self) -> list[Claimed]:
        try:
            return _claim(*self.args)
        finally:
            connections.close_all()  # this thread's connection

    def close(self) -> bool:
        """Wait for a claim made ahead; whether it may have left intents claimed that this
        round did not send."""
        unsent = False
        if self.ahead is not None:
            try:
                unsent = bool(self.ahead.result())
            except Exception:  # the database failed it: the round looks for what is claimed
                unsent = True
            self.ahead = None
        return unsent


def _round(
    using: str, account: _Account, holder: str, burst: bool, stop: threading.Event | None
) -> tuple[DeliveryReport, bool]:
    """One holding of the account's lease; the report, and whether an intent is due now
    (looked at once the lease is released)."""
    report = DeliveryReport()
    lease = Lease(account.identity, using=using, holder=holder, seconds=lease_seconds())
    if not lease.acquire():
        report.busy = True
        return report, False
    sender: Sender | None = None
    claims = _Claims(using, holder, burst, account)
    wait_until = None  # when Akamai was unreachable: the claimed rest waits as well
    finished = False  # no error: each intent claimed was settled, failed or backed off...
    cut_short = False  # ...unless the round stopped in the middle of its claims
    try:
        if lease.taken_over:
            # Only a lease nobody released can have claims behind it (claims are made and
            # given back under the lease, before it is released).
            _return_orphans(using, account)
        sender = _new_sender(account, lease.bucket_state())
        while not (stop is not None and stop.is_set()):
            claimed = claims.next()
            if not claimed:
                break
            groups: dict[tuple[str, str, str], list[Any]] = {}
            for intent in claimed:
                key = (intent.action, intent.object_type, intent.network)
                groups.setdefault(key, []).append(intent)
            try:
                for key, intents in groups.items():
                    options = PurgeOptions(*key)
                    group = _Group(using, options, intents, report)
                    try:
                        sender.envelope(options)
                    except AkamaiConfigurationError as exc:
                        # e.g. cache tags with CCU v2 credentials: these can never be sent.
                        _cannot_send(group, list(group.ids), exc)
                        continue
                    _send_group(group, sender, lease, stop)
            except _Stop as stopped:
                if stopped.args[0] == UNREACHABLE:
                    wait_until = _database_now(_backoff_seconds(1))
                cut_short = True
                break
            if len(claimed) < CLAIM_BATCH:
                # That was everything due: what commits from now on is a busy site's trickle,
                # gathered for the next round (``deliver_pending``) rather than chased one
                # request per save.
                break
        finished = not cut_short
    finally:
        # Whatever this holder still has claimed (a stop, a lost lease, an error, a claim made
        # ahead and not sent) is pending; a round that ended without any of these has nothing
        # claimed left, and need not look.
        unsent = claims.close()
        left = (
            [] if finished and not unsent else _account_intents(using, account).claimed_by(holder)
        )
        if left:
            if wait_until is not None:
                _back_to_pending(using, left, next_attempt_at=wait_until)
            else:
                _back_to_pending(using, left)
        buckets = None
        if sender is not None:
            buckets = sender.transport.pacer.snapshot()
            sender.close()
        lease.release(buckets)
    # After the release, so that an intent whose kick found the lease taken is seen here.
    first, wait, due_now = _account_intents(using, account).outlook(holder, burst)
    report.next_attempt_at, report.seconds_until_due = first, wait
    return report, due_now


_said_purging_off = False

#: ``deliver_pending(account=ALL_ACCOUNTS)``: every configured account, one after another.
ALL_ACCOUNTS = "*"


def deliver_pending(
    using: str | None = None,
    *,
    burst: bool = False,
    stop: threading.Event | None = None,
    holder: str | None = None,
    account: str | None = ALL_ACCOUNTS,
) -> DeliveryReport:
    """Deliver every due pending intent of database ``using``; return what happened.

    Every configured account is delivered (the default, then each of ``AKAMAI_ACCOUNTS``),
    each under its own lease, pacing and history; ``account`` names one (``None`` or
    "default": the default). ``burst`` also takes intents that are backing off (each once).
    ``stop`` (an Event) ends the delivery after the request in flight. ``busy`` says another
    deliverer holds an account's lease (it will deliver those too); ``config_error`` that an
    account's credentials cannot be used (the others are delivered all the same). Intents of
    an account no longer configured stay pending, and hold up no other. Never raises for
    Akamai's answers.
    """
    using = using or router.db_for_write(_model())
    holder = holder or process_holder_id()
    total = DeliveryReport()
    if not switches.purging_enabled():
        # A worker asks every second: say it once per process, not once per look.
        global _said_purging_off
        level = logging.DEBUG if _said_purging_off else logging.INFO
        _said_purging_off = True
        logger.log(level, "Purging is off (AKAMAI_PURGE_ENABLED = False): no intent delivered")
        return total
    stop = stop or threading.Event()
    seen: set[str] = set()
    due: list[tuple[datetime, float]] = []  # each account's earliest pending intent
    for one in _accounts(account, total):
        if stop.is_set():
            break
        if one.identity in seen:  # two names for one API client: delivered once
            continue
        seen.add(one.identity)
        total.next_attempt_at = total.seconds_until_due = None
        _deliver(using, one, holder, burst, stop, total)
        if total.next_attempt_at is not None and total.seconds_until_due is not None:
            due.append((total.next_attempt_at, total.seconds_until_due))
    # When to look again: the earliest of every account's.
    total.next_attempt_at, total.seconds_until_due = min(
        due, key=lambda pair: pair[1], default=(None, None)
    )
    return total


def _accounts(wanted: str | None, total: DeliveryReport) -> Iterable[_Account]:
    """The accounts to deliver, with their credentials; those whose credentials cannot be
    used are named in ``total.config_error`` and skipped (the others are still delivered)."""
    try:
        names = conf.account_names() if wanted == ALL_ACCOUNTS else [conf.checked_account(wanted)]
    except AkamaiConfigurationError as exc:  # AKAMAI_ACCOUNTS malformed: the default only
        total.config_error = str(exc)
        names = [None] if wanted == ALL_ACCOUNTS else []
    for name in names:
        try:
            credentials = conf.resolve_credentials(account=name)
        except AkamaiConfigurationError as exc:
            problem = str(exc) if name is None else f"Account {name!r}: {exc}"
            total.config_error = total.config_error or problem
            continue
        yield _Account(name, account_name(credentials), credentials)


def _deliver(
    using: str,
    account: _Account,
    holder: str,
    burst: bool,
    stop: threading.Event,
    total: DeliveryReport,
) -> None:
    window = conf.setting("AKAMAI_DELIVERY_DELAY")
    while True:
        started = time.monotonic()
        report, due_now = _round(using, account, holder, burst, stop)
        total.merge(report)
        if report.busy or report.config_error or stop.is_set():
            return
        if not report.accepted and not report.refused:
            return
        # Intents committed while this round was finishing found the lease still taken: look
        # again now that it is released, so their kick is not lost; but one window after this
        # round began, so that a busy site's saves go out together, not one request each.
        if not due_now:
            return
        if stop.wait(max(0.0, started + window - time.monotonic())):
            return


# --- for operators: the admin, akamai_worker --status, the system checks ---------------------


def intent_databases() -> list[str]:
    """Every database alias the intent table is migrated to."""
    return [alias for alias in connections if router.allow_migrate_model(alias, _model())]


def retry_failed(ids: Iterable[int], using: str | None = None) -> int:
    """Failed intents back to pending, due now (an operator fixed the cause); returns how many."""
    using = using or router.db_for_write(_model())
    rows = _intents(using).filter(id__in=list(ids), status=_model().FAILED).exclude(action="")
    ids = list(rows.values_list("id", flat=True))
    _back_to_pending(using, ids, _model().FAILED, next_attempt_at=_database_now(), claimed_by="")
    return len(ids)


def discard_failed(ids: Iterable[int], using: str | None = None) -> int:
    """Delete failed intents (an operator decided they need no purge); returns how many."""
    using = using or router.db_for_write(_model())
    deleted, _ = _intents(using).filter(id__in=list(ids), status=_model().FAILED).delete()
    return int(deleted)


def pending_summary(using: str | None = None) -> dict[str, Any]:
    """Counts by status and the oldest pending intent's creation time."""
    return dict(_intents(using or router.db_for_write(_model())).summary())


def summary_by_account(using: str | None = None) -> dict[str, dict[str, int]]:
    """Counts by status for each account the table holds, by the name the settings give it
    ("default", a name of ``AKAMAI_ACCOUNTS``) or, for an account no configured credentials
    name (removed, or unreadable here), by its identity; "" is what was recorded where no
    credentials were configured (the default account's deliverer sends it)."""
    from django.db.models import Count

    names: dict[str, str] = {"": "(no credentials where recorded: the default account)"}
    try:
        configured = conf.account_names()
    except AkamaiConfigurationError:
        configured = [None]
    for name in configured:
        try:
            identity = account_name(conf.resolve_credentials(account=name))
        except AkamaiConfigurationError:
            continue
        names.setdefault(identity, name or conf.DEFAULT_ACCOUNT)
    rows = (
        _intents(using or router.db_for_write(_model()))
        .order_by()
        .values_list("account", "status")
        .annotate(n=Count("id"))
    )
    result: dict[str, dict[str, int]] = {}
    for identity, status, count in rows:
        label = names.get(identity, f"{identity} (no configured account)")
        result.setdefault(label, {"pending": 0, "claimed": 0, "failed": 0})[status] = count
    return result
