"""The fast path in front of the careful normaliser, held to its exact results by
tests/test_fast_path.py."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..exceptions import InvalidPurgeObject
from .careful import normalise_url

__all__ = ["CHUNK", "fast_urls"]

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
CHUNK = 256
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
    for start in range(0, len(values), CHUNK):
        results.extend(_fast_chunk(values[start : start + CHUNK], base))
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
