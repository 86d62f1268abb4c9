"""Opt-in purging of bulk changes: ``QuerySet.update()``, ``bulk_create()``, ``bulk_update()``.

Django sends no signal for them, so ``django_akamai.autopurge`` cannot see them. A model
declared in ``AKAMAI_PURGE_MODELS`` purges them when its manager uses :class:`PurgingQuerySet`::

    class Article(models.Model):
        ...
        objects = PurgingQuerySet.as_manager()

or, for code that cannot change a model's manager (a third-party model), inside
:func:`purging_bulk_changes`::

    with purging_bulk_changes(FlatPage):
        FlatPage.objects.filter(url__startswith="/old/").update(template_name="new.html")

What they purge is what a save purges (``ModelPurge.objects()``: ``get_absolute_url()``, the
``urls`` and ``tags`` of the declaration), for the old state of every row changed (read from
the database) and for the new one, recorded as purge intents in ONE ``funnel.record`` per
change, in the caller's transaction: a rollback drops the change and its intents together.
Nothing is sent before the commit.

``QuerySet.delete()`` needs none of this: autopurge's ``pre_delete`` and ``post_delete``
receivers make Django delete a declared model's rows one signal pair each, so each is purged.
"""

from __future__ import annotations

import contextlib
import logging
import operator
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextvars import ContextVar
from functools import cache, reduce
from typing import Any, TypeVar

from django.db import connections, transaction
from django.db.models import F, Model, Q, QuerySet
from django.db.models.fields.files import FileDescriptor
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.lookups import Lookup
from django.db.models.signals import post_init, pre_init

from . import autopurge, funnel, intents
from .autopurge import ModelPurge
from .exceptions import AkamaiConfigurationError, describe
from .options import Plan

logger = logging.getLogger("django_akamai")

__all__ = ["CHUNK_SIZE", "PurgingQuerySet", "purging_bulk_changes"]

ACTOR = "autopurge"
#: Rows read (and updated) per statement: memory stays bounded, and no statement exceeds a
#: database's parameter limit (SQLite: half of its 999 for the chunk, the rest for the filter).
CHUNK_SIZE = 2000

_M = TypeVar("_M", bound=Model)

# Set while a purging bulk change runs: Django's bulk_update() calls update() for each batch,
# which must not purge (and read) a second time.
_inside: ContextVar[bool] = ContextVar("django_akamai_bulk_inside", default=False)
# The models whose plain managers purge in this context (purging_bulk_changes() blocks).
_covered: ContextVar[frozenset[type[Model]]] = ContextVar(
    "django_akamai_bulk_covered", default=frozenset()
)


class PurgingQuerySet(QuerySet[_M]):
    """A QuerySet whose ``update()``, ``bulk_create()`` and ``bulk_update()`` purge what they
    change, as a save does, when its model is declared in ``AKAMAI_PURGE_MODELS`` (for other
    models they are Django's own).

    ``update()`` reads the matched rows (one SELECT, in chunks of :data:`CHUNK_SIZE`) and
    updates exactly those rows; the new state is the old row with the values set, or, for an
    expression, the rows read again by primary key. ``bulk_update()`` reads the old rows by
    primary key; the new state is the old row with the updated fields taken from the objects.
    ``bulk_create()`` purges the created objects, computed from the objects once inserted.
    Each records ONE set of purge intents in the caller's transaction, every URL and tag once.
    """

    def _purge_config(self) -> ModelPurge | None:
        """How this queryset's changes are purged now; ``None``: not at all."""
        if _inside.get():
            return None
        return autopurge.active_models().get(self.model)

    # Under the guard (_purged), the same methods called again are Django's own: that is how
    # the change itself runs, and Django's bulk_update() calling update() per batch is not
    # purged twice.

    def update(self, **kwargs: Any) -> int:
        config = self._purge_config()
        # Sliced: Django's update() raises; no values: it changes nothing.
        if config is None or self.query.is_sliced or not kwargs:
            return super().update(**kwargs)
        return _purged(self, config, lambda: _update(self, config, kwargs))

    def bulk_update(
        self, objs: Iterable[_M], fields: Iterable[str], batch_size: int | None = None
    ) -> int:
        config = self._purge_config()
        if config is None:
            return super().bulk_update(objs, fields, batch_size=batch_size)
        objs, fields = list(objs), list(fields)
        return _purged(
            self,
            config,
            lambda: _bulk_update(
                self, config, objs, fields, lambda: self.bulk_update(objs, fields, batch_size)
            ),
        )

    def bulk_create(
        self,
        objs: Iterable[_M],
        batch_size: int | None = None,
        ignore_conflicts: bool = False,
        update_conflicts: bool = False,
        update_fields: Collection[str] | None = None,
        unique_fields: Collection[str] | None = None,
    ) -> list[_M]:
        options: dict[str, Any] = {
            "batch_size": batch_size,
            "ignore_conflicts": ignore_conflicts,
            "update_conflicts": update_conflicts,
            "update_fields": update_fields,
            "unique_fields": unique_fields,
        }
        config = self._purge_config()
        if config is None:
            return super().bulk_create(objs, **options)
        objs = list(objs)

        def create() -> list[_M]:
            return self.bulk_create(objs, **options)  # Django's own, under the guard

        # Rows an upsert overwrites change their page: their old state is read first.
        upsert = list(unique_fields or ()) if update_conflicts else None
        return _purged(self, config, lambda: _bulk_create(self, config, objs, upsert, create))


def _alias(qs: QuerySet[Any]) -> str:
    return funnel.alias_of(qs)


def _chunk_size(alias: str) -> int:
    limit = connections[alias].features.max_query_params
    return min(CHUNK_SIZE, limit // 2) if limit else CHUNK_SIZE


def _chunks(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class _AnyOf(Lookup):
    """``pk = ANY(%s)`` (PostgreSQL): a chunk's primary keys as ONE array parameter. Django's
    ``pk__in`` prepares, places and binds each key on its own, which costs several times
    the statement's own work in this process for a chunk of 2,000."""

    lookup_name = "django_akamai_any"  # never registered: made by _by_keys() only
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, params = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        keys = [field.get_db_prep_value(key, connection) for key in self.rhs]
        return f"{lhs} = ANY(%s)", (*params, keys)


def _by_keys(qs: QuerySet[Any], keys: Sequence[Any], alias: str) -> QuerySet[Any]:
    """``qs.filter(pk__in=keys)``, for a non-empty chunk of keys."""
    if connections[alias].vendor == "postgresql":
        return qs.filter(_AnyOf(F("pk"), list(keys)))
    return qs.filter(pk__in=keys)


Collected = tuple[list[Any], list[Any]]  # URLs, tags


def _collector(config: ModelPurge, alias: str, into: Collected) -> Callable[[Model], None]:
    """What collects an instance's URLs and tags (``ModelPurge.objects``) into ``into``."""
    urls, tags = into
    if config.own_url and not (config.urls or config.tags or config.cache_tags):
        # get_absolute_url() alone (the common declaration), called directly: objects()
        # costs several times more a row. A row whose call raises goes through objects(),
        # which keeps it visible as a failed intent, as a save does.
        def own_url(obj: Model) -> None:
            try:
                url = obj.get_absolute_url()  # type: ignore[attr-defined]
            except Exception:
                urls.extend(config.objects(obj, alias)[0])
                return
            if url:  # an object with no public page (e.g. a draft) has nothing
                urls.append(url)

        return own_url

    def objects(obj: Model) -> None:
        found_urls, found_tags = config.objects(obj, alias)
        urls.extend(found_urls)
        tags.extend(found_tags)

    return objects


# --- reading rows ------------------------------------------------------------------------------
#
# The purge needs instances (get_absolute_url(), the declaration's callables), but not the
# ORM's way of making them: Model.__init__ and the pre_init/post_init signals cost several
# times the read itself. Where nothing can tell the difference, an instance is made as
# autopurge makes a save's old state: the row's values put in place, no signal.


def _plain_descriptor(model: type[Model], attname: str) -> bool:
    """Whether setting ``attname`` stores the value as it is (what __dict__ does too)."""
    descriptor = next((k.__dict__[attname] for k in model.__mro__ if attname in k.__dict__), None)
    if not hasattr(descriptor, "__set__"):
        return True
    # Django's own that store the value: a ForeignKey's (drops a cached related object, which
    # a new instance has not) and a FileField's (wraps it lazily, on reading).
    return type(descriptor) in (ForeignKeyDeferredAttribute, FileDescriptor)


def _only_autopurge_receivers(model: type[Model]) -> bool:
    """No pre_init or post_init receiver for ``model`` besides autopurge's own (which keeps
    what an instance was loaded with, for its next save: these are never saved)."""
    for signal in (pre_init, post_init):
        if not signal.has_listeners(model):
            continue
        try:  # Django's own (5.x: sync and async receivers); another shape: the ORM's way
            sync, asynchronous = signal._live_receivers(model)
        except Exception:
            return False
        if asynchronous or any(
            getattr(receiver, "__module__", None) != autopurge.__name__ for receiver in sync
        ):
            return False
    return True


def _builder(model: type[Model], alias: str) -> Callable[[Sequence[Any]], Model] | None:
    """How a row's values (every concrete field, in order) become the instance the ORM would
    make of them; None when only the ORM can make it (its own __init__ or from_db, an init
    receiver, a field whose descriptor transforms what is set)."""
    names = autopurge.attnames(model)
    from_db = getattr(model.from_db, "__func__", None)
    if (
        model.__init__ is not Model.__init__
        or from_db is not Model.from_db.__func__  # type: ignore[attr-defined]
        or not _only_autopurge_receivers(model)
        or not all(_plain_descriptor(model, name) for name in names)
    ):
        return None

    def build(values: Sequence[Any]) -> Model:
        return autopurge.as_loaded(model, zip(names, values, strict=True), alias)

    return build


def _instances(qs: QuerySet[Any], alias: str, size: int | None = None) -> Iterator[Model]:
    """The rows ``qs`` matches as instances of its model, every concrete field loaded;
    streamed ``size`` rows at a time when given."""
    qs = qs.prefetch_related(None)  # related objects are the purge's business only if it asks
    build = _builder(qs.model, alias)
    if build is None:
        rows: Iterable[Model] = qs.iterator(chunk_size=size) if size else qs
        yield from rows
        return
    values = qs.values_list(*autopurge.attnames(qs.model))
    yield from map(build, values.iterator(chunk_size=size) if size else values)


_R = TypeVar("_R")


def _purged(
    qs: QuerySet[Any], config: ModelPurge, change: Callable[[], tuple[_R, Collected]]
) -> _R:
    """Run ``change`` (which returns its result and what it purges) in the caller's
    transaction, and record the purge there: the change and its intents commit together (a
    rollback drops both), as a save's."""
    alias = _alias(qs)
    token = _inside.set(True)
    try:
        with transaction.atomic(using=alias, savepoint=False):
            result, (urls, tags) = change()
            _record(config, urls, tags, alias)
    finally:
        _inside.reset(token)
    return result


# --- update() ----------------------------------------------------------------------------------


def _rows(qs: QuerySet[Any], alias: str) -> QuerySet[Any]:
    """The rows ``qs`` matches, whole (what ``get_absolute_url()`` may read), in its order,
    read on the database the change writes to (in its transaction, never a replica)."""
    try:
        return qs.using(alias).defer(None)  # only() and defer() undone
    except TypeError:  # a values() queryset: its model's rows by primary key
        return qs.model._base_manager.using(alias).filter(pk__in=qs.values("pk"))


def _update(qs: QuerySet[Any], config: ModelPurge, kwargs: dict[str, Any]) -> tuple[int, Collected]:
    alias = _alias(qs)
    size = _chunk_size(alias)
    purged: Collected = ([], [])
    collect = _collector(config, alias, purged)
    # The old state: one SELECT of the matched rows (streamed in chunks), before any change.
    # No select_for_update(): the UPDATE below changes only these rows (pk__in), so a row that
    # starts to match meanwhile is left as it is and no change goes unpurged. A row another
    # transaction changes between this read and the UPDATE was purged by that change, old
    # and new state, as a save is: the window is the one every save has (its pre_save reads
    # without a lock too), and locking would make the read cost as much as the update.
    pks: list[Any] = []
    change = _plain_values(qs.model, kwargs)
    for row in _instances(_rows(qs, alias), alias, size):
        pks.append(row.pk)
        collect(row)
        if change is not None:  # the new state without a second read
            change(row)
            collect(row)
    count = 0
    # In the queryset's order, a chunk at a time: an order_by() that keeps a unique column
    # free of collisions (MySQL checks each row) still holds.
    for chunk in _chunks(pks, size):
        count += _by_keys(qs, chunk, alias).update(**kwargs)
    if change is None:
        # The new state, read again by primary key: expressions (F("n") + 1) are what the
        # row now holds only once the database computed them.
        _read_again(qs, pks, size, alias, collect)
    return count, purged


def _plain_values(model: type[Model], kwargs: dict[str, Any]) -> Callable[[Model], None] | None:
    """What ``update(**kwargs)`` does to a row, done to an instance; None when only the
    database can tell (an expression, or a field that is not a plain column)."""
    changes = []
    for name, value in kwargs.items():
        try:
            field: Any = model._meta.get_field(name)
        except Exception:  # Django's update() raises its own error for it
            return None
        if not getattr(field, "concrete", False) or field.many_to_many:
            return None
        if hasattr(value, "resolve_expression"):
            return None
        if field.is_relation and name != field.attname:  # update(author=user): the instance
            changes.append((field.name, value))
        elif field.is_relation:
            changes.append((field.attname, value))  # update(author_id=3)
        else:
            changes.append((field.attname, field.to_python(value)))

    def change(row: Model) -> None:
        for attname, value in changes:
            setattr(row, attname, value)

    return change


def _read_again(
    qs: QuerySet[Any],
    pks: Sequence[Any],
    size: int,
    alias: str,
    collect: Callable[[Model], None],
) -> None:
    base = qs.model._base_manager.using(alias)
    for chunk in _chunks(pks, size):
        for row in _instances(_by_keys(base, chunk, alias), alias):
            collect(row)


# --- bulk_update() -----------------------------------------------------------------------------


def _bulk_update(
    qs: QuerySet[Any],
    config: ModelPurge,
    objs: list[Any],
    fields: Sequence[str],
    plain: Callable[[], int],
) -> tuple[int, Collected]:
    alias = _alias(qs)
    size = _chunk_size(alias)
    purged: Collected = ([], [])
    collect = _collector(config, alias, purged)
    pks = list(dict.fromkeys(obj.pk for obj in objs if obj.pk is not None))
    by_pk: dict[Any, Model] = {}
    for obj in objs:  # the first object of a pk wins, as in Django's CASE ... WHEN
        by_pk.setdefault(obj.pk, obj)
    # Django's bulk_update() refuses fields that are not concrete, with its own message.
    concrete = [
        field for field in map(qs.model._meta.get_field, fields) if hasattr(field, "attname")
    ]
    expressions = any(
        hasattr(getattr(obj, field.attname, None), "resolve_expression")
        for obj in objs
        for field in concrete
    )
    old: list[Model] = []
    base = qs.model._base_manager.using(alias)
    for chunk in _chunks(pks, size):
        for row in _instances(_by_keys(base, chunk, alias), alias):
            collect(row)
            old.append(row)
    count = plain()
    if expressions:  # F("views") + 1: only the database knows the new value
        _read_again(qs, pks, size, alias, collect)
        return count, purged
    # The new state without a second read: the old row with the updated fields taken from the
    # object (the object's other fields may be stale or never loaded).
    for row in old:
        obj = by_pk[row.pk]
        for field in concrete:
            setattr(row, field.attname, getattr(obj, field.attname))
            if field.is_relation and field.is_cached(row):
                field.delete_cached_value(row)
        collect(row)
    return count, purged


# --- bulk_create() -----------------------------------------------------------------------------


def _existing(qs: QuerySet[Any], objs: list[Any], unique_fields: list[str] | None) -> list[Model]:
    """Before an upsert (``update_conflicts=True``): the rows it may overwrite, found by
    ``unique_fields``, or where they are not given (MySQL, MariaDB) by any unique column."""
    alias = _alias(qs)
    meta = qs.model._meta
    if unique_fields:
        groups = [
            [name if name == "pk" else meta.get_field(name).attname for name in unique_fields]
        ]
    else:
        groups = [[f.attname] for f in meta.concrete_fields if f.unique]
    conditions = []
    for obj in objs:
        for names in groups:
            values = {name: getattr(obj, name) for name in names}
            if None not in values.values():
                conditions.append(Q(**values))
    base = qs.model._base_manager.using(alias)
    rows: dict[Any, Model] = {}
    width = max(map(len, groups), default=1)  # parameters a condition takes
    for chunk in _chunks(conditions, max(1, _chunk_size(alias) // width)):
        found = _instances(base.filter(reduce(operator.or_, chunk)), alias)
        rows.update((row.pk, row) for row in found)
    return list(rows.values())


def _bulk_create(
    qs: QuerySet[Any],
    config: ModelPurge,
    objs: list[Any],
    upsert: list[str] | None,
    plain: Callable[[], list[Any]],
) -> tuple[list[Any], Collected]:
    alias = _alias(qs)
    purged: Collected = ([], [])
    collect = _collector(config, alias, purged)
    for row in _existing(qs, objs, upsert) if upsert is not None else ():
        collect(row)
    created = plain()
    # Primary keys come back from the INSERT where the database returns them (PostgreSQL,
    # MariaDB 10.5+, SQLite 3.35+; not with ignore_conflicts). Without one, the URL is
    # computed from what the object holds: a URL made from other fields (a slug) is right.
    for obj in created:
        collect(obj)
    return created, purged


# --- recording -----------------------------------------------------------------------------


def _record(config: ModelPurge, urls: list[Any], tags: list[Any], alias: str) -> None:
    """Record the purge of every row at once: one ``funnel.record`` (one INSERT of intents
    for all but very large changes); never raises, like a save's purge."""
    plans = []
    for kind, values in (("url", urls), ("tag", tags)):
        if not values:
            continue
        the_plan = _plan(config, list(dict.fromkeys(values)), kind, alias)
        if the_plan:
            plans.append(the_plan)
    if not plans:
        return
    try:
        funnel.record(plans, using=alias, actor=ACTOR, account=config.account)
    except Exception:
        logger.exception(
            "Could not record the purge of a bulk change of %s; it goes on", config.label
        )


def _plan(config: ModelPurge, values: list[Any], kind: str, alias: str) -> Plan:
    """All of ``values`` planned at once (the list fast path), or one by one when some value
    is bad, so that it cannot take the good ones with it."""
    options = {**config.options, "type": kind}
    try:
        return funnel.plan(values, options)
    except Exception:  # a bad value, or a get_absolute_url() that gave something odd
        the_plan, errors = funnel.plan_each(values, options)
    for value, exc in errors:
        _unplannable(config, f"{kind} {describe(value)}", exc, alias, kind)
    return the_plan


def _unplannable(config: ModelPurge, what: str, exc: BaseException, alias: str, kind: str) -> None:
    reason = f"{type(exc).__name__}: {exc}"
    logger.error(
        "Cannot purge %s of a bulk change of %s: %s; it goes on", what, config.label, reason
    )
    intents.record_unplannable(
        f"{what} of {config.label} (bulk change)", reason, using=alias, object_type=kind
    )


# --- purging_bulk_changes() ----------------------------------------------------------------
#
# Django has no hook for update(), bulk_create() or bulk_update(), so a model whose manager
# cannot be changed is reached through its managers: while a block is active anywhere, each
# manager of a covered model makes its querysets from a subclass of its own queryset class
# (``_BlockPurging``) — an instance attribute on that model's manager, never a change to
# Django's QuerySet. Threads and asyncio tasks share those managers, so the subclass purges
# only where the context variable ``_covered`` names the model: in the thread (or task) that
# entered the block. Elsewhere it is the original class, method for method. The swap is
# counted under a lock and undone when the last block using a manager ends.


class _BlockPurging(PurgingQuerySet[_M]):
    _original: type[QuerySet[Any]]  # the class this one stands in for

    def _purge_config(self) -> ModelPurge | None:
        if self.model not in _covered.get():
            return None
        return super()._purge_config()

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled (a cached queryset) as its original class: this class exists only in this
        # process, while a block is active, and the block is no part of the data.
        return (_restore, (self._original, self.__getstate__()))

    def __copy__(self) -> Any:  # copy.copy() keeps the class (it would use __reduce__)
        copied = type(self).__new__(type(self))
        copied.__dict__.update(self.__dict__)
        return copied


def _restore(cls: type[QuerySet[Any]], state: dict[str, Any]) -> QuerySet[Any]:
    queryset = cls.__new__(cls)
    queryset.__setstate__(state)  # type: ignore[attr-defined]
    return queryset


@cache
def _block_class(original: type[QuerySet[Any]]) -> type[QuerySet[Any]]:
    # One class per original class: querysets of one manager keep one type during a block.
    return type(
        f"{original.__name__}InPurgingBlock",
        (_BlockPurging, original),
        {"__module__": __name__, "_original": original},
    )


_lock = threading.Lock()
# id(manager) -> [manager, whether it had its own _queryset_class, that class, blocks using it]
_swapped: dict[int, list[Any]] = {}


def _install(managers: list[Any]) -> None:
    with _lock:
        for manager in managers:
            entry = _swapped.get(id(manager))
            if entry is not None:
                entry[3] += 1
                continue
            original = manager._queryset_class
            if issubclass(original, PurgingQuerySet):  # purges already, always
                continue
            own = "_queryset_class" in vars(manager)
            _swapped[id(manager)] = [manager, own, original, 1]
            manager._queryset_class = _block_class(original)


def _uninstall(managers: list[Any]) -> None:
    with _lock:
        for manager in managers:
            entry = _swapped.get(id(manager))
            if entry is None:
                continue
            entry[3] -= 1
            if entry[3]:
                continue
            del _swapped[id(manager)]
            if entry[1]:
                manager._queryset_class = entry[2]
            else:
                del manager._queryset_class


def _covering(models: tuple[type[Model], ...]) -> frozenset[type[Model]]:
    declared = autopurge.active_models()
    if not models:
        return frozenset(declared)
    for model in models:
        if model not in declared:
            raise AkamaiConfigurationError(
                f"purging_bulk_changes({model.__name__}): {model._meta.label} is not declared "
                "in AKAMAI_PURGE_MODELS, so its changes are not purged."
            )
    # A declared model's proxies and subclasses with it, as autopurge purges them.
    return frozenset(m for m in declared if issubclass(m, models))


@contextlib.contextmanager
def purging_bulk_changes(*models: type[Model]) -> Iterator[None]:
    """Inside the block, the plain managers' ``update()``, ``bulk_create()`` and
    ``bulk_update()`` of ``models`` (default: every model declared in
    ``AKAMAI_PURGE_MODELS``; their proxies and subclasses too) purge as
    :class:`PurgingQuerySet`'s do, in this thread (or asyncio task) only.

    Querysets made inside the block purge; one made before it, or a related manager's
    (``article.comments``), does not. A model given that is not declared raises
    ``AkamaiConfigurationError``.
    """
    covered = _covering(models)
    managers = [manager for model in covered for manager in model._meta.managers]
    token = _covered.set(_covered.get() | covered)
    _install(managers)
    try:
        yield
    finally:
        _uninstall(managers)
        _covered.reset(token)
