"""Cache tags: Akamai's rules for a tag, and the one mapping from an object to its tags.

Shared by the response side (``django_akamai.cache_tags``: the ``Edge-Cache-Tag`` header) and
the purge side (the normaliser), so the two always agree:

* an object's tags are its ``get_cache_tags()`` when it has one, otherwise
  ``<app_label>.<model_name>.<pk>``;
* a model's list tag is ``<app_label>.<model_name>``;
* ``AKAMAI_CACHE_TAG_PREFIX`` is prepended at the two boundaries (header and purge request).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..conf import setting
from ..exceptions import InvalidTag, NotATag
from ..exceptions import describe as _describe
from .leaves import is_model, is_model_class, is_queryset, iter_leaves

__all__ = [
    "MAX_TAG_LENGTH",
    "TAG_PATTERN",
    "leaf_tags",
    "model_tag",
    "object_tags",
    "prefixed",
    "tags_from",
    "validate_tag",
]

# Akamai's cache tag rules: 1-128 characters, alphanumerics and these punctuation marks.
# fullmatch, not match with "$": "$" also matches before a final newline ("news\n").
# No "/": Akamai's table of disallowed characters lists it.
TAG_PATTERN = re.compile(r"[A-Za-z0-9!#$%&'+\-.^_`|~]{1,128}")
MAX_TAG_LENGTH = 128


def validate_tag(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidTag(f"{_describe(value)} is not UTF-8 text.", value) from None
    if not isinstance(value, str):
        raise NotATag(
            f"Cache tag {_describe(value)} is a {type(value).__name__}; tags are strings.", value
        )
    if not TAG_PATTERN.fullmatch(value):
        reason = (
            f"is {len(value)} characters long (at most {MAX_TAG_LENGTH})"
            if len(value) > MAX_TAG_LENGTH
            else "is empty"
            if not value
            else "has characters Akamai does not allow (only letters, digits and "
            "!#$%&'+-.^_`|~; no spaces, control characters, '/', '*', '@', ':', '<>', '{}', "
            "'\\')"
        )
        raise InvalidTag(f"Cache tag {_describe(value)} {reason}.", value)
    return value


def prefixed(tag: str) -> str:
    """``tag`` with ``AKAMAI_CACHE_TAG_PREFIX``, validated against Akamai's rules."""
    return validate_tag(f"{setting('AKAMAI_CACHE_TAG_PREFIX') or ''}{tag}")


def model_tag(model: Any) -> str:
    """The list tag of a model class or instance: ``app_label.model_name``."""
    meta = model._meta
    return f"{meta.app_label}.{meta.model_name}"


def object_tags(obj: Any) -> list[str]:
    """An object's own tags (unprefixed): ``get_cache_tags()`` or ``app_label.model.pk``."""
    method = getattr(obj, "get_cache_tags", None)
    if method is not None:
        tags = method()
        return [tags] if isinstance(tags, str) else list(tags)
    if getattr(obj, "_meta", None) is None or getattr(obj, "pk", None) is None:
        raise InvalidTag(
            f"{obj!r} has no get_cache_tags() and is not a saved model instance; "
            "pass tag strings instead.",
            obj,
        )
    return [f"{model_tag(obj)}.{obj.pk}"]


def leaf_tags(leaf: Any) -> list[str]:
    """The unprefixed tags of one leaf: a tag string as it is, an object's own tags
    (validated), or the list tag of a QuerySet's or model class's model."""
    if isinstance(leaf, (bytes, bytearray)):
        return [validate_tag(leaf)]
    if isinstance(leaf, str):
        return [leaf]
    if is_queryset(leaf):
        return [model_tag(leaf.model)]
    if is_model_class(leaf):
        return [model_tag(leaf)]
    if is_model(leaf) or hasattr(leaf, "get_cache_tags"):
        return [validate_tag(tag) for tag in object_tags(leaf)]
    validate_tag(leaf)  # raises NotATag naming the type
    raise NotATag(f"Cannot make a cache tag from {_describe(leaf)}.", leaf)  # not reached


def tags_from(*items: Any) -> list[str]:
    """Unprefixed tags from strings, model instances, QuerySets (with their rows' tags) and
    model classes, in any nesting of lists."""
    return [tag for leaf in iter_leaves(items, querysets=True) for tag in leaf_tags(leaf)]


def purge_tags(leaf: Any) -> Iterator[str]:
    """The prefixed tags a purge of ``leaf`` sends."""
    for tag in leaf_tags(leaf):
        yield prefixed(tag)
