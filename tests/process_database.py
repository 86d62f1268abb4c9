"""The databases of the test suite: which one (``AKAMAI_TEST_DATABASE=sqlite|postgresql|
mariadb``, SQLite by default), how to reach it, and ``DATABASES`` for the processes a test
starts (a site, workers): one database they share, as a site and its workers would.

MariaDB is reached over TCP as root with no password (a fresh machine's setup), which
creates a user of the suite's own, ``akamai_test``, allowed only databases named
``akamai_test_*``; the tests connect as that user. The driver is PyMySQL standing in for
mysqlclient (which needs a compiler and the client headers to install).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

VENDORS = ("sqlite", "postgresql", "mariadb")
PG: dict[str, Any] = {"HOST": "127.0.0.1", "PORT": 5432, "USER": "postgres"}
MARIADB: dict[str, Any] = {
    "HOST": "127.0.0.1",
    "PORT": 3306,
    "USER": "akamai_test",
    "PASSWORD": "akamai-test",
}
MARIADB_ROOT: dict[str, Any] = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}


def selected_vendor() -> str:
    """The database the in-process tests run on (``AKAMAI_TEST_DATABASE``)."""
    vendor = os.environ.get("AKAMAI_TEST_DATABASE", "sqlite") or "sqlite"
    if vendor not in VENDORS:
        raise ValueError(f"AKAMAI_TEST_DATABASE must be one of {VENDORS}, not {vendor!r}")
    return vendor


def use_pymysql() -> None:
    """Let Django's MySQL backend load PyMySQL as MySQLdb (a no-op without PyMySQL)."""
    try:
        import pymysql
    except ImportError:
        return
    pymysql.install_as_MySQLdb()


def database(vendor: str, name: str) -> dict:
    """One ``DATABASES`` entry for database ``name`` on ``vendor``."""
    if vendor == "postgresql":
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": PG["USER"],
            "HOST": PG["HOST"],
            "PORT": str(PG["PORT"]),
            "TEST": {"NAME": name},
        }
    if vendor == "mariadb":
        return {
            "ENGINE": "django.db.backends.mysql",
            "NAME": name,
            "USER": MARIADB["USER"],
            "PASSWORD": MARIADB["PASSWORD"],
            "HOST": MARIADB["HOST"],
            "PORT": str(MARIADB["PORT"]),
            # Django's advice for MySQL: strict mode, so bad data is an error, not a warning.
            "OPTIONS": {"charset": "utf8mb4", "init_command": "SET sql_mode='STRICT_TRANS_TABLES'"},
            "TEST": {"NAME": name, "CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"},
        }
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": name,
        # Several processes write the same file: wait for the lock rather than fail.
        "OPTIONS": {"timeout": 30},
    }


def shared_database(name: str, *, postgresql: bool = False, vendor: str | None = None) -> dict:
    """``DATABASES`` for a PostgreSQL or MariaDB database of this run's own, or an SQLite
    file."""
    vendor = vendor or ("postgresql" if postgresql else "sqlite")
    return {"default": database(vendor, name)}


# --- reaching the servers -------------------------------------------------------------------


def pg_problem() -> str | None:
    """Why PostgreSQL cannot be used, or None."""
    try:
        import psycopg
    except ImportError as exc:
        return f"psycopg is not installed ({exc}); pip install -e .[test]"
    try:
        with psycopg.connect(
            dbname="postgres", host=PG["HOST"], port=PG["PORT"], user=PG["USER"], connect_timeout=3
        ):
            return None
    except Exception as exc:
        return f"PostgreSQL at {PG['HOST']}:{PG['PORT']} is not reachable: {exc}"


def mariadb_root_sql(*statements: str) -> None:
    import pymysql

    connection = pymysql.connect(**MARIADB_ROOT, connect_timeout=3, autocommit=True)
    try:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        connection.close()


def mariadb_problem() -> str | None:
    """Why MariaDB cannot be used (creating the suite's user on the way), or None."""
    try:
        import pymysql  # noqa: F401
    except ImportError as exc:
        return f"PyMySQL is not installed ({exc}); pip install -e .[test]"
    user, password = MARIADB["USER"], MARIADB["PASSWORD"]
    try:
        mariadb_root_sql(
            f"CREATE USER IF NOT EXISTS '{user}'@'127.0.0.1' IDENTIFIED BY '{password}'",
            f"CREATE USER IF NOT EXISTS '{user}'@'localhost' IDENTIFIED BY '{password}'",
            f"GRANT ALL PRIVILEGES ON `akamai\\_test\\_%`.* TO '{user}'@'127.0.0.1'",
            f"GRANT ALL PRIVILEGES ON `akamai\\_test\\_%`.* TO '{user}'@'localhost'",
        )
    except Exception as exc:
        return (
            f"MariaDB at {MARIADB_ROOT['host']}:{MARIADB_ROOT['port']} is not reachable as root "
            f"with no password: {exc}"
        )
    return _load_time_zones()


def _load_time_zones() -> str | None:
    """Django on MySQL/MariaDB needs the server's time zone tables to truncate dates in a
    time zone (the admin's date hierarchy, the status page): load them once if empty."""
    import pymysql

    connection = pymysql.connect(**MARIADB_ROOT, connect_timeout=3)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM mysql.time_zone_name")
            (zones,) = cursor.fetchone() or (0,)
    finally:
        connection.close()
    if zones:
        return None
    tool = shutil.which("mariadb-tzinfo-to-sql") or shutil.which("mysql_tzinfo_to_sql")
    client = shutil.which("mariadb") or shutil.which("mysql")
    if not (tool and client):
        return "MariaDB has no time zone tables and mariadb-tzinfo-to-sql is not installed"
    sql = subprocess.run([tool, "/usr/share/zoneinfo"], capture_output=True, check=False)
    host, port, user = MARIADB_ROOT["host"], MARIADB_ROOT["port"], MARIADB_ROOT["user"]
    loaded = subprocess.run(
        [client, "-h", host, "-P", str(port), "-u", user, "mysql"],
        input=sql.stdout,
        capture_output=True,
        check=False,
    )
    if loaded.returncode:
        return f"could not load MariaDB's time zone tables: {loaded.stderr.decode()[-500:]!r}"
    return None


def problem(vendor: str) -> str | None:
    """Why ``vendor`` cannot be used here, or None (SQLite always can)."""
    if vendor == "postgresql":
        return pg_problem()
    if vendor == "mariadb":
        return mariadb_problem()
    return None
