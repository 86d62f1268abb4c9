"""Commit-safe, coalesced purging: the path signals, tasks and automatic purging share.

``request_purge()`` turns what to purge into URLs, tags or CP codes at once (the objects may
change or vanish later), then hands them to ``PurgeRequest`` (purge now) or to the Celery task
(queue). Outside a transaction that happens immediately. Inside ``transaction.atomic()`` it
happens once the outermost transaction on that database commits, merged and de-duplicated with
everything else requested during the transaction, and not at all if it rolls back; objects
requested inside a savepoint that rolls back are dropped with it.

How savepoints are honoured: Django discards the on-commit callbacks registered inside a
savepoint that rolls back. One callback is registered per savepoint context, so Django decides
which requests survive; the first callback that runs after the commit sends everything that
survived. The buffer holds each callback only through a weak reference: Django's list is the
one strong reference, so a discarded callback is freed at once and the buffer sees it gone.
(On an interpreter without reference counting a discarded callback may still look alive: its
objects are then purged anyway. An extra purge, never a lost one.)
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Hashable, Iterable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, router, transaction

from . import conf
from .exceptions import AkamaiConfigurationError
from .objects import OPTION_KEYS, PurgeOptions, normalise, options_mapping, parse_options

logger = logging.getLogger("django_akamai")

__all__ = [
    "option_arguments",
    "options_dict",
    "request_limits",
    "request_purge",
    "resolve",
    "split_requests",
]


# --- what to purge --------------------------------------------------------------------------


def option_arguments(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Pop ``options=`` and ``action``/``type``/``network``/``domain`` from ``kwargs``.

    Returns the options dict; anything left in ``kwargs`` is the caller's to reject.
    """
    options = options_mapping(kwargs.pop("options", None))
    for name in OPTION_KEYS:
        if name in kwargs:
            options[name] = kwargs.pop(name)
    return options


def options_dict(options: PurgeOptions) -> dict[str, str]:
    """Validated options as a plain, JSON-friendly dict in Fast Purge words."""
    return {"action": options.action, "type": options.type, "network": options.network}


def resolve(objects: Any, options: dict[str, Any] | None = None) -> tuple[PurgeOptions, list[Any]]:
    """Validated options and the normalised, de-duplicated objects to purge, in order.

    Model instances and QuerySets are resolved here, in the caller's process, where the
    database and ``AKAMAI_BASE_URL`` are; bad values raise before anything is sent.
    """
    opts = parse_options(options, conf.get_setting("AKAMAI_PURGE_OPTIONS"))
    bases = conf.base_urls() if opts.type == "url" else []
    items = list(dict.fromkeys(normalise(objects, opts.type, bases)))
    _check_sizes(items, opts)
    return opts, items


def _guess_api() -> str:
    try:
        return conf.resolve_credentials().api
    except AkamaiConfigurationError:
        # Only the process that sends needs credentials (a web process that queues may have
        # none); the worker re-packs anyway, so Fast Purge's limits are a safe guess.
        return "v3"


def request_limits(options: PurgeOptions) -> tuple[int, int, int]:
    """``(max body bytes, envelope bytes, max objects)`` of one request with these options."""
    from .purge import V2_BATCH_SIZE
    from .transport import CcuV2Transport, FastPurgeTransport
    from .transport.pacing import DEFAULT_BUCKET_SIZES

    max_bytes = int(conf.get_setting("AKAMAI_MAX_BODY_BYTES"))
    if _guess_api() == "v2":
        return max_bytes, CcuV2Transport.envelope(options), V2_BATCH_SIZE
    return (
        max_bytes,
        FastPurgeTransport.envelope(options),
        DEFAULT_BUCKET_SIZES.get(options.type, 10_000),
    )


def split_requests(items: list[Any], options: PurgeOptions) -> list[list[Any]]:
    """``items`` cut into the request bodies ``PurgeRequest`` would send, in order."""
    from .batching import split_batches

    max_bytes, envelope, max_objects = request_limits(options)
    return split_batches(items, max_bytes=max_bytes, max_objects=max_objects, envelope=envelope)


def _check_sizes(items: list[Any], options: PurgeOptions) -> None:
    from .batching import check_fits

    max_bytes = int(conf.get_setting("AKAMAI_MAX_BODY_BYTES"))
    limits = None
    for obj in items:
        # JSON takes at most 6 bytes a character and no envelope reaches 200 bytes, so short
        # objects fit whatever the API; only long ones need the exact (slower) check.
        if isinstance(obj, int) or len(obj) * 6 + 200 <= max_bytes:
            continue
        limits = limits or request_limits(options)
        check_fits(obj, envelope=limits[1], max_bytes=max_bytes)


def _alias_of(objects: Any) -> str:
    """The database whose transaction a purge of ``objects`` belongs to."""
    from django.db.models import Model
    from django.db.models.query import QuerySet

    candidates = objects if isinstance(objects, (list, tuple)) else (objects,)
    for obj in candidates:
        if isinstance(obj, Model):
            return obj._state.db or router.db_for_write(type(obj), instance=obj)
        if isinstance(obj, QuerySet):
            return obj._db or router.db_for_write(obj.model)
    return DEFAULT_DB_ALIAS


# --- sending ------------------------------------------------------------------------------


def _send(items: list[Any], options: PurgeOptions, *, queue: bool, actor: str | None) -> Any:
    if queue:
        from .tasks import enqueue

        return enqueue(items, options, actor=actor)
    if not items:
        return []
    from .purge import PurgeRequest

    request = PurgeRequest(options=options_dict(options), actor=actor)
    try:
        request.add(items)
        return request.purge_all()
    finally:
        request.transport.close()


# --- the per-transaction buffer -------------------------------------------------------------

_Key = tuple[bool, PurgeOptions]  # (queue, options): one send each


class _Chunk:
    """What was requested in one savepoint context; lives as long as Django keeps its hook."""

    __slots__ = ("actors", "entries", "hook", "ran")

    def __init__(self) -> None:
        self.entries: dict[_Key, dict[Hashable, None]] = {}
        self.actors: dict[_Key, dict[str | None, None]] = {}
        self.hook: weakref.ref[_Hook] | None = None
        self.ran = False

    def alive(self) -> bool:
        return self.ran or (self.hook is not None and self.hook() is not None)


class _Hook:
    """The callable Django keeps in its on-commit list; nothing else holds it strongly."""

    __slots__ = ("buffer", "chunk", "__weakref__")

    def __init__(self, buffer: _Buffer, chunk: _Chunk) -> None:
        self.buffer = buffer
        self.chunk = chunk

    def __call__(self) -> None:
        self.chunk.ran = True
        self.buffer.flush()

    def __repr__(self) -> str:  # what a debugger shows in connection.run_on_commit
        return f"<django_akamai purge after commit on {self.buffer.alias!r}>"


class _Buffer:
    """Everything requested during one transaction on one database, until it commits."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.chunks: list[_Chunk] = []
        self.by_context: dict[tuple[Any, ...], _Chunk] = {}
        self.flushed = False

    def current(self) -> bool:
        """Whether this buffer still belongs to an open transaction."""
        if self.flushed:
            return False
        if self.chunks and self.chunks[-1].alive():
            return True
        # Forget what rolled-back savepoints asked for; if nothing is left, the transaction
        # this buffer belonged to rolled back as a whole.
        self.chunks = [chunk for chunk in self.chunks if chunk.alive()]
        self.by_context = {ctx: c for ctx, c in self.by_context.items() if c.alive()}
        return bool(self.chunks)

    def add(
        self, context: tuple[Any, ...], key: _Key, items: Iterable[Hashable], actor: str | None
    ) -> None:
        chunk = self.by_context.get(context)
        if chunk is None or not chunk.alive():
            chunk = _Chunk()
            hook = _Hook(self, chunk)
            transaction.on_commit(hook, using=self.alias)
            chunk.hook = weakref.ref(hook)
            self.chunks.append(chunk)
            self.by_context[context] = chunk
        chunk.entries.setdefault(key, {}).update(dict.fromkeys(items))
        chunk.actors.setdefault(key, {})[actor] = None

    def flush(self) -> None:
        if self.flushed:
            return
        self.flushed = True
        buffers = _buffers()
        if buffers.get(self.alias) is self:
            del buffers[self.alias]
        merged: dict[_Key, dict[Hashable, None]] = {}
        actors: dict[_Key, dict[str | None, None]] = {}
        for chunk in self.chunks:
            # Hooks not run yet but still alive are later in Django's list: committed too.
            if chunk.alive():
                for key, items in chunk.entries.items():
                    merged.setdefault(key, {}).update(items)
                    actors.setdefault(key, {}).update(chunk.actors[key])
        for (queue, options), items in merged.items():
            # Requests from several doors (signal, autopurge, task) merge into one send.
            actor = ",".join(a for a in actors[(queue, options)] if a) or None
            try:
                _send(list(items), options, queue=queue, actor=actor)
            except Exception:
                # The data is committed and the committing code has moved on: raising here
                # would also skip every other on-commit hook. The log names the objects.
                logger.exception(
                    "Purging %d object(s) after the commit on database %r failed",
                    len(items),
                    self.alias,
                )


_local = threading.local()


def _buffers() -> dict[str, _Buffer]:
    buffers = getattr(_local, "buffers", None)
    if buffers is None:
        buffers = _local.buffers = {}
    return buffers


def request_purge(
    objects: Any,
    *,
    options: dict[str, Any] | None = None,
    queue: bool = False,
    using: str | None = None,
    actor: str | None = None,
    fail_silently: bool = False,
) -> Any:
    """Purge ``objects`` (or queue them with ``queue=True``), commit-safely and coalesced.

    ``objects`` is anything ``PurgeRequest.add()`` takes. Outside a transaction on ``using``
    (default: the instance's or QuerySet's database, else ``default``), this sends at once and
    returns what was sent: ``PurgeRequest.purge_all()``'s results, or the task results
    (``tasks.PurgeResults``). Inside one, it returns ``None`` and sends after the commit, where
    a failure is logged, not raised. ``fail_silently=True`` logs immediate failures to send as
    well (bad objects and settings still raise, before anything is sent).
    """
    opts, items = resolve(objects, options)
    if queue:
        from . import tasks  # noqa: F401  (fail now, not at commit, when Celery is missing)
    alias = using or _alias_of(objects)
    connection = connections[alias]
    if not connection.in_atomic_block:
        if not fail_silently:
            return _send(items, opts, queue=queue, actor=actor)
        try:
            return _send(items, opts, queue=queue, actor=actor)
        except Exception:
            logger.exception("Purging %d object(s) failed", len(items))
            return None
    if items:
        buffers = _buffers()
        buffer = buffers.get(alias)
        if buffer is None or not buffer.current():
            buffer = buffers[alias] = _Buffer(alias)
        buffer.add(tuple(connection.savepoint_ids), (queue, opts), items, actor)
    return None
