"""The careful path: the one definition of a clean, absolute, cache-key-normal URL."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.utils.encoding import iri_to_uri

from ..exceptions import (
    InvalidURL,
    NoBaseURLConfigured,
    NotAURL,
    UnsupportedPurgeObject,
    without_userinfo,
)
from ..exceptions import describe as _describe
from ..hosts import HOSTNAME, idna_host

__all__ = ["normalise_url"]

# Whitespace (any Unicode kind) or C0/C1 control characters never belong in a URL to purge.
_BAD_URL_CHARS = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# The printable ASCII characters iri_to_uri() percent-encodes (whitespace is refused earlier).
_QUOTED_BY_IRI_TO_URI = re.compile(r'[ "<>\\^`{|}]')


def _has_password(url: str) -> bool:
    """Whether the authority of ``url`` (from "//" to the first "/", "?" or "#") has
    ``user:password@``."""
    authority = re.split(r"[/?#]", url.partition("//")[2], maxsplit=1)[0]
    return ":" in authority.rpartition("@")[0]


# --- URLs --------------------------------------------------------------------------------


def _raw_host(netloc: str) -> str:
    """The host as written (case kept): UTS 46 maps case itself, and ``str.lower()`` would
    apply Greek final-sigma rules that browsers do not (``ΒΌΛΟΣ`` must become ``βόλοσ``)."""
    host = netloc.rpartition("@")[2]
    if host.startswith("["):
        return host
    return host.partition(":")[0]


def _absolute_url(url: str, original: Any) -> str:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        # urlsplit's message quotes the "port", which may be a password: only without one.
        reason = f" ({exc})" if without_userinfo(url) == url else ""
        raise InvalidURL(f"{_describe(original)} is not a valid URL{reason}.", original) from None
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
    if hostname.isascii():
        host = hostname
    else:
        try:
            host = idna_host(_raw_host(parts.netloc)).lower()
        except UnicodeError as exc:  # idna.IDNAError is one
            raise InvalidURL(
                f"{_describe(original)} has a host that is not a valid internationalised "
                f"domain name (IDNA 2008: {exc}).",
                original,
            ) from None
    if ":" in host:  # IPv6 literal
        netloc_host = f"[{host}]"
    elif HOSTNAME.match(host):
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
        raise NotAURL("None is not a URL; did get_absolute_url() return None?", value)
    if isinstance(value, (bytes, bytearray)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidURL(f"{_describe(original)} is not UTF-8 text.", original) from None
    if isinstance(value, bool) or isinstance(value, (int, float)):
        raise NotAURL(
            f"{_describe(value)} is a number, not a URL; pass type='cpcode' to purge CP codes.",
            original,
        )
    if not isinstance(value, str):
        raise UnsupportedPurgeObject(
            f"Cannot purge {_describe(original)} of type {type(original).__name__}: expected a URL "
            "string, a model instance with get_absolute_url(), a QuerySet, or a list of these.",
            original,
        )
    if not value:
        raise InvalidURL("An empty string is not a URL.", original)
    if _has_password(value):
        # First, and without the value: no later message may echo the password.
        raise InvalidURL(
            "A URL to purge must not carry a user name and password (user:password@); "
            "the URL is not shown here so that the password is not either.",
            None,
        )
    surrogate = _LONE_SURROGATE.search(value)
    if surrogate:
        # Text decoded with errors="surrogateescape" (an undecodable file name or argv):
        # it cannot be encoded as UTF-8, so it names no URL.
        raise InvalidURL(
            f"{_describe(original)} contains a lone surrogate "
            f"(U+{ord(surrogate.group()):04X} at position {surrogate.start()}), not text: "
            "decode the bytes it came from as UTF-8.",
            original,
        )
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
