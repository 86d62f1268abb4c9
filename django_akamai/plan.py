"""Planning: the one place that turns "what to purge" into normalised objects and requests.

Every door (``PurgeRequest.add``, the signals, the task, automatic purging, the command, the
admin) hands what it was given to :func:`plan` once. A :class:`Plan` holds validated options
and the objects normalised exactly once (URLs made absolute and cache-key clean, the
``AKAMAI_CACHE_TAG_PREFIX`` applied once, CP codes as integers), de-duplicated in order, each
checked to fit in one request. Nothing downstream normalises again: ``PurgeRequest.add_planned``,
the Celery task and the intent table take planned objects as they are.

:func:`cut` and :func:`requests` split planned objects into request bodies with the limits the
transport owns (``HttpTransport.request_limits``: Akamai's body limit, the API's envelope, the
bucket size, CCU v2's 200 objects), so a dry run, a task split and a real send agree byte for
byte.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, router

from . import conf
from .batching import check_all_fit, split_batches
from .exceptions import AkamaiConfigurationError, InvalidPurgeObject
from .normalise import normalise
from .options import OPTION_KEYS, PurgeOptions, options_mapping, parse_options
from .transport import transport_class
from .transport.base import RequestLimits

__all__ = [
    "Plan",
    "PlannedRequest",
    "alias_of",
    "cut",
    "limits",
    "normalised",
    "option_arguments",
    "options_dict",
    "parse",
    "plan",
    "planned",
    "requests",
    "site_cpcodes",
]


@dataclass(frozen=True)
class Plan:
    """Validated options and the normalised, de-duplicated objects to purge with them."""

    options: PurgeOptions
    objects: tuple[Any, ...]

    def __bool__(self) -> bool:
        return bool(self.objects)

    def __len__(self) -> int:
        return len(self.objects)


@dataclass(frozen=True)
class PlannedRequest:
    """One request a purge would send: where, the exact body, how many objects."""

    method: str
    url: str
    body: bytes
    count: int


# --- options --------------------------------------------------------------------------------


def option_arguments(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Pop ``options=`` and ``action``/``type``/``network``/``domain`` from ``kwargs``.

    Returns the options dict; anything left in ``kwargs`` is the caller's to reject.
    """
    options = options_mapping(kwargs.pop("options", None))
    for name in OPTION_KEYS:
        if name in kwargs:
            options[name] = kwargs.pop(name)
    return options


def parse(options: dict[str, Any] | PurgeOptions | None) -> PurgeOptions:
    """Options (v2 or v3 words) over ``AKAMAI_PURGE_OPTIONS``, validated."""
    if isinstance(options, PurgeOptions):
        return options
    return parse_options(options, conf.get_setting("AKAMAI_PURGE_OPTIONS"))


def options_dict(options: PurgeOptions) -> dict[str, str]:
    """Validated options as a plain, JSON-friendly dict in Fast Purge words."""
    return {"action": options.action, "type": options.type, "network": options.network}


# --- objects --------------------------------------------------------------------------------


def normalised(value: Any, object_type: str, bases: list[str] | None = None) -> list[Any]:
    """Every object in ``value`` normalised once for ``object_type`` (in order, duplicates kept).

    ``bases`` defaults to ``AKAMAI_BASE_URL`` for URLs. Raises a specific
    ``InvalidPurgeObject`` (or ``NoBaseURLConfigured``) naming the bad value.
    """
    if bases is None:
        bases = conf.base_urls() if object_type == "url" else []
    return list(normalise(value, object_type, bases))


def plan(objects: Any, options: dict[str, Any] | PurgeOptions | None = None) -> Plan:
    """Plan a purge of ``objects`` (anything ``PurgeRequest.add()`` takes) with ``options``.

    Model instances and QuerySets are resolved here, in the caller's process, where the
    database and ``AKAMAI_BASE_URL`` are; bad values raise before anything is sent or recorded.
    """
    opts = parse(options)
    items = tuple(dict.fromkeys(normalised(objects, opts.type)))
    check_sizes(items, opts)
    return Plan(opts, items)


def planned(objects: Iterable[Any], options: dict[str, Any] | PurgeOptions | None = None) -> Plan:
    """A ``Plan`` of objects that were normalised already (from a task message or an intent)."""
    opts = parse(options)
    return Plan(opts, tuple(dict.fromkeys(objects)))


def check_sizes(items: Iterable[Any], options: PurgeOptions, api: str | None = None) -> None:
    """Raise ``ObjectTooLarge`` for an object that cannot fit in any request."""
    # JSON takes at most 6 bytes a character and no envelope reaches 200 bytes, so short
    # objects fit whatever the API; only long ones need the API's limits (which may mean
    # reading the credentials) and the exact check.
    max_body_bytes = _max_body_bytes()
    long = [o for o in items if not isinstance(o, int) and len(o) * 6 + 200 > max_body_bytes]
    if long:
        request_limits = limits(options, api)
        check_all_fit(
            long, envelope=request_limits.envelope, max_bytes=request_limits.max_body_bytes
        )


def site_cpcodes() -> list[int]:
    """``AKAMAI_CPCODES``, the site's CP codes, validated (empty when not set): what
    ``akamai_purge --everything`` and a collapsed ``suspend_purges()`` purge."""
    value = conf.get_setting("AKAMAI_CPCODES")
    if not value:
        return []
    try:
        return list(dict.fromkeys(normalised(value, "cpcode")))
    except InvalidPurgeObject as exc:  # a setting, so a configuration error
        raise AkamaiConfigurationError(f"AKAMAI_CPCODES: {exc}") from None


def alias_of(objects: Any) -> str:
    """The database whose transaction a purge of ``objects`` belongs to."""
    from django.db.models import Model
    from django.db.models.query import QuerySet

    candidates = objects if isinstance(objects, (list, tuple)) else (objects,)
    for obj in candidates:
        if isinstance(obj, Model):
            return obj._state.db or router.db_for_write(type(obj), instance=obj)
        if isinstance(obj, QuerySet):
            # _db: the alias given to using(), if any (QuerySet.db would pick a read replica).
            return obj._db or router.db_for_write(obj.model)  # type: ignore[attr-defined]
    return DEFAULT_DB_ALIAS


# --- requests -------------------------------------------------------------------------------


def _max_body_bytes() -> int:
    return int(conf.get_setting("AKAMAI_MAX_BODY_BYTES"))


def _api() -> str:
    try:
        return conf.resolve_credentials().api
    except AkamaiConfigurationError:
        # Only the process that sends needs credentials (a web process that queues may have
        # none); whoever sends re-cuts with its own limits, so Fast Purge's are a safe guess.
        return "v3"


def limits(options: PurgeOptions, api: str | None = None) -> RequestLimits:
    """The limits of one request with ``options`` on ``api`` (default: the configured one)."""
    return transport_class(api or _api()).request_limits_for(options, _max_body_bytes())


def cut(objects: list[Any] | tuple[Any, ...], request_limits: RequestLimits) -> list[list[Any]]:
    """``objects`` cut into the fewest request bodies under ``request_limits``, order kept."""
    return split_batches(
        objects,
        max_bytes=request_limits.max_body_bytes,
        max_objects=request_limits.max_objects,
        envelope=request_limits.envelope,
    )


def requests(
    the_plan: Plan, *, api: str | None = None, base_url: str = "https://<host>", transport=None
) -> list[PlannedRequest]:
    """The requests ``the_plan`` would send: method, URL, exact body and object count each.

    With a ``transport``, its own limits (a learned bucket size) and base URL are used.
    """
    if transport is not None:
        cls, request_limits = type(transport), transport.request_limits(the_plan.options)
        base_url = transport.base_url
    else:
        cls = transport_class(api or _api())
        request_limits = cls.request_limits_for(the_plan.options, _max_body_bytes())
    return [
        PlannedRequest(
            "POST",
            base_url + cls.purge_path(the_plan.options),
            cls.purge_body(batch, the_plan.options),
            len(batch),
        )
        for batch in cut(list(the_plan.objects), request_limits)
    ]
