"""Automatic purging on model changes, declared in one setting: ``AKAMAI_PURGE_MODELS``.

::

    AKAMAI_PURGE_MODELS = {
        "blog.Article": {
            "urls": ["/blog/", "/blog/feed/"],              # or a callable(instance) -> URLs
            "tags": lambda article: [f"section-{article.section_id}"],  # or a list
            "options": {"action": "invalidate"},            # action and/or network
        },
        "blog.Comment": {"cache_tags": True},              # purge by tag, not by URL
        "shop.Product": {"account": "brand-b"},            # on a named account
        "flatpages.FlatPage": {},                           # just get_absolute_url()
    }

(a list of labels is short for ``{label: {} ...}``). With ``"cache_tags": True`` a change
purges the object's cache tag and its model's list tag (see ``django_akamai.cache_tags``)
instead of its URL: one request refreshes every page that showed it, when the pages are
tagged with ``Edge-Cache-Tag``. A declared model's proxies and subclasses
are purged the same way. On save, the instance's URL before the save (from the values it was
loaded with, or last saved with: a changed slug purges the old address too, and no query is
made for it) and after it; on delete, the URL taken before the row disappears; each time also
the extra ``urls`` and the cache ``tags`` (Fast Purge only), computed for the old and the new
state. ``"reread": True`` reads the old row from the database before each save instead (one
SELECT a save), for sites where two processes may change the same object at once.
``"account"`` names the account of ``AKAMAI_ACCOUNTS`` to purge on; without it URLs go to the
account of their host, tags to the default account.

Every purge is planned here (``plan``) and recorded as purge intents in the saving transaction
(``intents``), in autocommit mode too: a save costs about one INSERT (inside a transaction,
the transaction's intents are written together before it commits), never waits on Akamai or a
broker, and its purge survives whatever happens after the commit. Delivery follows
``AKAMAI_DELIVERY`` (``"celery"`` delivers through Celery). The ``queue`` key and
``AKAMAI_PURGE_MODELS_QUEUE`` of earlier versions are accepted and ignored; the system check
``django_akamai.W007`` says so.

A purge never fails a save: a ``get_absolute_url()`` that raises, a bad URL or tag, a relative
URL without ``AKAMAI_BASE_URL`` is logged with the object and the reason and kept visible as a
failed purge intent (``record_unplannable``), and the save goes on.

Many-to-many changes (``article.categories.add(c)``, remove, clear, set, from either side)
purge every declared side they link or unlink, like a save (``m2m_changed``, see below).

Not seen, because Django sends no signal for them: ``QuerySet.update()``, ``bulk_create()``,
``bulk_update()`` (unless opted in with ``django_akamai.bulk``), raw SQL and rows of a custom
``through`` model written directly. Fixture
loading (``raw`` saves) is skipped on purpose.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.signals import setting_changed
from django.db.models import Model
from django.db.models.base import ModelState
from django.db.models.signals import (
    m2m_changed,
    post_delete,
    post_init,
    post_save,
    pre_delete,
    pre_save,
)

from . import conf, funnel, intents
from .exceptions import AkamaiConfigurationError, describe
from .normalise.tags import model_tag, object_tags
from .options import Unplanned, parse_options

logger = logging.getLogger("django_akamai")

__all__ = ["ModelPurge", "active_models", "connect", "disconnect", "load"]

ACTOR = "autopurge"
_KEYS = ("urls", "tags", "options", "cache_tags", "account", "reread")
# Accepted from earlier versions and ignored (W007 says so): an upgrade must not break start-up.
_IGNORED_KEYS = ("queue",)
_OPTION_KEYS = ("action", "network", "domain")
# Where the receivers keep what an instance looked like before the save or delete.
_BEFORE_SAVE = "_akamai_purge_before_save"
_BEFORE_DELETE = "_akamai_purge_before_delete"
_BEFORE_M2M = "_akamai_purge_before_m2m"

Spec = tuple[Any, ...] | Callable[[Model], Iterable[Any] | None]


@dataclass(frozen=True)
class ModelPurge:
    """How instances of one declared model are purged."""

    label: str
    urls: Spec = ()
    tags: Spec = ()
    options: dict[str, Any] = field(default_factory=dict)
    own_url: bool = True  # whether the model has get_absolute_url()
    cache_tags: bool = False  # purge the object's tag and its model's list tag, not its URL
    account: str | None = None  # a name of AKAMAI_ACCOUNTS; None: routed by the URLs' hosts
    reread: bool = False  # read the row before a save for its old URL (see _LOADED)

    def objects(self, instance: Model, using: str | None = None) -> tuple[list[Any], list[Any]]:
        """The URLs and the cache tags that stand for ``instance`` as it is now.

        Each part is computed on its own: one that raises (a ``get_absolute_url()`` that
        fails, say) is logged and kept visible, and the others are still purged.
        """
        urls: list[Any] = []
        tags: list[Any] = []
        if self.tags:
            tags += self._part(instance, using, "the 'tags'", "tag", _values, self.tags)
        if self.cache_tags:
            tags += self._part(instance, using, "the cache tags", "tag", _cache_tags)
        elif self.own_url:
            url = self._part(instance, using, "get_absolute_url()", "url", _absolute_url)
            if url and url[0]:  # an object with no public page (e.g. a draft) has nothing
                urls.append(url[0])
        if self.urls:
            urls += self._part(instance, using, "the 'urls'", "url", _values, self.urls)
        return urls, tags

    @staticmethod
    def _part(
        instance: Model, using: str | None, what: str, kind: str, compute: Any, *args: Any
    ) -> list[Any]:
        try:
            return compute(instance, *args)
        except Exception as exc:
            _unplannable(instance, what, exc, using or funnel.alias_of(instance), kind)
            return []

    def purge(self, urls: list[Any], tags: list[Any], using: str | None, instance: Model) -> None:
        """Record the purge of ``urls`` and ``tags`` in the saving transaction; never raises.

        Each value is checked as ``PurgeRequest.add()`` checks it (sizes too); a bad one is
        kept visible as a failed intent and must not take the others with it. Inside a
        transaction they are planned with its other purges (``funnel.record_each``)."""
        if not (urls or tags):
            return
        alias = using or funnel.alias_of(instance)
        entries = []
        for kind, values in (("url", urls), ("tag", tags)):
            if values:

                def on_error(value: Any, exc: Exception, kind: str = kind) -> None:
                    _unplannable(instance, f"{kind} {describe(value)}", exc, alias, kind)

                options = self.plan_options(kind)
                entries.append(
                    Unplanned(tuple(values), options, alias, self.account, ACTOR, on_error)
                )
        try:
            funnel.record_each(entries)
        except Exception:
            logger.exception(
                "Could not record the purge of %s %r; the save goes on", self.label, instance
            )

    def plan_options(self, kind: str) -> dict[str, Any]:
        """The options a purge of ``kind`` ("url" or "tag") is planned with."""
        return self._plan_options[kind]

    @functools.cached_property
    def _plan_options(self) -> dict[str, dict[str, Any]]:
        # One dict per kind for the declaration's life: every save passes the same one.
        return {kind: {**self.options, "type": kind} for kind in ("url", "tag")}


def _values(instance: Model, spec: Spec) -> list[Any]:
    if callable(spec):
        return list(spec(instance) or ())
    return list(spec)


def _cache_tags(instance: Model) -> list[Any]:
    return [*object_tags(instance), model_tag(instance)]


def _absolute_url(instance: Model) -> list[Any]:
    return [instance.get_absolute_url()]  # type: ignore[attr-defined]


def _unplannable(instance: Model, what: str, exc: BaseException, alias: str, kind: str) -> None:
    label = f"{instance._meta.label} pk={instance.pk!r}"
    reason = f"{type(exc).__name__}: {exc}"
    logger.error("Cannot purge %s of %s: %s; the save goes on", what, label, reason)
    intents.record_unplannable(f"{what} of {label}", reason, using=alias, object_type=kind)


def _invalid(label: Any, message: str) -> AkamaiConfigurationError:
    return AkamaiConfigurationError(f"AKAMAI_PURGE_MODELS[{label!r}]: {message}")


def _spec(label: str, name: str, value: Any) -> Spec:
    if value is None:
        return ()
    if callable(value):
        return value
    if isinstance(value, (str, bytes)):
        return (value,)
    if isinstance(value, (list, tuple, set, frozenset)):
        return tuple(value)
    raise _invalid(
        label,
        f"{name!r} must be a list of strings or a callable taking the "
        f"instance, not {type(value).__name__}.",
    )


def load(setting: Any) -> dict[type[Model], ModelPurge]:
    """Validate ``AKAMAI_PURGE_MODELS`` and map each declared model to its ``ModelPurge``."""
    if not setting:
        return {}
    if isinstance(setting, (list, tuple)):
        setting = dict.fromkeys(setting)
    if not isinstance(setting, dict):
        raise AkamaiConfigurationError(
            "AKAMAI_PURGE_MODELS must be a dict of 'app_label.ModelName' -> options, or a list "
            f"of labels, not {type(setting).__name__}."
        )
    registry: dict[type[Model], ModelPurge] = {}
    for label, declared in setting.items():
        declared = {} if declared is None else declared
        if not isinstance(declared, dict):
            raise _invalid(label, f"expected a dict with keys {', '.join(_KEYS)}.")
        unknown = sorted(set(declared) - set(_KEYS) - set(_IGNORED_KEYS))
        if unknown:
            raise _invalid(
                label, f"unknown key(s) {', '.join(unknown)}; known: {', '.join(_KEYS)}."
            )
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError) as exc:
            raise _invalid(label, f"no such model ({exc}).") from None
        options = dict(declared.get("options") or {})
        bad = sorted(set(options) - set(_OPTION_KEYS))
        if bad:
            raise _invalid(
                label,
                f"options may set {', '.join(_OPTION_KEYS)} only, not "
                f"{', '.join(bad)} (URLs and tags are purged by their type).",
            )
        parse_options(options)  # unknown action or network: raise now, not on the first save
        account = declared.get("account")
        if account is not None:
            if not isinstance(account, str):
                raise _invalid(label, f"'account' must be an account's name, not {account!r}.")
            try:
                conf.checked_account(account)
            except AkamaiConfigurationError as exc:
                raise _invalid(label, str(exc)) from None
        config = ModelPurge(
            label=model._meta.label,
            urls=_spec(label, "urls", declared.get("urls")),
            tags=_spec(label, "tags", declared.get("tags")),
            options=options,
            own_url=callable(getattr(model, "get_absolute_url", None)),
            cache_tags=bool(declared.get("cache_tags", False)),
            account=account,
            reread=bool(declared.get("reread", False)),
        )
        if not (config.own_url or config.urls or config.tags or config.cache_tags):
            raise _invalid(
                label,
                f"{model._meta.label} has no get_absolute_url(); give 'urls' "
                "or 'tags' to say what its changes purge.",
            )
        registry[model] = config
    return registry


# --- receivers ------------------------------------------------------------------------------

_active: dict[type[Model], ModelPurge] = {}


def active_models() -> dict[type[Model], ModelPurge]:
    """Every model class whose saves and deletes are purged now (proxies and subclasses too)."""
    return dict(_active)


def _pre_save(
    sender: type[Model], instance: Model, raw: bool = False, using: str | None = None, **kwargs: Any
) -> None:
    config = _active.get(sender)
    if config is None or raw:
        return
    loaded = _loaded(instance, using)
    if loaded is not None:
        # What the row held is known from the instance (loaded or last saved as): no query.
        values = instance.__dict__
        for name, value in loaded.items():  # a loop: all() of a generator costs more here
            if values.get(name, _DEFERRED) != value:
                old = as_loaded(sender, loaded, using)
                values[_BEFORE_SAVE] = config.objects(old, using)
                return
        values[_BEFORE_SAVE] = _UNCHANGED
        return
    before = None
    pk_field = sender._meta.pk
    # A new instance whose primary key was generated (None, or a default such as uuid4) has
    # no row yet: skip the query. Any other primary key may name an existing row.
    if instance.pk is not None and not (
        instance._state.adding and pk_field is not None and pk_field.has_default()
    ):
        old = sender._base_manager.using(using).filter(pk=instance.pk).first()
        if old is not None:
            before = config.objects(old, using)
    instance.__dict__[_BEFORE_SAVE] = before


def _post_save(
    sender: type[Model], instance: Model, raw: bool = False, using: str | None = None, **kwargs: Any
) -> None:
    config = _active.get(sender)
    before = instance.__dict__.pop(_BEFORE_SAVE, None)
    if config is None or raw:
        return
    urls, tags = config.objects(instance, using)
    if before and before is not _UNCHANGED:
        urls, tags = before[0] + urls, before[1] + tags
    config.purge(urls, tags, using, instance)
    if not config.reread:
        _remember(instance)  # the row now holds what the instance holds


# --- what an instance was loaded with ------------------------------------------------------
#
# The URL a row had before a save is computed from the values the instance was loaded with
# (``post_init``, then each save), so that a save costs no SELECT of the old row. That is the
# row's state unless another process changed it since this instance was loaded; its own save
# purged both its addresses then. ``"reread": True`` reads the row instead, for sites where
# two processes change the same object at once. The SELECT is still made where nothing is
# known: an instance built in memory with the primary key of an existing row, deferred
# fields, a primary key changed since, or a save to another database.

_LOADED = "_akamai_purge_loaded"
_UNCHANGED: tuple[list[Any], list[Any]] = ([], [])  # before == after: nothing to add
_DEFERRED = object()
_concrete: dict[type[Model], tuple[str, ...]] = {}


def attnames(model: type[Model]) -> tuple[str, ...]:
    """The attnames of ``model``'s concrete fields, in order (kept per model)."""
    names = _concrete.get(model)
    if names is None:
        names = _concrete[model] = tuple(f.attname for f in model._meta.concrete_fields)
    return names


def _remember(instance: Model) -> None:
    values = instance.__dict__
    instance.__dict__[_LOADED] = {
        name: values[name] for name in attnames(type(instance)) if name in values
    }


def _post_init(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    if sender in _active and not _active[sender].reread:
        _remember(instance)


def _loaded(instance: Model, using: str | None) -> dict[str, Any] | None:
    """What the row held, as this instance was loaded or last saved; None when unknown."""
    loaded = instance.__dict__.get(_LOADED)
    if (
        loaded is None
        or instance._state.adding  # built in memory (or not saved yet): no row it came from
        or instance._state.db != using
        or len(loaded) != len(attnames(type(instance)))  # deferred fields
        or loaded.get(instance._meta.pk.attname) != instance.pk
    ):
        return None
    return loaded


def as_loaded(
    model: type[Model], loaded: Mapping[str, Any] | Iterable[tuple[str, Any]], using: str | None
) -> Model:
    """An instance holding ``loaded`` (field attnames and values), as ``from_db`` would build
    it (no query, no signal); ``django_akamai.bulk`` builds the rows it reads with it too."""
    old = model.__new__(model)
    old.__dict__.update(loaded)
    old._state = ModelState()
    old._state.adding = False
    old._state.db = using
    return old


def _pre_delete(
    sender: type[Model], instance: Model, using: str | None = None, **kwargs: Any
) -> None:
    config = _active.get(sender)
    if config is not None:
        # Taken now: after the delete the row, and what the URL is built from, may be gone.
        instance.__dict__[_BEFORE_DELETE] = config.objects(instance, using)


def _post_delete(
    sender: type[Model], instance: Model, using: str | None = None, **kwargs: Any
) -> None:
    config = _active.get(sender)
    before = instance.__dict__.pop(_BEFORE_DELETE, None)
    if config is not None and before is not None:
        urls, tags = before
        config.purge(urls, tags, using, instance)


# --- many-to-many changes ------------------------------------------------------------------
#
# ``article.categories.add(c)`` (remove, clear, set, and the same from the other side) saves
# neither model: Django sends ``m2m_changed`` with the intermediate model as sender. Each side
# that is declared is purged like a save, with its objects computed before the change and
# after it (a ``urls`` callable listing the article's categories sees the one removed, too).

_m2m_throughs: set[type[Model]] = set()
_PRE = {"pre_add": "post_add", "pre_remove": "post_remove", "pre_clear": "post_clear"}


def _m2m_sides(
    instance: Model, model: type[Model], pk_set: set[Any] | None, using: str | None
) -> list[tuple[ModelPurge, Model]]:
    """The declared instances a change touches: ``instance``, and the rows of ``model``."""
    sides: list[tuple[ModelPurge, Model]] = []
    config = _active.get(type(instance))
    if config is not None:
        sides.append((config, instance))
    related = _active.get(model)
    if related is not None and pk_set:
        for row in model._base_manager.using(using).filter(pk__in=pk_set).order_by("pk"):
            sides.append((_active.get(type(row), related), row))
    return sides


def _cleared_pks(instance: Model, sender: type[Model], reverse: bool) -> set[Any]:
    """Before ``clear()``: the primary keys of the rows about to be unlinked."""
    for relation in type(instance)._meta.get_fields():
        if not relation.many_to_many:
            continue
        if relation.auto_created:  # the reverse side: ``category.articles``
            through = relation.through  # type: ignore[union-attr]
            name, is_reverse = relation.get_accessor_name(), True  # type: ignore[union-attr]
        else:  # the forward side: ``article.categories``
            through = relation.remote_field.through  # type: ignore[union-attr]
            name, is_reverse = relation.name, False
        if through is sender and is_reverse == reverse and name:
            return set(getattr(instance, name).values_list("pk", flat=True))
    return set()


def _m2m_changed(
    sender: type[Model],
    instance: Model,
    action: str,
    reverse: bool,
    model: type[Model],
    pk_set: set[Any] | None,
    using: str | None = None,
    **kwargs: Any,
) -> None:
    if action in _PRE:
        if action == "pre_clear":
            pk_set = _cleared_pks(instance, sender, reverse)
        if not pk_set:
            return  # nothing is linked or unlinked: nothing on the site changes
        sides = _m2m_sides(instance, model, pk_set, using)
        before = [(config, obj, config.objects(obj, using)) for config, obj in sides]
        instance.__dict__.setdefault(_BEFORE_M2M, {})[_PRE[action]] = (pk_set, before)
        return
    pending = instance.__dict__.get(_BEFORE_M2M, {})
    if action not in pending:
        return
    pk_set, before = pending.pop(action)
    # The related rows are read again: after the change they are what the site now shows.
    after = {(type(obj), obj.pk): obj for _, obj in _m2m_sides(instance, model, pk_set, using)}
    for config, obj, (urls, tags) in before:
        now = after.get((type(obj), obj.pk), obj)
        new_urls, new_tags = config.objects(now, using)
        config.purge(urls + new_urls, tags + new_tags, using, now)


def _connect_m2m() -> None:
    """Listen to the intermediate model of every m2m relation with a declared side."""

    def declared(model: Any) -> bool:
        return isinstance(model, type) and any(issubclass(m, model) for m in _active)

    for model in apps.get_models():
        for relation in model._meta.local_many_to_many:
            through = relation.remote_field.through
            if isinstance(through, type) and (declared(model) or declared(relation.related_model)):
                _m2m_throughs.add(through)
                m2m_changed.connect(
                    _m2m_changed, sender=through, weak=False, dispatch_uid=f"{__name__}._m2m"
                )


_RECEIVERS = (
    (post_init, _post_init),
    (pre_save, _pre_save),
    (post_save, _post_save),
    (pre_delete, _pre_delete),
    (post_delete, _post_delete),
)


def disconnect() -> None:
    """Stop purging on model changes."""
    for model in list(_active):
        for signal, receiver in _RECEIVERS:
            signal.disconnect(
                receiver, sender=model, dispatch_uid=f"{__name__}.{receiver.__name__}"
            )
    for through in list(_m2m_throughs):
        m2m_changed.disconnect(_m2m_changed, sender=through, dispatch_uid=f"{__name__}._m2m")
    _m2m_throughs.clear()
    _active.clear()


def connect() -> None:
    """(Re)connect the receivers from the settings; called by the app's ``ready()``.

    Receivers are connected per model, never to every model: a pre_delete receiver turns off
    Django's fast deletes for the models it listens to.
    """
    # load() validates the whole setting (its SPECS entry names it), with a message per entry.
    registry = load(conf.get_setting("AKAMAI_PURGE_MODELS"))
    disconnect()
    for model in apps.get_models():
        # The nearest declared ancestor wins, so a subclass may be declared differently.
        config = next((registry[base] for base in model.__mro__ if base in registry), None)
        if config is None:
            continue
        _active[model] = config
        for signal, receiver in _RECEIVERS:
            signal.connect(
                receiver, sender=model, weak=False, dispatch_uid=f"{__name__}.{receiver.__name__}"
            )
    _connect_m2m()


def _on_setting_changed(setting: str, **kwargs: Any) -> None:
    if setting in ("AKAMAI_PURGE_MODELS", "AKAMAI_PURGE_MODELS_QUEUE") and apps.ready:
        connect()


setting_changed.connect(_on_setting_changed, dispatch_uid=f"{__name__}._on_setting_changed")
