"""Wagtail hooks (Wagtail loads this module from every installed app).

``on_serve_page``: while some ``AkamaiBackend`` has ``"CACHE_TAGS": True``, every page
response gets ``Edge-Cache-Tag`` with the page's own tag and its subtree tags (see
:mod:`.pages`), merged with any tags the view collected, prefixed and validated by
:func:`django_akamai.cache_tags.apply_cache_tags`. Tagging follows the backend's setting so
the responses and the purges cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wagtail import hooks

from ...cache_tags import apply_cache_tags
from .pages import response_tags
from .signal_handlers import akamai_backends


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
