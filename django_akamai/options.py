"""Purge options: what ``action``, ``type`` and ``network`` mean, validated.

The floor every layer stands on: doors parse their keyword arguments here, the funnel plans
with the result, the transport builds paths and bodies from it. Nothing here normalises
objects or talks to Akamai.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from . import conf
from .exceptions import InvalidPurgeOptions, describe

__all__ = [
    "DEFAULT_OPTIONS",
    "NETWORKS",
    "OPTION_KEYS",
    "Plan",
    "PurgeOptions",
    "Unplanned",
    "option_arguments",
    "options_dict",
    "options_mapping",
    "parse",
    "parse_options",
]

# The original's defaults, in CCU v2 words; mapped to v3 words for Fast Purge.
DEFAULT_OPTIONS = {"action": "remove", "type": "arl", "domain": "production"}

_ACTIONS = {"invalidate": "invalidate", "delete": "delete", "remove": "delete"}
_TYPES = {"url": "url", "arl": "url", "cpcode": "cpcode", "tag": "tag"}
NETWORKS = ("production", "staging")
OPTION_KEYS = ("action", "type", "domain", "network")


@dataclass(frozen=True)
class PurgeOptions:
    """Options in Fast Purge words: action invalidate|delete, type url|cpcode|tag, network."""

    action: str = "delete"
    type: str = "url"
    network: str = "production"

    def v2(self) -> dict[str, str]:
        """The same options in CCU v2 words (action remove|invalidate, type arl|cpcode)."""
        if self.type == "tag":
            raise InvalidPurgeOptions(
                "CCU v2 cannot purge cache tags; use Fast Purge v3 "
                "(AKAMAI_CCU_API = 'v3') to purge by tag."
            )
        return {
            "action": "remove" if self.action == "delete" else "invalidate",
            "type": "arl" if self.type == "url" else "cpcode",
            "domain": self.network,
        }


def options_mapping(options: Any, what: str = "options") -> dict[str, Any]:
    """A copy of an options mapping (``None`` is no options); anything else is refused."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise InvalidPurgeOptions(
            f"{what} must be a dict such as {{'action': 'invalidate', 'network': 'staging'}}, "
            f"not {type(options).__name__} {describe(options)}."
        )
    return dict(options)


def parse_options(options: Any, defaults: Any = None) -> PurgeOptions:
    """Validate an options dict in v2 or v3 words (``domain`` and ``network`` are synonyms)."""
    merged: dict[str, Any] = dict(DEFAULT_OPTIONS)
    layers = (options_mapping(defaults, "AKAMAI_PURGE_OPTIONS"), options_mapping(options))
    for layer in layers:
        unknown = sorted(str(key) for key in set(layer) - set(OPTION_KEYS))
        if unknown:
            raise InvalidPurgeOptions(
                f"Unknown purge option(s) {', '.join(unknown)}; known: {', '.join(OPTION_KEYS)}."
            )
        if "network" in layer and "domain" in layer and layer["network"] != layer["domain"]:
            raise InvalidPurgeOptions(
                f"options give domain={layer['domain']!r} and "
                f"network={layer['network']!r}; give one of them."
            )
        if "network" in layer:
            layer["domain"] = layer.pop("network")
        merged.update(layer)
    action = str(merged["action"]).lower()
    object_type = str(merged["type"]).lower()
    network = str(merged["domain"]).lower()
    if action not in _ACTIONS:
        raise InvalidPurgeOptions(
            f"Unknown action {merged['action']!r}; use 'invalidate' "
            "(Akamai's recommended default) or 'delete' ('remove')."
        )
    if object_type not in _TYPES:
        raise InvalidPurgeOptions(
            f"Unknown object type {merged['type']!r}; use 'url' ('arl'), 'cpcode' or 'tag'."
        )
    if network not in NETWORKS:
        raise InvalidPurgeOptions(
            f"Unknown network {merged['domain']!r}; use 'production' or 'staging'."
        )
    return PurgeOptions(action=_ACTIONS[action], type=_TYPES[object_type], network=network)


def parse(options: dict[str, Any] | PurgeOptions | None) -> PurgeOptions:
    """Options (v2 or v3 words) over ``AKAMAI_PURGE_OPTIONS``, validated."""
    if isinstance(options, PurgeOptions):
        return options
    # Every automatic purge parses the same few dicts: each is validated once per process
    # (``_parsed`` is forgotten with the settings). A dict that cannot be a key (a list for
    # a value, say) is simply parsed, and refused, every time.
    try:
        key = tuple(options.items()) if isinstance(options, dict) else options
        return _parsed()[key]
    except (KeyError, TypeError):
        parsed = parse_options(options, conf.get_setting("AKAMAI_PURGE_OPTIONS"))
    with contextlib.suppress(TypeError):
        _parsed()[key] = parsed
    return parsed


@conf.per_settings
def _parsed() -> dict[Any, PurgeOptions]:
    return {}


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


@dataclass(frozen=True)
class Plan:
    """Validated options and the normalised, de-duplicated objects to purge with them."""

    options: PurgeOptions
    objects: tuple[Any, ...]
    #: The account it purges on: a name of ``AKAMAI_ACCOUNTS``, or ``None`` for the default
    #: account (and for a plan not routed yet: ``funnel.route`` decides).
    account: str | None = None

    def __bool__(self) -> bool:
        return bool(self.objects)

    def __len__(self) -> int:
        return len(self.objects)


class Unplanned(NamedTuple):
    """Values a door asked to purge, to be planned later together with others (automatic
    purging inside a transaction or a ``suspend_purges()`` block: planning once for many
    saves costs far less than once per save). Each value that cannot be planned goes to
    ``on_error`` with its exception; the others are purged."""

    values: tuple[Any, ...]
    options: dict[str, Any]
    using: str
    account: str | None
    actor: str | None
    on_error: Callable[[Any, Exception], None]
