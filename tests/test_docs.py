"""The manual in docs/ is complete and builds, and README.rst stays a short front page.

Complete means: every setting in ``conf.DEFAULTS``, every system check id, every exception,
every management command and every signal has its entry in docs/. When one of these fails,
add the entry to the page the message names; ``make docs`` then shows it.
"""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PACKAGE = ROOT / "django_akamai"
README_MAX_LINES = 350


def docs_text() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in sorted(DOCS.glob("*.rst")))


def test_every_setting_has_an_entry():
    from django_akamai.conf import DEFAULTS

    text = (DOCS / "configuration.rst").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\.\. setting:: (\S+)$", text, re.MULTILINE))
    missing = sorted(set(DEFAULTS) - documented)
    assert not missing, (
        f"settings without an entry in docs/configuration.rst: {missing}; add "
        "'.. setting:: NAME' followed by its default and meaning"
    )
    unknown = sorted(documented - set(DEFAULTS))
    assert not unknown, f"docs/configuration.rst documents settings conf.DEFAULTS lacks: {unknown}"


def test_every_check_id_has_an_entry():
    ids = set()
    for path in PACKAGE.rglob("*.py"):
        ids.update(re.findall(r"django_akamai\.[EW]\d{3}", path.read_text(encoding="utf-8")))
    documented = set(re.findall(r"^\.\. check:: (\S+)$", docs_text(), re.MULTILINE))
    missing = sorted(ids - documented)
    assert not missing, (
        f"system checks without an entry in docs/operations.rst: {missing}; add "
        "'.. check:: ID' followed by what it reports"
    )


def test_every_exception_has_an_entry():
    from django_akamai import exceptions

    ours = {
        name
        for name, value in vars(exceptions).items()
        if inspect.isclass(value)
        and issubclass(value, exceptions.AkamaiError)
        and value.__module__ == exceptions.__name__
    }
    text = (DOCS / "exceptions.rst").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\.\. py:exception:: (\w+)$", text, re.MULTILINE))
    missing = sorted(ours - documented)
    assert not missing, (
        f"exceptions without an entry in docs/exceptions.rst: {missing}; add "
        "'.. py:exception:: NAME' with when it is raised and its attributes"
    )


def test_every_command_and_signal_is_described():
    from django.dispatch import Signal

    from django_akamai import signals

    text = docs_text()
    commands = sorted(
        path.stem
        for path in (PACKAGE / "management" / "commands").glob("*.py")
        if path.stem != "__init__"
    )
    missing = [name for name in commands if f"manage.py {name}" not in text]
    assert not missing, f"management commands not described in docs/ as 'manage.py NAME': {missing}"
    signal_names = sorted(
        name for name, value in vars(signals).items() if isinstance(value, Signal)
    )
    assert signal_names, "no signals found in django_akamai.signals"
    missing = [name for name in signal_names if f"``{name}``" not in text]
    assert not missing, f"signals not described in docs/: {missing}"


def test_readme_is_a_short_front_page():
    lines = (ROOT / "README.rst").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.rst has {len(lines)} lines (at most {README_MAX_LINES}): move details to docs/"
    )


@pytest.mark.parametrize("name", ["README.rst", "CHANGELOG.rst"])
def test_front_page_renders_without_sphinx(name):
    """The package index renders README.rst (the long description) with plain docutils: a
    Sphinx-only directive or role there would show as an error on the project's page."""
    core = pytest.importorskip("docutils.core")
    core.publish_doctree(
        (ROOT / name).read_text(encoding="utf-8"),
        settings_overrides={"halt_level": 2, "report_level": 2, "warning_stream": False},
    )


@pytest.mark.slow
def test_manual_builds_without_warnings(tmp_path):
    """What ``make docs`` runs; skipped where the ``docs`` extra is not installed (tox)."""
    pytest.importorskip("sphinx")
    pytest.importorskip("furo")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-b", "html"]
        + ["-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "html" / "quickstart.html").exists()
