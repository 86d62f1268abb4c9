"""Wagtail pages as Akamai objects: their cache tags, their URLs, and URLs back to pages.

Tag conventions (unprefixed; ``AKAMAI_CACHE_TAG_PREFIX`` is added at both boundaries by
:mod:`django_akamai.cache_tags`):

* ``wagtail.page.<id>``: the page's own tag. Every response the page serves carries it (its
  URL with any query string, the extra paths of ``get_cached_paths()``, every hostname of its
  site), so one purge by tag clears all of them. Publishing or unpublishing purges it.
* ``wagtail.tree.<id>``: carried by the page and by each of its descendants, so one purge of it
  clears a whole subtree, as a move needs (every URL below the moved page changed).

The site root (depth 1) serves nothing and gets no tags.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Model

PAGE_TAG = "wagtail.page.{id}"
TREE_TAG = "wagtail.tree.{id}"


def page_model() -> type[Model]:
    """Wagtail's page model (swappable since Wagtail 8 through ``swapper``)."""
    try:
        import swapper
    except ImportError:  # Wagtail before 8: a fixed model
        from wagtail.models import Page

        return Page
    return swapper.load_model("wagtailcore", "Page")


def page_tag(page: Model) -> str:
    """The page's own tag: purging it clears every response the page served."""
    return PAGE_TAG.format(id=page.pk)


def tree_tag(page: Model) -> str:
    """The subtree tag: purging it clears the page and all its descendants."""
    return TREE_TAG.format(id=page.pk)


def response_tags(page: Any) -> list[str]:
    """The tags a response served by ``page`` carries: its own, then the subtree tags of
    itself and its ancestors (nearest first), without the tree's root."""
    ancestors = page.get_ancestors(inclusive=True).filter(depth__gt=1).order_by("-depth")
    return [page_tag(page)] + [
        TREE_TAG.format(id=pk) for pk in ancestors.values_list("pk", flat=True)
    ]


def page_urls(pages: Iterable[Any]) -> list[str]:
    """Every URL Wagtail would purge for ``pages``: each full URL with its cached paths."""
    from wagtail.contrib.frontend_cache.utils import PurgeBatch

    batch = PurgeBatch()
    batch.add_pages(pages)
    return sorted(batch.urls)


def live_subtree(page: Any) -> list[Any]:
    """``page`` (if live) and its live descendants: what a move changes the URLs of."""
    return list(page.get_descendants(inclusive=True).live().specific(defer=True))


def split_page_urls(urls: Iterable[str]) -> tuple[dict[str, int], list[str]]:
    """``({url: page id}, other urls)``: which URLs are exactly a page's own URL.

    Matches each URL against the sites' root URLs and looks the path up as a page's
    ``url_path``. A URL that is not exactly one (a cached path such as ``feed/``, a page
    already deleted or moved away, a URL outside every site) is returned as "other", to be
    purged as a URL: a guess never drops a purge.
    """
    from urllib.parse import urlsplit

    from wagtail.models import Site

    roots = [(root.root_url.rstrip("/"), root.root_path) for root in Site.get_site_root_paths()]
    candidates: dict[str, list[str]] = {}
    others: list[str] = []
    for url in dict.fromkeys(urls):
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        path = parts.path if parts.path.endswith("/") else f"{parts.path}/"
        matched = False
        if not parts.query and not parts.fragment:
            for root_url, root_path in roots:
                if origin == root_url.lower():
                    candidates.setdefault(root_path + path.lstrip("/"), []).append(url)
                    matched = True
        if not matched:
            others.append(url)
    found: dict[str, int] = {}
    for pk, url_path in (
        page_model()
        ._default_manager.filter(url_path__in=list(candidates))
        .values_list("pk", "url_path")
    ):
        for url in candidates.pop(url_path):
            found[url] = pk
    unmatched = {url for url_list in candidates.values() for url in url_list}
    others.extend(url for url in dict.fromkeys(urls) if url in unmatched and url not in found)
    return found, others
