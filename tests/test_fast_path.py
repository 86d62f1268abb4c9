"""The URL fast path gives exactly the careful normaliser's results, and its errors.

``fast.fast_urls()`` sits in front of ``careful_path.normalise_url()`` for speed only: on any
input, ``normalise()`` must return the same URLs, or raise the same exception with the same
message, as the careful path alone. Hypothesis draws URLs from parts chosen to hit every rule
of the careful path (case, IDN hosts, ports, user info, percent-escapes, query strings,
fragments, whitespace, controls, lone surrogates) and from unstructured text.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from django_akamai import normalise
from django_akamai.exceptions import AkamaiError
from django_akamai.normalise import careful as careful_path
from django_akamai.normalise import fast

SCHEMES = ["https", "http", "HTTP", "Https", "ftp", "", "https:", "https:/"]
HOSTS = [
    "www.example.com",
    "WWW.Example.COM",
    "static.example.com.",
    "bücher.example.de",
    "BÜCHER.example.de",
    "faß.de",
    "ΒΌΛΟΣ.com",
    "xn--nxasmq6b.com",
    "xn--zz.com",
    "例え.テスト",
    "a..b",
    "-a.example.com",
    "a_b.example.com",
    "127.0.0.1",
    "[::1]",
    "[::1",
    "[fe80::1%25eth0]",
    "",
    "ex ample.com",
    "exa\tmple.com",
    "ｅｘａｍｐｌｅ.com",
    "ex%41mple.com",
    "a" * 64 + ".com",
]
PORTS = ["", ":80", ":080", ":443", ":", ":65535", ":65536", ":abc", ":-1", ":0"]
USERINFO = ["", "user@", "user:secret@", ":@", "@"]
PATH_CHARS = st.sampled_from(
    list("abcXYZ019-._~/%:;=&$()+,!*'[]@?#")
    + ['"', "<", ">", "\\", "^", "`", "{", "|", "}", " ", "\t", "\n", "\x00", "\x7f"]
    + ["\x85", "\xa0", "\u200b", "\u2028", "\u3000", "\ufeff", "\ud800", "\udfff"]
    + ["é", "ü", "ß", "日", "本", "🎉", "\U0010ffff", "%E2%82%AC", "%zz", "%", "%4", "//"]
)
path = st.lists(PATH_CHARS, max_size=30).map("".join)

structured = st.builds(
    lambda scheme, user, host, port, p, query, fragment: (
        f"{scheme}://{user}{host}{port}{p}{query}{fragment}"
    ),
    st.sampled_from(SCHEMES),
    st.sampled_from(USERINFO),
    st.sampled_from(HOSTS),
    st.sampled_from(PORTS),
    st.one_of(st.just(""), path.map(lambda p: "/" + p)),
    st.one_of(st.just(""), st.just("?"), path.map(lambda p: "?" + p)),
    st.one_of(st.just(""), st.just("#"), path.map(lambda p: "#" + p)),
)
# Mostly what sites hand over, so that the fast path itself is exercised often.
MILD_CHARS = st.sampled_from(
    list("abcXYZ019-._~/%:;=&$()+,!*'[]")
    + ['"', "<", ">", "^", "`", "{", "|", "}", "\\"]
    + ["é", "ü", "ß", "日", "🎉", "%E2%82%AC", "%zz", "%", "?", "&q=", "?q="]
)
mild_path = st.lists(MILD_CHARS, max_size=40).map("".join)
common = st.builds(
    lambda scheme, host, port, p: f"{scheme}://{host}{port}/{p}",
    st.sampled_from(["https", "http"]),
    st.sampled_from(HOSTS),
    st.sampled_from(PORTS),
    mild_path,
)
relative = st.one_of(path, mild_path).map(lambda p: "/" + p)
BASES = [
    [],
    ["https://www.example.com"],
    ["http://bücher.example.de/sub"],
    ["https://WWW.Example.com:8443"],
    ["https://www.example.com", "https://m.example.com"],
    ["https://user:secret@www.example.com"],
]


def fast_url(value: str, base: str | None) -> str | None:
    """The fast path's answer for one URL on its own."""
    return fast.fast_urls([value], base)[0]


def careful(value: str, bases: list[str]):
    try:
        return careful_path.normalise_url(value, bases)
    except AkamaiError as exc:
        return type(exc), str(exc)


def through_normalise(value: str, bases: list[str]):
    try:
        return list(normalise.normalise([value], "url", bases))
    except AkamaiError as exc:
        return type(exc), str(exc)


def check(value: str, bases: list[str]) -> None:
    expected = careful(value, bases)
    assert through_normalise(value, bases) == expected
    fast = fast_url(value, bases[0] if len(bases) == 1 else None)
    if fast is not None:
        assert [fast] == expected


@settings(max_examples=1500, deadline=None)
@given(st.one_of(common, structured, relative, st.text(max_size=60)), st.sampled_from(BASES))
@example("https://www.example.com/a?", [])
@example("https://www.example.com?q=1", [])
@example("https://www.example.com", [])
@example("https://www.example.com/%zz/é?q=日本#frag", [])
@example("/a//user:pw@host/", ["https://www.example.com"])
@example("https://bücher.example.de/straße", [])
@example("http://www.example.com:080/x", [])
def test_fast_path_matches_the_careful_path(value, bases):
    check(value, bases)


@pytest.mark.parametrize(
    "value, bases",
    [
        ("https://www.example.com/news/2026/café?page=2&q=東京", []),
        ("https://bücher.example.de/übersicht", []),
        ("http://m.example.org/a%20b/index.html", []),
        ("/items/1/slug/", ["https://www.example.com"]),
        ("https://www.example.com", []),
    ],
)
def test_common_urls_take_the_fast_path(value, bases):
    assert fast_url(value, bases[0] if bases else None) is not None
    check(value, bases)


def test_an_unchanged_url_is_returned_as_given():
    url = "https://www.example.com/already/clean?page=2"
    assert fast_url(url, None) is url


# A common URL with one character that the fast path must not take as it is, somewhere in
# its path or query: the URLs beside it in a chunk must come out as they would alone.
odd_one = st.builds(
    lambda url, char, at: (
        url[: max(at % len(url), url.find("/", 8) + 1)]
        + char
        + url[max(at % len(url), url.find("/", 8) + 1) :]
    ),
    common,
    st.sampled_from(
        [" ", "\\", "\t", "\n", "\x00", "\x7f", "\xa0", "\u3000", "\ud800", "@", "#", '"']
    ),
    st.integers(min_value=0, max_value=200),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(common, common, odd_one, structured, relative), max_size=12),
    st.sampled_from(BASES),
    st.integers(min_value=1, max_value=5),
)
def test_lists_in_chunks_match_one_url_at_a_time(values, bases, chunk):
    """fast_urls() encodes the paths of a chunk joined together: one odd URL (a space, a
    backslash, a control character) must not change what its neighbours get."""
    base = bases[0] if len(bases) == 1 else None
    with chunk_size(chunk):
        together = fast.fast_urls(values, base)
        assert together == [fast_url(value, base) for value in values]
        try:
            expected = [url for value in values for url in careful_path.normalise_url(value, bases)]
        except AkamaiError as exc:
            expected = (type(exc), str(exc))
        try:
            got = list(normalise.normalise(values, "url", bases))
        except AkamaiError as exc:
            got = (type(exc), str(exc))
        assert got == expected


@contextlib.contextmanager
def chunk_size(size: int):
    """The fast path's chunk size set small, so that short lists span several chunks."""
    saved = fast.CHUNK
    fast.CHUNK = size
    try:
        yield
    finally:
        fast.CHUNK = saved


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_non_ascii_percent_encoding_is_iri_to_uris(text):
    from django.utils.encoding import iri_to_uri

    text = "".join(c for c in text if c.isprintable() and c not in " \\")
    expected = "".join(c if c.isascii() else iri_to_uri(c) for c in text)
    assert fast._percent_encode_non_ascii(text) == expected
