"""What to purge: options and objects, normalised and validated before anything is sent.

Turns whatever callers hand over (URL strings, bytes, model instances, QuerySets, nested
iterables; tags; CP codes) into clean values of one object type, raising a specific
``InvalidPurgeObject`` subclass that names the offending value.

``normalise_url()`` is the one careful definition of a clean URL; ``fast_urls()`` is a fast
path in front of it for the common case (a list's URLs are encoded a chunk at a time), held
to its exact results by tests/test_fast_path.py.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import idna
from django.utils.encoding import iri_to_uri

from .exceptions import (
    InvalidCPCode,
    InvalidPurgeObject,
    InvalidPurgeOptions,
    InvalidTag,
    InvalidURL,
    NoBaseURLConfigured,
    NotACPCode,
    NotATag,
    NotAURL,
    UnsupportedPurgeObject,
    without_userinfo,
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
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# The printable ASCII characters iri_to_uri() percent-encodes (whitespace is refused earlier).
_QUOTED_BY_IRI_TO_URI = re.compile(r'[ "<>\\^`{|}]')
_HOSTNAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$")
#: Lists in lists deeper than this are a mistake (or a list that contains itself).
MAX_NESTING = 100
#: Akamai's CP codes are far smaller; beyond a signed 64-bit integer no JSON parser agrees.
MAX_CPCODE = 2**63 - 1


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
            f"not {type(options).__name__} {_describe(options)}."
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


# --- flattening -------------------------------------------------------------------------


@functools.cache
def _orm() -> tuple[type, type]:
    """Django's Model and QuerySet, imported on first use (not when this module loads) and
    then kept: an import statement per object costs more than the check itself."""
    from django.db.models import Model
    from django.db.models.query import QuerySet

    return Model, QuerySet


def _is_queryset(value: Any) -> bool:
    return isinstance(value, _orm()[1])


def _is_model(value: Any) -> bool:
    return isinstance(value, _orm()[0])


def _is_leaf(value: Any) -> bool:
    return (
        isinstance(value, (str, bytes, bytearray))
        or value is None
        or _is_model(value)
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
        elif _is_leaf(item):
            yield item
        elif _is_queryset(item):
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


def _describe(value: Any) -> str:
    """A short repr for messages; whatever might be ``user:password@`` in a URL left out."""
    try:
        text = repr(without_userinfo(value))
    except Exception:  # an int beyond int()'s digit limit, or a repr that raises
        return f"<a {type(value).__name__} that cannot be shown>"
    return text if len(text) <= 200 else text[:200] + "...'"


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


def idna_host(host: str) -> str:
    """A non-ASCII host name as browsers and Akamai's edge send it: IDNA 2008 with UTS 46
    mapping, non-transitional (``faß.de`` is ``xn--fa-hia.de``, not IDNA 2003's ``fass.de``).

    Raises ``idna.IDNAError`` (a ``UnicodeError``) for a name no browser can resolve.
    """
    return idna.encode(host, uts46=True, transitional=False).decode("ascii")


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


# --- the fast path in front of the careful normaliser --------------------------------------
#
# Why: normalise_url() above is the one definition of a clean URL, and it is careful (it
# parses, encodes the host with IDNA, percent-encodes with iri_to_uri()), which costs some
# 30 µs a URL: most of the client's CPU on a large purge. Almost every URL a site hands over
# is the common case: "http(s)://" in lower case, a host seen a moment ago, a printable path
# and query. For those, fast_urls() does only the work that can change the result, with
# string methods that run in C, and returns None for anything else so that the careful path
# decides (and raises) as before:
#
# - the scheme and authority ("https://host:port") are normalised once per distinct value by
#   the careful path itself (normalise_url() of that origin plus "/"), then looked up;
# - the path and query are percent-encoded exactly as iri_to_uri() does. It works character
#   by character, so encoding the parts one by one equals encoding the whole, and so does
#   encoding 256 URLs joined by spaces (none of them holding one) and splitting them again:
#   a few C calls for the chunk instead of a few for every URL;
# - anything the careful path treats specially goes to it: a non-printable character or a
#   space (whitespace, controls, lone surrogates), "@" (a possible password), "#" (the
#   fragment is dropped there), a "?" with nothing after it, an empty path before "?", upper-
#   case schemes, and relative paths unless exactly one base URL is configured.
#
# tests/test_fast_path.py holds fast_urls() to the careful path's exact results (and
# errors) on random and adversarial input, one URL at a time and in chunks.

# What iri_to_uri() leaves alone: quote()'s always-safe characters plus its ``safe`` string.
_NOT_SAFE_FOR_IRI = re.compile(r"[^A-Za-z0-9_.\-~/#%\[\]=:;$&()+,!?*@']+")
# The printable ASCII characters iri_to_uri() percent-encodes (as bytes).
_QUOTED_ASCII = b'"<>\\^`{|}'
# Printable ASCII that needs no work at all: less space, "@" and "#" (for the careful path)
# and what iri_to_uri() encodes. Checked with bytes.translate(), far cheaper than a regex.
_KEPT_ASCII = bytes(c for c in range(0x21, 0x7F) if c not in b"@#" + _QUOTED_ASCII)
#: Origins kept (scheme + authority as written -> as normalised, or None if refused).
_MAX_ORIGINS = 4096
_origins: dict[str, str | None] = {}


def _percent_encode(match: re.Match) -> str:
    # "%C3%BC" for "ü": bytes.hex() with a separator does the work in C.
    return "%" + match.group().encode("utf-8").hex("%").upper()


# Swaps the case of ASCII letters, for _percent_encode_non_ascii(); bytes.translate() with a
# table is several times faster than bytes.swapcase().
_SWAP_CASE = bytes.maketrans(
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
)


def _percent_encode_non_ascii(text: str) -> str:
    """``text`` (printable, no backslash) with each byte of every non-ASCII character's UTF-8
    written ``%XX``, as iri_to_uri() writes it; the ASCII characters as they are.

    All in C, without a regex or a call per character: the UTF-8 bytes read as Latin-1 are
    escaped by Python's "backslashreplace" handler (``\\xc3``). It writes hex in lower case,
    so the ASCII letters are swapped before and after: the text's own come back as they were,
    the escapes' come out in upper case (``\\XC3``), and each ``\\X`` becomes ``%``. Hence no
    backslash in ``text``.
    """
    latin = text.encode("utf-8").translate(_SWAP_CASE).decode("latin-1")
    escaped = latin.encode("ascii", "backslashreplace").translate(_SWAP_CASE)
    return escaped.replace(b"\\X", b"%").decode("ascii")


def _encoded(text: str) -> str | None:
    """A path and query (or a URL whose origin is normalised already) as iri_to_uri() encodes
    it; None for what the careful path must see (whitespace, controls, lone surrogates, "@",
    "#", a backslash beside non-ASCII)."""
    if not text.isascii():
        if "\\" in text or not text.isprintable():
            return None
        text = _percent_encode_non_ascii(text)
    leftover = text.encode("ascii").translate(None, _KEPT_ASCII)
    if not leftover:
        return text
    if leftover.translate(None, _QUOTED_ASCII):
        return None  # a space, "@", "#" or a control character
    return _NOT_SAFE_FOR_IRI.sub(_percent_encode, text)


def _origin(written: str) -> str | None:
    """``scheme://authority`` as the careful path normalises it; None if it refuses it, or if
    the careful path must see the whole URL (user info, a query or fragment with no path)."""
    origin = _origins.get(written, "")
    if origin == "":
        if "@" in written or "?" in written or "#" in written:
            return None  # not kept: "@" may precede a password
        try:
            (url,) = normalise_url(written + "/", [])
        except InvalidPurgeObject:
            origin = None
        else:
            origin = url[:-1] if url.endswith("/") else None
        if len(_origins) >= _MAX_ORIGINS:
            _origins.clear()
        _origins[written] = origin
    return origin


#: URLs encoded together: large enough that the per-call cost of the string methods no
#: longer counts, small enough that one odd URL sends few others one by one.
_CHUNK = 256
# _KEPT_ASCII plus the space that joins the texts of a chunk.
_KEPT_ASCII_JOINED = _KEPT_ASCII + b" "


def _encoded_all(texts: list[str]) -> Sequence[str | None]:
    """``_encoded()`` of each, done once on them all joined by spaces (when none has one)
    if none needs more than percent-encoding its non-ASCII characters: a few C calls for the
    chunk instead of a few for each URL. Otherwise each on its own."""
    joined = " ".join(texts)
    if joined.count(" ") == len(texts) - 1:
        if joined.isascii():
            if not joined.encode("ascii").translate(None, _KEPT_ASCII_JOINED):
                return texts  # nothing to encode: the very strings, unchanged
        elif "\\" not in joined and joined.isprintable():
            encoded = _percent_encode_non_ascii(joined)
            if not encoded.encode("ascii").translate(None, _KEPT_ASCII_JOINED):
                return encoded.split(" ")
    return [_encoded(text) for text in texts]


def fast_urls(values: Sequence[str], base: str | None) -> list[str | None]:
    """``normalise_url(value, [base] if base else [])`` of each of ``values`` for the common
    case, else None, in chunks (see ``_encoded_all``)."""
    results: list[str | None] = []
    for start in range(0, len(values), _CHUNK):
        results.extend(_fast_chunk(values[start : start + _CHUNK], base))
    return results


def _fast_chunk(values: Sequence[str], base: str | None) -> list[str | None]:
    results: list[str | None] = [None] * len(values)
    # A URL whose origin is normalised already is encoded whole (the origin's characters are
    # all left as they are); another is its normalised origin plus its encoded path and
    # query. Three groups, each encoded at once: such URLs in ASCII, the same with other
    # characters, and the rest. Each group: where its texts stand in ``values``, the texts.
    plain: tuple[list[int], list[str]] = ([], [])
    wide: tuple[list[int], list[str]] = ([], [])
    renamed: tuple[list[int], list[str]] = ([], [])
    renamed_origins: list[str] = []
    known_origin = _origins.get
    for index, value in enumerate(values):
        if value[:1] == "/" and value[1:2] != "/":
            if base is None:
                continue
            url = base + value
        else:
            url = value
        if url.startswith("https://"):
            slash = url.find("/", 8)
        elif url.startswith("http://"):
            slash = url.find("/", 7)
        else:
            continue
        if slash < 0:  # no path: "/" is added (or "?", "#" or "@" sends it to the careful path)
            origin = _origin(url)
            results[index] = None if origin is None else origin + "/"
            continue
        if url[-1] == "?":
            continue
        written = url[:slash]
        origin = known_origin(written, "")
        if origin == "":
            origin = _origin(written)  # seen for the first time
        if origin is None:
            continue
        if origin != written:
            group, text = renamed, url[slash:]
            renamed_origins.append(origin)
        else:
            group, text = (plain if url.isascii() else wide), url
        group[0].append(index)
        group[1].append(text)
    for at, texts in (plain, wide):
        if texts:
            for index, encoded in zip(at, _encoded_all(texts), strict=True):
                results[index] = encoded
    at, texts = renamed
    if texts:
        for index, origin, encoded in zip(at, renamed_origins, _encoded_all(texts), strict=True):
            results[index] = None if encoded is None else origin + encoded
    return results


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
        raise NotATag(
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


def _is_model_class(value: Any) -> bool:
    from django.db.models import Model

    return isinstance(value, type) and issubclass(value, Model)


def _tags(leaf: Any) -> Iterator[str]:
    """Prefixed tags for one leaf: a tag string, an object's tags, or the list tag of a
    QuerySet's or model class's model (see cache_tags)."""
    from .cache_tags import model_tag, object_tags, prefixed

    if isinstance(leaf, (bytes, bytearray)):
        leaf = validate_tag(leaf)
    if isinstance(leaf, str):
        yield prefixed(leaf)
    elif _is_queryset(leaf):
        yield prefixed(model_tag(leaf.model))
    elif _is_model_class(leaf):
        yield prefixed(model_tag(leaf))
    elif _is_model(leaf) or hasattr(leaf, "get_cache_tags"):
        yield from (prefixed(validate_tag(tag)) for tag in object_tags(leaf))
    else:
        validate_tag(leaf)  # raises InvalidTag naming the type


def _flat_urls(values: list[str] | tuple[str, ...], bases: list[str]) -> list[str]:
    """``_urls()`` of a flat list of strings (the common call): nothing to flatten, and the
    fast path takes them all at once."""
    urls = fast_urls(values, bases[0] if len(bases) == 1 else None)
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
        elif _is_model(leaf) or hasattr(leaf, "get_absolute_url"):
            target = url_of(leaf)
        else:
            target = leaf
        if type(target) is str:
            pending.append(target)
            if len(pending) >= _CHUNK:
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
            yield from _tags(leaf)
        else:
            yield validate_cpcode(leaf)
