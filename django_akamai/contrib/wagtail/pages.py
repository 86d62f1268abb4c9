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
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

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


class _RootPaths:
    """Hands Wagtail's URL methods the site root paths to use (their ``cache_object``)."""

    def __init__(self, root_paths: list[Any]) -> None:
        self._wagtail_cached_site_root_paths = root_paths


def site_root_paths() -> list[Any]:
    """Wagtail's ``SiteRootPath`` tuples, one per Site (and per translation of its root)."""
    from wagtail.models import Site

    return list(Site.get_site_root_paths())


def urls_on_every_site(pages: Iterable[Any], root_paths: list[Any]) -> set[str]:
    """Every URL of ``pages`` on every Site whose root contains them, cached paths included.

    Wagtail's own ``full_url`` names one Site only (the first match), but a page below the
    roots of two Sites is served, and cached, under both.
    """
    urls: set[str] = set()
    for page in pages:
        cached_paths = None
        for root in root_paths:
            if not page.url_path.startswith(root.root_path):
                continue
            # One root at a time, so Wagtail's get_url_parts() (and any override of it) names
            # the page's URL on that Site rather than on the first Site that matches.
            page_url = page.get_full_url(_RootPaths([root]))
            if page_url is None:  # not routable there
                continue
            if cached_paths is None:
                cached_paths = page.specific_deferred.get_cached_paths()
            urls.update(page_url + path.lstrip("/") for path in cached_paths)
    return urls


def without_trailing_slash(urls: Iterable[str]) -> set[str]:
    """Each URL whose path ends in ``/`` (other than a Site's root), without that slash:
    where Django's ``APPEND_SLASH`` and Wagtail's redirects app answer for the page."""
    return {url[:-1] for url in urls if url.endswith("/") and urlsplit(url).path != "/"}


def renamed_root_paths(root_paths: list[Any], old_path: str, new_path: str) -> list[Any]:
    """``root_paths`` as they will be once the pages below ``old_path`` are below
    ``new_path`` (a renamed or moved Site root takes its Site along)."""
    return [
        root._replace(root_path=new_path + root.root_path[len(old_path) :])
        if root.root_path.startswith(old_path)
        else root
        for root in root_paths
    ]


@dataclass(frozen=True)
class UrlChange:
    """What a move or a rename does to the URLs of a page's live subtree, on every Site."""

    #: The URLs served before (each page's URL and cached paths).
    old: frozenset[str]
    #: Each URL no longer served, without its trailing slash: no page serves it, but the
    #: edge may hold a redirect to the old URL there (Django's ``APPEND_SLASH``), which
    #: carries no page tag.
    old_variants: frozenset[str]
    #: The URLs served after (a 404 may be cached there).
    new: frozenset[str]

    def urls(self) -> list[str]:
        """What a purge by URL clears: every URL that changed, never one that did not (a
        renamed Site root keeps its Site's URLs)."""
        return sorted((self.old ^ self.new) | self.old_variants)

    def urls_beside_tags(self) -> list[str]:
        """What a purge by tag leaves to URLs: the old pages' responses carry the subtree
        tag, the new URLs and the redirects at the variants do not."""
        return sorted((self.new - self.old) | self.old_variants)


def url_change(page: Any, old_path: str, new_path: str) -> UrlChange:
    """How the URLs of ``page``'s live subtree change when its ``url_path`` goes from
    ``old_path`` to ``new_path``; called before the database changes.

    The old URLs come from the rows as they are; the new ones from the same rows with their
    ``url_path`` rewritten in memory (as Wagtail's redirects app does), except that a
    ``page`` already carrying ``new_path`` (a rename: the instance being saved) stands for
    its own row, with its new fields and whether it goes live.
    """
    roots = site_root_paths()
    subtree = live_subtree(page)
    old = urls_on_every_site(subtree, roots)
    after = []
    for row in subtree:
        row.url_path = new_path + row.url_path[len(old_path) :]
        if row.pk != page.pk or page.url_path != new_path:
            after.append(row)
    if page.url_path == new_path and page.live:
        after.append(page)
    new = urls_on_every_site(after, renamed_root_paths(roots, old_path, new_path))
    variants = without_trailing_slash(old - new) - new - old
    return UrlChange(frozenset(old), frozenset(variants), frozenset(new))


def split_page_urls(urls: Iterable[str]) -> tuple[dict[str, int], list[str]]:
    """``({url: page id}, other urls)``: which URLs are exactly a page's own URL.

    Matches each URL against the sites' root URLs and looks the path up as a page's
    ``url_path``. A URL that is not exactly one (a cached path such as ``feed/``, a page
    already deleted or moved away, a URL outside every site) is returned as "other", to be
    purged as a URL: a guess never drops a purge.
    """
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
