"""Fixtures for the integration tests: a Wagtail page tree on two sites, emulator helpers.

Under the main test settings nothing here is collected (see ``__init__.py``).
"""

from __future__ import annotations

import pytest


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
    from types import SimpleNamespace

    from django.core.cache import cache
    from wagtail.models import Locale, Page, Site

    from tests.integrations.models import FeedPage, SimplePage

    cache.clear()  # Wagtail caches the site root paths
    Locale.objects.get_or_create(language_code="en")
    root = Page.add_root(instance=Page(title="Root", slug="root"))
    home = root.add_child(instance=SimplePage(title="Home", slug="home"))
    about = home.add_child(instance=SimplePage(title="About", slug="about"))
    blog = home.add_child(instance=FeedPage(title="Blog", slug="blog"))
    post = blog.add_child(instance=SimplePage(title="Post", slug="post"))
    other_home = root.add_child(instance=SimplePage(title="Other", slug="other"))
    news = other_home.add_child(instance=SimplePage(title="News", slug="news"))
    Site.objects.create(hostname="www.example.com", port=443, root_page=home, is_default_site=True)
    Site.objects.create(hostname="blog.example.org", port=443, root_page=other_home)
    return SimpleNamespace(
        root=root, home=home, about=about, blog=blog, post=post, other_home=other_home, news=news
    )
