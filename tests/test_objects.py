"""Normalising and validating what to purge: no network, nothing sent."""

import pickle

import pytest

from django_akamai.exceptions import (
    InvalidCPCode,
    InvalidPurgeObject,
    InvalidPurgeOptions,
    InvalidTag,
    InvalidURL,
    NoBaseURLConfigured,
    NotACPCode,
    NotATag,
    NotAURL,
    ObjectTooLarge,
    UnsupportedPurgeObject,
)
from django_akamai.normalise import MAX_NESTING, normalise, normalise_url
from django_akamai.options import parse_options
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


def test_a_later_add_skips_what_is_queued_even_after_urls_were_edited(settings):
    settings.AKAMAI_BASE_URL = "https://www.example.com"
    pr = v3_request()
    assert pr.add(["/a", "/b"]) == 2
    assert pr.add(["/b", "/c"]) == 1  # the set of queued objects is first built here
    pr.urls.remove("https://www.example.com/a")  # by hand, as the original allowed
    assert pr.add(["/a", "/c", "/d"]) == 2
    assert pr.urls == [
        "https://www.example.com/b",
        "https://www.example.com/c",
        "https://www.example.com/a",
        "https://www.example.com/d",
    ]


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
    (None, NotAURL, "None"),
    (b"\xff\xfe", InvalidURL, "not UTF-8"),
    (42, NotAURL, "42"),
    (3.5, NotAURL, "3.5"),
    (True, NotAURL, "True"),
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
    ("https://user:pw@www.example.com/", InvalidURL, "user name and password"),
    ("https://user@www.example.com/", InvalidURL, "user name or password"),
    ("https://www.example.com/caf\udce9", InvalidURL, "lone surrogate (U+DCE9"),
    ("https://caf\udce9.example/", InvalidURL, "lone surrogate"),
    ("https://ab\u200dc.example/", InvalidURL, "IDNA 2008"),
    ("https://\u2603.example/", InvalidURL, "IDNA 2008"),
    ("https://-bad.ünicode.example/", InvalidURL, "IDNA 2008"),
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


@pytest.mark.parametrize("tag", ["article-1", "a", "x" * 128, "A.b_c~d|e`f^g'h+i#j$k%l&m!no"])
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
        ("caf\udce9", "not allow"),
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


@pytest.mark.parametrize(
    "code",
    # "²" and "١٢" (Arabic-Indic 12) pass str.isdigit(); int() even accepts the second.
    [0, -5, 1.5, "12a", True, None, "https://x.com/", "²", "١٢", "１２", "9" * 5000, "+5", "0"]
    + ["9" * 30, 2**63, 10**5000],
    ids=lambda code: "huge-int" if code == 10**5000 else repr(code)[:20],
)
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
    from django_akamai.normalise.fast import CHUNK as _CHUNK

    consumed = []

    def gen():
        for i in range(3 * _CHUNK):
            consumed.append(i)
            yield f"/g{i}"

    iterator = normalise(gen(), "url", ["https://www.example.com"])
    assert consumed == []
    assert next(iterator) == "https://www.example.com/g0"
    # Read a chunk at a time (for the fast path), never the whole generator at once.
    assert len(consumed) == _CHUNK
    assert len(list(iterator)) == 3 * _CHUNK - 1
    assert len(consumed) == 3 * _CHUNK


@pytest.mark.parametrize("char", [chr(c) for c in range(33, 127)] + ["é", "ü", "€", "日"])
def test_fast_path_matches_iri_to_uri_for_every_printable_character(char):
    from django.utils.encoding import iri_to_uri

    url = f"https://www.example.com/a{char}b?q={char}"
    if char == "#":
        expected = "https://www.example.com/a"  # the fragment is dropped
    else:
        expected = iri_to_uri(url)
    assert normalise_url(url, []) == [expected]


# --- internationalised host names: IDNA 2008 with UTS 46, as browsers and Akamai's edge ------


@pytest.mark.parametrize(
    "host, expected",
    [
        # German sharp s: IDNA 2003 (the stdlib codec) made this fass.de, another site.
        ("faß.de", "xn--fa-hia.de"),
        ("FAß.DE", "xn--fa-hia.de"),
        ("straße.example", "xn--strae-oqa.example"),
        # Greek final sigma is kept (non-transitional); a capital sigma maps to σ, as browsers
        # do (str.lower() would apply the final-sigma rule and give another name).
        ("βόλος.com", "xn--nxasmm1c.com"),
        ("ΒΌΛΟΣ.com", "xn--nxasmq6b.com"),
        # ZWNJ is kept where Persian needs it (CONTEXTJ), not dropped as IDNA 2003 did.
        ("نامه\u200cای.example", "xn--mgba3gch31f060k.example"),
        # UTS 46 mapping: full-width letters and the ideographic full stop.
        ("ｅｘａｍｐｌｅ.com", "example.com"),
        ("bücher。example", "xn--bcher-kva.example"),
        # A homoglyph host (Cyrillic р and а) is its own name, never folded into paypal.com.
        ("раypal.com", "xn--ypal-43d9g.com"),
        ("bücher.example.", "xn--bcher-kva.example."),
    ],
)
def test_internationalised_hosts_use_idna_2008_uts46(host, expected):
    assert normalise_url(f"https://{host}/x", []) == [f"https://{expected}/x"]


def test_a_homoglyph_host_is_never_the_latin_host():
    [cyrillic] = normalise_url("https://раураl.com/", [])  # р, а, у, а are Cyrillic
    assert cyrillic != "https://paypal.com/" and cyrillic.startswith("https://xn--")


@pytest.mark.parametrize(
    "host", ["ab\u200dc.example", "a\u200cb.example", "xn--a-ecp.example\u200d"]
)
def test_joiners_outside_their_context_are_refused(host):
    # ZWJ and ZWNJ are CONTEXTJ: valid only after a virama or between joining letters.
    with pytest.raises(InvalidURL, match="IDNA 2008"):
        normalise_url(f"https://{host}/", [])


# --- the original's TypeError, bad input classes -----------------------------------------


@pytest.mark.parametrize(
    "options, value, exc",
    [
        (None, 12345, NotAURL),
        (None, None, NotAURL),
        (None, 1.5, NotAURL),
        (None, 10**5000, NotAURL),  # its repr raises: the message must not
        ({"type": "tag"}, 10**5000, NotATag),
        ({"type": "tag"}, 7, NotATag),
        ({"type": "tag"}, 2.5, NotATag),
        ({"type": "cpcode"}, 1.5, NotACPCode),
        ({"type": "cpcode"}, b"123", NotACPCode),
        (None, object(), UnsupportedPurgeObject),
    ],
    ids=lambda v: "huge-int" if v == 10**5000 else None,
)
def test_what_add_cannot_purge_is_a_type_error_and_our_own_error(options, value, exc):
    pr = v3_request(options=options)
    with pytest.raises(exc) as info:
        pr.add(value)
    assert isinstance(info.value, TypeError) and isinstance(info.value, InvalidPurgeObject)
    assert isinstance(info.value, ValueError)  # and still the ValueError it was


def test_add_12345_on_a_url_purge_is_a_type_error_like_the_original():
    with pytest.raises(TypeError):
        v3_request().add(12345)
    with pytest.raises(InvalidURL):
        v3_request().add(12345)


@pytest.mark.parametrize("options", [["action", "delete"], "invalidate", 5, ("type", "tag"), 0, []])
def test_options_that_are_not_a_dict_are_invalid_purge_options(options):
    with pytest.raises(InvalidPurgeOptions, match="must be a dict"):
        v3_request(options=options)
    with pytest.raises(InvalidPurgeOptions, match="must be a dict"):
        parse_options(options)


def test_purge_options_setting_that_is_not_a_dict(settings):
    settings.AKAMAI_PURGE_OPTIONS = ["invalidate"]
    with pytest.raises(InvalidPurgeOptions, match="AKAMAI_PURGE_OPTIONS must be a dict"):
        v3_request()


def test_option_names_that_are_not_strings_are_named_not_a_type_error():
    with pytest.raises(InvalidPurgeOptions, match="Unknown purge option"):
        parse_options({1: "a", "b": 2})


def _nested(depth):
    value = ["https://www.example.com/deep"]
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("object_type", ["url", "tag", "cpcode"])
def test_deep_or_self_containing_lists_are_invalid_not_a_recursion_error(object_type):
    loop = []
    loop.append(loop)
    for value in (_nested(5000), loop):
        pr = v3_request(options={"type": object_type})
        with pytest.raises(InvalidPurgeObject, match="nested more than"):
            pr.add(value)
        assert pr.urls == []


def test_reasonable_nesting_is_flattened():
    assert list(normalise(_nested(MAX_NESTING - 2), "url")) == ["https://www.example.com/deep"]


def test_a_url_with_a_password_and_another_error_never_echoes_the_password():
    secret = "pw-s3cret"
    for url in (
        f"https://bob:{secret}@host.example/a b",
        f"https://bob:{secret}@host.example/\udce9",
        f"https://bob:{secret}@ab\u200dc.example/",
        f"https://bob:{secret}/with-slash@host.example/",  # a '/' in it: not even parseable
        f"https://bob:{secret}@host.example:99999/",
    ):
        with pytest.raises(InvalidURL) as info:
            v3_request().add(["/fine", url])
        exc = info.value
        shown = [str(exc), repr(exc), repr(exc.args), repr(exc.value), repr(vars(exc))]
        shown.append(repr(pickle.loads(pickle.dumps(exc)).__dict__))
        assert not [text for text in shown if secret in text], url


# --- purging a QuerySet by tag ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_queryset_purged_by_tag_adds_its_models_list_tag():
    one = Article.objects.create(slug="one")
    two = Article.objects.create(slug="two")
    pr = v3_request(options={"type": "tag"})
    pr.add(Article.objects.order_by("pk"))
    assert pr.urls == ["testapp.article", f"testapp.article.{one.pk}", f"testapp.article.{two.pk}"]
    pr = v3_request(options={"type": "tag"})
    pr.add(Article.objects.none())  # an empty QuerySet still refreshes the list pages
    pr.add(Article)  # so does a model class, as on the response side
    assert pr.urls == ["testapp.article"]


@pytest.mark.django_db
def test_a_single_instance_purged_by_tag_adds_only_its_own_tag():
    one = Article.objects.create(slug="one")
    pr = v3_request(options={"type": "tag"})
    pr.add(one)
    assert pr.urls == [f"testapp.article.{one.pk}"]
