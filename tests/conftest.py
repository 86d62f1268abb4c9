import logging
import os

import pytest

from tests.process_database import problem, selected_vendor

pytest_plugins = ["django_akamai.testing"]


def pytest_collection_modifyitems(config, items):
    """``AKAMAI_TEST_DATABASE=postgresql|mariadb`` with that server unreachable: every test is
    skipped with the reason (the run fails when AKAMAI_TEST_REQUIRE_BROKER=1). Reaching
    MariaDB also creates the suite's own user there (``tests.process_database``)."""
    vendor = selected_vendor()
    why = problem(vendor) if items else None
    if not why:
        return
    if os.environ.get("AKAMAI_TEST_REQUIRE_BROKER") == "1":
        raise pytest.UsageError(f"{why} (AKAMAI_TEST_DATABASE={vendor}, required)")
    skip = pytest.mark.skip(reason=f"AKAMAI_TEST_DATABASE={vendor}: {why}")
    for item in items:
        item.add_marker(skip)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """Never read a developer's real ~/.edgerc: each test gets an empty home directory."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def inline_delivery_on_every_database(monkeypatch):
    """In background mode, intents committed on an in-memory SQLite database are delivered
    before the door returns (no other connection could see them); the in-process tests are
    written for that. On PostgreSQL or MariaDB (``AKAMAI_TEST_DATABASE``) they get the same,
    so each runs unchanged there; real processes test the background thread itself
    (tests/test_delivery_modes.py, tests/test_pipeline_faults.py)."""
    if selected_vendor() != "sqlite":
        from django_akamai.delivery import modes

        monkeypatch.setattr(modes, "_in_memory", lambda alias: True)


@pytest.fixture(autouse=True)
def no_delivery_thread_outlives_its_test():
    """A test that started this process's delivery thread (a kick, a first request) stops it:
    its sweep must not deliver, log or count in the next test."""
    yield
    from django_akamai import delivery

    delivery.stop_background(timeout=10)


@pytest.fixture(scope="session", autouse=True)
def database_features_known(django_db_setup, django_db_blocker):
    """Learn each test database's features once, before any test runs the system checks.

    From Django 6.1 the model checks ask every database whether it supports JSONField, and
    SQLite answers that with a query; a test that runs ``check`` without a database mark
    would otherwise be refused by pytest-django. The answer is cached on the connection.
    This runs after the test databases exist: an in-memory SQLite connection opened before
    them would never close, and the tests would miss the tables made later.
    """
    from django.db import connections

    with django_db_blocker.unblock():
        for alias in connections:
            connections[alias].features.supports_json_field  # noqa: B018 (cached_property)


@pytest.fixture
def akamai_logs(caplog):
    """Everything django_akamai logs, at DEBUG, including edgegrid-python's own logger."""
    caplog.set_level(logging.DEBUG, logger="django_akamai")
    caplog.set_level(logging.DEBUG, logger="akamai.edgegrid")
    return caplog


@pytest.fixture
def memory_app():
    """A current Celery app on kombu's in-memory transport: messages stay readable here."""
    from celery import Celery, _state

    previous = _state.get_current_app()
    app = Celery(
        "akamai-memory", broker="memory://", backend="cache+memory://", set_as_current=True
    )
    yield app
    app.close()
    previous.set_current()


@pytest.fixture
def eager_celery(memory_app):
    """Tasks run in the calling process, as a site's CELERY_TASK_ALWAYS_EAGER would."""
    memory_app.conf.task_always_eager = True
    return memory_app


@pytest.fixture
def emu(akamai_emulator_server):
    """The session's emulator, reset, without touching Django settings (raw-HTTP tests)."""
    server = akamai_emulator_server
    server.restore_defaults()
    server.reset()
    yield server
    server.restore_defaults()
    server.reset()


@pytest.fixture
def v3(emu):
    """A requests session signing with the emulator's EdgeGrid credentials."""
    import requests
    from akamai.edgegrid import EdgeGridAuth

    c = emu.credentials
    with requests.Session() as session:
        session.auth = EdgeGridAuth(c.client_token, c.client_secret, c.access_token)
        yield session


# --- the real-process pipeline tests (tests/test_pipeline_faults.py,
# tests/test_intent_processes.py): a site, deliverers and the emulator around one database ------


@pytest.fixture(scope="module")
def template_db(tmp_path_factory):
    """The database AKAMAI_TEST_DATABASE names (SQLite by default; make test runs all three),
    migrated once per module; each test works on a copy (``pipeline``)."""
    from django_akamai.emulator import Emulator
    from tests.pipeline_processes import SharedDatabase, migrate, require_database

    require_database(selected_vendor())
    with Emulator(port=0) as emu:  # only for the settings' credentials
        db = SharedDatabase(None, tmp_path_factory.mktemp("pipeline-db"))
        migrate(db.settings, emu)
    yield db
    db.drop()


@pytest.fixture
def emulator():
    from django_akamai.emulator import Emulator

    with Emulator(port=0) as emu:
        yield emu


@pytest.fixture
def pipeline(template_db, emulator, tmp_path):
    from tests.pipeline_processes import Pipeline

    db = template_db.copy_to(tmp_path)
    pipe = Pipeline(db, emulator, tmp_path)
    yield pipe
    pipe.close()
    db.drop()
