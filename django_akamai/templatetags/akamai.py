"""``{% load akamai %}{% cache_tags post "homepage" %}``: tag the response from a template."""

from typing import Any

from django import template

from ..cache_tags import add_cache_tags

register = template.Library()


@register.simple_tag(takes_context=True)
def cache_tags(context: dict[str, Any], *items: Any) -> str:
    """Add the tags of ``items`` (objects, QuerySets, tag strings) to this response."""
    request = context.get("request")
    if request is not None:
        add_cache_tags(request, *items)
    return ""
