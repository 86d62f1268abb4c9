"""Runs ``tests/integrations`` (Wagtail, Django's Tasks framework) in a pytest process of its own.

Those tests need Wagtail and django-tasks-db in ``INSTALLED_APPS``; putting them in the main
settings would add Wagtail's migrations and signal handlers to every test here. So they run
with ``--ds=tests.integrations.settings``, and this test fails with their report if any of
them fails. Their skips are repeated here as warnings, so a skip is never silent.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_integrations_pass_in_their_own_process():
    missing = [m for m in ("wagtail", "django_tasks_db") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: pip install -e '.[test]'")
    command = [
        sys.executable,
        "-m",
        "pytest",
        "--ds=tests.integrations.settings",
        # Wagtail's data migrations are not needed: the fixtures build the page tree.
        "--no-migrations",
        "-q",
        "-rfEsx",
        "-p",
        "no:cacheprovider",
        "tests/integrations",
    ]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.integrations.settings"}
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    report = result.stdout + result.stderr
    print(report)  # shown with -s, and by pytest on failure
    for line in report.splitlines():
        if re.match(r"^SKIPPED ", line):
            warnings.warn(f"tests/integrations: {line}", stacklevel=1)
    assert result.returncode == 0, report[-30000:]
