"""Commit safety and coalescing: purges requested in a transaction are recorded as purge
intents in it and delivered after the outermost commit, merged, against the emulator over real
HTTP (``purge_request``, the synchronous door). The test database is in memory, so the
deliverer runs in the committing thread right after the commit (see ``delivery``)."""

import json
import logging
import math

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from django_akamai.delivery.worker import deliver_pending
from django_akamai.exceptions import InvalidURL
from django_akamai.funnel import request_purge
from django_akamai.models import PurgeIntent
from django_akamai.signals import purge_request
from tests.reference import greedy_minimum
from tests.testapp.models import Article

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "other"])

BASE = "https://www.example.com"


class Rollback(Exception):
    pass


def sent(emu):
    """Every object Akamai accepted, in order."""
    return emu.accepted_objects()


def test_outside_a_transaction_it_goes_out_at_once(akamai_emulator):
    [(_, results)] = purge_request.send("/now")
    assert [r["httpStatus"] for r in results] == [201]
    assert sent(akamai_emulator) == [f"{BASE}/now"]


def test_inside_a_transaction_it_waits_for_the_commit(akamai_emulator):
    emu = akamai_emulator
    with transaction.atomic():
        [(_, response)] = purge_request.send("/later")
        assert response is None
        assert emu.counters["requests"] == 0
    assert sent(emu) == [f"{BASE}/later"]
    assert emu.counters["requests"] == 1


def test_rollback_sends_nothing(akamai_emulator):
    with pytest.raises(Rollback):
        with transaction.atomic():
            purge_request.send("/never")
            raise Rollback
    assert akamai_emulator.counters["requests"] == 0
    # The next transaction is not haunted by the rolled-back one.
    with transaction.atomic():
        purge_request.send("/next")
    assert sent(akamai_emulator) == [f"{BASE}/next"]


def test_a_thousand_requests_in_one_transaction_make_one_request(akamai_emulator):
    emu = akamai_emulator
    urls = [f"/articles/{i}/" for i in range(1000)]
    with transaction.atomic():
        for url in urls:
            purge_request.send(url)
        for url in urls[:100]:  # asked twice, purged once
            purge_request.send(url)
    assert emu.counters["requests"] == 1
    assert sent(emu) == [BASE + url for url in urls]


def test_a_thousand_transactions_are_packed_by_the_deliverer(akamai_emulator, settings):
    emu = akamai_emulator
    settings.AKAMAI_DELIVERY = "worker"  # recorded now, delivered later by one deliverer
    urls = [f"{BASE}/articles/{i}/{'x' * (i % 40)}" for i in range(1000)]
    for url in urls:
        with transaction.atomic():
            purge_request.send(url)
    assert emu.counters["requests"] == 0
    report = deliver_pending(burst=True)
    body = len(json.dumps({"objects": urls}, separators=(",", ":")))
    assert report.accepted == 1000 and report.ok
    assert emu.counters["requests"] == math.ceil(body / 50_000) == greedy_minimum(urls)
    assert sorted(sent(emu)) == sorted(urls)


def test_savepoints_per_item_still_make_one_request(akamai_emulator):
    # get_or_create() and per-item atomic blocks open a savepoint each.
    emu = akamai_emulator
    with transaction.atomic():
        for i in range(200):
            with transaction.atomic():
                Article.objects.get_or_create(slug=f"a{i}")
                purge_request.send(f"/articles/a{i}/")
    assert emu.counters["requests"] == 1
    assert len(sent(emu)) == 200


def test_inner_rollback_drops_only_its_own_objects(akamai_emulator):
    with transaction.atomic():
        purge_request.send("/kept-1")
        with pytest.raises(Rollback):
            with transaction.atomic():
                purge_request.send("/dropped-1")
                raise Rollback
        purge_request.send("/kept-2")
        with transaction.atomic():
            purge_request.send("/kept-3")
        # The last request of the transaction is made in a savepoint that rolls back.
        with pytest.raises(Rollback):
            with transaction.atomic():
                purge_request.send("/kept-1")  # also asked outside: still purged
                purge_request.send("/dropped-2")
                raise Rollback
    assert sent(akamai_emulator) == [f"{BASE}/kept-1", f"{BASE}/kept-2", f"{BASE}/kept-3"]
    assert akamai_emulator.counters["requests"] == 1


def test_inner_commit_then_outer_rollback_sends_nothing(akamai_emulator):
    with pytest.raises(Rollback):
        with transaction.atomic():
            with transaction.atomic():
                purge_request.send("/inner")
            purge_request.send("/outer")
            raise Rollback
    assert akamai_emulator.counters["requests"] == 0


def test_blocks_without_savepoints(akamai_emulator):
    with transaction.atomic():
        with transaction.atomic(savepoint=False):
            purge_request.send("/a")
        with transaction.atomic(savepoint=False):
            purge_request.send("/b")
    assert sent(akamai_emulator) == [f"{BASE}/a", f"{BASE}/b"]
    # A failing block without a savepoint dooms the whole transaction.
    with pytest.raises(Rollback):
        with transaction.atomic():
            purge_request.send("/c")
            with transaction.atomic(savepoint=False):
                purge_request.send("/d")
                raise Rollback
    assert akamai_emulator.counters["requests"] == 1


def test_options_are_kept_apart(akamai_emulator):
    emu = akamai_emulator
    with transaction.atomic():
        purge_request.send("/a")
        purge_request.send("/b", action="invalidate")
        purge_request.send("/c")
        purge_request.send("/d", action="invalidate", network="staging")
        purge_request.send(["article-1", "article-2"], type="tag")
    shapes = {(p.action, p.network, p.type, p.objects) for p in emu.purges}
    assert shapes == {
        ("delete", "production", "url", (f"{BASE}/a", f"{BASE}/c")),
        ("invalidate", "production", "url", (f"{BASE}/b",)),
        ("invalidate", "staging", "url", (f"{BASE}/d",)),
        ("delete", "production", "tag", ("article-1", "article-2")),
    }
    assert len(emu.purges) == 4


def test_bad_input_raises_at_once_inside_a_transaction(akamai_emulator):
    with transaction.atomic():
        with pytest.raises(InvalidURL):
            purge_request.send("ftp://www.example.com/x")
        purge_request.send("/fine")
    assert sent(akamai_emulator) == [f"{BASE}/fine"]


def test_a_refusal_after_commit_is_isolated_kept_and_other_hooks_still_run(
    akamai_emulator, akamai_logs, settings
):
    settings.AKAMAI_MAX_RETRIES = 0
    akamai_emulator.configure(allowed_hosts=["www.example.com"])
    ran = []
    with transaction.atomic():
        purge_request.send(["/ok", "https://elsewhere.example.org/refused"])
        transaction.on_commit(lambda: ran.append(True))
    assert ran == [True]
    # Akamai refuses the whole request; split in halves, the good URL still goes out.
    assert sent(akamai_emulator) == [f"{BASE}/ok"]
    assert akamai_emulator.counters["refused"] == {403: 2}
    [failed] = PurgeIntent.objects.all()
    assert (failed.value, failed.status, failed.http_status) == (
        "https://elsewhere.example.org/refused",
        "failed",
        403,
    )
    assert failed.error_title == "unauthorized arl" and failed.support_id
    [record] = [r for r in akamai_logs.records if r.levelno == logging.ERROR]
    assert "elsewhere.example.org/refused" in record.getMessage()


# --- several databases ----------------------------------------------------------------------


def test_each_database_has_its_own_transaction(akamai_emulator):
    emu = akamai_emulator
    with transaction.atomic(using="other"):
        article = Article.objects.using("other").create(slug="on-other")
        purge_request.send(article)  # the instance's database: "other"
        purge_request.send("/plain-on-other", using="other")
        purge_request.send("/plain-on-default")  # no transaction on "default": at once
        assert sent(emu) == [f"{BASE}/plain-on-default"]
    assert sent(emu) == [
        f"{BASE}/plain-on-default",
        f"{BASE}/articles/on-other/",
        f"{BASE}/plain-on-other",
    ]
    assert emu.counters["requests"] == 2


def test_rollback_on_one_database_leaves_the_other(akamai_emulator):
    emu = akamai_emulator
    with transaction.atomic(using="default"):
        purge_request.send("/default")
        with pytest.raises(Rollback):
            with transaction.atomic(using="other"):
                purge_request.send("/other", using="other")
                raise Rollback
    assert sent(emu) == [f"{BASE}/default"]


def test_a_queryset_waits_for_its_own_database(akamai_emulator):
    emu = akamai_emulator
    Article.objects.using("other").create(slug="x")
    with transaction.atomic(using="default"):
        purge_request.send(Article.objects.using("other").all())
        assert sent(emu) == [f"{BASE}/articles/x/"]  # "other" has no transaction: at once


# --- the same through Django's test-case machinery ------------------------------------------


@pytest.mark.django_db(transaction=False)
def test_under_a_test_case_transaction_callbacks_capture_the_purge(
    akamai_emulator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        purge_request.send("/a")
        purge_request.send("/b")
    assert len(callbacks) == 1
    assert sent(akamai_emulator) == [f"{BASE}/a", f"{BASE}/b"]


# --- any program of nested blocks -----------------------------------------------------------

# A program is a list of steps: a path to purge, or a block (steps, commits?) of its own.
programs = st.recursive(
    st.lists(st.integers(0, 30).map(lambda i: f"/p{i}"), max_size=3),
    lambda inner: st.lists(
        st.one_of(st.integers(0, 30).map(lambda i: f"/p{i}"), st.tuples(inner, st.booleans())),
        max_size=4,
    ),
    max_leaves=12,
)


def run(steps):
    for step in steps:
        if isinstance(step, str):
            purge_request.send(step)
            continue
        inner, commits = step
        try:
            with transaction.atomic():
                run(inner)
                if not commits:
                    raise Rollback
        except Rollback:
            pass


def expected_paths(steps):
    paths = []
    for step in steps:
        if isinstance(step, str):
            paths.append(step)
        elif step[1]:
            paths.extend(expected_paths(step[0]))
    return list(dict.fromkeys(paths))


@hsettings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(transactions=st.lists(st.tuples(programs, st.booleans()), min_size=1, max_size=3))
def test_any_nesting_purges_exactly_what_committed(akamai_emulator, transactions):
    emu = akamai_emulator
    emu.reset()
    expected_requests = 0
    expected = []
    for steps, commits in transactions:
        run([(steps, commits)])
        paths = expected_paths(steps) if commits else []
        expected_requests += bool(paths)
        expected.extend(BASE + path for path in paths)
    # Each committed path exactly once (the order within a transaction is not promised).
    assert sorted(sent(emu)) == sorted(expected)
    assert emu.counters["requests"] == expected_requests


def test_request_purge_returns_results_outside_and_none_inside(akamai_emulator):
    results = request_purge(["/x", "/x", "/y"])
    assert len(results) == 1 and results[0]["httpStatus"] == 201
    assert sent(akamai_emulator) == [f"{BASE}/x", f"{BASE}/y"]
    with transaction.atomic():
        assert request_purge("/z") is None
