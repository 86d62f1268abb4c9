"""Purge intents delivered: several deliverer processes on one account, and a busy site.

    .venv/bin/python benchmarks/bench_delivery.py [--time-scale 5] [--per-deliverer 20000]
        [--deliverers 1,2,4,8] [--database postgresql,mariadb] [--saves 1000]
        [--only deliverers,site] [--json]

1. **Deliverers.** 1, 2, 4 and 8 ``manage.py akamai_worker --burst`` processes at once, on
   one Akamai account (the emulator with Akamai's buckets at ``--time-scale``), with 20,000
   pending intents each (so 20,000 × N in the table, seeded with ``funnel.record`` before
   they start), on each database of ``--database`` in turn: ``postgresql`` (127.0.0.1:5432,
   user postgres), ``mariadb`` (127.0.0.1:3306, root with no password, through PyMySQL) and
   ``sqlite`` (a file), each run in a database of its own, created for the run and dropped
   after it. By default PostgreSQL and MariaDB, those that are reachable, or an SQLite file
   when neither is. Reported per database and count: the delivery's wall time, from the
   emulator's receipt of the first request to its acceptance of the last, against the
   theoretical minimum ``max(0, URLs − 10,000) / (200 × scale)`` (the URL bucket starts full,
   then refills at 200 a second); the processes' start-up (launch → first request) apart;
   429s; objects lost (seeded minus accepted); objects sent twice, i.e. accepted by Akamai
   (the emulator) in more than one request: a URL refused with a 429 and sent again is not
   counted, it was purged once; and the intents left in the table after the run.
2. **A busy site.** One process makes 1,000 saves of ``benchapp.Item``, each its own
   transaction, paced at 50 and at 200 saves a second, with automatic purging
   (``AKAMAI_PURGE_MODELS``), on an SQLite file; the emulator has Akamai's buckets in real
   time. The deliverer is the saving process's background thread (``AKAMAI_DELIVERY =
   "background"``, the default) or one ``akamai_worker`` process (``"worker"``). Reported:
   Akamai requests, 429s, and the median and 99th percentile from each save's commit (its
   timestamp in the saver) to the emulator's acceptance of its URL; and the time a save
   takes (``transaction.atomic()`` + ``create()`` + commit, on-commit hooks included) with
   automatic purging minus the same without it, with Akamai up, down (a closed port) and
   hanging (a port that accepts connections and never answers).

A process configures Django once, so each database's deliverers and the busy site are driven
by a fresh process of this script each. The emulator runs in that driver process, which only
waits while the deliverers and the saver, separate processes, do the work. Results go to
``benchmarks/results/delivery.json`` and ``delivery.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

PG: dict[str, Any] = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
# A fresh machine's MariaDB: root over TCP with no password (as the test suite reaches it).
MARIADB: dict[str, Any] = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
VENDORS = ("postgresql", "mariadb", "sqlite")
LABELS = {"postgresql": "PostgreSQL", "mariadb": "MariaDB", "sqlite": "SQLite"}
URL_BUCKET = 10_000
URL_REFILL = 200.0
SEED_CHUNK = 10_000


# --- environment shared with the child processes ---------------------------------------------


def child_env(db: dict[str, Any], emu: Any, host: str | None = None, **extra: str) -> dict:
    c = emu.credentials
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(HERE), str(ROOT)]),
        DJANGO_SETTINGS_MODULE="delivery_settings",
        BENCH_DB=json.dumps(db),
        BENCH_CCU_HOST=host or emu.base_url,
        BENCH_CCU_CLIENT_TOKEN=c.client_token,
        BENCH_CCU_CLIENT_SECRET=c.client_secret,
        BENCH_CCU_ACCESS_TOKEN=c.access_token,
    )
    env.update(extra)
    return env


def setup_driver(db: dict[str, Any], emu: Any) -> None:
    os.environ.update(child_env(db, emu, BENCH_DELIVERY="worker"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)


def reset(emu: Any) -> None:
    from benchapp.models import Item
    from django.db import connections

    from django_akamai.models import DeliveryLease, PurgeIntent, PurgeRecord

    for model in (PurgeIntent, DeliveryLease, PurgeRecord, Item):
        model.objects.all().delete()
    connections.close_all()
    emu.reset()


def pg_problem() -> str | None:
    """Why PostgreSQL cannot be used here, or None."""
    try:
        import psycopg

        with psycopg.connect(dbname="postgres", connect_timeout=3, **PG):
            return None
    except Exception as exc:  # noqa: BLE001 (any failure means: not this database)
        return f"PostgreSQL at {PG['host']}:{PG['port']} is not reachable: {exc!r}"


def mariadb_problem() -> str | None:
    """Why MariaDB cannot be used here, or None."""
    try:
        import pymysql
    except ImportError as exc:
        return f"PyMySQL is not installed ({exc}); pip install -e .[test]"
    try:
        pymysql.connect(connect_timeout=3, **MARIADB).close()
        return None
    except Exception as exc:  # noqa: BLE001 (any failure means: not this database)
        return (
            f"MariaDB at {MARIADB['host']}:{MARIADB['port']} is not reachable as "
            f"{MARIADB['user']} with no password: {exc!r}"
        )


PROBLEMS = {"postgresql": pg_problem, "mariadb": mariadb_problem, "sqlite": lambda: None}


def run_name() -> str:
    return f"bench_delivery_{os.getpid()}_{uuid.uuid4().hex[:6]}"


def _mariadb_sql(statement: str) -> None:
    import pymysql

    connection = pymysql.connect(connect_timeout=3, autocommit=True, **MARIADB)
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


@contextmanager
def own_database(vendor: str, directory: str) -> Iterator[dict[str, Any]]:
    """A database of this run's own on ``vendor``, dropped afterwards: its ``DATABASES``
    entry."""
    if vendor == "sqlite":
        yield sqlite_database(directory, "deliverers.sqlite3")
        return
    name = run_name()
    if vendor == "postgresql":
        import psycopg

        with psycopg.connect(dbname="postgres", autocommit=True, **PG) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        entry = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "HOST": PG["host"],
            "PORT": PG["port"],
            "USER": PG["user"],
        }
    else:
        _mariadb_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        entry = {
            "ENGINE": "django.db.backends.mysql",
            "NAME": name,
            "HOST": MARIADB["host"],
            "PORT": MARIADB["port"],
            "USER": MARIADB["user"],
            "PASSWORD": MARIADB["password"],
            # Django's advice for MySQL: strict mode, so bad data is an error, not a warning.
            "OPTIONS": {"charset": "utf8mb4", "init_command": "SET sql_mode='STRICT_TRANS_TABLES'"},
        }
    try:
        yield entry
    finally:
        from django.db import connections

        connections.close_all()
        if vendor == "postgresql":
            import psycopg

            with psycopg.connect(dbname="postgres", autocommit=True, **PG) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            _mariadb_sql(f"DROP DATABASE IF EXISTS `{name}`")


def sqlite_database(directory: str, name: str) -> dict[str, Any]:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(Path(directory) / name),
        "OPTIONS": {"timeout": 30},
    }


def manage(*args: str) -> list[str]:
    return [sys.executable, "-m", "django", *args]


# --- 1. deliverers ---------------------------------------------------------------------------


def deliverers(
    emu: Any, db: dict[str, Any], counts: list[int], per: int, scale: float, database: str
) -> list[dict]:
    import inputs

    from django_akamai import funnel
    from django_akamai.models import PurgeIntent

    rows = []
    for n in counts:
        reset(emu)
        urls = inputs.canonical(inputs.make_urls(per * n, seed=2026 + n))
        seeding = time.perf_counter()
        # In chunks: one record() is one INSERT on MariaDB (Django does not batch there), and
        # 60,000 rows outgrow its default max_allowed_packet (16 MiB): "server has gone away".
        for start in range(0, len(urls), SEED_CHUNK):
            funnel.record(funnel.plan(urls[start : start + SEED_CHUNK]), using="default")
        seed_s = time.perf_counter() - seeding
        env = child_env(db, emu)
        launched = time.time()
        workers = [
            subprocess.Popen(
                manage("akamai_worker", "--burst"),
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(n)
        ]
        outputs = [worker.communicate(timeout=3600) for worker in workers]
        purges = emu.purges
        counters = emu.counters
        seen = Counter(obj for purge in purges for obj in purge.objects)
        first = min(p.received_at.timestamp() for p in purges) if purges else launched
        last = max(p.received_at.timestamp() for p in purges) if purges else launched
        minimum = max(0, len(urls) - URL_BUCKET) / (URL_REFILL * scale)
        wall = last - first
        # Accepted intents are deleted: what is left was not delivered (pending or failed).
        left = PurgeIntent.objects.count()
        rows.append(
            {
                "database": database,
                "deliverers": n,
                "intents": len(urls),
                "requests": counters["accepted"],
                "wall_s": round(wall, 2),
                "minimum_s": round(minimum, 2),
                "ratio": round(wall / minimum, 3) if minimum else None,
                "startup_s": round(first - launched, 2),
                "rate_limited": counters["rate_limited"],
                "lost": len(set(urls) - set(seen)),
                # "Sent twice": accepted by Akamai in more than one request. A 429 is not an
                # acceptance, so a URL refused and sent again counts once.
                "accepted_twice": sum(1 for count in seen.values() if count > 1),
                "left": left,
                "seed_s": round(seed_s, 2),
                "exit_codes": [worker.returncode for worker in workers],
                "stderr": [err.strip()[-500:] for _, err in outputs if err.strip()],
            }
        )
        print(f"  {database}, {n} deliverer(s): {rows[-1]}", file=sys.stderr, flush=True)
    return rows


# --- 2. a busy site --------------------------------------------------------------------------


def saver(rate: float, saves: int, out: str) -> None:
    """Child process: ``saves`` creates, each its own transaction, paced at ``rate``."""
    import django

    django.setup()
    from benchapp.models import Item
    from django.db import transaction

    records = []
    start = time.perf_counter() + 0.2
    for i in range(saves):
        due = start + i / rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        began = time.perf_counter()
        with transaction.atomic():
            item = Item.objects.create(slug=f"s{i}")
        took = time.perf_counter() - began
        records.append(["https://www.example.com" + item.get_absolute_url(), time.time(), took])
    Path(out).write_text(json.dumps(records))
    # The background mode's exit wait (AKAMAI_DELIVERY_EXIT_WAIT) runs after this.


@contextmanager
def hanging_port():
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(4096)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def site_run(
    emu: Any,
    db: dict[str, Any],
    *,
    rate: float,
    saves: int,
    mode: str,
    autopurge: bool,
    akamai: str = "up",
) -> dict[str, Any]:
    reset(emu)
    with tempfile.TemporaryDirectory() as tmp, hanging_port() as hanging:
        host = {"up": emu.base_url, "down": closed_port(), "hanging": hanging}[akamai]
        env = child_env(
            db,
            emu,
            host=host,
            BENCH_DELIVERY=mode,
            BENCH_AUTOPURGE="1" if autopurge else "0",
            BENCH_EXIT_WAIT="10" if akamai == "up" else "1",
        )
        worker = None
        if mode == "worker" and autopurge:
            worker = subprocess.Popen(
                manage("akamai_worker"),
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=open(Path(tmp) / "worker.err", "w"),  # noqa: SIM115 (closed with tmp)
                text=True,
            )
            assert worker.stdout is not None
            worker.stdout.readline()  # "akamai_worker ... delivering for default"
        out = Path(tmp) / "saves.json"
        done = subprocess.run(
            [sys.executable, str(Path(__file__)), "--saver", str(rate), str(saves), str(out)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the saver failed: {done.stderr[-2000:]}")
        records = json.loads(out.read_text())
        if autopurge and akamai == "up":
            deadline = time.time() + 60
            while emu.counters["objects_accepted"] < saves and time.time() < deadline:
                time.sleep(0.05)
        if worker is not None:
            worker.terminate()
            worker.wait(30)
            errors = (Path(tmp) / "worker.err").read_text()
            if errors.strip():
                print(f"  worker stderr: {errors[-1500:]}", file=sys.stderr)
    durations = [took * 1000 for _, _, took in records]
    row: dict[str, Any] = {
        "rate": rate,
        "mode": mode if autopurge else "no purging",
        "akamai": akamai,
        "saves": len(records),
        "save_median_ms": round(statistics.median(durations), 3),
        "save_p99_ms": round(statistics.quantiles(durations, n=100)[-1], 3),
        "saving_s": round(records[-1][1] - records[0][1], 2),
    }
    if autopurge and akamai == "up":
        accepted_at: dict[str, float] = {}
        for purge in emu.purges:
            for obj in purge.objects:
                accepted_at.setdefault(obj, purge.received_at.timestamp())
        latencies = [
            accepted_at[url] - committed for url, committed, _ in records if url in accepted_at
        ]
        counters = emu.counters
        row.update(
            requests=counters["accepted"],
            rate_limited=counters["rate_limited"],
            lost=sum(1 for url, _, _ in records if url not in accepted_at),
            latency_median_s=round(statistics.median(latencies), 3) if latencies else None,
            latency_p99_s=(
                round(statistics.quantiles(latencies, n=100)[-1], 3) if len(latencies) > 1 else None
            ),
        )
    return row


def busy_site(emu: Any, db: dict[str, Any], saves: int) -> list[dict]:
    rows = []
    plans = [
        (50, "background", False, "up"),
        (50, "background", True, "up"),
        (50, "worker", True, "up"),
        (200, "background", False, "up"),
        (200, "background", True, "up"),
        (200, "worker", True, "up"),
        (200, "background", True, "down"),
        (200, "background", True, "hanging"),
    ]
    for rate, mode, autopurge, akamai in plans:
        row = site_run(
            emu, db, rate=rate, saves=saves, mode=mode, autopurge=autopurge, akamai=akamai
        )
        rows.append(row)
        print(f"  {row}", file=sys.stderr, flush=True)
    baseline = {row["rate"]: row["save_median_ms"] for row in rows if row["mode"] == "no purging"}
    for row in rows:
        row["added_median_ms"] = round(row["save_median_ms"] - baseline[row["rate"]], 3)
    return rows


# --- the report --------------------------------------------------------------------------


def table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return lines


def _ratio(row: dict[str, Any]) -> Any:
    # No minimum when every URL fits the URL bucket's first 10,000: say so, not "None".
    return row["ratio"] if row["ratio"] is not None else "(no minimum)"


def side_by_side(rows: list[dict[str, Any]]) -> list[str]:
    """One line per deliverer count, each database's figures beside the others'."""
    databases = list(dict.fromkeys(r["database"] for r in rows))
    by = {(r["database"], r["deliverers"]): r for r in rows}
    counts = list(dict.fromkeys(r["deliverers"] for r in rows))
    headers = ["deliverers", "intents"]
    for name in databases:
        headers += [f"{name} wall ÷ minimum", f"{name} 429s", f"{name} lost", f"{name} sent twice"]
    body = []
    for n in counts:
        some = next(by[(d, n)] for d in databases if (d, n) in by)
        line: list[Any] = [n, f"{some['intents']:,}"]
        for name in databases:
            r = by.get((name, n))
            line += (
                [_ratio(r), r["rate_limited"], r["lost"], r["accepted_twice"]]
                if r
                else ["(failed)"] * 4
            )
        body.append(line)
    return table(headers, body)


def render(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        f"Delivery benchmarks ({meta['started']}, {meta['cpus']} CPUs, load average "
        f"{meta.get('load_before', '?')} before and {meta.get('load_after', '?')} after; "
        f"databases: {meta['database']}; command: `{meta['command']}`)",
        "",
    ]
    for note in meta.get("left_out", []):
        lines += [f"Left out: {note}", ""]
    if "deliverers" in results:
        rows = results["deliverers"]
        per = meta.get("per_deliverer", 20_000)
        lines += [
            f"Deliverers: `akamai_worker --burst` processes on one account, {per:,} pending "
            f"intents each, Akamai's buckets at time scale {meta['time_scale']:g}, each "
            "database a fresh one of the run's own. Wall = the emulator's first request "
            "received to its last accepted; minimum = max(0, intents − 10,000) / (200 × "
            "scale); start-up = launch to first request, apart. Sent twice = objects the "
            "emulator accepted in more than one request (a 429 is not an acceptance). Left = "
            "intents still in the table after the run.",
            "",
        ]
        if len({r["database"] for r in rows}) > 1:
            lines += side_by_side(rows) + [""]
        lines += table(
            [
                "database",
                "deliverers",
                "intents",
                "requests",
                "wall (s)",
                "minimum (s)",
                "wall ÷ minimum",
                "429s",
                "lost",
                "sent twice",
                "left",
                "start-up (s)",
                "seeding (s)",
                "exit codes",
            ],
            [
                [
                    r["database"],
                    r["deliverers"],
                    f"{r['intents']:,}",
                    r["requests"],
                    r["wall_s"],
                    r["minimum_s"],
                    _ratio(r),
                    r["rate_limited"],
                    r["lost"],
                    r["accepted_twice"],
                    r["left"],
                    r["startup_s"],
                    r["seed_s"],
                    ",".join(map(str, r["exit_codes"])),
                ]
                for r in rows
            ],
        )
        lines.append("")
        for name in dict.fromkeys(r["database"] for r in rows):
            mine = [r for r in rows if r["database"] == name]
            lines.append(
                f"Total on {name}: 429s {sum(r['rate_limited'] for r in mine)}, lost "
                f"{sum(r['lost'] for r in mine)}, sent twice "
                f"{sum(r['accepted_twice'] for r in mine)}."
            )
        for name, error in results.get("deliverer_failures", {}).items():
            lines.append(f"**{name} failed**: {error}")
        lines.append("")
    if "site" in results:
        lines += [
            f"Busy site: {meta['saves']:,} saves of benchapp.Item, each its own transaction, "
            "automatic purging, SQLite file, Akamai's buckets in real time. Save = atomic() + "
            "create() + commit (on-commit hooks included); added = median minus the same "
            "rate's median without purging. Latency = save's commit to the emulator's "
            "acceptance of its URL.",
            "",
        ]
        lines += table(
            [
                "saves/s",
                "deliverer",
                "Akamai",
                "requests",
                "429s",
                "lost",
                "commit→accepted median (s)",
                "p99 (s)",
                "save median (ms)",
                "save p99 (ms)",
                "added median (ms)",
            ],
            [
                [
                    r["rate"],
                    r["mode"],
                    r["akamai"],
                    r.get("requests"),
                    r.get("rate_limited"),
                    r.get("lost"),
                    r.get("latency_median_s"),
                    r.get("latency_p99_s"),
                    r["save_median_ms"],
                    r["save_p99_ms"],
                    r["added_median_ms"],
                ]
                for r in results["site"]
            ],
        )
    return "\n".join(lines)


def choose_databases(
    parser: argparse.ArgumentParser, asked: str | None, sqlite: bool
) -> tuple[list[str], list[str]]:
    """The databases of the deliverer scenario, and why any default one was left out."""
    if sqlite:
        return ["sqlite"], []
    if asked is None:
        chosen, left_out = [], []
        for vendor in ("postgresql", "mariadb"):
            problem = PROBLEMS[vendor]()
            if problem:
                left_out.append(f"{LABELS[vendor]}: {problem}")
            else:
                chosen.append(vendor)
        return chosen or ["sqlite"], left_out
    names = [name.strip() for name in asked.split(",") if name.strip()]
    unknown = [name for name in names if name not in VENDORS]
    if unknown or not names:
        parser.error(f"--database takes a comma-separated list of {', '.join(VENDORS)}: {asked!r}")
    for name in names:
        problem = PROBLEMS[name]()
        if problem:
            parser.error(f"--database {name}: {problem}")
    return list(dict.fromkeys(names)), []


def deliverers_on(vendor: str, counts: list[int], per: int, scale: float, tmp: str) -> list[dict]:
    """Scenario 1 on one database, in this process (which it configures for that database)."""
    from django_akamai.emulator import Emulator

    with own_database(vendor, tmp) as db:
        emu = Emulator(rate_limits="akamai", time_scale=scale).start()
        try:
            setup_driver(db, emu)
            return deliverers(emu, db, counts, per, scale, LABELS[vendor])
        finally:
            emu.stop()


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=float, default=5.0)
    parser.add_argument("--per-deliverer", type=int, default=20_000)
    parser.add_argument("--deliverers", default="1,2,4,8")
    parser.add_argument(
        "--database",
        help="the deliverers' databases, comma-separated: postgresql, mariadb, sqlite "
        "(default: postgresql,mariadb, those reachable; SQLite when neither is)",
    )
    parser.add_argument("--saves", type=int, default=1000)
    parser.add_argument("--only", default="deliverers,site")
    parser.add_argument("--sqlite", action="store_true", help="the same as --database sqlite")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--saver", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--deliverers-on", choices=VENDORS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.saver:
        rate, saves, out = args.saver
        saver(float(rate), int(saves), out)
        return
    counts = [int(n) for n in args.deliverers.split(",")]
    # SQLite on tmpfs when there is one: an fsync per commit would otherwise dominate a save
    # (about 15 ms on this machine's disk) and hide what purging adds to it.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    if args.deliverers_on:
        with tempfile.TemporaryDirectory(dir=shm) as tmp:
            rows = deliverers_on(
                args.deliverers_on, counts, args.per_deliverer, args.time_scale, tmp
            )
        print(json.dumps(rows))
        return

    from django_akamai.emulator import Emulator

    selected = args.only.split(",")
    databases, left_out = (
        choose_databases(parser, args.database, args.sqlite)
        if "deliverers" in selected
        else ([], [])
    )
    results: dict[str, Any] = {
        "meta": {
            "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "cpus": os.cpu_count(),
            "load_before": load_average(),
            "time_scale": args.time_scale,
            "per_deliverer": args.per_deliverer,
            "saves": args.saves,
            "database": ", ".join(
                [f"{LABELS[d]} (deliverers)" for d in databases]
                + (["SQLite file (site)"] if "site" in selected else [])
            ),
            "left_out": left_out,
            "command": "python benchmarks/bench_delivery.py " + " ".join(sys.argv[1:]),
        }
    }
    failed = False
    if "deliverers" in selected:
        # A process configures Django once: each database's deliverers have a driver of their own.
        results["deliverers"] = []
        for vendor in databases:
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--deliverers-on",
                    vendor,
                    "--deliverers",
                    args.deliverers,
                    "--per-deliverer",
                    str(args.per_deliverer),
                    "--time-scale",
                    str(args.time_scale),
                ],
                stdout=subprocess.PIPE,
                text=True,
                check=False,
            )
            if done.returncode == 0:
                results["deliverers"] += json.loads(done.stdout)
            else:
                failed = True
                results.setdefault("deliverer_failures", {})[LABELS[vendor]] = (
                    f"exit {done.returncode} (its traceback is on stderr above)"
                )
    if "site" in selected:
        if "deliverers" in selected:
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--only",
                    "site",
                    "--saves",
                    str(args.saves),
                    "--json",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            results["site"] = json.loads(done.stdout)["site"]
        else:
            with tempfile.TemporaryDirectory(dir=shm) as tmp:
                emu = Emulator(rate_limits="akamai", time_scale=1.0).start()
                try:
                    db = sqlite_database(tmp, "site.sqlite3")
                    setup_driver(db, emu)
                    results["site"] = busy_site(emu, db, args.saves)
                finally:
                    emu.stop()
    results["meta"]["load_after"] = load_average()
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        out = HERE / "results"
        out.mkdir(exist_ok=True)
        (out / "delivery.json").write_text(json.dumps(results, indent=2) + "\n")
        markdown = render(results)
        (out / "delivery.md").write_text(markdown + "\n")
        print(markdown)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
