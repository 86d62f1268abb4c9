"""Normalising: whatever a caller hands over, turned into clean objects of one type.

URL strings, bytes, model instances, QuerySets and nested iterables; tags; CP codes. Each bad
value raises a specific ``InvalidPurgeObject`` subclass that names it, before anything is sent
or recorded. The modules side by side:

``leaves``   flattening lists, generators and QuerySets (lazily, depth-limited)
``careful``  the one definition of a clean URL (``normalise_url``)
``fast``     the fast path in front of it for lists of strings, held to its exact results
``tags``     Akamai's tag rules and the one mapping from an object to its tags

Only :func:`normalise` is called from outside (by the funnel's planner).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from ..exceptions import InvalidCPCode, NotACPCode, UnsupportedPurgeObject
from ..exceptions import describe as _describe
from . import fast
from .careful import normalise_url
from .leaves import MAX_NESTING, is_model, iter_leaves
from .tags import purge_tags, validate_tag

__all__ = [
    "MAX_NESTING",
    "normalise",
    "normalise_url",
    "url_of",
    "validate_cpcode",
    "validate_tag",
]

#: Akamai's CP codes are far smaller; beyond a signed 64-bit integer no JSON parser agrees.
MAX_CPCODE = 2**63 - 1


def url_of(obj: Any) -> Any:
    """A model instance's URL through ``get_absolute_url()``."""
    method = getattr(obj, "get_absolute_url", None)
    if method is None:
        raise UnsupportedPurgeObject(
            f"{type(obj).__name__} {_describe(obj)} has no get_absolute_url(); define it on the "
            "model or pass URLs.",
            obj,
        )
    return method()


def validate_cpcode(value: Any) -> int:
    """A CP code: a positive ``int``, or a string of ASCII digits."""
    if isinstance(value, str):
        text = value.strip()
        # ASCII only: "²" and "١٢" pass str.isdigit(), and int() accepts the latter.
        if text.isascii() and text.isdigit():
            try:
                value = int(text)
            except ValueError:  # more digits than int() converts
                pass
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise NotACPCode(
            f"CP code {_describe(value)} is a {type(value).__name__}, not a positive integer.",
            value,
        )
    if not isinstance(value, int) or value <= 0:
        raise InvalidCPCode(
            f"CP code {_describe(value)} is not a positive integer (ASCII digits).", value
        )
    if value > MAX_CPCODE:
        raise InvalidCPCode(
            f"CP code {_describe(value)} is larger than any CP code (a positive integer of at "
            f"most {MAX_CPCODE}).",
            value,
        )
    return value


def _flat_urls(values: list[str] | tuple[str, ...], bases: list[str]) -> list[str]:
    """``_urls()`` of a flat list of strings (the common call): nothing to flatten, and the
    fast path takes them all at once."""
    urls = fast.fast_urls(values, bases[0] if len(bases) == 1 else None)
    if None not in urls:
        return cast(list[str], urls)
    careful: list[str] = []
    for value, url in zip(values, urls, strict=True):
        if url is None:
            careful.extend(normalise_url(value, bases))
        else:
            careful.append(url)
    return careful


def _urls(value: Any, bases: list[str]) -> Iterator[str]:
    """URLs of any leaves (model instances, QuerySet rows, strings, bytes), read lazily: the
    strings go through the fast path a chunk at a time, in order with the other leaves."""
    pending: list[str] = []
    for leaf in iter_leaves(value):
        if type(leaf) is str:
            target = leaf
        elif is_model(leaf) or hasattr(leaf, "get_absolute_url"):
            target = url_of(leaf)
        else:
            target = leaf
        if type(target) is str:
            pending.append(target)
            if len(pending) >= fast.CHUNK:
                yield from _flat_urls(pending, bases)
                pending = []
        else:
            yield from _flat_urls(pending, bases)
            pending = []
            yield from normalise_url(target, bases)
    yield from _flat_urls(pending, bases)


def normalise(value: Any, object_type: str, bases: list[str] | None = None) -> Iterator[Any]:
    """Every object in ``value``, validated and normalised for ``object_type``, lazily (a
    generator or QuerySet is read as the result is); a flat list of URL strings, the common
    call, is done at once."""
    bases = bases or []
    if object_type != "url":
        return _tags_or_cpcodes(value, object_type)
    if type(value) in (list, tuple) and all(type(item) is str for item in value):
        return iter(_flat_urls(value, bases))
    return _urls(value, bases)


def _tags_or_cpcodes(value: Any, object_type: str) -> Iterator[Any]:
    for leaf in iter_leaves(value, querysets=object_type == "tag"):
        if object_type == "tag":
            yield from purge_tags(leaf)
        else:
            yield validate_cpcode(leaf)
