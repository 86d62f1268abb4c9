"""Seeded, realistic URL sets for the benchmarks.

Each URL is 30 to 300 characters long (most between 60 and 160, a long tail up to 300), on
one of a few hosts (one internationalised), with a unique id segment, slugs in several
scripts (Latin with accents, Cyrillic, Japanese, the odd emoji), some segments already
percent-encoded, and a query string on about a third of them. The same seed gives the same
list on every machine.
"""

from __future__ import annotations

import random

HOSTS = (
    ("https://www.example.com", 6),
    ("https://static.example.com", 2),
    ("http://m.example.org", 2),
    ("https://shop.example.net", 1),
    ("https://bücher.example.de", 1),
)
ASCII_WORDS = (
    "news",
    "sport",
    "2026",
    "article",
    "a-long-slug-with-several-words",
    "index.html",
    "product",
    "category",
    "img",
    "thumbnail_640x480.jpg",
    "%E2%82%AC-prices",
    "archive",
    "blog",
    "2025-12-31",
    "how-to-purge-a-cdn-cache",
    "page",
    "v2",
    "assets",
    "app.min.js",
)
UNICODE_WORDS = ("café", "übersicht", "straße", "déjà-vu", "новости", "日本語", "東京", "emoji-🎉")
#: Chance that a path segment is in a non-Latin script or accented: about a third of the URLs
#: end up with some non-ASCII character.
UNICODE_SHARE = 0.035
QUERY_KEYS = ("page", "sort", "q", "utm_source", "ref", "lang", "v")
QUERY_VALUES = ("1", "2", "desc", "feed", "newsletter", "fr", "ü-umlaut", "東京", "a%20b", "42")

MIN_LENGTH = 30
MAX_LENGTH = 300


def _target_length(rng: random.Random) -> int:
    return int(rng.triangular(MIN_LENGTH, MAX_LENGTH, 80))


def _trim(url: str, length: int) -> str:
    url = url[:length]
    # Never end inside a %XX escape or on a lone separator.
    while url[-1] in "%?&=/" or (len(url) > 1 and url[-2] == "%"):
        url = url[:-1]
    return url


def make_urls(count: int, seed: int = 2026) -> list[str]:
    """``count`` distinct URLs, as raw strings (unicode left as is, as callers hand them)."""
    rng = random.Random(seed)
    urls = []
    for index in range(count):
        length = _target_length(rng)
        host = rng.choices([h for h, _ in HOSTS], weights=[w for _, w in HOSTS])[0]
        base = f"{host}/{index:x}"
        parts = [base]
        size = len(base)
        while size < length:
            words = UNICODE_WORDS if rng.random() < UNICODE_SHARE else ASCII_WORDS
            word = rng.choice(words)
            parts.append(word)
            size += len(word) + 1
        url = "/".join(parts)
        if rng.random() < 0.35:
            pairs = [
                f"{rng.choice(QUERY_KEYS)}={rng.choice(QUERY_VALUES)}"
                for _ in range(rng.randint(1, 4))
            ]
            keep = max(len(base) + 2, length - len("&".join(pairs)) - 1)
            url = _trim(url, keep) + "?" + "&".join(pairs)
        url = _trim(url, length)
        if len(url) < MIN_LENGTH:
            url += "/" + "x" * (MIN_LENGTH - len(url) - 1)
        urls.append(url)
    return urls


def canonical(urls: list[str]) -> list[str]:
    """The URLs as django-akamai sends them (absolute, IDNA host, percent-encoded path)."""
    from django_akamai.normalise import normalise

    return list(normalise(urls, "url", []))


def describe(urls: list[str]) -> dict[str, float]:
    lengths = [len(url) for url in urls]
    return {
        "count": len(urls),
        "min_length": min(lengths),
        "max_length": max(lengths),
        "mean_length": round(sum(lengths) / len(lengths), 1),
        "non_ascii_share": round(sum(not url.isascii() for url in urls) / len(urls), 3),
        "query_share": round(sum("?" in url for url in urls) / len(urls), 3),
    }
