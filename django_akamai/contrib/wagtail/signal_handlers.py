"""What Wagtail's frontend cache leaves out, done for the Akamai backends: moves, dependents.

Wagtail purges a page's URLs when it is published or unpublished (deleting a live page
unpublishes it first), but not when it moves, and it cannot know which other pages show a
page (its parent's listing, a feed, a menu). So, for every ``AkamaiBackend`` configured in
``WAGTAILFRONTENDCACHE``:

* a move purges the old URLs of the page and its live descendants on every Site (collected
  before the move, purged after it, each also without its trailing slash) or, with
  ``CACHE_TAGS``, the page's subtree tag, and their new URLs too (a 404 may be cached there);
* a rename (a save that changes the slug, usually a publish) purges the same, recorded in the
  save's own transaction, so the intents commit with the new slug;
* publish, unpublish, move and rename run the ``akamai_page_dependents`` hook, whose functions add
  the URLs, tags or pages that show the changed page.

Connected by the app's ``ready()``; everything goes through the backends, so it is as
commit-safe and coalesced as Wagtail's own purges.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.db import router, transaction
from django.db.models.signals import pre_save

from .backend import AkamaiBackend
from .pages import (
    UrlChange,
    live_subtree,
    page_model,
    site_root_paths,
    tree_tag,
    url_change,
    urls_on_every_site,
)

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

    ``event`` is ``"published"``, ``"unpublished"`` or ``"moved"`` (a rename is a move: the
    page's URL changed). URLs are full URLs
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


def _stash() -> dict[Any, UrlChange]:
    stash = getattr(_before_move, "changes", None)
    if stash is None:
        stash = _before_move.changes = {}
    return stash


def _purge_url_change(
    page: Any, change: UrlChange | None, new_urls: list[str], backends: list[AkamaiBackend]
) -> None:
    """Purge what a move or a rename changed, through each backend, then the dependents."""
    for backend in backends:
        if change is None:
            backend.purge_urls(new_urls)
        elif backend.cache_tags:
            if change.old - change.new:  # the old responses carry the subtree tag
                backend.purge_tags([tree_tag(page)])
            backend.purge_urls(change.urls_beside_tags())
        else:
            backend.purge_urls(change.urls())
    _purge_dependents(page, "moved", backends)


def pre_page_move(
    sender: Any, instance: Any, url_path_before: str, url_path_after: str, **kwargs: Any
) -> None:
    if url_path_before == url_path_after:  # a reorder among siblings: no URL changes
        return
    if akamai_backends():
        _stash()[instance.pk] = url_change(instance, url_path_before, url_path_after)


def post_page_move(
    sender: Any, instance: Any, url_path_before: str, url_path_after: str, **kwargs: Any
) -> None:
    change = _stash().pop(instance.pk, None)
    if url_path_before == url_path_after:
        return
    backends = akamai_backends()
    if not backends:
        return
    new_urls: list[str] = []
    if change is None:
        logger.warning(
            "Page %s moved from %s without pre_page_move: its old URLs are not known and "
            "were not purged",
            instance.pk,
            url_path_before,
        )
        new_urls = sorted(urls_on_every_site(live_subtree(instance), site_root_paths()))
    # One atomic block, so the old URLs, the new ones and the dependents leave together
    # (Wagtail sends post_page_move after the move's own transaction).
    with transaction.atomic(using=router.db_for_write(type(instance))):
        _purge_url_change(instance, change, new_urls, backends)


def pre_page_save(
    sender: Any,
    instance: Any,
    raw: bool = False,
    using: str | None = None,
    update_fields: Any = None,
    **kwargs: Any,
) -> None:
    """A slug change (a rename) is a move to the editor: purge the old URLs of the page and
    of its live descendants, and their new ones, like a move.

    Wagtail's ``page_slug_changed`` comes after the commit, outside the transaction; here,
    inside ``Page.save()``'s own atomic block and before the row changes, the old URLs are
    still in the database and the intents commit (or roll back) with the rename.
    """
    if raw or instance.pk is None or instance._state.adding:
        return
    if update_fields is not None and "slug" not in update_fields:
        return  # as Wagtail decides: only a save that writes the slug renames
    backends = akamai_backends()
    if not backends:
        return
    before = (
        page_model()
        ._base_manager.using(using or router.db_for_write(type(instance)))
        .filter(pk=instance.pk)
        .values_list("slug", "url_path")
        .first()
    )
    # A move saves the page with its new url_path and the same slug: post_page_move's job.
    if before is None or before[0] == instance.slug or before[1] == instance.url_path:
        return
    _purge_url_change(instance, url_change(instance, before[1], instance.url_path), [], backends)


def _page_models() -> list[type[Any]]:
    base = page_model()
    return [model for model in apps.get_models() if issubclass(model, base)]


def connect() -> None:
    """Connect the handlers to Wagtail's page signals (every page model)."""
    from wagtail import signals

    uid = "django_akamai.contrib.wagtail"
    signals.page_published.connect(page_published, dispatch_uid=f"{uid}.published")
    signals.page_unpublished.connect(page_unpublished, dispatch_uid=f"{uid}.unpublished")
    signals.pre_page_move.connect(pre_page_move, dispatch_uid=f"{uid}.pre_move")
    signals.post_page_move.connect(post_page_move, dispatch_uid=f"{uid}.post_move")
    # Every page model, as Wagtail's frontend cache connects its handlers: pre_save is sent
    # with the concrete class as sender.
    for model in _page_models():
        pre_save.connect(pre_page_save, sender=model, dispatch_uid=f"{uid}.rename")
