"""What to purge: options and objects, normalised and validated before anything is sent.

Turns whatever callers hand over (URL strings, bytes, model instances, QuerySets, nested
iterables; tags; CP codes) into clean values of one object type, raising a specific
``InvalidPurgeObject`` subclass that names the offending value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.utils.encoding import iri_to_uri

from .exceptions import (
    InvalidCPCode,
    InvalidPurgeOptions,
    InvalidTag,
    InvalidURL,
    NoBaseURLConfigured,
    UnsupportedPurgeObject,
)

# The original's defaults, in CCU v2 words; mapped to v3 words for Fast Purge.
DEFAULT_OPTIONS = {"action": "remove", "type": "arl", "domain": "production"}

_ACTIONS = {"invalidate": "invalidate", "delete": "delete", "remove": "delete"}
_TYPES = {"url": "url", "arl": "url", "cpcode": "cpcode", "tag": "tag"}
NETWORKS = ("production", "staging")
OPTION_KEYS = ("action", "type", "domain", "network")

# Akamai's cache tag rules: 1-128 characters, alphanumerics and these punctuation marks.
TAG_PATTERN = re.compile(r"^[A-Za-z0-9!#$%&'+\-./^_`|~]{1,128}$")
MAX_TAG_LENGTH = 128

# Whitespace (any Unicode kind) or C0/C1 control characters never belong in a URL to purge.
_BAD_URL_CHARS = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
# The printable ASCII characters iri_to_uri() percent-encodes (whitespace is refused earlier).
_QUOTED_BY_IRI_TO_URI = re.compile(r'[ "<>\\^`{|}]')
_HOSTNAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$")


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


def parse_options(
    options: dict[str, Any] | None, defaults: dict[str, Any] | None = None
) -> PurgeOptions:
    """Validate an options dict in v2 or v3 words (``domain`` and ``network`` are synonyms)."""
    merged: dict[str, Any] = dict(DEFAULT_OPTIONS)
    for layer in (defaults or {}, options or {}):
        if not isinstance(layer, dict):
            raise InvalidPurgeOptions(f"options must be a dict, not {type(layer).__name__}.")
        unknown = sorted(set(layer) - set(OPTION_KEYS))
        if unknown:
            raise InvalidPurgeOptions(
                f"Unknown purge option(s) {', '.join(unknown)}; known: {', '.join(OPTION_KEYS)}."
            )
        layer = dict(layer)
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


# --- flattening -------------------------------------------------------------------------


def _is_queryset(value: Any) -> bool:
    from django.db.models.query import QuerySet

    return isinstance(value, QuerySet)


def _is_model(value: Any) -> bool:
    from django.db.models import Model

    return isinstance(value, Model)


def iter_leaves(value: Any) -> Iterator[Any]:
    """Flatten lists, tuples, sets, generators and QuerySets (iterated lazily) into leaves."""
    if isinstance(value, (str, bytes, bytearray)) or value is None or _is_model(value):
        yield value
    elif _is_queryset(value):
        # .iterator() streams rows instead of caching the whole result on the QuerySet.
        yield from value.iterator()
    elif isinstance(value, dict):
        raise UnsupportedPurgeObject(
            "A dict cannot be purged; pass its URLs (e.g. list(d.values())).", value
        )
    elif isinstance(value, Iterable):
        for item in value:
            yield from iter_leaves(item)
    else:
        yield value


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "...'"


# --- URLs --------------------------------------------------------------------------------


def _absolute_url(url: str, original: Any) -> str:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(f"{_describe(original)} is not a valid URL ({exc}).", original) from None
    scheme = parts.scheme.lower()
    if not scheme:
        raise InvalidURL(
            f"{_describe(original)} has no scheme: give an absolute URL "
            "(https://www.example.com/path) or a path starting with '/'.",
            original,
        )
    if scheme not in ("http", "https"):
        raise InvalidURL(
            f"{_describe(original)} has scheme {scheme!r}; only http and https URLs can be purged.",
            original,
        )
    hostname = parts.hostname
    if not hostname:
        raise InvalidURL(f"{_describe(original)} has no host.", original)
    if parts.username is not None or parts.password is not None:
        raise InvalidURL(
            f"A URL to purge must not carry a user name or password (host {hostname!r}).", None
        )
    try:
        host = hostname if hostname.isascii() else hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidURL(
            f"{_describe(original)} has a host that is not a valid internationalised domain name.",
            original,
        ) from None
    if ":" in host:  # IPv6 literal
        netloc_host = f"[{host}]"
    elif _HOSTNAME.match(host):
        netloc_host = host
    else:
        raise InvalidURL(f"{_describe(original)} has an invalid host {host!r}.", original)
    netloc = netloc_host if port is None else f"{netloc_host}:{port}"
    # The fragment never reaches the edge, so it is not part of any cache key.
    url = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
    if url.isascii() and not _QUOTED_BY_IRI_TO_URI.search(url):
        return url  # what iri_to_uri would return, without its per-character work
    return iri_to_uri(url)


def normalise_url(value: Any, bases: list[str]) -> list[str]:
    """One URL-ish value as absolute, cache-key-normalised URLs (one per base for a path)."""
    original = value
    if value is None:
        raise InvalidURL("None is not a URL; did get_absolute_url() return None?", value)
    if isinstance(value, (bytes, bytearray)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidURL(f"{_describe(original)} is not UTF-8 text.", original) from None
    if isinstance(value, bool) or isinstance(value, (int, float)):
        raise InvalidURL(
            f"{value!r} is a number, not a URL; pass type='cpcode' to purge CP codes.", original
        )
    if not isinstance(value, str):
        raise UnsupportedPurgeObject(
            f"Cannot purge {_describe(original)} of type {type(original).__name__}: expected a URL "
            "string, a model instance with get_absolute_url(), a QuerySet, or a list of these.",
            original,
        )
    if not value:
        raise InvalidURL("An empty string is not a URL.", original)
    bad = _BAD_URL_CHARS.search(value)
    if bad:
        raise InvalidURL(
            f"{_describe(original)} contains whitespace or a control character "
            f"({bad.group()!r} at position {bad.start()}).",
            original,
        )
    if value.startswith("/") and not value.startswith("//"):
        if not bases:
            raise NoBaseURLConfigured(
                f"{_describe(original)} is a relative path; set AKAMAI_BASE_URL (e.g. "
                "'https://www.example.com', or a list of hosts to purge it on each) or pass "
                "absolute URLs."
            )
        return [_absolute_url(base + value, original) for base in bases]
    return [_absolute_url(value, original)]


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


# --- tags and CP codes ---------------------------------------------------------------------


def validate_tag(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidTag(f"{_describe(value)} is not UTF-8 text.", value) from None
    if not isinstance(value, str):
        raise InvalidTag(
            f"Cache tag {_describe(value)} is a {type(value).__name__}; tags are strings.", value
        )
    if not TAG_PATTERN.match(value):
        reason = (
            f"is {len(value)} characters long (at most {MAX_TAG_LENGTH})"
            if len(value) > MAX_TAG_LENGTH
            else "is empty"
            if not value
            else "has characters Akamai does not allow (only letters, digits and "
            "!#$%&'+-./^_`|~; no spaces, '*', '@', ':', '<>', '{}', '\\')"
        )
        raise InvalidTag(f"Cache tag {_describe(value)} {reason}.", value)
    return value


def validate_cpcode(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidCPCode(f"CP code {_describe(value)} is not a positive integer.", value)
    return value


def _tags(leaf: Any) -> Iterator[str]:
    """Prefixed tags for one leaf: a tag string, or an object's tags (see cache_tags)."""
    from .cache_tags import object_tags, prefixed

    if isinstance(leaf, (bytes, bytearray)):
        leaf = validate_tag(leaf)
    if isinstance(leaf, str):
        yield prefixed(leaf)
    elif _is_model(leaf) or hasattr(leaf, "get_cache_tags"):
        yield from (prefixed(validate_tag(tag)) for tag in object_tags(leaf))
    else:
        validate_tag(leaf)  # raises InvalidTag naming the type


def normalise(value: Any, object_type: str, bases: list[str] | None = None) -> Iterator[Any]:
    """Every object in ``value``, validated and normalised for ``object_type``."""
    bases = bases or []
    for leaf in iter_leaves(value):
        if object_type == "url":
            target = url_of(leaf) if _is_model(leaf) or hasattr(leaf, "get_absolute_url") else leaf
            yield from normalise_url(target, bases)
        elif object_type == "tag":
            yield from _tags(leaf)
        else:
            yield validate_cpcode(leaf)
