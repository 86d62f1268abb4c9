"""Cache tags: label responses with ``Edge-Cache-Tag`` so one purge by tag clears every page.

Conventions, shared by the response side and the purge side so they always agree:

* an object's tags are its ``get_cache_tags()`` when it has one, otherwise
  ``<app_label>.<model_name>.<pk>`` (e.g. ``blog.post.42``);
* a model's list tag is ``<app_label>.<model_name>`` (e.g. ``blog.post``): list pages, feeds and
  indexes carry it, so adding or removing an object refreshes them;
* ``AKAMAI_CACHE_TAG_PREFIX`` is prepended to every tag at the two boundaries, the response
  header and the purge request, so several sites can share one Akamai account.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpRequest, HttpResponseBase

from .exceptions import InvalidTag
from .normalise.tags import model_tag, object_tags, prefixed, tags_from, validate_tag

logger = logging.getLogger("django_akamai")

# model_tag, object_tags, prefixed, tags_from and validate_tag are defined with the tag rules
# (django_akamai.normalise.tags) and kept importable from here, where users found them.
__all__ = [
    "HEADER",
    "CacheTagMiddleware",
    "add_cache_tags",
    "apply_cache_tags",
    "cache_tags",
    "model_tag",
    "object_tags",
    "prefixed",
    "tags_from",
    "validate_tag",
]

HEADER = "Edge-Cache-Tag"
#: Akamai reads at most this many tags per object; later ones are dropped (with a warning).
MAX_TAGS_PER_RESPONSE = 128
_REQUEST_ATTR = "_akamai_cache_tags"


def add_cache_tags(request: HttpRequest, *items: Any) -> None:
    """Remember tags (or objects to tag) for the response to ``request``."""
    collected: dict[str, None] = getattr(request, _REQUEST_ATTR, None) or {}
    for tag in tags_from(*items):
        collected[tag] = None
    setattr(request, _REQUEST_ATTR, collected)


def apply_cache_tags(
    request: HttpRequest, response: HttpResponseBase, extra: Iterable[str] = ()
) -> HttpResponseBase:
    """Write every collected tag into the response's ``Edge-Cache-Tag`` header.

    Merges with a header the view set itself, prefixes, validates (invalid tags are dropped
    with a warning: a response must not fail over a label), de-duplicates, and keeps at most
    128. Only headers are touched, so streaming responses work too.
    """
    existing = [t.strip() for t in response.get(HEADER, "").split(",") if t.strip()]
    wanted = list(getattr(request, _REQUEST_ATTR, None) or {}) + list(extra)
    tags: dict[str, None] = dict.fromkeys(existing)
    for tag in wanted:
        try:
            tags[prefixed(tag)] = None
        except InvalidTag as exc:
            logger.warning("Edge-Cache-Tag: dropped %s", exc)
    values = [t for t in tags if t]
    if len(values) > MAX_TAGS_PER_RESPONSE:
        logger.warning(
            "Edge-Cache-Tag: %d tags on %s, Akamai reads %d; dropped: %s",
            len(values),
            request.path,
            MAX_TAGS_PER_RESPONSE,
            ", ".join(values[MAX_TAGS_PER_RESPONSE:]),
        )
        values = values[:MAX_TAGS_PER_RESPONSE]
    if values:
        response[HEADER] = ",".join(values)
    return response


class CacheTagMiddleware:
    """Sets ``Edge-Cache-Tag`` from the tags a view collected with ``add_cache_tags``.

    Put it below ``UpdateCacheMiddleware`` (if you use Django's cache) so the header is set
    before the response is cached and comes back with cache hits.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if getattr(request, _REQUEST_ATTR, None):
            apply_cache_tags(request, response)
        return response


def cache_tags(*items: Any) -> Callable:
    """View decorator: tag the response with ``items`` (tags, models, or callables).

    A callable item is called with the view's ``(request, *args, **kwargs)`` and returns tags
    or objects. Works on function views and on ``SomeView.as_view()``; without the
    middleware it writes the header itself.
    """

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            for item in items:
                add_cache_tags(
                    request,
                    item(request, *args, **kwargs)
                    if callable(item) and not isinstance(item, type)
                    else item,
                )
            response = view(request, *args, **kwargs)
            if getattr(response, "is_rendered", True) is False:
                # A TemplateResponse renders later; tags added while rendering count too.
                response.add_post_render_callback(lambda r: apply_cache_tags(request, r))
                return response
            return apply_cache_tags(request, response)

        return wrapped

    return decorator
