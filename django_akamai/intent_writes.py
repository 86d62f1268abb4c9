"""Writing intent rows: as few statements as the database allows, in the caller's transaction.

``write(rows, alias)`` INSERTs rows at once, with statements built once per connection and
never through the ORM's per-field preparation: on PostgreSQL, for many rows, one ``INSERT ...
SELECT FROM ROWS FROM (json_array_elements_text(...), ...)`` with one JSON array per column
(nothing to parse per row, and the driver quotes one string per column where a text array
costs it a decision per element), for a few a multi-row ``VALUES``; on MySQL and MariaDB one
multi-row ``INSERT IGNORE`` per ``MAX_INSERT_BYTES`` (their ``max_allowed_packet`` refuses a
larger statement); on SQLite ``executemany``. Identical pending intents are stored once by the
unique constraint (``ON CONFLICT DO NOTHING``, ``INSERT IGNORE``, ``INSERT OR IGNORE``); the
times are the database's clock.

``gather(rows, alias)`` is the same write inside ``transaction.atomic()``, deferred: a
transaction's rows are kept with its connection and written together, so ten thousand saves in
one transaction cost a handful of INSERTs instead of ten thousand. They are written

- just before the transaction commits (the connection's ``commit`` is wrapped: Django has no
  hook that runs before a commit), so they commit with it or not at all;
- before a savepoint is taken, so that every row waiting was recorded inside every savepoint
  open now: whichever of them rolls back, Django drops the rows' marker (an ``on_commit``
  entry, which Django forgets exactly when the savepoint that registered it rolls back) and the
  rows are not written; written later, they are never undone by a savepoint they were not in;
- before the intent table is read or changed through ``PurgeIntent.objects`` on that connection
  (the transaction sees its own purges), and when ``GATHER_ROWS`` are waiting (bounded memory).
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

from django.db import connections, transaction
from django.db.models.sql import Query

from .models import PurgeIntent, before_intents_used, database_now

__all__ = ["MAX_INSERT_BYTES", "Row", "RowsOf", "flush", "gather", "gather_later", "write"]

#: Bytes of row data per INSERT at most: MySQL and MariaDB refuse a statement larger than
#: their max_allowed_packet (16 MiB by default).
MAX_INSERT_BYTES = 4_000_000
#: A row's columns besides its object (keys, options, actor, times), generously.
_ROW_OVERHEAD = 400
#: Rows a transaction keeps waiting at most before they are written.
GATHER_ROWS = 10_000


class Row(NamedTuple):
    """One pending intent to write (``models.PurgeIntent``'s columns that vary)."""

    key: str
    account: str
    object_type: str
    action: str
    network: str
    value: str
    actor: str


# The columns written, in order: those of ``Row``, then the fixed ones of a new pending intent.
_VARYING = Row._fields
_FIXED = {
    "pending_key": None,  # = key
    "failed_key": "NULL",
    "status": f"'{PurgeIntent.PENDING}'",
    "attempts": "0",
    "claimed_by": "''",
    "http_status": "NULL",
    "error_title": "''",
    "error_detail": "''",
    "support_id": "''",
}


def _batches(rows: Sequence[Row]) -> Iterator[Sequence[Row]]:
    start, size = 0, 0
    for index, row in enumerate(rows):
        cost = len(row.value) * 4 + len(row.actor) + _ROW_OVERHEAD  # UTF-8: up to 4 bytes
        if index > start and size + cost > MAX_INSERT_BYTES:
            yield rows[start:index]
            start, size = index, 0
        size += cost
    if start < len(rows):
        yield rows[start:]


def _batches_then(rows: Sequence[Row], then: str) -> Iterator[tuple[Sequence[Row], str]]:
    """``_batches(rows)``, each with the SQL that follows its statement: ``then`` after the
    last one, nothing after the others."""
    batches = list(_batches(rows))
    for index, batch in enumerate(batches, 1):
        yield batch, then if index == len(batches) else ""


def _time_sql(connection: Any, seconds: float) -> tuple[str, list[Any]]:
    """SQL for the database's now plus ``seconds`` (``models.database_now``), on this backend."""
    query = Query(PurgeIntent)
    compiler = query.get_compiler(connection=connection)
    return compiler.compile(database_now(seconds).resolve_expression(query))


def _column(name: str) -> str:
    return str(PurgeIntent._meta.get_field(name).column)  # type: ignore[union-attr]


class _Insert(NamedTuple):
    """An INSERT of intents on one backend: ``head`` + rows + ``tail``; ``clock`` the
    parameters of its times (after each row's, in ``VALUES``)."""

    head: str
    row: str  # one row's ``VALUES`` group, or the ``SELECT ... FROM ROWS FROM (...)``
    tail: str
    clock: list[Any]


# Statements are built from the model's own quoted table and column names and the backend's
# SQL for its clock; every value is a parameter. Built once per connection, style and delay.
_statements: dict[tuple[str, str, str, float], _Insert] = {}

#: Rows from which PostgreSQL gets one JSON array per column rather than a ``VALUES`` group
#: per row: the driver quotes each parameter of a ``VALUES`` group by itself, which costs
#: more than the JSON functions' planning from about five rows on.
COLUMNS_FROM = 5


def _statement(connection: Any, seconds: float, style: str) -> _Insert:
    """The INSERT of this backend in ``style`` ("values" or PostgreSQL's "columns")."""
    cache_key = (connection.alias, connection.vendor, style, seconds)
    if cache_key in _statements:
        return _statements[cache_key]
    qn = connection.ops.quote_name
    table = qn(PurgeIntent._meta.db_table)
    columns = ", ".join(
        qn(_column(name)) for name in [*_VARYING, *_FIXED, "created_at", "next_attempt_at"]
    )
    now, now_params = _time_sql(connection, 0)
    due, due_params = _time_sql(connection, seconds)
    insert = {"mysql": "INSERT IGNORE", "sqlite": "INSERT OR IGNORE"}.get(connection.vendor)
    tail = " ON CONFLICT DO NOTHING" if insert is None else ""
    head = f"{insert or 'INSERT'} INTO {table} ({columns}) "
    if style == "columns":
        # ROWS FROM zips the arrays element by element, in order, as unnest() would.
        arrays = ", ".join("json_array_elements_text(%s::json)" for _ in _VARYING)
        fixed = ", ".join(_fixed_sql("u.key"))
        row = (
            f"SELECT {', '.join(f'u.{name}' for name in _VARYING)}, {fixed}, {now}, {due} "  # noqa: S608
            f"FROM ROWS FROM ({arrays}) AS u({', '.join(_VARYING)})"
        )
    else:
        head += "VALUES "
        row = f"({', '.join(['%s'] * len(_VARYING) + _fixed_sql('%s') + [now, due])})"
    _statements[cache_key] = _Insert(head, row, tail, [*now_params, *due_params])
    return _statements[cache_key]


def _fixed_sql(key_sql: str) -> list[str]:
    return [key_sql if sql is None else sql for sql in _FIXED.values()]


def _write_columns(connection: Any, rows: Sequence[Row], seconds: float, then: str) -> None:
    """One JSON array per column (PostgreSQL): a text array costs the driver a quoting
    decision per element, a JSON document is written by one C call (any character is
    escaped, so no value can break it). ``then`` follows the last statement."""
    insert = _statement(connection, seconds, "columns")
    sql = insert.head + insert.row + insert.tail
    dumps = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
    with connection.cursor() as cursor:
        for batch, after in _batches_then(rows, then):
            columns = [dumps(column) for column in zip(*batch, strict=True)]
            # The times come first in the SELECT.
            cursor.execute(sql + after, [*insert.clock, *columns])


def _write_values(connection: Any, rows: Sequence[Row], seconds: float, then: str) -> None:
    """One multi-row ``VALUES`` statement per batch; ``then`` follows the last one."""
    insert = _statement(connection, seconds, "values")
    with connection.cursor() as cursor:
        for batch, after in _batches_then(rows, then):
            params: list[Any] = []
            for row in batch:
                params += row
                params.append(row.key)  # pending_key
                params += insert.clock
            values = ", ".join([insert.row] * len(batch))
            cursor.execute(f"{insert.head}{values}{insert.tail}{after}", params)


def _write_each(connection: Any, rows: Sequence[Row], seconds: float) -> None:
    """``executemany`` of one-row statements (SQLite, where that is as fast as it gets)."""
    insert = _statement(connection, seconds, "values")
    sql = insert.head + insert.row + insert.tail
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(*row, row.key, *insert.clock) for row in rows])


def _write_orm(alias: str, rows: Sequence[Row], seconds: float) -> None:
    """Any other backend: Django's ``bulk_create``."""
    now, due = database_now(), database_now(seconds)
    table = PurgeIntent.objects.using(alias)
    for batch in _batches(rows):
        table.bulk_create(
            [
                PurgeIntent(
                    **row._asdict(), pending_key=row.key, created_at=now, next_attempt_at=due
                )
                for row in batch
            ],
            ignore_conflicts=True,
        )


def write(rows: Sequence[Row], alias: str, seconds: float = 0.0, *, commit: bool = False) -> None:
    """INSERT ``rows`` now on ``alias`` (in its transaction, if one is open), due ``seconds``
    from the database's now. Rows gathered on that connection are written first.

    ``commit``: the transaction commits right after (the connection's ``commit`` is on its
    way); where the driver takes several statements in one query, the COMMIT goes with the
    last INSERT, and the driver's own commit then finds nothing left to do."""
    if not rows:
        return
    flush(alias)
    connection = connections[alias]
    vendor = connection.vendor
    then = "; COMMIT" if commit and _commits_in_statement(connection) else ""
    if vendor == "postgresql" and len(rows) >= COLUMNS_FROM:
        _write_columns(connection, rows, seconds, then)
    elif vendor in ("postgresql", "mysql"):
        _write_values(connection, rows, seconds, then)
    elif vendor == "sqlite":
        _write_each(connection, rows, seconds)
    else:
        _write_orm(alias, rows, seconds)


def _commits_in_statement(connection: Any) -> bool:
    """Whether a statement on ``connection`` may end with its transaction's COMMIT: psycopg
    3's client-side-binding cursor (Django's default on PostgreSQL) sends several statements
    as one query, so the intents and the commit cost one round trip to the server, not two.
    On an error the COMMIT is never run and the transaction rolls back as before; psycopg
    then finds the transaction ended, and its own commit sends nothing."""
    if connection.vendor != "postgresql":
        return False
    psycopg = sys.modules.get("psycopg")  # imported already where it is the driver in use
    raw = connection.connection
    return (
        psycopg is not None
        and isinstance(raw, psycopg.Connection)
        and issubclass(raw.cursor_factory, psycopg.ClientCursor)
    )


# --- a transaction's rows, written together -------------------------------------------------


class _Marker:
    """The ``on_commit`` hook of a batch of gathered rows: after the commit it runs
    ``after_commit`` (the kick of delivery); before it, that Django still holds the hook says
    the savepoint it was registered in did not roll back (Django drops exactly those)."""

    __slots__ = ("after_commit",)

    def __init__(self, after_commit: Callable[[], None]):
        self.after_commit = after_commit

    def __call__(self) -> None:
        self.after_commit()


#: Turns the entries a door deferred (``gather_later``) into rows, all of a transaction's
#: at once.
RowsOf = Callable[[list[Any]], Sequence[Row]]


class _Batch:
    """What one savepoint level gathered, in order: lists of rows, and ``(rows_of, entry)``
    pairs whose rows are made when written."""

    __slots__ = ("marker", "items")

    def __init__(self, marker: _Marker):
        self.marker = marker
        self.items: list[Any] = []


class _Gathered:
    """What waits on one connection, a batch per savepoint level, each with its marker."""

    def __init__(self) -> None:
        self.batches: list[_Batch] = []
        self.count = 0
        self.level: tuple[list[Any], list[str]] | None = None  # (run_on_commit, savepoint_ids)


_ATTR = "_django_akamai_gathered"


def _gathered(connection: Any) -> _Gathered:
    gathered = connection.__dict__.get(_ATTR)
    if gathered is None:
        gathered = connection.__dict__[_ATTR] = _Gathered()
        _wrap(connection)
    return gathered


def _wrap(connection: Any) -> None:
    """Write a connection's gathered rows before it commits or takes a savepoint (once)."""
    commit, savepoint = connection.commit, connection.savepoint

    def commit_with_rows() -> None:
        flush(connection.alias, commit=True)
        commit()

    def savepoint_after_rows() -> Any:
        flush(connection.alias)
        return savepoint()

    connection.commit = commit_with_rows
    connection.savepoint = savepoint_after_rows


def _batch(
    alias: str, after_commit: Callable[[], None], size: int, connection: Any = None
) -> _Batch:
    """The batch of the savepoint level open on ``alias`` now, counting ``size`` more rows;
    what waits is written first if that makes ``GATHER_ROWS`` (bounded memory)."""
    if connection is None:
        connection = connections[alias]
    gathered = _gathered(connection)
    if gathered.count + size > GATHER_ROWS:
        flush(alias)
    last = gathered.level
    # The same on-commit list (no rollback since) and the same savepoints open: the last
    # marker still stands for this level, so these rows join its batch.
    if (
        gathered.batches
        and last is not None
        and last[0] is connection.run_on_commit
        and last[1] == connection.savepoint_ids
    ):
        batch = gathered.batches[-1]
    else:
        batch = _Batch(_Marker(after_commit))
        transaction.on_commit(batch.marker, using=alias)
        gathered.batches.append(batch)
        gathered.level = (connection.run_on_commit, list(connection.savepoint_ids))
    gathered.count += size
    return batch


def gather(rows: Sequence[Row], alias: str, after_commit: Callable[[], None]) -> None:
    """Keep ``rows`` to be written before the transaction open on ``alias`` commits, and run
    ``after_commit`` once it has (once per savepoint level that gathered rows)."""
    if not rows:
        return
    items = _batch(alias, after_commit, len(rows)).items
    if items and type(items[-1]) is list:
        items[-1].extend(rows)
    else:
        items.append(list(rows))


def gather_later(
    entry: Any,
    rows_of: RowsOf,
    alias: str,
    after_commit: Callable[[], None],
    size: int = 1,
    *,
    connection: Any = None,
) -> None:
    """``gather()`` of rows not made yet: when the transaction's rows are written,
    ``rows_of`` is called ONCE with every entry given to it since (in order, those of
    savepoints that rolled back left out) and returns their rows. A door whose rows cost a
    fixed price per call to make (planning, routing) pays it once per transaction. ``size``:
    about how many rows ``entry`` makes; ``connection``: ``connections[alias]``, where the
    caller has it."""
    _batch(alias, after_commit, size, connection).items.append((rows_of, entry))


def flush(alias: str, *, commit: bool = False) -> None:
    """Write the rows gathered on ``alias`` whose savepoints did not roll back; drop the rest.
    ``commit``: its transaction commits next (``write``)."""
    connection = connections[alias]
    gathered = connection.__dict__.get(_ATTR)
    if gathered is None or not gathered.batches:
        return
    alive = {id(entry[1]) for entry in connection.run_on_commit}
    items = [
        item for batch in gathered.batches if id(batch.marker) in alive for item in batch.items
    ]
    # Emptied first: making rows may read the intent table, which flushes again.
    gathered.batches, gathered.count, gathered.level = [], 0, None
    rows: list[Row] = []
    # Consecutive entries of one rows_of are made at once; the order of all is kept.
    for rows_of, run in itertools.groupby(items, key=_rows_of_item):
        if rows_of is None:
            rows.extend(row for gathered_rows in run for row in gathered_rows)
        else:
            rows.extend(rows_of([entry for _, entry in run]))
    write(rows, alias, commit=commit)


def _rows_of_item(item: Any) -> RowsOf | None:
    """What makes a gathered item's rows: None for rows already made."""
    return None if type(item) is list else item[0]


before_intents_used.append(flush)
