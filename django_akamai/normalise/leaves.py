"""Flattening what a caller hands over (lists, generators, QuerySets) into leaves, lazily."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..exceptions import InvalidPurgeObject, UnsupportedPurgeObject

__all__ = ["MAX_NESTING", "is_model", "is_model_class", "is_queryset", "iter_leaves"]

#: Lists in lists deeper than this are a mistake (or a list that contains itself).
MAX_NESTING = 100


@functools.cache
def _orm() -> tuple[type, type]:
    """Django's Model and QuerySet, imported on first use (not when this module loads) and
    then kept: an import statement per object costs more than the check itself."""
    from django.db.models import Model
    from django.db.models.query import QuerySet

    return Model, QuerySet


def is_queryset(value: Any) -> bool:
    return isinstance(value, _orm()[1])


def is_model(value: Any) -> bool:
    return isinstance(value, _orm()[0])


def is_leaf(value: Any) -> bool:
    return (
        isinstance(value, (str, bytes, bytearray))
        or value is None
        or is_model(value)
        or not isinstance(value, Iterable)
    )


def iter_leaves(value: Any, *, querysets: bool = False) -> Iterator[Any]:
    """Flatten lists, tuples, sets, generators and QuerySets (iterated lazily) into leaves.

    With ``querysets=True`` each QuerySet is yielded itself, before its rows (tag purges add
    the model's list tag). A stack of iterators rather than recursion, so that depth is ours
    to limit: a deep or self-containing list is an ``InvalidPurgeObject``, never a
    ``RecursionError``.
    """
    stack: list[Iterator[Any]] = [iter((value,))]
    while stack:
        item: Any = next(stack[-1], _DONE)
        if item is _DONE:
            stack.pop()
        elif is_leaf(item):
            yield item
        elif is_queryset(item):
            if querysets:
                yield item
            # .iterator() streams rows instead of caching the whole result on the QuerySet.
            yield from item.iterator()
        elif isinstance(item, Mapping):
            raise UnsupportedPurgeObject(
                "A dict cannot be purged; pass its URLs (e.g. list(d.values())).", item
            )
        elif len(stack) > MAX_NESTING:
            raise InvalidPurgeObject(
                f"Objects to purge are nested more than {MAX_NESTING} lists deep (or a list "
                "contains itself); pass a flat list.",
                None,
            )
        else:
            stack.append(iter(item))


_DONE = object()


def is_model_class(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, _orm()[0])
