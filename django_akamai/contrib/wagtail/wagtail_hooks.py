"""Wagtail hooks (Wagtail loads this module from every installed app).

* ``on_serve_page``: while some ``AkamaiBackend`` has ``"CACHE_TAGS": True``, every page
  response gets ``Edge-Cache-Tag`` with the page's own tag and its subtree tags (see
  :mod:`.pages`), merged with any tags the view collected, prefixed and validated by
  :func:`django_akamai.cache_tags.apply_cache_tags`. Tagging follows the backend's setting so
  the responses and the purges cannot disagree.
* The admin (:mod:`.admin_views`): its URLs under ``/admin/akamai/``, an "Akamai" menu
  (status, history, intents) shown to those with the permissions, "Purge from CDN" among a
  page's actions (header and listing) for those with ``purge_cache``, and after a publish a
  warning when a purge of the page failed or is stuck.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django.contrib.auth.models import Permission
from django.http import HttpRequest
from django.urls import include, path, reverse
from django.utils.http import urlencode
from django.utils.timesince import timesince
from wagtail import hooks
from wagtail.admin import messages
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem
from wagtail.admin.widgets import Button

from ...cache_tags import apply_cache_tags
from . import admin_views
from .pages import response_tags
from .signal_handlers import akamai_backends
from .troubles import describe, page_troubles

NAMESPACE = admin_views.NAMESPACE


def tags_pages() -> bool:
    """Whether page responses are tagged: some Akamai backend purges pages by tag."""
    return any(backend.cache_tags for backend in akamai_backends())


@hooks.register("on_serve_page")
def tag_page_responses(serve_page: Callable[..., Any]) -> Callable[..., Any]:
    def serve(page: Any, request: Any, args: Any, kwargs: Any) -> Any:
        response = serve_page(page, request, args, kwargs)
        if tags_pages():
            apply_cache_tags(request, response, extra=response_tags(page))
        return response

    return serve


# --- the admin ------------------------------------------------------------------------------

_urls = [
    path("status/", admin_views.StatusView.as_view(), name="status"),
    path("history/", admin_views.HistoryView.as_view(), name="history"),
    path(
        "history/results/",
        admin_views.HistoryView.as_view(results_only=True),
        name="history_results",
    ),
    path("intents/", admin_views.IntentsView.as_view(), name="intents"),
    path(
        "intents/results/",
        admin_views.IntentsView.as_view(results_only=True),
        name="intents_results",
    ),
    path("intents/act/", admin_views.IntentsActionView.as_view(), name="intents_act"),
    path("pages/<int:page_id>/purge/", admin_views.PurgePageView.as_view(), name="purge_page"),
]


@hooks.register("register_admin_urls")
def register_urls() -> list[Any]:
    return [path("akamai/", include((_urls, NAMESPACE), namespace=NAMESPACE))]


class _AkamaiMenuItem(MenuItem):
    def __init__(self, *args: Any, allowed: Callable[[Any], bool], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allowed = allowed

    def is_shown(self, request: HttpRequest) -> bool:
        return self.allowed(request.user)


@hooks.register("register_permissions")
def register_permissions() -> Any:
    """Offered in Wagtail's group editor (Settings > Groups), so Wagtail teams grant them."""
    return Permission.objects.filter(
        content_type__app_label="django_akamai",
        codename__in=["purge_cache", "view_purgerecord"],
    )


@hooks.register("register_admin_menu_item")
def register_menu() -> SubmenuMenuItem:
    items = [
        _AkamaiMenuItem(
            "Status",
            reverse(f"{NAMESPACE}:status"),
            name="akamai-status",
            icon_name="pick",
            order=100,
            allowed=admin_views.can_watch,
        ),
        _AkamaiMenuItem(
            "Purge history",
            reverse(f"{NAMESPACE}:history"),
            name="akamai-history",
            icon_name="history",
            order=200,
            allowed=admin_views.can_watch,
        ),
        _AkamaiMenuItem(
            "Purge intents",
            reverse(f"{NAMESPACE}:intents"),
            name="akamai-intents",
            icon_name="warning",
            order=300,
            allowed=admin_views.can_purge,
        ),
    ]
    # Shown when one of its items is (SubmenuMenuItem asks them).
    return SubmenuMenuItem(
        "Akamai", Menu(items=items), name="akamai", icon_name="globe", order=9000
    )


def _purge_button(page: Any, user: Any, next_url: str | None, priority: int) -> Iterator[Button]:
    if page.depth > 1 and admin_views.can_purge(user) and akamai_backends():
        url = reverse(f"{NAMESPACE}:purge_page", args=[page.pk])
        if next_url:
            url += "?" + urlencode({"next": next_url})
        yield Button("Purge from CDN", url, icon_name="bin", priority=priority)


@hooks.register("register_page_header_buttons")
def page_header_buttons(
    page: Any, user: Any, view_name: str | None = None, next_url: str | None = None
) -> Iterator[Button]:
    yield from _purge_button(page, user, next_url, priority=62)


@hooks.register("register_page_listing_more_buttons")
def page_listing_buttons(page: Any, user: Any, next_url: str | None = None) -> Iterator[Button]:
    yield from _purge_button(page, user, next_url, priority=45)


@hooks.register("after_publish_page")
def warn_of_purge_troubles(request: HttpRequest, page: Any) -> None:
    """The editor learns, on the page they just published, that its CDN copy may be old."""
    if not akamai_backends():
        return
    troubles = page_troubles(page)
    if not troubles:
        return
    buttons = []
    if admin_views.can_purge(request.user):
        buttons.append(messages.button(reverse(f"{NAMESPACE}:intents"), "Purge intents"))
    if troubles.failed:
        first = troubles.failed[0]
        messages.warning(
            request,
            f"Akamai refused {len(troubles.failed)} purge(s) of this page, not retried yet "
            f"({describe(first)}): if it refuses this publish's purge too, the CDN keeps "
            "serving an old copy.",
            buttons=buttons,
        )
    if troubles.stuck:
        first = troubles.stuck[0]
        messages.warning(
            request,
            f"{len(troubles.stuck)} purge(s) of this page have been waiting for "
            f"{timesince(first.created_at)} (Akamai's last answer: {describe(first)}): the "
            "CDN may still serve an old copy.",
            buttons=buttons,
        )
