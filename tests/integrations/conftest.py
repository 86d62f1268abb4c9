"""Fixtures for the integration tests: a Wagtail page tree on two sites, emulator helpers.

Under the main test settings nothing here is collected (see ``__init__.py``).
"""

from __future__ import annotations

import pytest

# Headless Chromium for test_wagtail_admin_browser.py, as the main suite's browser tests drive it.
from tests.test_browser import browser, browser_session  # noqa: F401


def pytest_ignore_collect(collection_path, config):
    from django.conf import settings

    if "wagtail" not in settings.INSTALLED_APPS:
        return True  # tests/test_integrations.py runs this directory in its own process
    return None


@pytest.fixture
def emulator_purges(akamai_emulator):
    """Read what the emulator accepted through its HTTP API: ``GET /emulator/purges``."""
    import requests

    def purges() -> list[dict]:
        response = requests.get(f"{akamai_emulator.base_url}/emulator/purges", timeout=5)
        response.raise_for_status()
        return response.json()

    return purges


@pytest.fixture
def site_tree(db):
    """Two sites: www.example.com (home, about, blog/post) and blog.example.org (its home, news).

    Returns a namespace of the pages; URLs are https on port 443 so they read naturally.
    """
    from tests.integrations.pagetree import build_site_tree

    return build_site_tree()
