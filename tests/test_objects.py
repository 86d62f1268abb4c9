"""Normalising and validating what to purge: no network, nothing sent."""

import pytest

from django_akamai.exceptions import (
    InvalidCPCode,
    InvalidPurgeOptions,
    InvalidTag,
    InvalidURL,
    NoBaseURLConfigured,
    ObjectTooLarge,
    UnsupportedPurgeObject,
)
from django_akamai.objects import normalise, normalise_url, parse_options
from django_akamai.purge import PurgeRequest
from tests.testapp.models import Article, Note, Page

V3 = {
    "host": "akab-test.purge.akamaiapis.net",
    "client_token": "akab-ct",
    "client_secret": "s3cr3t-value",
    "access_token": "akab-at-value",
}


def v3_request(**kwargs):
    return PurgeRequest(**V3, **kwargs)


@pytest.mark.parametrize(
    "given, expected",
    [
        ("https://www.example.com/a", "https://www.example.com/a"),
        ("HTTPS://WWW.Example.COM/a/B", "https://www.example.com/a/B"),
        ("https://www.example.com", "https://www.example.com/"),
        ("https://www.example.com/a#section", "https://www.example.com/a"),
        ("https://www.example.com/a?x=1&y=2", "https://www.example.com/a?x=1&y=2"),
        ("https://bücher.example/straße", "https://xn--bcher-kva.example/stra%C3%9Fe"),
        ("https://www.example.com/é?q=ü", "https://www.example.com/%C3%A9?q=%C3%BC"),
        ("https://www.example.com/already%20quoted", "https://www.example.com/already%20quoted"),
        ("http://www.example.com:8080/x", "http://www.example.com:8080/x"),
        (b"https://www.example.com/bytes", "https://www.example.com/bytes"),
        ("/relative/path/", "https://www.example.com/relative/path/"),
    ],
)
def test_urls_normalised_as_cache_keys(given, expected):
    assert normalise_url(given, ["https://www.example.com"]) == [expected]


def test_relative_path_is_purged_on_every_configured_host():
    bases = ["https://www.example.com", "https://m.example.com"]
    assert normalise_url("/a/", bases) == ["https://www.example.com/a/", "https://m.example.com/a/"]


def test_add_deduplicates_in_order(settings):
    pr = v3_request()
    added = pr.add(
        [
            "https://www.example.com/b",
            "/a",
            "https://www.example.com/b#x",
            "https://WWW.example.com/a",
            "/c",
        ]
    )
    assert pr.urls == [
        "https://www.example.com/b",
        "https://www.example.com/a",
        "https://www.example.com/c",
    ]
    assert added == 3
    assert pr.add("/a") == 0
    assert len(pr.urls) == 3


@pytest.mark.django_db
def test_add_accepts_every_sender_kind():
    Article.objects.create(slug="one")
    Article.objects.create(slug="two")
    page = Page.objects.create(path="/page/")
    pr = v3_request()
    pr.add("https://www.example.com/string")
    pr.add(["/list-1", "/list-2"])
    pr.add(("/tuple",))
    pr.add({"/set"})
    pr.add(f"/gen-{i}" for i in range(2))
    pr.add(page)
    pr.add(Article.objects.order_by("slug"))
    pr.add(["/mixed", page, Article.objects.filter(slug="one")])
    assert pr.urls == [
        "https://www.example.com/string",
        "https://www.example.com/list-1",
        "https://www.example.com/list-2",
        "https://www.example.com/tuple",
        "https://www.example.com/set",
        "https://www.example.com/gen-0",
        "https://www.example.com/gen-1",
        "https://www.example.com/page/",
        "https://www.example.com/articles/one/",
        "https://www.example.com/articles/two/",
        "https://www.example.com/mixed",
    ]


BAD_URLS = [
    (None, InvalidURL, "None"),
    (b"\xff\xfe", InvalidURL, "not UTF-8"),
    (42, InvalidURL, "42"),
    (3.5, InvalidURL, "3.5"),
    (True, InvalidURL, "True"),
    ("", InvalidURL, "empty"),
    ("ftp://www.example.com/file", InvalidURL, "ftp"),
    ("javascript:alert(1)", InvalidURL, "javascript"),
    ("https:///no-host", InvalidURL, "no host"),
    ("www.example.com/no-scheme", InvalidURL, "www.example.com/no-scheme"),
    ("https://www.example.com/a b", InvalidURL, "whitespace"),
    ("https://www.example.com/a\tb", InvalidURL, "whitespace"),
    ("https://www.example.com/a\nb", InvalidURL, "whitespace"),
    ("https://www.example.com/a\x00b", InvalidURL, "control"),
    ("https://www.example.com/a\x7f", InvalidURL, "control"),
    ("https://www.example.com/a\u00a0b", InvalidURL, "whitespace"),
    ("https://bad host.com/", InvalidURL, "bad host.com"),
    ("https://exa$mple.com/", InvalidURL, "exa$mple.com"),
    ("https://www.example.com:99999/", InvalidURL, "99999"),
    ("https://user:pw@www.example.com/", InvalidURL, "user name or password"),
    (object(), UnsupportedPurgeObject, "object"),
    ({"url": "/a"}, UnsupportedPurgeObject, "dict"),
]


@pytest.mark.parametrize("value, exc, fragment", BAD_URLS, ids=[repr(b[0])[:30] for b in BAD_URLS])
def test_bad_urls_raise_specific_errors_naming_the_value(value, exc, fragment):
    pr = v3_request()
    pr.add("/kept")
    with pytest.raises(exc) as info:
        pr.add(["/fine-but-not-added", value])
    assert fragment in str(info.value)
    assert pr.urls == ["https://www.example.com/kept"], "a failed add() queues nothing of its call"


def test_unsupported_object_is_also_a_type_error_like_the_original():
    with pytest.raises(TypeError):
        v3_request().add(object())


@pytest.mark.django_db
def test_model_without_get_absolute_url_is_refused_with_its_name():
    note = Note.objects.create(text="x")
    with pytest.raises(UnsupportedPurgeObject, match="Note .*get_absolute_url"):
        v3_request().add(note)


def test_relative_path_without_base_url(settings):
    settings.AKAMAI_BASE_URL = None
    with pytest.raises(NoBaseURLConfigured, match="/about/.*AKAMAI_BASE_URL"):
        v3_request().add("/about/")


def test_url_too_large_for_one_request():
    huge = "https://www.example.com/" + "a" * 50_000
    with pytest.raises(ObjectTooLarge, match="50000 bytes"):
        v3_request().add(huge)


def test_largest_url_that_fits_is_accepted():
    envelope = len(b'{"objects":[""]}')
    url = "https://www.example.com/" + "a" * (50_000 - envelope - len("https://www.example.com/"))
    pr = v3_request()
    pr.add(url)
    assert pr.urls == [url]
    with pytest.raises(ObjectTooLarge):
        pr.add(url + "b")


@pytest.mark.parametrize("tag", ["article-1", "a", "x" * 128, "A.b_c~d|e`f^g'h+i#j$k%l&m!n/o"])
def test_valid_tags(tag):
    pr = v3_request(options={"type": "tag"})
    pr.add(tag)
    assert pr.urls == [tag]


@pytest.mark.parametrize(
    "tag, fragment",
    [
        ("", "empty"),
        ("x" * 129, "129 characters"),
        ("has space", "not allow"),
        ("star*", "not allow"),
        ("at@", "not allow"),
        ("colon:", "not allow"),
        ("<angle>", "not allow"),
        ("{brace}", "not allow"),
        ("back\\slash", "not allow"),
        ("ünicode", "not allow"),
        (7, "int"),
        (None, "NoneType"),
    ],
)
def test_invalid_tags(tag, fragment):
    pr = v3_request(options={"type": "tag"})
    with pytest.raises(InvalidTag) as info:
        pr.add([tag])
    assert fragment in str(info.value)
    assert pr.urls == []


def test_cpcodes():
    pr = v3_request(options={"type": "cpcode"})
    pr.add([12345, "678", 12345])
    assert pr.urls == [12345, 678]


@pytest.mark.parametrize("code", [0, -5, 1.5, "12a", True, None, "https://x.com/"])
def test_invalid_cpcodes(code):
    with pytest.raises(InvalidCPCode, match="positive integer"):
        v3_request(options={"type": "cpcode"}).add([code])


@pytest.mark.parametrize(
    "options, expected",
    [
        (None, ("delete", "url", "production")),
        ({"action": "remove", "type": "arl", "domain": "staging"}, ("delete", "url", "staging")),
        ({"action": "invalidate"}, ("invalidate", "url", "production")),
        ({"action": "delete", "type": "tag", "network": "staging"}, ("delete", "tag", "staging")),
        ({"type": "cpcode"}, ("delete", "cpcode", "production")),
    ],
)
def test_options_map_between_api_words(options, expected):
    parsed = parse_options(options)
    assert (parsed.action, parsed.type, parsed.network) == expected


@pytest.mark.parametrize(
    "options, fragment",
    [
        ({"action": "purge"}, "purge"),
        ({"type": "page"}, "page"),
        ({"domain": "prod"}, "prod"),
        ({"netwrok": "staging"}, "netwrok"),
        ({"domain": "staging", "network": "production"}, "one of them"),
    ],
)
def test_bad_options_fail_at_construction(options, fragment):
    with pytest.raises(InvalidPurgeOptions, match=fragment):
        v3_request(options=options)


def test_v2_cannot_purge_tags():
    with pytest.raises(InvalidPurgeOptions, match="tag"):
        PurgeRequest(username="u", password="p", options={"type": "tag"})


def test_normalise_is_lazy_over_generators():
    consumed = []

    def gen():
        for i in range(3):
            consumed.append(i)
            yield f"/g{i}"

    iterator = normalise(gen(), "url", ["https://www.example.com"])
    assert consumed == []
    assert next(iterator) == "https://www.example.com/g0"
    assert consumed == [0]


@pytest.mark.parametrize("char", [chr(c) for c in range(33, 127)] + ["é", "ü", "€", "日"])
def test_fast_path_matches_iri_to_uri_for_every_printable_character(char):
    from django.utils.encoding import iri_to_uri

    url = f"https://www.example.com/a{char}b?q={char}"
    if char == "#":
        expected = "https://www.example.com/a"  # the fragment is dropped
    else:
        expected = iri_to_uri(url)
    assert normalise_url(url, []) == [expected]
