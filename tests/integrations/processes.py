"""A database of the test's own and the processes that share it: a site and ``db_worker``.

``task_database(kind)`` yields the environment for one fresh database: an SQLite file in a
temporary directory, or a PostgreSQL database whose name carries this run's pid and a uuid
(several runs share the server), dropped afterwards. PostgreSQL unreachable: the test is
skipped with the reason, or fails when ``AKAMAI_TEST_REQUIRE_BROKER=1`` (CI).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
SETTINGS = "tests.integrations.worker_settings"


def _postgres_problem() -> str | None:
    import psycopg

    try:
        psycopg.connect(
            host="127.0.0.1", port=5432, user="postgres", dbname="postgres", connect_timeout=3
        ).close()
    except Exception as exc:
        return f"PostgreSQL at 127.0.0.1:5432 is not reachable: {type(exc).__name__}: {exc}"
    return None


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(
        host="127.0.0.1", port=5432, user="postgres", dbname="postgres", autocommit=True
    ) as connection:
        connection.execute(sql)


@contextmanager
def task_database(kind: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment variables that point ``worker_settings`` at a fresh database."""
    if kind == "sqlite":
        yield {
            "AKAMAI_TEST_DB_ENGINE": "sqlite",
            "AKAMAI_TEST_DB_NAME": str(tmp_path / "db.sqlite3"),
        }
        return
    problem = _postgres_problem()
    if problem:
        if os.environ.get("AKAMAI_TEST_REQUIRE_BROKER") == "1":
            pytest.fail(f"{problem} (AKAMAI_TEST_REQUIRE_BROKER=1)", pytrace=False)
        pytest.skip(problem)
    name = f"akamai_tasks_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield {"AKAMAI_TEST_DB_ENGINE": "postgresql", "AKAMAI_TEST_DB_NAME": name}
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def emulator_env(emu) -> dict[str, str]:
    creds = emu.credentials
    return {
        "AKAMAI_TEST_CCU_HOST": emu.base_url,
        "AKAMAI_TEST_CCU_CLIENT_TOKEN": creds.client_token,
        "AKAMAI_TEST_CCU_CLIENT_SECRET": creds.client_secret,
        "AKAMAI_TEST_CCU_ACCESS_TOKEN": creds.access_token,
    }


class Processes:
    """Runs ``manage.py``-style commands and scenario steps against one database."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = {**os.environ, **env, "DJANGO_SETTINGS_MODULE": SETTINGS}

    def run(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run(
            [sys.executable, *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr}"
        return result.stdout

    def django(self, *args: str) -> str:
        return self.run("-m", "django", *args)

    def step(self, *args: str) -> str:
        return self.run("-m", "tests.integrations.scenario", *args)

    def db_worker_batch(self) -> str:
        """Run every task that is due, then exit (what a running db_worker does, once)."""
        return self.django("db_worker", "--batch", "--no-startup-delay", "--no-reload")

    def query(self, sql: str) -> list[tuple]:
        """Rows of ``sql`` on this database, read directly (no Django, no subprocess)."""
        name = self.env["AKAMAI_TEST_DB_NAME"]
        if self.env["AKAMAI_TEST_DB_ENGINE"] == "sqlite":
            import sqlite3

            with closing(sqlite3.connect(name)) as connection:
                return connection.execute(sql).fetchall()
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname=name) as conn:
            return conn.execute(sql).fetchall()

    def task_counts(self) -> dict[str, int]:
        """``{"task path:STATUS": count}`` of django-tasks-db's results (Wagtail's
        reference-index tasks left out: they are not what is tested)."""
        rows = self.query(
            "SELECT task_path, status, COUNT(*) FROM django_tasks_database_dbtaskresult "
            "WHERE task_path NOT LIKE 'wagtail.tasks.%' GROUP BY task_path, status"
        )
        return {f"{path}:{status}": count for path, status, count in rows}

    def pending_intents(self) -> int:
        """Purge intents recorded and not yet delivered (or failed)."""
        [(count,)] = self.query("SELECT COUNT(*) FROM django_akamai_purgeintent")
        return count
