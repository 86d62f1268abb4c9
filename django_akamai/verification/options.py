"""``AKAMAI_VERIFY``: whether purges are verified at the edge, and how; read and validated here.

``AKAMAI_VERIFY`` is a dict (unset or ``None``: off). Every key is optional::

    AKAMAI_VERIFY = {
        "EDGE": "https://www.example.com.edgekey-staging.net",  # connect here, Host: the URL's
        "ORIGIN": None,          # the origin, asked for the current ETag/Last-Modified
        "SAMPLE": 10,            # URLs checked per purge request, at most
        "MARGIN": 2.0,           # seconds waited after estimatedSeconds
        "RATE": 10.0,            # requests per second to the edge and origin, at most
        "CONCURRENCY": 4,        # requests in flight at once, at most
        "TIMEOUT": 10.0,         # seconds per request (connect and read)
        "NETWORK": "production", # whose purges are checked
        "LAST_MODIFIED": True,   # a copy whose Last-Modified predates the change is stale
        "TAG_URLS": None,        # dotted path: callable(tags) -> the URLs carrying them
        "REPURGE": True,         # purge a stale URL once more, then check it again
    }

Plain http goes only to loopback hosts (the emulator), as everywhere in django-akamai.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.utils.module_loading import import_string

from .. import conf
from ..exceptions import AkamaiConfigurationError
from ..hosts import is_loopback
from ..options import NETWORKS

__all__ = ["VerifyOptions", "enabled", "verify_options"]

SETTING = "AKAMAI_VERIFY"

#: Key: (kind, default, smallest value).
_NUMBERS: dict[str, tuple[type, float, float]] = {
    "SAMPLE": (int, 10, 1),
    "MARGIN": (float, 2.0, 0.0),
    "RATE": (float, 10.0, 0.001),
    "CONCURRENCY": (int, 4, 1),
    "TIMEOUT": (float, 10.0, 0.001),
}
_FLAGS = {"LAST_MODIFIED": True, "REPURGE": True}
KEYS = frozenset({*_NUMBERS, *_FLAGS, "EDGE", "ORIGIN", "NETWORK", "TAG_URLS"})


@dataclass(frozen=True)
class VerifyOptions:
    edge: str | None = None  # scheme://host[:port], or None: connect to each URL's own host
    origin: str | None = None
    sample: int = 10
    margin: float = 2.0
    rate: float = 10.0
    concurrency: int = 4
    timeout: float = 10.0
    network: str = "production"
    last_modified: bool = True
    tag_urls: Callable[[list[str]], Iterable[str]] | None = None
    repurge: bool = True


def enabled() -> bool:
    """Whether ``AKAMAI_VERIFY`` is set (to anything but ``None``/``False``/``{}``)."""
    value = conf.get_setting(SETTING)  # its rules are parse()'s, below
    return value is not None and value is not False and value != {}


def _bad(message: str) -> AkamaiConfigurationError:
    return AkamaiConfigurationError(f"{SETTING}: {message}")


def _address(key: str, value: Any) -> str | None:
    """An ``http(s)://host[:port]`` address: https, or http to a loopback host."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad(f"{key!r} must be an address such as 'https://edge.example.net', not {value!r}.")
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        raise _bad(f"{key!r} is not an address: {value!r}.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad(f"{key!r} must be an http(s)://host[:port] address, not {value!r}.")
    if parts.path.strip("/") or parts.query:
        raise _bad(f"{key!r} must be a bare address without a path, not {value!r}.")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise _bad(
            f"{key!r} is plain http to {parts.hostname!r}; plain http only goes to loopback "
            "hosts (the emulator). Use https://."
        )
    netloc = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{netloc}" + (f":{port}" if port else "")


def _number(key: str, value: Any) -> int | float:
    kind, default, minimum = _NUMBERS[key]
    if value is None:
        return kind(default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(f"{key!r} must be a number, not {value!r}.")
    if kind is int and value != int(value):
        raise _bad(f"{key!r} must be a whole number, not {value!r}.")
    if value < minimum:
        raise _bad(f"{key!r} must be at least {minimum:g}, not {value!r}.")
    return kind(value)


def parse(value: Any) -> VerifyOptions:
    """``AKAMAI_VERIFY``'s value as options; ``AkamaiConfigurationError`` naming a bad key."""
    if value is True:
        value = {}
    if not isinstance(value, dict):
        raise _bad(f"must be a dict of options (or None: off), not {value!r}.")
    unknown = sorted(str(k) for k in value if k not in KEYS)
    if unknown:
        raise _bad(
            f"unknown key(s) {', '.join(map(repr, unknown))}; known: {', '.join(sorted(KEYS))}."
        )
    network = value.get("NETWORK", "production")
    if network not in NETWORKS:
        raise _bad(f"'NETWORK' must be one of {', '.join(NETWORKS)}, not {network!r}.")
    flags = {}
    for key, default in _FLAGS.items():
        flag = value.get(key, default)
        if not isinstance(flag, bool):
            raise _bad(f"{key!r} must be True or False, not {flag!r}.")
        flags[key.lower()] = flag
    tag_urls = value.get("TAG_URLS")
    if isinstance(tag_urls, str):
        try:
            tag_urls = import_string(tag_urls)
        except ImportError as exc:
            raise _bad(f"'TAG_URLS' {value['TAG_URLS']!r} cannot be imported: {exc}") from None
    if tag_urls is not None and not callable(tag_urls):
        raise _bad(f"'TAG_URLS' must be a callable or its dotted path, not {tag_urls!r}.")
    return VerifyOptions(
        edge=_address("EDGE", value.get("EDGE")),
        origin=_address("ORIGIN", value.get("ORIGIN")),
        network=network,
        tag_urls=tag_urls,
        **{key.lower(): _number(key, value.get(key)) for key in _NUMBERS},  # type: ignore[arg-type]
        **flags,
    )


def verify_options() -> VerifyOptions | None:
    """The validated options, or None when verification is off."""
    value = conf.get_setting(SETTING)
    if not value:
        return None
    return parse(value)
