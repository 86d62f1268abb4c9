"""What Wagtail's frontend cache leaves out, done for the Akamai backends: moves, dependents.

Wagtail purges a page's URLs when it is published or unpublished (deleting a live page
unpublishes it first), but not when it moves, and it cannot know which other pages show a
page (its parent's listing, a feed, a menu). So, for every ``AkamaiBackend`` configured in
``WAGTAILFRONTENDCACHE``:

* a move purges the old URLs of the page and its live descendants (collected before the move,
  purged after it) or, with ``CACHE_TAGS``, the page's subtree tag, and their new URLs too
  (a 404 may be cached there);
* publish, unpublish and move run the ``akamai_page_dependents`` hook, whose functions add
  the URLs, tags or pages that show the changed page.

Connected by the app's ``ready()``; everything goes through the backends, so it is as
commit-safe and coalesced as Wagtail's own purges.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

from django.db import router, transaction

from .backend import AkamaiBackend

logger = logging.getLogger("django_akamai")

#: The Wagtail hook: ``@hooks.register(DEPENDENTS_HOOK) def f(page, dependents): ...``
DEPENDENTS_HOOK = "akamai_page_dependents"

_before_move = threading.local()


def akamai_backends() -> list[AkamaiBackend]:
    """The ``AkamaiBackend`` instances of ``WAGTAILFRONTENDCACHE``."""
    from wagtail.contrib.frontend_cache.utils import get_backends

    return [b for b in get_backends().values() if isinstance(b, AkamaiBackend)]


class Dependents:
    """What else to purge when ``page`` changes; the hook's functions fill it.

    ``event`` is ``"published"``, ``"unpublished"`` or ``"moved"``. URLs are full URLs
    (``https://host/path``); tags are unprefixed; pages are purged as the backend purges
    pages (by tag with ``CACHE_TAGS``, else by their URLs).
    """

    def __init__(self, page: Any, event: str) -> None:
        self.page = page
        self.event = event
        self.urls: dict[str, None] = {}
        self.tags: dict[str, None] = {}
        self.pages: dict[Any, Any] = {}

    def add_url(self, url: str) -> None:
        self.urls[url] = None

    def add_urls(self, urls: Iterable[str]) -> None:
        self.urls.update(dict.fromkeys(urls))

    def add_tag(self, tag: str) -> None:
        self.tags[tag] = None

    def add_tags(self, tags: Iterable[str]) -> None:
        self.tags.update(dict.fromkeys(tags))

    def add_page(self, page: Any) -> None:
        self.pages[page.pk] = page

    def add_pages(self, pages: Iterable[Any]) -> None:
        for page in pages:
            self.add_page(page)

    def purge_with(self, backend: AkamaiBackend) -> None:
        backend.purge_urls(self.urls)
        backend.purge_tags(self.tags)
        backend.purge_pages(self.pages.values())


def dependents_of(page: Any, event: str) -> Dependents:
    """Run the ``akamai_page_dependents`` hook for ``page``."""
    from wagtail import hooks

    dependents = Dependents(page, event)
    for hook in hooks.get_hooks(DEPENDENTS_HOOK):
        hook(page, dependents)
    return dependents


def _purge_dependents(page: Any, event: str, backends: list[AkamaiBackend]) -> None:
    dependents = dependents_of(page, event)
    for backend in backends:
        dependents.purge_with(backend)


def page_published(sender: Any, instance: Any, **kwargs: Any) -> None:
    backends = akamai_backends()
    if backends:
        _purge_dependents(instance, "published", backends)


def page_unpublished(sender: Any, instance: Any, **kwargs: Any) -> None:
    backends = akamai_backends()
    if backends:
        _purge_dependents(instance, "unpublished", backends)


def _stash() -> dict[Any, list[str]]:
    stash = getattr(_before_move, "urls", None)
    if stash is None:
        stash = _before_move.urls = {}
    return stash


def pre_page_move(
    sender: Any, instance: Any, url_path_before: str, url_path_after: str, **kwargs: Any
) -> None:
    if url_path_before == url_path_after:  # a reorder among siblings: no URL changes
        return
    backends = akamai_backends()
    if any(not backend.cache_tags for backend in backends):
        from .pages import live_subtree, page_urls

        _stash()[instance.pk] = page_urls(live_subtree(instance))


def post_page_move(
    sender: Any, instance: Any, url_path_before: str, url_path_after: str, **kwargs: Any
) -> None:
    old_urls = _stash().pop(instance.pk, None)
    if url_path_before == url_path_after:
        return
    backends = akamai_backends()
    if not backends:
        return
    from .pages import live_subtree, page_urls, tree_tag

    new_urls = page_urls(live_subtree(instance))
    # One atomic block, so the old URLs, the new ones and the dependents leave together.
    with transaction.atomic(using=router.db_for_write(type(instance))):
        for backend in backends:
            if backend.cache_tags:
                backend.purge_tags([tree_tag(instance)])
                backend.purge_urls(new_urls)
            elif old_urls is None:
                logger.warning(
                    "Page %s moved from %s without pre_page_move: its old URLs are not "
                    "known and were not purged",
                    instance.pk,
                    url_path_before,
                )
                backend.purge_urls(new_urls)
            else:
                # New URLs too: a 404 may be cached where the pages now are.
                backend.purge_urls([*old_urls, *new_urls])
        _purge_dependents(instance, "moved", backends)


def connect() -> None:
    """Connect the handlers to Wagtail's page signals (every page model)."""
    from wagtail import signals

    uid = "django_akamai.contrib.wagtail"
    signals.page_published.connect(page_published, dispatch_uid=f"{uid}.published")
    signals.page_unpublished.connect(page_unpublished, dispatch_uid=f"{uid}.unpublished")
    signals.pre_page_move.connect(pre_page_move, dispatch_uid=f"{uid}.pre_move")
    signals.post_page_move.connect(post_page_move, dispatch_uid=f"{uid}.post_move")
