"""Real processes around one shared database, for the pipeline's fault and concurrency tests.

``SharedDatabase`` is an SQLite file (or a PostgreSQL or MariaDB database of this run's own)
migrated once;
``Pipeline`` starts site processes (``tests.pipeline_site``) and deliverers (``manage.py
akamai_worker``) with ``tests.pipeline_settings`` against an emulator, and reads the intent
table from the test process. Tests assert counts only; ``wait_for`` bounds each wait
generously so a slow machine only makes a test slower, never fail.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.process_database import MARIADB_ROOT, PG, mariadb_root_sql, problem, selected_vendor

ROOT = Path(__file__).resolve().parent.parent
#: Generous: a wait that runs out means something is stuck, not that the machine is slow.
PATIENCE = 120.0


def wait_for(predicate, timeout: float = PATIENCE, interval: float = 0.05, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"gave up waiting after {timeout:.0f} s: {what or predicate}")


def base_env(database: dict[str, str], emu: Any, **extra: str) -> dict[str, str]:
    """``tests.pipeline_settings`` on ``database`` (its environment variables) against
    ``emu``; no broker unless ``extra`` names one."""
    c = emu.credentials
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "tests.pipeline_settings",
        "AKAMAI_TEST_DELIVERY": "worker",
        "AKAMAI_TEST_DELIVERY_DELAY": "0.05",
        "AKAMAI_TEST_BROKER_URL": "memory://",
        "AKAMAI_TEST_RESULT_BACKEND": "cache+memory://",
        **database,
        "AKAMAI_TEST_CCU_HOST": emu.base_url,
        "AKAMAI_TEST_CCU_CLIENT_TOKEN": c.client_token,
        "AKAMAI_TEST_CCU_CLIENT_SECRET": c.client_secret,
        "AKAMAI_TEST_CCU_ACCESS_TOKEN": c.access_token,
        **extra,
    }


def manage(*args: str) -> list[str]:
    return [sys.executable, "-m", "django", *args]


def migrate(database: dict[str, str], emu: Any) -> None:
    subprocess.run(
        manage("migrate", "--run-syncdb", "--verbosity", "0"),
        cwd=ROOT,
        env=base_env(database, emu),
        check=True,
        capture_output=True,
    )


# --- the shared database -------------------------------------------------------------------


def require_database(vendor: str) -> None:
    """Skip (fail when AKAMAI_TEST_REQUIRE_BROKER=1) when ``vendor`` cannot be reached."""
    why = problem(vendor)
    if why:
        if os.environ.get("AKAMAI_TEST_REQUIRE_BROKER") == "1":
            pytest.fail(f"{why} (AKAMAI_TEST_REQUIRE_BROKER=1)", pytrace=False)
        pytest.skip(why)


def require_postgres() -> None:
    require_database("postgresql")


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(
        dbname="postgres", host=PG["HOST"], port=PG["PORT"], user=PG["USER"], autocommit=True
    ) as admin:
        admin.execute(sql)


def _new_name() -> str:
    # Unique per run and per test: two `make test` at once never share one.
    return f"akamai_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"


class SharedDatabase:
    """One database every process of a test sees: an SQLite file, PostgreSQL or MariaDB
    (``vendor``; by default ``AKAMAI_TEST_DATABASE``'s)."""

    def __init__(self, vendor: str | None, directory: Path):
        self.vendor = vendor or selected_vendor()
        self.directory = directory
        if self.vendor == "postgresql":
            self.name = _new_name()
            _pg_admin(f'CREATE DATABASE "{self.name}"')
        elif self.vendor == "mariadb":
            self.name = _new_name()
            mariadb_root_sql(f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4")
        else:
            self.path = directory / "shared.sqlite3"
        self.settings = self._settings()

    def _settings(self) -> dict[str, str]:
        if self.vendor == "postgresql":
            return {"AKAMAI_TEST_PG_NAME": self.name}
        if self.vendor == "mariadb":
            return {"AKAMAI_TEST_MARIADB_NAME": self.name}
        return {"AKAMAI_TEST_DB": str(self.path)}

    def copy_to(self, directory: Path) -> SharedDatabase:
        """A fresh, migrated copy (SQLite: the file copied; PostgreSQL: a template; MariaDB:
        each table copied)."""
        copy = SharedDatabase.__new__(SharedDatabase)
        copy.vendor, copy.directory = self.vendor, directory
        if self.vendor == "postgresql":
            copy.name = _new_name()
            _pg_admin(f'CREATE DATABASE "{copy.name}" TEMPLATE "{self.name}"')
        elif self.vendor == "mariadb":
            copy.name = _new_name()
            tables = [row[0] for row in self.query("SHOW TABLES")]
            mariadb_root_sql(
                f"CREATE DATABASE `{copy.name}` CHARACTER SET utf8mb4",
                "SET foreign_key_checks = 0",
                *(f"CREATE TABLE `{copy.name}`.`{t}` LIKE `{self.name}`.`{t}`" for t in tables),
                *(
                    f"INSERT INTO `{copy.name}`.`{t}` SELECT * FROM `{self.name}`.`{t}`"
                    for t in tables
                ),
            )
        else:
            copy.path = directory / "copy.sqlite3"
            shutil.copy(self.path, copy.path)
        copy.settings = copy._settings()
        return copy

    def drop(self) -> None:
        if self.vendor == "postgresql":
            _pg_admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        elif self.vendor == "mariadb":
            mariadb_root_sql(f"DROP DATABASE IF EXISTS `{self.name}`")

    def query(self, sql: str) -> list[tuple]:
        if self.vendor == "postgresql":
            import psycopg

            with psycopg.connect(
                dbname=self.name, host=PG["HOST"], port=PG["PORT"], user=PG["USER"]
            ) as connection:
                return list(connection.execute(sql).fetchall())
        if self.vendor == "mariadb":
            import pymysql

            connection = pymysql.connect(**MARIADB_ROOT, database=self.name, autocommit=True)
            try:
                with connection.cursor() as cursor:
                    cursor.execute(sql)
                    return list(cursor.fetchall())
            finally:
                connection.close()
        import sqlite3

        connection = sqlite3.connect(self.path, timeout=60)
        try:
            return connection.execute(sql).fetchall()
        finally:
            connection.close()


# --- the processes --------------------------------------------------------------------------


class Pipeline:
    """Site processes and deliverers on ``db`` against ``emu``."""

    def __init__(self, db: SharedDatabase, emu: Any, log_dir: Path):
        self.db = db
        self.emu = emu
        self.log_dir = log_dir
        self.workers: list[subprocess.Popen] = []

    def env(self, **extra: str) -> dict[str, str]:
        return base_env(self.db.settings, self.emu, **extra)

    def site(self, *args: str, **env: str) -> list[str]:
        """Run ``tests.pipeline_site`` to the end; the URLs it purged."""
        done = subprocess.run(
            [sys.executable, "-m", "tests.pipeline_site", *args],
            cwd=ROOT,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=PATIENCE,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    def worker(self, *args: str, **env: str) -> subprocess.Popen:
        """``manage.py akamai_worker`` until stopped, its output in a log file."""
        log = (self.log_dir / f"worker-{len(self.workers)}.log").open("w")
        process = subprocess.Popen(
            manage("akamai_worker", "--interval", "0.05", *args),
            cwd=ROOT,
            env=self.env(**env),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        log.close()
        self.workers.append(process)
        return process

    def serve(self, **env: str) -> subprocess.Popen:
        """A web process of the site (background delivery) that served one request and idles;
        returns once it says so."""
        log_path = self.log_dir / f"serve-{len(self.workers)}.log"
        log = log_path.open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.pipeline_site", "serve"],
            cwd=ROOT,
            env=self.env(AKAMAI_TEST_DELIVERY="background", **env),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        log.close()
        self.workers.append(process)
        wait_for(lambda: "serving" in log_path.read_text(), what="the web process to start")
        return process

    def burst(self, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            manage("akamai_worker", "--burst"),
            cwd=ROOT,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=PATIENCE,
            check=False,
        )

    def stop(self, process: subprocess.Popen) -> int:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(PATIENCE)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def close(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.kill()
                process.wait()

    def intents(self) -> Counter:
        """Intents in the table by status."""
        return Counter(
            dict(
                self.db.query(
                    "SELECT status, COUNT(*) FROM django_akamai_purgeintent GROUP BY status"
                )
            )
        )

    def failed(self) -> list[tuple]:
        return self.db.query(
            "SELECT value, http_status, error_title, error_detail FROM "
            "django_akamai_purgeintent WHERE status = 'failed' ORDER BY id"
        )

    def delivered(self, urls: list[str], *emulators: Any) -> bool:
        """Every URL accepted (by any of ``emulators``) and nothing pending or claimed."""
        accepted = {obj for emu in emulators or (self.emu,) for obj in emu.accepted_objects()}
        if not set(urls) <= accepted:
            return False
        left = self.intents()
        return not (left["pending"] or left["claimed"])
