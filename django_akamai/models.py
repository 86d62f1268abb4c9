"""The purge history: one row per request sent to Akamai, accepted or refused."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from django.db import IntegrityError, connections, models, transaction
from django.db.models import Case, Count, ExpressionWrapper, F, Max, Min, Q, Value, When
from django.db.models.functions import Now
from django.db.models.sql import InsertQuery, UpdateQuery


class PurgeRecord(models.Model):
    """One purge request sent to Akamai, written by ``django_akamai.history``.

    ``objects_text`` holds the objects one per line, at most ``AKAMAI_HISTORY_MAX_OBJECTS``
    of them (``object_count`` is always the full number), so a row stays small and the admin
    can search it for a URL.
    """

    ACCEPTED = "accepted"
    FAILED = "failed"
    STATUS_CHOICES = [(ACCEPTED, "accepted"), (FAILED, "failed")]

    created_at = models.DateTimeField("sent at", db_index=True)
    actor = models.CharField(
        "requested by",
        max_length=200,
        blank=True,
        help_text=(
            "Who asked: admin:<user> (the Purge URLs page or the admin action), wagtail:<user>, "
            "command, task, signal, suspend_purges, or autopurge (a save, delete or "
            "many-to-many change of a model in AKAMAI_PURGE_MODELS, whoever made it)."
        ),
    )
    api = models.CharField("API", max_length=8)
    account = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="The account of AKAMAI_ACCOUNTS it was sent on; blank: the default account.",
    )
    action = models.CharField(max_length=16)
    network = models.CharField(max_length=16)
    object_type = models.CharField("type", max_length=16)
    object_count = models.PositiveIntegerField("objects")
    objects_text = models.TextField("objects sent", blank=True)
    objects_truncated = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=STATUS_CHOICES, db_index=True)
    http_status = models.PositiveSmallIntegerField("HTTP status", null=True, blank=True)
    purge_id = models.CharField("purgeId", max_length=100, blank=True, db_index=True)
    support_id = models.CharField("supportId", max_length=100, blank=True)
    estimated_seconds = models.FloatField("estimated seconds", null=True, blank=True)
    error = models.TextField(blank=True)
    rate_limited = models.PositiveIntegerField(
        "429s", default=0, help_text="Rate-limit answers waited out before this request's end."
    )
    retries = models.PositiveIntegerField(
        default=0, help_text="Transient failures (timeouts, 5xx) retried within this request."
    )
    # Verification at the edge (django_akamai.verification, AKAMAI_VERIFY): the outcome of
    # this request's sample of URLs.
    VERIFY_STATES = [
        ("", "not verified"),
        ("pending", "purged again, checking"),
        ("done", "verified"),
    ]
    verify_state = models.CharField(
        "verification", max_length=16, choices=VERIFY_STATES, blank=True, default=""
    )
    verified_at = models.DateTimeField(null=True, blank=True, db_index=True)
    verified_fresh = models.PositiveIntegerField("fresh", null=True, blank=True)
    verified_stale = models.PositiveIntegerField("stale", null=True, blank=True)
    verified_unverifiable = models.PositiveIntegerField("unverifiable", null=True, blank=True)
    verify_repurged = models.PositiveIntegerField(
        "purged again", default=0, help_text="Stale URLs purged once more and checked again."
    )
    verify_latency = models.FloatField(
        "commit to fresh (s)",
        null=True,
        blank=True,
        help_text="From the change's commit to the last URL of the sample verified fresh.",
    )
    verify_stale_urls = models.TextField(
        "stale URLs", blank=True, help_text="Still stale after a second purge and check."
    )
    verify_details = models.TextField("verdicts", blank=True)

    class Meta:
        verbose_name = "purge record"
        # "2 purge records" in the admin's count, not "2 purge history".
        verbose_name_plural = "purge records"
        ordering = ["-created_at", "-id"]
        permissions = [
            ("purge_cache", "Can purge Akamai's cache"),
            ("purge_everything", "Can purge everything (the site's CP codes) from Akamai"),
        ]

    def __str__(self) -> str:
        ident = self.purge_id or self.http_status or self.status
        return (
            f"{self.action} {self.object_count} {self.object_type}(s) on {self.network} ({ident})"
        )

    @property
    def object_list(self) -> list[str]:
        return self.objects_text.splitlines()


class PurgePage(PurgeRecord):
    """No table: gives the "Purge URLs" page its entry on the admin index."""

    class Meta:
        proxy = True
        verbose_name = "Purge URLs"
        verbose_name_plural = "Purge URLs"
        default_permissions = ()


class StatusPage(PurgeRecord):
    """No table: gives the "Akamai" status page its entry on the admin index."""

    class Meta:
        proxy = True
        verbose_name = "Akamai status"
        verbose_name_plural = "Akamai status"
        default_permissions = ()


def stored_object(object_type: str, value: str) -> str | int:
    """An intent's object from its ``value`` column: CP codes are stored as text."""
    return int(value) if object_type == "cpcode" else value


class DatabaseNow(Now):
    """The database's clock, in UTC on every backend: hosts whose clocks differ agree on it.

    MySQL's ``CURRENT_TIMESTAMP`` (Django's ``Now()``) is in the session's time zone, while
    Django stores UTC there; ``UTC_TIMESTAMP(6)`` is UTC whatever the server's zone.
    """

    def as_mysql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(compiler, connection, template="UTC_TIMESTAMP(6)", **extra_context)


def database_now(seconds: float = 0.0) -> Any:
    """The database's "now" plus ``seconds``, for a filter or an UPDATE."""
    if not seconds:
        return DatabaseNow()
    return ExpressionWrapper(
        DatabaseNow() + timedelta(seconds=seconds), output_field=models.DateTimeField()
    )


class Claimed(NamedTuple):
    """What sending needs of one claimed intent (no timestamps to parse, no model to build)."""

    pk: int
    object_type: str
    action: str
    network: str
    value: str
    actor: str

    @property
    def object(self) -> str | int:
        return stored_object(self.object_type, self.value)


#: Rows per ``id IN (...)`` statement (SQLite's historical 999-parameter limit).
CHUNK = 900


def chunks(ids: Iterable[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    ids = list(ids)
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


#: Ids per statement where they are written into the SQL as numbers (no placeholders).
INLINE_IDS = 10_000


def updates_return_rows(using: str) -> bool:
    """Whether ``UPDATE ... RETURNING`` exists on ``using``: PostgreSQL and SQLite 3.35+
    (MariaDB returns rows from INSERT and DELETE only; MySQL from none)."""
    connection = connections[using]
    return connection.vendor == "postgresql" or (
        connection.vendor == "sqlite" and connection.features.can_return_columns_from_insert
    )


def id_list_sql(using: str, ids: list[int]) -> tuple[str, list[Any]]:
    """``IN``'s right side for ``ids`` without a placeholder per id, which the driver would
    parse one by one (about 10 µs each on PostgreSQL): one array parameter on PostgreSQL
    (``= ANY(%s)``), the numbers themselves elsewhere (each through ``int()``: nothing but
    digits reaches the SQL)."""
    if connections[using].vendor == "postgresql":
        # The array as one text parameter: the driver adapts one string, not a list.
        return "= ANY(%s::bigint[])", ["{" + ",".join(str(int(pk)) for pk in ids) + "}"]
    return f"IN ({','.join(str(int(pk)) for pk in ids)})", []


def update_returning(
    queryset: models.QuerySet, changes: dict[str, Any], returning: list[str]
) -> list[tuple[Any, ...]]:
    """``queryset.update(**changes)`` returning the fields ``returning`` of each row changed
    (as Python values), in one statement; only where ``updates_return_rows``."""
    using = queryset.db
    connection = connections[using]
    query = cast(UpdateQuery, queryset.query.chain(UpdateQuery))
    query.add_update_values(changes)
    sql, params = query.get_compiler(using).as_sql()
    quote = connection.ops.quote_name
    fields = [cast(models.Field, queryset.model._meta.get_field(name)) for name in returning]
    columns = ", ".join(quote(str(field.column)) for field in fields)
    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        cursor.execute(f"{sql} RETURNING {columns}", params)  # noqa: S608 (names quoted)
        rows = cursor.fetchall()
    decoders = [getattr(field, "from_db_value", None) for field in fields]
    return [
        tuple(
            value if decode is None else decode(value, None, connection)
            for decode, value in zip(decoders, row, strict=True)
        )
        for row in rows
    ]


def _insert_sql(model: type[models.Model], values: dict[str, Any], using: str) -> tuple[str, Any]:
    """The ``INSERT`` of one row of ``model`` with these field values (the others at their
    defaults), as Django's compiler writes it for ``using``: SQL and parameters."""
    query = InsertQuery(model)
    fields = [f for f in model._meta.local_concrete_fields if not f.primary_key]
    query.insert_values(fields, [model(**values)])
    ((sql, params),) = query.get_compiler(using).as_sql()
    return sql, params


def _reason(error: Any, fallback: str, detail: str, status: int | None = None) -> dict[str, Any]:
    """The columns that say why an intent was backed off or failed (Akamai's answer, if any)."""
    return {
        "http_status": getattr(error, "status", None) or status,
        "error_title": (getattr(error, "title", "") or fallback)[:300],
        "error_detail": detail[:2000],
        "support_id": (getattr(error, "support_id", "") or "")[:100],
    }


#: Called with a database alias before the intent table is read or changed there through
#: ``PurgeIntent.objects``: ``intent_writes`` writes the rows a transaction gathered, so the
#: transaction sees its own purges. (A list, so that this module imports nothing of the app.)
before_intents_used: list[Callable[[str], None]] = []


class IntentQuerySet(models.QuerySet):
    """Every state change of the intent table, as statements on it (the deliverer, the admin
    and the commands call these; none writes SQL of its own).

    ``for_account(account)`` scopes the rest: what is due, claimed, returned. Times are the
    database's (``DatabaseNow``), never a host's: a deliverer whose clock is off by minutes
    neither waits for due intents nor takes what another holds. States::

        pending --claim--> claimed --settle--> (deleted)
                              |--back_off / back_to_pending--> pending
                              '--fail--> failed --back_to_pending(from failed)--> pending

    Identical pending intents are stored once by a plain unique constraint on ``(account,
    pending_key)``: ``pending_key`` is the key while pending and NULL otherwise (NULLs never
    collide), which every database honours (MySQL and MariaDB have no partial indexes).
    ``failed_key`` does the same for failed intents: one per object, options and account.
    """

    _account: str | None = None  # set by for_account(): whose claims these are
    _unstamped = False  # and whether it takes unstamped intents (account "") on as its own

    def _clone(self) -> Any:
        clone = super()._clone()  # type: ignore[misc]
        clone._account = self._account
        clone._unstamped = self._unstamped
        return clone

    def for_account(self, account: str, *, unstamped: bool = False) -> IntentQuerySet:
        """Intents of ``account`` (``leases.account_name``); with ``unstamped``, also those
        recorded where no credentials were configured (account ""), which the deliverer of
        the default credentials takes on as its own when it claims them."""
        accounts = [account, ""] if unstamped and account else [account]
        scoped = self.filter(account__in=accounts)
        scoped._account = account
        scoped._unstamped = len(accounts) > 1
        return scoped

    def update(self, **changes: Any) -> int:
        """As Django's, keeping ``pending_key`` and ``failed_key`` true to a new ``status``
        (whoever changes it: these methods, a test, an operator's shell)."""
        status = changes.get("status")
        if status is not None and not isinstance(status, str):
            raise TypeError("PurgeIntent.status is changed to a value, not an expression")
        if status is not None:
            changes.setdefault("pending_key", F("key") if status == PurgeIntent.PENDING else None)
            changes.setdefault("failed_key", F("key") if status == PurgeIntent.FAILED else None)
        self._before_use()
        return super().update(**changes)

    # Every way Django reads or changes rows runs through one of these.
    def _before_use(self) -> None:
        for hook in before_intents_used:
            hook(self.db)

    def _fetch_all(self) -> None:
        if self._result_cache is None:
            self._before_use()
        super()._fetch_all()

    def iterator(self, *args: Any, **kwargs: Any) -> Any:
        self._before_use()
        return super().iterator(*args, **kwargs)

    def count(self) -> int:
        self._before_use()
        return super().count()

    def exists(self) -> bool:
        self._before_use()
        return super().exists()

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._before_use()
        return super().aggregate(*args, **kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        self._before_use()
        return super().delete()

    # --- reading ------------------------------------------------------------------------

    @staticmethod
    def _due(holder: str | None = None, burst: bool = False) -> Q:
        """What ``due`` takes of the pending intents, as a condition."""
        if burst:
            return ~Q(claimed_by=holder or "")
        return Q(next_attempt_at__lte=DatabaseNow())

    def due(self, holder: str | None = None, burst: bool = False) -> IntentQuerySet:
        """Pending intents to send now. ``burst`` ignores backoff but skips what ``holder``
        already deferred (it keeps ``claimed_by``), so a burst ends when Akamai stays down."""
        return self.filter(Q(status=PurgeIntent.PENDING) & self._due(holder, burst))

    def has_due(self, holder: str | None = None, burst: bool = False) -> bool:
        return self.due(holder, burst).exists()

    def next_due(self) -> tuple[datetime | None, float | None]:
        """When the earliest pending intent falls due, and in how many seconds (0 when one is
        due now), both by the database's clock, in one query; ``(None, None)`` when none is
        pending. A process whose own clock may be off waits the seconds, rather than
        comparing the time with its own clock."""
        first, wait, _ = self.outlook()
        return first, wait

    def outlook(
        self, holder: str | None = None, burst: bool = False
    ) -> tuple[datetime | None, float | None, bool]:
        """``next_due()`` and ``has_due(holder, burst)`` in one query."""
        due = self.filter(status=PurgeIntent.PENDING).aggregate(
            first=Min("next_attempt_at"),
            wait=ExpressionWrapper(
                Min("next_attempt_at") - DatabaseNow(), output_field=models.DurationField()
            ),
            now=Max(
                Case(
                    When(self._due(holder, burst), then=Value(1)),
                    default=Value(0),
                    output_field=models.IntegerField(),
                )
            ),
        )
        wait = due["wait"]
        return (
            due["first"],
            None if wait is None else max(0.0, wait.total_seconds()),
            bool(due["now"]),
        )

    def seconds_until_due(self) -> float | None:
        """``next_due()``'s seconds."""
        return self.next_due()[1]

    def summary(self) -> dict[str, Any]:
        """Counts by status and the oldest pending (or claimed) intent's creation time."""
        counts = dict(
            self.order_by().values_list("status").annotate(n=Count("id")).values_list("status", "n")
        )
        oldest = self.filter(status__in=[PurgeIntent.PENDING, PurgeIntent.CLAIMED]).aggregate(
            first=Min("created_at")
        )["first"]
        return {
            "pending": counts.get(PurgeIntent.PENDING, 0),
            "claimed": counts.get(PurgeIntent.CLAIMED, 0),
            "failed": counts.get(PurgeIntent.FAILED, 0),
            "oldest_pending": oldest,
        }

    # --- claiming -----------------------------------------------------------------------

    def claim(self, holder: str, limit: int, burst: bool = False) -> list[Claimed]:
        """Mark up to ``limit`` due intents as claimed by ``holder``; return them in order.

        Claiming takes an unstamped intent (account "") into this queryset's account, so
        only its own deliverers ever return it as an orphan.

        Where ``UPDATE ... WHERE id IN (SELECT ... LIMIT n)`` is allowed (SQLite, PostgreSQL)
        it is one statement; on PostgreSQL the subquery locks the first ``limit`` due ids,
        picked unlocked, ``FOR UPDATE SKIP LOCKED``: rows another transaction holds are
        passed over, never waited for. On SQLite a
        statement that writes from its start waits for the write lock (the busy timeout);
        a SELECT followed by an UPDATE in one transaction fails at once with "database is
        locked" when another connection (a save) writes in between. MySQL and MariaDB
        refuse a LIMIT in an IN subquery (error 1235): there the ids are selected ``FOR
        UPDATE SKIP LOCKED`` in a transaction, then updated by id.
        """
        using = self.db
        connection = connections[using]
        features = connection.features
        due = self.due(holder, burst).order_by("id")
        quote = connection.ops.quote_name
        table = quote(self.model._meta.db_table)
        # Only the columns that change: ``account`` only where unstamped rows can be taken
        # (a named account's rows carry it already); ``failed_key`` is NULL while pending.
        marks = [("status", PurgeIntent.CLAIMED), ("claimed_by", holder), ("pending_key", None)]
        if self._account is not None and self._unstamped:
            marks.append(("account", self._account))
        changes = ", ".join(f"{quote(column)} = %s" for column, _ in marks)
        values = [value for _, value in marks]
        fields = ", ".join(quote(name) for name in ("id", *Claimed._fields[1:]))
        skip_locked = features.has_select_for_update_skip_locked
        if features.allow_sliced_subqueries_with_in and updates_return_rows(using):
            # One statement: the due ids (locked, skipping what another claim holds), marked,
            # and their columns returned.
            first = due.values("id")[:limit]
            if skip_locked:
                # The first ``limit`` due ids picked unlocked (a bounded sort: a LIMIT above
                # FOR UPDATE would sort every due row first), then locked, still pending.
                table_rows = self.model._default_manager.using(using)
                first = table_rows.filter(id__in=first, status=PurgeIntent.PENDING).values("id")
            picked, params = first.query.get_compiler(using).as_sql()
            if skip_locked:
                picked += " " + connection.ops.for_update_sql(skip_locked=True)
            # Quoted names and Django's compiled subquery; every value is a parameter.
            sql = (
                f"UPDATE {table} SET {changes} WHERE {quote('id')} IN ({picked}) "  # noqa: S608
                f"RETURNING {fields}"
            )
            with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
                cursor.execute(sql, [*values, *params])
                rows = sorted(cursor.fetchall())
            return [Claimed(*row) for row in rows]
        # MariaDB and MySQL: no UPDATE ... RETURNING, no LIMIT in an IN subquery. The due
        # rows are read (locked) and then marked by id, in one transaction.
        with transaction.atomic(using=using):
            if skip_locked:
                due = due.select_for_update(skip_locked=True)
            rows = list(due.values_list(*Claimed._fields)[:limit])
            with connection.cursor() as cursor:
                for chunk in chunks([row[0] for row in rows], INLINE_IDS):
                    where, params = id_list_sql(using, chunk)
                    sql = f"UPDATE {table} SET {changes} WHERE {quote('id')} {where}"  # noqa: S608
                    cursor.execute(sql, [*values, *params])
        return [Claimed(*row) for row in rows]

    def claimed_by(self, holder: str) -> list[int]:
        """The ids ``holder`` has claimed."""
        rows = self.filter(status=PurgeIntent.CLAIMED, claimed_by=holder)
        return list(rows.values_list("id", flat=True))

    def return_orphans(self, holder: str | None = None) -> int:
        """Intents of this account claimed by another holder (every claimed one, with
        ``holder=None``) go back to pending: called by the holder of the account's lease, so
        whoever claimed them lost it (it died, or its round broke)."""
        claimed = self.filter(status=PurgeIntent.CLAIMED)
        if holder is not None:
            claimed = claimed.exclude(claimed_by=holder)
        ids = list(claimed.values_list("id", flat=True))
        if ids:
            self.back_to_pending(ids)
        return len(ids)

    # --- settling -----------------------------------------------------------------------

    def settle(self, ids: Iterable[int], record: dict[str, Any] | None = None) -> None:
        """Accepted by Akamai: the intents ``ids`` are deleted (this queryset's filters do not
        apply: the ids name them), in one transaction, one commit. One statement per
        ``INLINE_IDS`` ids, with no placeholder per id (``id_list_sql``); the intent table
        has no relations and no signals, so this is the whole of what the ORM's ``delete()``
        would do.

        ``record``: the request's history row (``PurgeRecord`` field values), written by the
        same statement on PostgreSQL (the ``DELETE`` in a ``WITH``), by an ``INSERT`` just
        before it elsewhere. A failure of either raises: the caller settles again with the
        row written apart (``delivery.worker._settling``). A settlement of one statement
        in autocommit mode is its own transaction (no ``BEGIN`` and ``COMMIT`` around it);
        inside the caller's transaction it is part of it."""
        connection = connections[self.db]
        quote = connection.ops.quote_name
        table = quote(self.model._meta.db_table)
        ids = list(ids)
        together = record is None or connection.vendor == "postgresql"
        alone = together and len(ids) <= INLINE_IDS and connection.get_autocommit()
        with (
            nullcontext() if alone else transaction.atomic(using=self.db, savepoint=False),
            transaction.mark_for_rollback_on_error(self.db),
            connection.cursor() as cursor,
        ):
            for chunk in chunks(ids, INLINE_IDS):
                where, params = id_list_sql(self.db, chunk)
                sql = f"DELETE FROM {table} WHERE {quote('id')} {where}"  # noqa: S608 (ids: int())
                if record is not None:
                    insert, values = _insert_sql(PurgeRecord, record, self.db)
                    record = None
                    if connection.vendor == "postgresql":
                        # A data-modifying WITH runs whether or not the INSERT reads it.
                        sql, params = f"WITH settled AS ({sql}) {insert}", [*params, *values]
                    else:
                        cursor.execute(insert, values)
                cursor.execute(sql, params)

    def back_to_pending(
        self, ids: Iterable[int], from_status: str = "claimed", **changes: Any
    ) -> None:
        """Claimed (or failed) intents back to pending. One whose object was recorded again
        meanwhile (an identical pending intent of its account) is deleted instead: the newer
        one covers it."""
        for chunk in chunks(ids):
            self._retry_on_conflict(
                lambda chunk=chunk: self._to_pending(chunk, from_status, changes)  # type: ignore[misc]
            )

    def _to_pending(self, chunk: list[int], from_status: str, changes: dict[str, Any]) -> None:
        rows = self.filter(id__in=chunk, status=from_status)
        mine = list(rows.values_list("id", "account", "key"))
        twins = set(
            self.model._default_manager.using(self.db)
            .filter(status=PurgeIntent.PENDING, key__in={key for _, _, key in mine})
            .values_list("account", "key")
        )
        covered = [pk for pk, account, key in mine if (account, key) in twins]
        if covered:
            self.filter(id__in=covered).delete()
        self.filter(id__in=[pk for pk, _, _ in mine if pk not in set(covered)]).update(
            status=PurgeIntent.PENDING, **changes
        )

    def back_off(
        self,
        ids: Iterable[int],
        error: Any,
        reason: str,
        backoff_seconds: Callable[[int], float],
    ) -> None:
        """A transient failure: back to pending with ``attempts`` + 1 and ``next_attempt_at``
        ``backoff_seconds(attempts)`` from the database's now, stored on each intent."""
        by_attempts: dict[int, list[int]] = {}
        for chunk in chunks(ids):
            for pk, attempts in self.filter(id__in=chunk).values_list("id", "attempts"):
                by_attempts.setdefault(attempts + 1, []).append(pk)
        for attempts, group in by_attempts.items():
            self.back_to_pending(
                group,
                attempts=F("attempts") + 1,
                next_attempt_at=database_now(backoff_seconds(attempts)),
                **_reason(error, reason, str(error or reason)),
            )

    def wait_for_setup(self, ids: Iterable[int], error: Any) -> None:
        """Akamai refused the credentials or the clock, not the objects: back to pending as
        they were (no attempt counted, no backoff, free for any deliverer: a fixed setup sends
        them at once), with the refusal kept on each row for the operators to see."""
        self.back_to_pending(ids, claimed_by="", **_reason(error, "setup refused", str(error)))

    def fail(self, ids: Iterable[int], error: Any, status: int | None = None) -> None:
        """Refused for good: kept as failed intents with Akamai's reason. An object that has
        a failed intent of its account already is counted on that row (attempts + 1, the
        newest reason) and this one is deleted: one failed row per object, never more."""
        detail = getattr(error, "detail", "") or str(error)
        reason = _reason(error, type(error).__name__, detail, status)
        for chunk in chunks(ids):
            self._retry_on_conflict(lambda chunk=chunk: self._to_failed(chunk, reason))  # type: ignore[misc]

    def _to_failed(self, chunk: list[int], reason: dict[str, Any]) -> None:
        rows = self.filter(id__in=chunk).exclude(status=PurgeIntent.FAILED)
        mine = list(rows.values_list("id", "account", "key"))
        table = self.model._default_manager.using(self.db)
        known = {
            (account, key): pk
            for account, key, pk in table.filter(
                status=PurgeIntent.FAILED, failed_key__in={key for _, _, key in mine}
            ).values_list("account", "failed_key", "id")
        }
        fresh: dict[tuple[str, str], int] = {}
        repeats = []  # a failed row of the object exists (or comes first in this chunk)
        for pk, account, key in mine:
            if (account, key) in known or (account, key) in fresh:
                repeats.append(pk)
            else:
                fresh[(account, key)] = pk
        if repeats:
            self.filter(id__in=repeats).delete()
            earlier = [known[slot] for slot in {(a, k) for _, a, k in mine} if slot in known]
            table.filter(id__in=earlier).update(attempts=F("attempts") + 1, **reason)
        if fresh:
            self.filter(id__in=fresh.values()).update(
                status=PurgeIntent.FAILED, attempts=F("attempts") + 1, **reason
            )

    def record_failed(self, **fields: Any) -> None:
        """One failed intent (e.g. an object that could not be planned), or one more attempt
        on the failed intent of the same ``key`` and account."""
        reason = {k: fields[k] for k in ("error_title", "error_detail") if k in fields}
        same = self.filter(
            status=PurgeIntent.FAILED, account=fields["account"], failed_key=fields["key"]
        )
        for _ in range(3):
            if same.update(attempts=F("attempts") + 1, **reason):
                return
            try:
                with transaction.atomic(using=self.db):  # a savepoint inside the caller's
                    self.create(
                        status=PurgeIntent.FAILED, failed_key=fields["key"], attempts=1, **fields
                    )
                return
            except IntegrityError:
                continue  # recorded by another process meanwhile: count it there

    def cutoff(self, age: timedelta) -> Any:
        """The database's now less ``age``, for ``created_at__lt``."""
        return database_now(-age.total_seconds())

    def prune_failed(self, older_than: timedelta) -> int:
        """Delete failed intents recorded more than ``older_than`` ago (database clock)."""
        old = self.filter(status=PurgeIntent.FAILED, created_at__lt=self.cutoff(older_than))
        return int(old.delete()[0])

    def _retry_on_conflict(self, change: Callable[[], None], tries: int = 3) -> None:
        for attempt in range(tries):
            try:
                with transaction.atomic(using=self.db):
                    change()
                return
            except IntegrityError:
                if attempt == tries - 1:
                    raise
                # a twin committed between two statements: look again


class UniqueWhereSet(models.UniqueConstraint):
    """A unique constraint whose last field is NULL in most rows: indexed only where it is set,
    on the databases that index part of a table (PostgreSQL, SQLite). NULLs never collide in
    a unique constraint, so leaving those rows out of the index changes no outcome, only the
    cost of writing them (an INSERT of a pending intent, a claim). MySQL and MariaDB, which
    cannot, index every row as before; Django is told of no condition, so it checks and
    validates the constraint as the plain one it is."""

    def _get_condition_sql(self, model: Any, schema_editor: Any) -> str | None:
        if not schema_editor.connection.features.supports_partial_indexes:
            return None
        column = model._meta.get_field(self.fields[-1]).column
        return f"{schema_editor.quote_name(column)} IS NOT NULL"


class PurgeIntent(models.Model):
    """One object waiting to be purged: written in the caller's transaction, removed once
    Akamai accepted it (``django_akamai.intents`` records, ``django_akamai.delivery.worker`` sends).

    Each belongs to an ``account``: the identity of the credentials it is sent with
    (``leases.account_name``, never a secret; "" when recorded where none were configured).
    Identical pending intents (same object, type, action, network and account) are stored
    once: ``pending_key`` is ``key``, a hash (URLs can be far longer than an index entry may
    be), while pending and NULL otherwise, under a unique constraint with the account.
    Intents being delivered are ``claimed`` and leave that constraint, so a change committed
    while its object is in flight records a new intent instead of merging into one that may
    already be answered. State changes are on the queryset (``IntentQuerySet``).
    """

    PENDING = "pending"
    CLAIMED = "claimed"
    FAILED = "failed"
    STATUS_CHOICES = [(PENDING, "pending"), (CLAIMED, "being delivered"), (FAILED, "failed")]

    key = models.CharField(max_length=64, help_text="SHA-256 of type, action, network, object.")
    account = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text="The account it is sent on (API and host of its credentials).",
    )
    # NULL, not "", outside their state: NULLs never collide in a unique constraint.
    pending_key = models.CharField(max_length=64, null=True, blank=True, editable=False)  # noqa: DJ001
    failed_key = models.CharField(max_length=64, null=True, blank=True, editable=False)  # noqa: DJ001
    object_type = models.CharField("type", max_length=16)
    action = models.CharField(max_length=16)
    network = models.CharField(max_length=16)
    value = models.TextField("object")
    status = models.CharField(max_length=16, choices=STATUS_CHOICES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField("next attempt", null=True, blank=True)
    created_at = models.DateTimeField("recorded at")
    actor = models.CharField("requested by", max_length=200, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    http_status = models.PositiveSmallIntegerField("HTTP status", null=True, blank=True)
    error_title = models.CharField("title", max_length=300, blank=True)
    error_detail = models.TextField("detail", blank=True)
    support_id = models.CharField("supportId", max_length=100, blank=True)

    objects = IntentQuerySet.as_manager()

    class Meta:
        verbose_name = "purge intent"
        verbose_name_plural = "purge intents"
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="akamai_intent_due")]
        constraints = [
            # One pending and one failed intent per object and account; indexed only where
            # the key is set, where the database can (UniqueWhereSet). Queries by account
            # name a status too, which the due index leads with.
            UniqueWhereSet(
                fields=["account", "pending_key"], name="akamai_one_pending_per_account"
            ),
            UniqueWhereSet(fields=["account", "failed_key"], name="akamai_one_failed_per_account"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} {self.value[:200]} ({self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The keys follow the status here too (``IntentQuerySet.update`` does it in bulk).
        self.pending_key = self.key if self.status == self.PENDING else None
        self.failed_key = self.key if self.status == self.FAILED else None
        super().save(*args, **kwargs)

    @property
    def object(self) -> str | int:
        """The object as sent to Akamai (CP codes are integers)."""
        return stored_object(self.object_type, self.value)


class DeliveryLease(models.Model):
    """Who may send to one Akamai account now, until when; and what its buckets held.

    Taken with a compare-and-set UPDATE (``django_akamai.delivery.lease``): one deliverer per
    account at a time, on every database. A holder that dies stops renewing and its lease expires.
    ``bucket_state`` keeps the last rate-limit headers seen, so the next holder paces from them
    instead of learning the limits through 429s.
    """

    name = models.CharField(max_length=200, unique=True)
    holder = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    bucket_state = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "delivery lease"

    def __str__(self) -> str:
        return f"{self.name}: {self.holder or 'free'}"
