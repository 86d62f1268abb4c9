"""The deliverer against its floor, in one process: µs per intent and SQL per request.

    .venv/bin/python benchmarks/bench_deliverer_floor.py [--database postgresql] [--intents 20000]

Seeds ``--intents`` pending URL intents with ``funnel.record`` in a database of this run's
own (``postgresql``, ``mariadb`` or ``sqlite``: a file), then runs ``deliver_pending(burst=True)``
in this process against the emulator with its rate limits off (``--rate-limits off``, a
process of its own) and reports, per intent, the wall time and this process's CPU time; the
SQL statements the deliverer sent (all of them, and per accepted request, BEGIN, COMMIT and
savepoints apart; and the COMMITs). The floor: the same URLs packed into bodies of at most
50,000 bytes and POSTed with ``requests`` and ``akamai.edgegrid.EdgeGridAuth`` on one
session, nothing else. One database per process (Django is configured once); run it again
for another.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

from bench_delivery import PROBLEMS, own_database  # noqa: E402
from harness import EmulatorProcess  # noqa: E402

CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")
MAX_BODY = 50_000


def configure(db: dict[str, Any], emu: EmulatorProcess) -> None:
    import django
    from django.conf import settings

    if db["ENGINE"] == "django.db.backends.mysql":
        import pymysql

        pymysql.install_as_MySQLdb()
    c = emu.credentials
    settings.configure(
        SECRET_KEY="bench-deliverer-floor",
        USE_TZ=True,
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django_akamai"],
        DATABASES={"default": db},
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        AKAMAI_CCU_API="v3",
        AKAMAI_CCU_HOST=c["host"],
        AKAMAI_CCU_CLIENT_TOKEN=c["client_token"],
        AKAMAI_CCU_CLIENT_SECRET=c["client_secret"],
        AKAMAI_CCU_ACCESS_TOKEN=c["access_token"],
        AKAMAI_BASE_URL="https://www.example.com",
        AKAMAI_DELIVERY="worker",
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(urls: list[str]) -> None:
    from django.db import transaction

    from django_akamai import funnel

    for start in range(0, len(urls), 5_000):
        with transaction.atomic():
            funnel.record(funnel.plan(urls[start : start + 5_000]), using="default")


def deliver() -> dict[str, Any]:
    from django.db import connection

    from django_akamai.delivery.worker import deliver_pending

    sql: list[str] = []

    def keep(execute: Any, statement: str, params: Any, many: bool, context: Any) -> Any:
        if not statement.upper().startswith(CONTROL):  # savepoints pass through here too
            sql.append(statement)
        return execute(statement, params, many, context)

    with connection.execute_wrapper(keep):
        wall, cpu = time.perf_counter(), time.process_time()
        report = deliver_pending(burst=True)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    # COMMITs are the driver's, not statements: count them from Django's query log.
    return {"report": report, "wall": wall, "cpu": cpu, "statements": len(sql)}


def commits_of_one_more_run(urls: list[str]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from django_akamai.delivery.worker import deliver_pending

    seed(urls)
    with CaptureQueriesContext(connection) as captured:
        deliver_pending(burst=True)
    return sum(1 for q in captured if q["sql"].upper() == "COMMIT")


def bodies(urls: list[str]) -> list[bytes]:
    """The URLs in order, greedily packed into JSON bodies of at most ``MAX_BODY`` bytes."""
    out: list[bytes] = []
    batch: list[str] = []
    for url in urls:
        if batch and len(json.dumps({"objects": [*batch, url]}, separators=(",", ":"))) > MAX_BODY:
            out.append(json.dumps({"objects": batch}, separators=(",", ":")).encode())
            batch = []
        batch.append(url)
    if batch:
        out.append(json.dumps({"objects": batch}, separators=(",", ":")).encode())
    return out


def floor(emu: EmulatorProcess, payloads: list[bytes]) -> dict[str, float]:
    import requests
    from akamai.edgegrid import EdgeGridAuth

    c = emu.credentials
    session = requests.Session()
    session.auth = EdgeGridAuth(
        client_token=c["client_token"],
        client_secret=c["client_secret"],
        access_token=c["access_token"],
        max_body=MAX_BODY * 2,
    )
    url = f"{c['host'].rstrip('/')}/ccu/v3/delete/url/production"
    headers = {"Content-Type": "application/json"}
    wall, cpu = time.perf_counter(), time.process_time()
    for body in payloads:
        session.post(url, data=body, headers=headers, timeout=30).raise_for_status()
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="postgresql", choices=sorted(PROBLEMS))
    parser.add_argument("--intents", type=int, default=20_000)
    args = parser.parse_args()
    problem = PROBLEMS[args.database]()
    if problem:
        raise SystemExit(problem)
    n = args.intents
    urls = [f"https://www.example.com/floor/{i:07d}/page" for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp, EmulatorProcess({"rate_limits": "off"}) as emu:
        with own_database(args.database, tmp) as db:
            configure(db, emu)
            seed(urls)
            ours = deliver()
            report = ours["report"]
            assert report.accepted == n, report
            commits = commits_of_one_more_run([u + "/again" for u in urls])
            raw = floor(emu, bodies(urls))
    requests_sent = report.requests
    print(f"{args.database}: {n} intents, {requests_sent} requests")
    print(
        f"  deliver_pending(burst=True): {ours['wall'] / n * 1e6:.1f} µs wall, "
        f"{ours['cpu'] / n * 1e6:.1f} µs CPU per intent"
    )
    print(
        f"  SQL: {ours['statements']} statements ({ours['statements'] / requests_sent:.2f} per "
        f"request, BEGIN/COMMIT/savepoints apart), {commits} COMMITs "
        f"({commits / requests_sent:.2f} per request)"
    )
    print(
        f"  floor (requests + EdgeGridAuth, same bodies): {raw['wall'] / n * 1e6:.1f} µs wall, "
        f"{raw['cpu'] / n * 1e6:.1f} µs CPU per intent; "
        f"ratio {ours['wall'] / raw['wall']:.2f}× wall, {ours['cpu'] / raw['cpu']:.2f}× CPU"
    )


if __name__ == "__main__":
    main()
