"""What purging a bulk change costs it (``django_akamai.bulk``, issue 24).

    .venv/bin/python benchmarks/bench_bulk.py --database postgresql [--rows 1000 10000] [--rounds 5]

For each row count: ``Item.objects.filter(...).update(slug=...)`` plain, against the same
update through ``PurgingQuerySet`` (which reads the rows before and after, and records the
old and the new URL of each as purge intents: 2 intents a row), and against the same change
made the way that purges without it: one ``save()`` a row, all in one transaction. The
updates run in autocommit mode, so each is one transaction of its own, commit included. Then
the purging update's parts apart: the reads and the URLs, planning them, and recording the
intents. Median of ``--rounds`` (the variants alternate, so drift hits all alike). Nothing is
delivered (``AKAMAI_DELIVERY = "worker"``): the intents are deleted between rounds, outside
the timing.

The database is a throw-away one (``akamai_test_bench_bulk``) on the local server:
PostgreSQL as user postgres, MariaDB as root, both without a password; or SQLite in a file.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

NAME = "akamai_test_bench_bulk"


def database(vendor: str, directory: str) -> dict:
    if vendor == "postgresql":
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": NAME,
            "USER": "postgres",
            "HOST": "127.0.0.1",
            "TEST": {"NAME": NAME},
        }
    if vendor == "mariadb":
        import pymysql

        pymysql.install_as_MySQLdb()
        return {
            "ENGINE": "django.db.backends.mysql",
            "NAME": NAME,
            "USER": "root",
            "PASSWORD": "",
            "HOST": "127.0.0.1",
            "OPTIONS": {"charset": "utf8mb4"},
            "TEST": {"NAME": NAME},
        }
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(Path(directory) / "bench.db")}


def configure(vendor: str, directory: str) -> None:
    import django
    from django.conf import settings

    settings.configure(
        USE_TZ=True,
        INSTALLED_APPS=["django.contrib.contenttypes", "django_akamai", "benchapp"],
        DATABASES={"default": database(vendor, directory)},
        AKAMAI_BASE_URL="https://www.example.com",
        AKAMAI_DELIVERY="worker",
        AKAMAI_HISTORY=False,
        AKAMAI_PURGE_MODELS=["benchapp.Item"],
    )
    django.setup()


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def saves(model: type, slug: str) -> None:
    """The same change as one save a row, in one transaction (autopurge purges each)."""
    from django.db import transaction

    with transaction.atomic():
        for item in model.objects.filter(slug__startswith="a"):
            item.slug = slug
            item.save(update_fields=["slug"])


def measure(rows: int, rounds: int, with_saves: bool) -> dict[str, float]:
    from benchapp.models import Item
    from django.db import transaction

    from django_akamai import autopurge, funnel
    from django_akamai.bulk import PurgingQuerySet
    from django_akamai.models import PurgeIntent

    Item.objects.all().delete()
    PurgeIntent.objects.all().delete()
    Item.objects.bulk_create([Item(slug=f"a{i}") for i in range(rows)], batch_size=2000)
    config = autopurge.active_models()[Item]
    times: dict[str, list[float]] = {}
    for n in range(rounds):
        # The same work each time: every row's slug changes, so every URL changes.
        plain = Item.objects.filter(slug__startswith="a")
        times.setdefault("plain", []).append(timed(lambda q=plain, n=n: q.update(slug=f"a-p{n}")))
        purging = PurgingQuerySet(Item).filter(slug__startswith="a")
        times.setdefault("purging", []).append(
            timed(lambda q=purging, n=n: q.update(slug=f"a-q{n}"))
        )
        recorded = list(PurgeIntent.objects.values_list("value", flat=True))
        PurgeIntent.objects.all().delete()
        if with_saves:
            times.setdefault("saves", []).append(timed(lambda n=n: saves(Item, f"a-s{n}")))
            PurgeIntent.objects.all().delete()
        # The purging update's parts: both reads with their URLs, planning, recording (the
        # very URLs the purging update recorded).

        def read() -> None:
            for _ in range(2):  # the old state and the new one
                for item in Item.objects.filter(slug__startswith="a").iterator(chunk_size=2000):
                    config.objects(item, "default")

        times.setdefault("read", []).append(timed(read))
        plans = []
        times.setdefault("plan", []).append(
            timed(lambda p=plans, v=recorded: p.append(funnel.plan(v, {"type": "url"})))
        )

        def record(plans: list = plans) -> None:
            with transaction.atomic():
                funnel.record(plans, using="default", actor="autopurge")

        times.setdefault("record", []).append(timed(record))
        PurgeIntent.objects.all().delete()
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "mariadb"), default="sqlite")
    parser.add_argument("--rows", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--saves-up-to", type=int, default=1000, help="time the saves up to this many rows"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        configure(args.database, directory)
        from django.db import connection

        test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
        try:
            print(
                f"{args.database}: {connection.vendor} {connection.Database.__name__}, "
                f"median of {args.rounds} rounds, milliseconds"
            )
            print(
                f"{'rows':>6} {'plain':>8} {'purging':>8} {'ratio':>6} {'saves':>8} | "
                f"{'reads':>7} {'plan':>7} {'record':>7}"
            )
            for rows in args.rows:
                m = measure(rows, args.rounds, rows <= args.saves_up_to)
                print(
                    f"{rows:>6} {m['plain'] * 1e3:>8.1f} {m['purging'] * 1e3:>8.1f} "
                    f"{m['purging'] / m['plain']:>6.2f} {m.get('saves', 0) * 1e3:>8.1f} | "
                    f"{m['read'] * 1e3:>7.1f} {m['plan'] * 1e3:>7.1f} {m['record'] * 1e3:>7.1f}"
                )
        finally:
            connection.creation.destroy_test_db(test_name, verbosity=0)


if __name__ == "__main__":
    main()
