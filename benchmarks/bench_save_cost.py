"""Scenario "save_cost" (11): what purging costs a save, and what delivering costs an intent
(issue 24's table), on PostgreSQL and on MariaDB.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_save_cost.py
        [--database postgresql,mariadb] [--quick] [--json] [--render]
    (or as part of make bench: benchmarks/run.py --only save_cost)

Each database is a fresh one of the run's own, created for it and dropped after it (an
unreachable one is skipped, with the reason printed), driven by a process of its own (Django
is configured once per process). ``benchapp.Item`` is purged automatically
(``AKAMAI_PURGE_MODELS``); ``benchapp.PlainItem``, its twin, is not, so each purged figure
has the same work without purging beside it. Every figure is the median of several
repetitions in one process, its floor measured in the same run.

1. **One save.** ``with transaction.atomic(): item.save()`` of an existing, loaded row (its
   slug changed), purged minus plain: the time purging adds, in ``AKAMAI_DELIVERY`` "worker"
   (nothing sent) and "background" (the thread may send meanwhile). Floor: one INSERT of an
   intent-shaped row (a real intent's values, fresh unique keys) into a copy of the intent
   table, inside a transaction that saved a PlainItem first (what purging adds at least),
   and beside it the same INSERT in a transaction of its own. SQL statements purging adds
   (``CaptureQueriesContext``).
2. **Many saves.** 10,000 saves (2,000 with ``--quick``) of existing rows in one transaction,
   purged ÷ plain, and purged inside ``suspend_purges()`` ÷ plain.
3. **Bulk changes.** ``update()``, ``bulk_create()`` and ``bulk_update()`` of 10,000 rows
   with the opt-in purging of bulk changes ÷ the same on PlainItem, when this version has one
   (``bulk_purging()``); "not available" otherwise.
4. **The deliverer.** ``deliver_pending(burst=True)`` in this process over 100,000 pending
   intents (20,000), seeded with ``funnel.record``, against the emulator (its own process,
   rate limits off, ``AKAMAI_HISTORY`` on): wall and CPU µs per intent, requests, and the
   floor: the same number of raw signed POSTs of the same bodies (``requests.Session`` +
   EdgeGrid), ratio = wall ÷ (requests × one raw POST). SQL statements and transactions per
   request over about five requests' worth.
5. **One intent.** Record one, then ``deliver_pending()``: statements, wall ms, beside one
   one-URL raw signed POST.
6. **Recording in bulk.** ``intents.record()`` of 10,000 intents in one call: CPU and wall µs
   per intent, beside ``cursor.executemany`` of the same rows (and ``COPY`` on PostgreSQL).
7. **The table afterwards.** The intent table's size before seeding, seeded, and after row
   4's delivery: total, table and indexes, live and dead tuples, autovacuum as the server is
   configured (PostgreSQL); data, index and free bytes from ``information_schema`` (MariaDB).

Results: ``benchmarks/results/save_cost.json``, ``save_cost.md`` and ``save-cost.svg``;
``--json`` prints the JSON instead of writing files.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

import charts  # noqa: E402 (after the path above)
from figures import figure  # noqa: E402

DATABASES = ("postgresql", "mariadb")
LABELS = {"postgresql": "PostgreSQL", "mariadb": "MariaDB"}
BASE_URL = "https://www.example.com"
SEED_CHUNK = 10_000  # one INSERT of at most this many intents (MariaDB's max_allowed_packet)
GOALS = {
    "one_save_ratio": 1.5,
    "statements_added": 1,
    "many_saves_ratio": 1.3,
    "suspended_ratio": 1.2,
    "bulk_ratio": 1.3,
    "deliverer_ratio": 2.5,
    "one_intent_statements": 5,
    "record_cpu_us": 15.0,
}


def sizes(quick: bool) -> dict[str, int]:
    """How much each row does: ``--quick`` makes a smoke run of about two minutes."""
    if quick:
        return {
            "one_save": 60,
            "one_save_reps": 3,
            "many": 2_000,
            "many_reps": 3,
            "bulk": 2_000,
            "bulk_reps": 3,
            "deliver": 20_000,
            "raw_passes": 3,
            "one_intent_reps": 5,
            "record": 10_000,
            "record_reps": 3,
        }
    return {
        "one_save": 150,
        "one_save_reps": 5,
        "many": 10_000,
        "many_reps": 3,
        "bulk": 10_000,
        "bulk_reps": 3,
        "deliver": 100_000,
        "raw_passes": 3,
        "one_intent_reps": 9,
        "record": 10_000,
        "record_reps": 5,
    }


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def median(values: list[float]) -> float:
    return statistics.median(values)


# --- what this version offers (feature detection, in one place each) -------------------------


def bulk_purging() -> tuple[str, Any] | None:
    """The opt-in purging of bulk changes, if this version of django-akamai has one:
    ``("context", purging_bulk_changes)`` (a context manager around plain bulk calls) or
    ``("manager", "purging")`` (``Item.purging``, a ``PurgingQuerySet`` manager, see
    ``benchapp.models``); None when it has neither. Adjust the names here."""
    try:
        bulk = importlib.import_module("django_akamai.bulk")
    except ImportError:
        return None
    context = getattr(bulk, "purging_bulk_changes", None)
    if context is not None:
        return ("context", context)
    from benchapp.models import Item

    if getattr(bulk, "PurgingQuerySet", None) is not None and hasattr(Item, "purging"):
        return ("manager", "purging")
    return None


def suspend_purges() -> Any:
    """``django_akamai.suspend_purges`` (exported lazily), else the funnel's."""
    import django_akamai

    found = getattr(django_akamai, "suspend_purges", None)
    if found is None:
        from django_akamai import funnel

        found = funnel.suspend_purges
    return found


def record_intents() -> tuple[str, Callable[..., Any]]:
    """The bulk recorder measured in row 6: ``intents.record``, else ``funnel.record``."""
    from django_akamai import intents

    if callable(getattr(intents, "record", None)):
        return "intents.record", intents.record
    from django_akamai import funnel

    return "funnel.record", funnel.record


def end_background(timeout: float = 30.0) -> None:
    """Let the background deliverer finish what row 1 kicked, then stop it, where this
    version can: its sweeps must not deliver the later rows' intents."""
    from django_akamai.delivery import modes

    for name in ("wait_idle", "stop_background"):
        call = getattr(modes, name, None)
        if call is not None:
            call(timeout)


# --- the database of one run, and Django configured for it -----------------------------------


def configure(entry: dict[str, Any], emulator: Any) -> None:
    from django.conf import settings

    if entry["ENGINE"] == "django.db.backends.mysql":
        import pymysql  # standing in for mysqlclient, as in delivery_settings.py

        pymysql.install_as_MySQLdb()
    c = emulator.credentials
    settings.configure(
        SECRET_KEY="bench-save-cost",
        USE_TZ=True,
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django_akamai",
            "benchapp",
        ],
        DATABASES={"default": entry},
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        AKAMAI_CCU_API="v3",
        AKAMAI_CCU_HOST=emulator.base_url,
        AKAMAI_CCU_CLIENT_TOKEN=c["client_token"],
        AKAMAI_CCU_CLIENT_SECRET=c["client_secret"],
        AKAMAI_CCU_ACCESS_TOKEN=c["access_token"],
        AKAMAI_BASE_URL=BASE_URL,
        AKAMAI_PURGE_MODELS={"benchapp.Item": {}},
        AKAMAI_DELIVERY="worker",  # the saves' rows: nothing sent meanwhile
        LOGGING={
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {"stderr": {"class": "logging.StreamHandler"}},
            "loggers": {"django_akamai": {"handlers": ["stderr"], "level": "ERROR"}},
        },
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)


def _table() -> str:
    from django_akamai.models import PurgeIntent

    return PurgeIntent._meta.db_table


def _q(name: str) -> str:
    from django.db import connection

    return connection.ops.quote_name(name)


def _sql(statement: str, params: Any = None) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return list(cursor.fetchall()) if cursor.description else []


def truncate(table: str) -> None:
    _sql(f"TRUNCATE TABLE {_q(table)}")


class Scratch:
    """A copy of the intent table (columns, indexes, constraints) and intent-shaped rows for
    it: a real intent's values, with fresh values in every column of a unique constraint."""

    NAME = "bench_scratch_intent"

    def __init__(self, sample: dict[str, Any]):
        from django.db import connection

        from django_akamai.models import PurgeIntent

        meta = PurgeIntent._meta
        source, name = _q(meta.db_table), _q(self.NAME)
        if connection.vendor == "postgresql":
            _sql(f"CREATE TABLE {name} (LIKE {source} INCLUDING ALL)")
        else:
            _sql(f"CREATE TABLE {name} LIKE {source}")
        self.fields = [f for f in meta.concrete_fields if not f.primary_key]
        self.columns = [f.column for f in self.fields]
        unique = {f.name for f in self.fields if f.unique}
        for constraint in meta.constraints:
            unique.update(getattr(constraint, "fields", ()) or ())
        self.unique = {f.attname for f in self.fields if f.name in unique}
        self.sample = {f.attname: sample[f.attname] for f in self.fields}
        self.insert_sql = (
            f"INSERT INTO {name} ({', '.join(_q(c) for c in self.columns)}) "
            f"VALUES ({', '.join(['%s'] * len(self.columns))})"
        )

    def row(self) -> list[Any]:
        """One row's parameters, unique where the table needs it."""
        from django.db import connection

        values = []
        for f in self.fields:
            value = self.sample[f.attname]
            if f.attname in self.unique and isinstance(value, str):
                value = (uuid.uuid4().hex * 4)[: max(1, len(value))]
            values.append(f.get_db_prep_value(value, connection))
        return values

    def rows_of(self, intents: list[dict[str, Any]]) -> list[list[Any]]:
        """The parameters of real intents' rows, as the database takes them."""
        from django.db import connection

        return [
            [f.get_db_prep_value(r[f.attname], connection) for f in self.fields] for r in intents
        ]

    def empty(self) -> None:
        truncate(self.NAME)

    def drop(self) -> None:
        _sql(f"DROP TABLE {_q(self.NAME)}")


def intent_rows() -> list[dict[str, Any]]:
    from django_akamai.models import PurgeIntent

    return list(PurgeIntent.objects.order_by("pk").values())


def sample_intent() -> dict[str, Any]:
    """A real intent's row: one the warm-up saves recorded, else one recorded here."""
    from django.db import transaction

    from django_akamai import funnel

    if not intent_rows():
        with transaction.atomic():
            funnel.record(funnel.plan([f"{BASE_URL}/sample/"]), using="default")
    return intent_rows()[0]


def clear_intents() -> None:
    from django_akamai.models import PurgeIntent

    PurgeIntent.objects.all().delete()


def seed_rows(model: Any, count: int) -> list[Any]:
    model.objects.bulk_create([model(slug=f"seed-{i}") for i in range(count)], batch_size=2_000)
    return list(model.objects.order_by("pk")[:count])


# --- 1. one save ----------------------------------------------------------------------------


def _timed(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def added_statements(item: Any, plain: Any, tag: str) -> dict[str, Any]:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    def captured(obj: Any) -> list[str]:
        obj.slug = f"{tag}-{uuid.uuid4().hex[:8]}"
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            obj.save()
        return [q["sql"] for q in queries.captured_queries]

    with_purging, without = captured(item), captured(plain)
    return {
        "with_purging": len(with_purging),
        "without": len(without),
        "added": len(with_purging) - len(without),
        "statements": [s[:160] for s in with_purging],
    }


def one_save(n: int, reps: int, scratch: Scratch, items: list, plains: list) -> list[dict]:
    from django.db import connection, transaction
    from django.test.utils import override_settings

    def save(obj: Any, slug: str) -> Callable[[], None]:
        def work() -> None:
            obj.slug = slug
            with transaction.atomic():
                obj.save()

        return work

    def floor_in_transaction(plain: Any, slug: str) -> float:
        # The least purging can add: one more INSERT in a transaction already under way.
        with transaction.atomic():
            plain.slug = slug
            plain.save()
            row = scratch.row()
            with connection.cursor() as cursor:
                started = time.perf_counter()
                cursor.execute(scratch.insert_sql, row)
                return time.perf_counter() - started

    def floor_own_transaction() -> float:
        row = scratch.row()
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(scratch.insert_sql, row)
        return time.perf_counter() - started

    rows = []
    for mode in ("worker", "background"):
        with override_settings(AKAMAI_DELIVERY=mode):
            statements = added_statements(items[0], plains[0], f"q{mode[0]}")
            per_rep: list[dict[str, float]] = []
            for rep in range(reps):
                plain_t, item_t, floor_t, own_t = [], [], [], []
                for i in range(n):
                    slug = f"{mode[0]}{rep}-{i}-{uuid.uuid4().hex[:6]}"
                    # Alternate which goes first, so neither always follows the other.
                    if i % 2:
                        plain_t.append(_timed(save(plains[i], slug)))
                        item_t.append(_timed(save(items[i], slug)))
                    else:
                        item_t.append(_timed(save(items[i], slug)))
                        plain_t.append(_timed(save(plains[i], slug)))
                    floor_t.append(floor_in_transaction(plains[i], slug + "f"))
                    own_t.append(floor_own_transaction())
                per_rep.append(
                    {
                        "plain": median(plain_t),
                        "purged": median(item_t),
                        "floor": median(floor_t),
                        "floor_own": median(own_t),
                    }
                )
                scratch.empty()
            if mode == "background":
                end_background()
        clear_intents()
        plain_ms = median([r["plain"] for r in per_rep]) * 1e3
        purged_ms = median([r["purged"] for r in per_rep]) * 1e3
        added_ms = median([r["purged"] - r["plain"] for r in per_rep]) * 1e3
        floor_ms = median([r["floor"] for r in per_rep]) * 1e3
        own_ms = median([r["floor_own"] for r in per_rep]) * 1e3
        rows.append(
            {
                "mode": mode,
                "saves": n * reps,
                "plain_ms": round(plain_ms, 4),
                "purged_ms": round(purged_ms, 4),
                "added_ms": round(added_ms, 4),
                "floor_ms": round(floor_ms, 4),
                "ratio": round(added_ms / floor_ms, 2) if floor_ms else None,
                "floor_own_transaction_ms": round(own_ms, 4),
                "ratio_own_transaction": round(added_ms / own_ms, 2) if own_ms else None,
                "statements": statements,
                "reps": per_rep,
            }
        )
        progress(f"  one save, {mode}: {json.dumps({k: rows[-1][k] for k in list(rows[-1])[:9]})}")
    return rows


# --- 2. many saves in one transaction -------------------------------------------------------


def many_saves(items: list, plains: list, reps: int) -> dict[str, Any]:
    from django.db import transaction

    suspended = suspend_purges()

    def run(objects: list, tag: str, suspend: bool = False) -> tuple[float, float]:
        for i, obj in enumerate(objects):
            obj.slug = f"{tag}-{i}"
        wall, cpu = time.perf_counter(), time.process_time()
        with transaction.atomic(), suspended() if suspend else nullcontext():
            for obj in objects:
                obj.save()
        return time.perf_counter() - wall, time.process_time() - cpu

    per_rep = []
    for rep in range(reps):
        plain = run(plains, f"m{rep}")
        purged = run(items, f"m{rep}")
        clear_intents()
        in_suspend = run(items, f"s{rep}", suspend=True)
        clear_intents()
        per_rep.append({"plain": plain, "purged": purged, "suspended": in_suspend})
        progress(f"  {len(items):,} saves, rep {rep + 1}: {per_rep[-1]}")
    n = len(items)

    def per_save_us(key: str) -> float:
        return median([r[key][0] for r in per_rep]) / n * 1e6

    return {
        "saves": n,
        "reps": per_rep,
        "plain_us": round(per_save_us("plain"), 2),
        "purged_us": round(per_save_us("purged"), 2),
        "suspended_us": round(per_save_us("suspended"), 2),
        "ratio": round(median([r["purged"][0] / r["plain"][0] for r in per_rep]), 3),
        "suspended_ratio": round(median([r["suspended"][0] / r["plain"][0] for r in per_rep]), 3),
        "cpu_ratio": round(median([r["purged"][1] / r["plain"][1] for r in per_rep]), 3),
    }


# --- 3. bulk changes ------------------------------------------------------------------------


def bulk_changes(n: int, reps: int) -> dict[str, Any]:
    from benchapp.models import Item, PlainItem
    from django.db import transaction

    found = bulk_purging()
    kind = found[0] if found else None

    def manager(model: Any, purged: bool) -> Any:
        if purged and kind == "manager":
            return getattr(model, found[1])  # type: ignore[index]
        return model.objects

    def around(purged: bool) -> Any:
        if purged and kind == "context":
            return found[1]()  # type: ignore[index]
        return nullcontext()

    def operation(name: str, model: Any, purged: bool, rep: int) -> float:
        objects = manager(model, purged)
        if name == "bulk_create":
            new = [model(slug=f"c{rep}-{i}") for i in range(n)]
            work = lambda: objects.bulk_create(new, batch_size=1_000)  # noqa: E731
        elif name == "update":
            ids = list(model.objects.order_by("pk").values_list("pk", flat=True)[:n])
            low, high = ids[0], ids[-1]
            work = lambda: objects.filter(pk__gte=low, pk__lte=high).update(slug=f"u{rep}")  # noqa: E731
        else:
            rows = list(model.objects.order_by("pk")[:n])
            for row in rows:
                row.slug = f"b{rep}-{row.pk}"
            work = lambda: objects.bulk_update(rows, ["slug"], batch_size=1_000)  # noqa: E731
        started = time.perf_counter()
        with transaction.atomic(), around(purged):
            work()
        took = time.perf_counter() - started
        if name == "bulk_create":
            model.objects.filter(slug__startswith=f"c{rep}-").delete()
        return took

    variants = [("plain", PlainItem, False)]
    if found:
        variants.append(("purged", Item, True))
    rows = []
    for name in ("update", "bulk_create", "bulk_update"):
        per_rep = []
        for rep in range(reps):
            per_rep.append({v: operation(name, model, p, rep) for v, model, p in variants})
            clear_intents()
        plain_ms = median([r["plain"] for r in per_rep]) * 1e3
        row: dict[str, Any] = {"operation": name, "rows": n, "plain_ms": round(plain_ms, 2)}
        if found:
            row["purged_ms"] = round(median([r["purged"] for r in per_rep]) * 1e3, 2)
            row["ratio"] = round(median([r["purged"] / r["plain"] for r in per_rep]), 3)
        rows.append(row)
        progress(f"  bulk {name}: {row}")
    return {
        "api": None if not found else f"django_akamai.bulk ({kind})",
        "available": bool(found),
        "rows": rows,
    }


# --- 4, 5, 7. the deliverer, one intent, the table ------------------------------------------


def table_size() -> dict[str, Any]:
    """The intent table's size and tuples, as the server reports them now."""
    from django.db import connection

    table = _table()
    if connection.vendor == "postgresql":
        _flush_pg_stats()  # this backend's counts, before reading them
        ((total, heap, indexes),) = _sql(
            "SELECT pg_total_relation_size(%s::regclass), pg_relation_size(%s::regclass), "
            "pg_indexes_size(%s::regclass)",
            [table, table, table],
        )
        ((live, dead, last_auto, autovacuums),) = _sql(
            "SELECT n_live_tup, n_dead_tup, last_autovacuum, autovacuum_count "
            "FROM pg_stat_user_tables WHERE relname = %s",
            [table],
        )
        ((autovacuum,),) = _sql("SHOW autovacuum")
        return {
            "total_bytes": total,
            "table_bytes": heap,
            "index_bytes": indexes,
            "live_tuples": live,
            "dead_tuples": dead,
            "autovacuum": autovacuum,
            "last_autovacuum": str(last_auto) if last_auto else None,
            "autovacuum_count": autovacuums,
        }
    # InnoDB's figures in information_schema are its statistics: refresh them first.
    _sql(f"ANALYZE TABLE {_q(table)}")
    ((data, index, free, rows),) = _sql(
        "SELECT data_length, index_length, data_free, table_rows FROM information_schema.TABLES "
        "WHERE table_schema = DATABASE() AND table_name = %s",
        [table],
    )
    return {
        "total_bytes": data + index,
        "table_bytes": data,
        "index_bytes": index,
        "free_bytes": free,
        "rows_estimate": rows,
    }


def _flush_pg_stats() -> None:
    """Have this backend publish its statistics now (PostgreSQL 15+; older ones publish
    within half a second, and the figures read may lag that much)."""
    from django.db import DatabaseError

    try:
        _sql("SELECT pg_stat_force_next_flush()")
    except DatabaseError:
        pass


def transactions() -> int:
    """Transactions this connection has committed (PostgreSQL: the database's
    ``xact_commit``; MariaDB: this session's ``Handler_commit``), read-only ones included."""
    from django.db import connection

    if connection.vendor == "postgresql":
        _flush_pg_stats()
        ((count,),) = _sql(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
        return int(count)
    ((_, count),) = _sql("SHOW SESSION STATUS LIKE 'Handler_commit'")
    return int(count)


def seed(urls: list[str]) -> float:
    from django_akamai import funnel

    started = time.perf_counter()
    for start in range(0, len(urls), SEED_CHUNK):
        funnel.record(funnel.plan(urls[start : start + SEED_CHUNK]), using="default")
    return time.perf_counter() - started


class RawPoster:
    """The floor of sending: signed POSTs of given bodies over one ``requests.Session``."""

    def __init__(self, emulator: Any):
        import requests
        from akamai.edgegrid import EdgeGridAuth

        c = emulator.credentials
        self.base = emulator.base_url
        self.session = requests.Session()
        self.session.auth = EdgeGridAuth(
            client_token=c["client_token"],
            client_secret=c["client_secret"],
            access_token=c["access_token"],
        )

    def post(self, path: str, body: bytes) -> None:
        response = self.session.post(
            self.base + path, data=body, headers={"Content-Type": "application/json"}
        )
        if response.status_code != 201:
            raise RuntimeError(f"raw POST answered {response.status_code}: {response.text[:200]}")

    def timed(self, bodies: list[tuple[str, bytes]]) -> tuple[float, float]:
        """(wall, CPU) seconds per request, over all ``bodies``."""
        wall, cpu = time.perf_counter(), time.process_time()
        for path, body in bodies:
            self.post(path, body)
        n = max(1, len(bodies))
        return (time.perf_counter() - wall) / n, (time.process_time() - cpu) / n


def bodies_of(purges: list[dict[str, Any]]) -> list[tuple[str, bytes]]:
    """What each accepted request carried: its path and its (compact JSON) body."""
    return [
        (
            f"/ccu/v3/{p['action']}/{p['type']}/{p['network']}",
            json.dumps(
                {"objects": p["objects"]}, separators=(",", ":"), ensure_ascii=False
            ).encode(),
        )
        for p in purges
    ]


def deliverer(emulator: Any, count: int, passes: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Rows 4 and 7: deliver ``count`` seeded intents; the table's size along the way."""
    import inputs
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from django_akamai.delivery.worker import deliver_pending

    truncate(_table())
    sizes_ = {"empty": table_size()}
    emulator.reset()
    urls = inputs.canonical(inputs.make_urls(count, seed=24))
    progress(f"  seeding {count:,} intents")
    seed_s = seed(urls)
    sizes_["seeded"] = table_size()
    progress(f"  seeded in {seed_s:.1f} s; delivering")
    wall, cpu = time.perf_counter(), time.process_time()
    report = deliver_pending(burst=True)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    sizes_["delivered"] = table_size()
    counters = emulator.counters()
    purges = emulator.purges()
    emulator.reset()
    requests = counters["accepted"]
    bodies = bodies_of(purges)
    progress(f"  delivered in {wall:.1f} s, {requests} requests; raw POSTs of the same bodies")
    poster = RawPoster(emulator)
    raw = [poster.timed(bodies) for _ in range(passes)]
    raw_wall = median([w for w, _ in raw])
    raw_cpu = median([c for _, c in raw])
    emulator.reset()

    # Statements and transactions per request, over about five requests' worth.
    per_request = max(1, round(count / max(1, requests)))
    few = inputs.canonical(inputs.make_urls(5 * per_request, seed=2424))
    seed(few)
    before = transactions()
    with CaptureQueriesContext(connection) as queries:
        deliver_pending(burst=True)
    after = transactions()
    control = transactions()  # what reading the counter itself counts
    few_requests = emulator.counters()["accepted"]
    emulator.reset()
    bookkeeping = control - after
    row = {
        "intents": count,
        "delivered": getattr(report, "accepted", None),
        "requests": requests,
        "emulator_bytes_per_request": round(counters["bytes_received"] / max(1, requests)),
        "raw_bytes_per_request": round(sum(len(b) for _, b in bodies) / max(1, len(bodies))),
        "seed_s": round(seed_s, 2),
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "wall_us_per_intent": round(wall / count * 1e6, 2),
        "cpu_us_per_intent": round(cpu / count * 1e6, 2),
        "raw_post_ms": round(raw_wall * 1e3, 3),
        "raw_post_cpu_ms": round(raw_cpu * 1e3, 3),
        "raw_passes": [[round(w * 1e3, 3), round(c * 1e3, 3)] for w, c in raw],
        # None unless this call delivered them all (another deliverer must not have helped).
        "ratio": (
            round(wall / (requests * raw_wall), 2)
            if requests and raw_wall and getattr(report, "accepted", count) == count
            else None
        ),
        "few": {
            "intents": 5 * per_request,
            "requests": few_requests,
            "statements": work(queries),
            "control": len(queries) - work(queries),
            "statements_per_request": round(work(queries) / max(1, few_requests), 1),
            "transactions": after - before - bookkeeping,
            "transactions_per_request": round(
                (after - before - bookkeeping) / max(1, few_requests), 1
            ),
        },
    }
    return row, sizes_


#: Transaction control, counted apart from the statements that do the work (as
#: tests/test_delivery_statements.py counts them).
CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def work(queries: Any) -> int:
    """Statements captured, transaction control left out."""
    return sum(not q["sql"].upper().startswith(CONTROL) for q in queries.captured_queries)


def one_intent(emulator: Any, reps: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from django_akamai import funnel
    from django_akamai.delivery.worker import deliver_pending

    poster = RawPoster(emulator)
    emulator.reset()
    walls, raws, statements, control, commits = [], [], [], [], []
    for i in range(reps):
        url = f"{BASE_URL}/one-intent/{i}/{uuid.uuid4().hex}/"
        funnel.record(funnel.plan([url]), using="default")
        before = transactions()
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            deliver_pending()
            walls.append(time.perf_counter() - started)
        after = transactions()
        commits.append(after - before - (transactions() - after))
        statements.append(work(queries))
        control.append(len(queries) - work(queries))
        body = json.dumps({"objects": [url + "raw"]}, separators=(",", ":")).encode()
        raws.append(poster.timed([("/ccu/v3/invalidate/url/production", body)])[0])
    accepted = emulator.counters()["accepted"]
    emulator.reset()
    wall_ms, raw_ms = median(walls) * 1e3, median(raws) * 1e3
    return {
        "reps": reps,
        "accepted_requests": accepted,  # deliveries plus raw POSTs
        "statements": median(statements),
        "statements_each": statements,
        "control": median(control),
        "transactions": median(commits),
        "wall_ms": round(wall_ms, 3),
        "raw_post_ms": round(raw_ms, 3),
        "ratio": round(wall_ms / raw_ms, 2) if raw_ms else None,
    }


# --- 6. recording in bulk -------------------------------------------------------------------


def record_bulk(count: int, reps: int, scratch: Scratch) -> dict[str, Any]:
    import inputs
    from django.db import connection, transaction

    from django_akamai import funnel

    name, record = record_intents()
    the_plan = funnel.plan(inputs.canonical(inputs.make_urls(count, seed=6)))
    measured: dict[str, list[tuple[float, float]]] = {"record": [], "executemany": [], "copy": []}
    rows: list[list[Any]] = []
    for _ in range(reps):
        truncate(_table())
        wall, cpu = time.perf_counter(), time.process_time()
        with transaction.atomic():
            record(the_plan, using="default", actor="bench")
        measured["record"].append((time.perf_counter() - wall, time.process_time() - cpu))
        if not rows:
            rows = scratch.rows_of(intent_rows())
        scratch.empty()
        wall, cpu = time.perf_counter(), time.process_time()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(scratch.insert_sql, rows)
        measured["executemany"].append((time.perf_counter() - wall, time.process_time() - cpu))
        if connection.vendor == "postgresql":
            scratch.empty()
            columns = ", ".join(_q(c) for c in scratch.columns)
            wall, cpu = time.perf_counter(), time.process_time()
            with transaction.atomic(), connection.cursor() as cursor:
                with cursor.copy(f"COPY {_q(scratch.NAME)} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            measured["copy"].append((time.perf_counter() - wall, time.process_time() - cpu))
        scratch.empty()
    truncate(_table())

    def us(key: str, which: int) -> float | None:
        values = measured[key]
        return round(median([v[which] for v in values]) / count * 1e6, 2) if values else None

    result = {"recorder": name, "intents": count, "rows_in_table": len(rows), "reps": reps}
    for key in measured:
        result[f"{key}_cpu_us"] = us(key, 1)
        result[f"{key}_wall_us"] = us(key, 0)
    pairs = list(zip(measured["record"], measured["executemany"], strict=True))
    result["cpu_ratio"] = round(median([r[1] / f[1] for r, f in pairs]), 2)
    result["wall_ratio"] = round(median([r[0] / f[0] for r, f in pairs]), 2)
    return result


# --- one database, in a process of its own -------------------------------------------------


def on_database(vendor: str, quick: bool) -> dict[str, Any]:
    """Every row on ``vendor``, in this process (which it configures for that database)."""
    from bench_delivery import own_database
    from harness import EmulatorProcess

    n = sizes(quick)
    label = LABELS[vendor]
    results: dict[str, Any] = {"database": label}
    with tempfile.TemporaryDirectory() as tmp, own_database(vendor, tmp) as entry:
        with EmulatorProcess({"rate_limits": "off"}) as emulator:
            configure(entry, emulator)
            from benchapp.models import Item, PlainItem
            from django.db import connection

            results["server"] = ".".join(map(str, connection.get_database_version()))
            progress(f"{label}: {n['many']:,} rows of Item and of PlainItem")
            items = seed_rows(Item, max(n["many"], n["bulk"], n["one_save"]))
            plains = seed_rows(PlainItem, max(n["many"], n["bulk"], n["one_save"]))
            # Warm up both paths, and take a real intent's values for the floor's rows.
            for obj in items[:20] + plains[:20]:
                obj.slug = f"warm-{obj.pk}"
                obj.save()
            scratch = Scratch(sample_intent())
            clear_intents()
            started = time.perf_counter()
            progress(f"{label}: 1. one save")
            results["one_save"] = one_save(
                n["one_save"], n["one_save_reps"], scratch, items, plains
            )
            progress(f"{label}: 2. {n['many']:,} saves in one transaction")
            results["many_saves"] = many_saves(
                items[: n["many"]], plains[: n["many"]], n["many_reps"]
            )
            progress(f"{label}: 3. bulk changes")
            results["bulk"] = bulk_changes(n["bulk"], n["bulk_reps"])
            progress(f"{label}: 6. recording {n['record']:,} intents in one call")
            results["record"] = record_bulk(n["record"], n["record_reps"], scratch)
            progress(f"  {results['record']}")
            progress(f"{label}: 5. one intent delivered")
            results["one_intent"] = one_intent(emulator, n["one_intent_reps"])
            progress(f"  {results['one_intent']}")
            progress(f"{label}: 4. the deliverer over {n['deliver']:,} intents")
            results["deliverer"], results["table"] = deliverer(
                emulator, n["deliver"], n["raw_passes"]
            )
            progress(f"  {results['deliverer']}")
            progress(f"  7. the table: {results['table']}")
            results["seconds"] = round(time.perf_counter() - started, 1)
            scratch.drop()
    return results


def reachable(vendor: str) -> str | None:
    """Why ``vendor`` cannot be used here, or None."""
    from bench_delivery import PROBLEMS

    return PROBLEMS[vendor]()


def run(databases: list[str], quick: bool) -> dict[str, Any]:
    """Each database in a child process of this script; what they found, and what was left
    out."""
    results: dict[str, Any] = {
        "meta": {
            "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "cpus": os.cpu_count(),
            "load_before": [round(x, 2) for x in os.getloadavg()],
            "quick": quick,
            "sizes": sizes(quick),
            "goals": GOALS,
            "left_out": [],
            "command": " ".join(
                ["python benchmarks/bench_save_cost.py"]
                + [a for a in sys.argv[1:] if a != "--json"]
            ),
        },
        "databases": [],
    }
    started = time.perf_counter()
    for vendor in databases:
        problem = reachable(vendor)
        if problem:
            progress(f"Skipping {LABELS[vendor]}: {problem}")
            results["meta"]["left_out"].append(f"{LABELS[vendor]}: {problem}")
            continue
        done = subprocess.run(
            [sys.executable, __file__, "--on", vendor] + (["--quick"] if quick else []),
            stdout=subprocess.PIPE,
            text=True,
            check=False,
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), str(ROOT)])),
        )
        if done.returncode == 0:
            results["databases"].append(json.loads(done.stdout))
        else:
            results["meta"]["left_out"].append(
                f"{LABELS[vendor]}: failed, exit {done.returncode} (traceback on stderr)"
            )
    results["meta"]["seconds"] = round(time.perf_counter() - started, 1)
    results["meta"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
    return results


def scenario(python: str, quick: bool, timeout: float = 1800) -> dict[str, Any]:
    """For ``run.py``: this script run by ``python`` (the project's, which has the database
    drivers); its JSON. Progress lines go to this process's stderr."""
    done = subprocess.run(
        [python, str(Path(__file__)), "--json"] + (["--quick"] if quick else []),
        stdout=subprocess.PIPE,
        text=True,
        check=False,
        timeout=timeout,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    if done.returncode != 0:
        return {"error": f"bench_save_cost.py exited {done.returncode} (its stderr is above)"}
    return json.loads(done.stdout)


# --- the report -----------------------------------------------------------------------------


def _goal(value: float | None, most: float) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}× ({'meets' if value <= most else 'misses'} ≤{most:g}×)"


def database_table(data: dict[str, Any]) -> list[str]:
    """Issue 24's table for one database: one line per figure."""
    lines = ["| # | what | measured | floor / reference | ratio (goal) |", "|---|---|---|---|---|"]
    for row in data["one_save"]:
        s = row["statements"]
        lines.append(
            f"| 1 | one save in `atomic()`, AKAMAI_DELIVERY={row['mode']}: added by purging "
            f"(purged {row['purged_ms']:.3f} − plain {row['plain_ms']:.3f} ms) "
            f"| {row['added_ms']:.3f} ms, +{s['added']} statement(s) "
            f"({s['with_purging']} vs {s['without']}) "
            f"| INSERT in the transaction {row['floor_ms']:.3f} ms; in its own "
            f"{row['floor_own_transaction_ms']:.3f} ms "
            f"| {_goal(row['ratio'], GOALS['one_save_ratio'])}; own transaction "
            f"{figure(row['ratio_own_transaction'])}×; statements +{s['added']} (goal "
            f"+{GOALS['statements_added']}) |"
        )
    m = data["many_saves"]
    lines.append(
        f"| 2 | {m['saves']:,} saves in one transaction, purged | {m['purged_us']:.1f} µs/save "
        f"| plain {m['plain_us']:.1f} µs/save | {_goal(m['ratio'], GOALS['many_saves_ratio'])} |"
    )
    lines.append(
        f"| 2 | the same inside `suspend_purges()` | {m['suspended_us']:.1f} µs/save "
        f"| plain {m['plain_us']:.1f} µs/save "
        f"| {_goal(m['suspended_ratio'], GOALS['suspended_ratio'])} |"
    )
    b = data["bulk"]
    for row in b["rows"]:
        if b["available"]:
            measured, ratio = f"{row['purged_ms']:.1f} ms", _goal(row["ratio"], GOALS["bulk_ratio"])
        else:
            measured, ratio = "not available", "not available"
        lines.append(
            f"| 3 | `{row['operation']}` of {row['rows']:,} rows with opt-in purging "
            f"| {measured} | plain {row['plain_ms']:.1f} ms | {ratio} |"
        )
    d = data["deliverer"]
    few = d["few"]
    lines.append(
        f"| 4 | `deliver_pending(burst=True)`, {d['intents']:,} intents, {d['requests']:,} "
        f"requests | {d['wall_s']:.2f} s: {d['wall_us_per_intent']:.1f} µs wall, "
        f"{d['cpu_us_per_intent']:.1f} µs CPU per intent; {few['statements_per_request']:g} "
        f"statements (besides BEGIN, COMMIT, SAVEPOINT), {few['transactions_per_request']:g} "
        f"transactions per request "
        f"| raw signed POST {d['raw_post_ms']:.2f} ms × {d['requests']:,} requests "
        f"| {_goal(d['ratio'], GOALS['deliverer_ratio'])}"
        + (
            f"; **only {d['delivered']:,} delivered by this call**"
            if d["delivered"] not in (None, d["intents"])
            else ""
        )
        + " |"
    )
    o = data["one_intent"]
    lines.append(
        f"| 5 | one intent recorded, then `deliver_pending()` | {o['wall_ms']:.2f} ms, "
        f"{figure(o['statements'])} statements, besides {figure(o.get('control'))} BEGIN, COMMIT "
        f"and SAVEPOINT ({figure(o['transactions'])} transactions) "
        f"| one-URL raw signed POST {o['raw_post_ms']:.2f} ms "
        f"| {figure(o['ratio'])}×; statements {figure(o['statements'])} (goal "
        f"≤{GOALS['one_intent_statements']}) |"
    )
    r = data["record"]
    copy = f"; COPY {r['copy_cpu_us']:.2f} µs CPU" if r.get("copy_cpu_us") is not None else ""
    lines.append(
        f"| 6 | `{r['recorder']}()` of {r['intents']:,} intents in one call "
        f"| {r['record_cpu_us']:.2f} µs CPU, {r['record_wall_us']:.2f} µs wall per intent "
        f"| executemany {r['executemany_cpu_us']:.2f} µs CPU, {r['executemany_wall_us']:.2f} µs "
        f"wall per row{copy} | CPU {r['cpu_ratio']:g}×, wall {r['wall_ratio']:g}× executemany; "
        f"goal ≤{GOALS['record_cpu_us']:g} µs CPU/intent: "
        f"{'meets' if r['record_cpu_us'] <= GOALS['record_cpu_us'] else 'misses'} |"
    )
    t = data["table"]
    stages = {
        "empty": "before seeding row 4",
        "seeded": f"{d['intents']:,} intents pending",
        "delivered": "after delivering them",
    }
    for stage, when in stages.items():
        s = t[stage]
        extra = (
            f"{figure(s.get('live_tuples'))} live, {figure(s.get('dead_tuples'))} dead tuples; "
            f"autovacuum {s.get('autovacuum')}, runs {figure(s.get('autovacuum_count'))}"
            if "dead_tuples" in s
            else f"free {figure(s.get('free_bytes'))} B, rows ≈{figure(s.get('rows_estimate'))}"
        )
        lines.append(
            f"| 7 | intent table, {when} "
            f"| {s['total_bytes'] / 2**20:.2f} MiB (table {s['table_bytes'] / 2**20:.2f}, "
            f"indexes {s['index_bytes'] / 2**20:.2f}) | {extra} | |"
        )
    return lines


def render(results: dict[str, Any]) -> list[str]:
    meta = results["meta"]
    lines = [
        f"What purging costs a save, and delivering an intent (issue 24), {meta['started']}, "
        f"{meta['cpus']} CPUs, load {meta['load_before']} before, {meta.get('load_after')} "
        f"after{', QUICK (smoke run)' if meta['quick'] else ''}; `{meta['command']}`. "
        "Medians of repetitions in one process; each ratio against a floor measured in the "
        "same run (see benchmarks/README.md, scenario 11).",
        "",
    ]
    for note in meta.get("left_out", []):
        lines += [f"Left out: {note}", ""]
    for data in results["databases"]:
        lines += [f"**{data['database']}** ({data.get('server')}, {data['seconds']} s)", ""]
        lines += database_table(data) + [""]
    return lines


def write(results: dict[str, Any]) -> Path:
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "save_cost.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    (out / "save_cost.md").write_text("\n".join(render(results)) + "\n", encoding="utf-8")
    svg = charts.save_cost(results)
    if svg:
        (out / "save-cost.svg").write_text(svg, encoding="utf-8")
    return out / "save_cost.md"


@contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Anything printed while measuring goes to stderr: stdout carries the JSON alone."""
    saved = sys.stdout
    sys.stdout = sys.stderr
    try:
        yield
    finally:
        sys.stdout = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database",
        default=",".join(DATABASES),
        help="comma-separated: postgresql, mariadb (default both; an unreachable one is skipped)",
    )
    parser.add_argument("--quick", action="store_true", help="smaller counts: a smoke run")
    parser.add_argument("--json", action="store_true", help="print JSON instead of writing files")
    parser.add_argument(
        "--render",
        action="store_true",
        help="only re-write save_cost.md and save-cost.svg from the last save_cost.json",
    )
    parser.add_argument("--on", choices=DATABASES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.on:
        with _stdout_to_stderr():
            found = on_database(args.on, args.quick)
        print(json.dumps(found, default=str))
        return
    if args.render:
        results = json.loads((HERE / "results" / "save_cost.json").read_text(encoding="utf-8"))
        print(write(results).read_text(encoding="utf-8"))
        return
    names = [name.strip() for name in args.database.split(",") if name.strip()]
    unknown = [name for name in names if name not in DATABASES]
    if unknown or not names:
        parser.error(f"--database takes {', '.join(DATABASES)}: {args.database!r}")
    with _stdout_to_stderr():
        results = run(list(dict.fromkeys(names)), args.quick)
    if args.json:
        print(json.dumps(results, indent=2, default=str))
        return
    path = write(results)
    print(path.read_text(encoding="utf-8"))
    print(f"Written to {path.relative_to(ROOT)}, save_cost.json and save-cost.svg")


if __name__ == "__main__":
    main()
