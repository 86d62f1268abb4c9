import logging

import pytest

pytest_plugins = ["django_akamai.testing"]


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """Never read a developer's real ~/.edgerc: each test gets an empty home directory."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture
def akamai_logs(caplog):
    """Everything django_akamai logs, at DEBUG, including edgegrid-python's own logger."""
    caplog.set_level(logging.DEBUG, logger="django_akamai")
    caplog.set_level(logging.DEBUG, logger="akamai.edgegrid")
    return caplog
