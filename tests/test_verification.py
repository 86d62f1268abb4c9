"""Verification at the edge (issue 23), against the emulated edge over real HTTP.

Purges go through django-akamai's real stack to the emulator (signed, over 127.0.0.1); the
edge caches pages of a small origin here; the verifier probes the edge over HTTP with
Akamai's debug Pragma headers. Time is one ManualClock shared by the edge and the verifier: a
test advances it and asserts counts and states, never elapsed time.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.db import transaction

from django_akamai import funnel
from django_akamai.delivery.worker import deliver_pending
from django_akamai.emulator.edge import ManualClock
from django_akamai.models import PurgeIntent, PurgeRecord
from django_akamai.verification import worker
from django_akamai.verification.worker import VERIFY_ACTOR, Verifier
from tests.origin_server import Origin

pytestmark = pytest.mark.django_db(transaction=True)

HOST = "www.example.com"
URL = f"https://{HOST}/a"
# Akamai's estimatedSeconds at time_scale 1 is 5 s; the verifier waits that plus MARGIN.
ESTIMATED = 5
MARGIN = 1
DUE = ESTIMATED + MARGIN


@pytest.fixture
def origin():
    server = Origin()
    yield server
    server.close()


@pytest.fixture
def clock():
    return ManualClock(1000.0)


@pytest.fixture
def edge(akamai_emulator, origin, clock, settings):
    the_edge = akamai_emulator.start_edge(origin.url, public_host=HOST, clock=clock)
    settings.AKAMAI_VERIFY = {"EDGE": the_edge.base_url, "MARGIN": MARGIN, "RATE": 1000}
    settings.AKAMAI_DELIVERY = "worker"  # nothing delivered behind the test's back
    yield the_edge
    akamai_emulator.stop_edge()


@pytest.fixture
def verifier(clock):
    instance = Verifier(clock=clock)
    previous = worker.install(instance)
    yield instance
    instance.stop()
    worker.install(previous)


def through_edge(edge, path: str = "/a") -> requests.Response:
    """What a user gets (and what fills the cache)."""
    return requests.get(
        edge.base_url + path, headers={"Host": HOST, "Pragma": "akamai-x-cache-on"}, timeout=5
    )


def advance(clock, verifier, seconds: float) -> None:
    clock.advance(seconds)
    verifier.wake()
    assert verifier.wait_idle(30)


def record(purge_id: str | None = None) -> PurgeRecord:
    rows = PurgeRecord.objects.exclude(actor=VERIFY_ACTOR)
    if purge_id:
        rows = rows.filter(purge_id=purge_id)
    (only,) = rows
    return only


def cached_then_changed(edge, origin, clock, path: str = "/a", **headers: str) -> None:
    origin.page(path, "old", **headers)
    assert through_edge(edge, path).headers["X-Cache"].startswith("TCP_MISS")
    clock.advance(10)  # the copy is 10 s old when the page changes
    origin.page(path, "new", **headers)


def test_a_purge_that_takes_is_verified_fresh(edge, origin, clock, verifier, akamai_emulator):
    cached_then_changed(edge, origin, clock)

    funnel.request_purge([URL])
    # The purge returned with its verification queued, nothing asked of the edge yet.
    assert (verifier.pending(), verifier.counts["edge"]) == (1, 0)
    advance(clock, verifier, DUE - 1)
    assert record().verify_state == ""  # not due yet: estimatedSeconds plus the margin
    advance(clock, verifier, 1)

    checked = record()
    assert checked.verify_state == "done"
    assert (checked.verified_fresh, checked.verified_stale, checked.verified_unverifiable) == (
        1,
        0,
        0,
    )
    assert checked.verify_repurged == 0
    assert "TCP_MISS: answered by the origin" in checked.verify_details  # a delete (default)
    assert checked.verify_latency is not None
    assert len(akamai_emulator.purges) == 1
    assert verifier.counts == {"edge": 1, "origin": 0, "repurges": 0}
    assert through_edge(edge).content == b"new"


def test_a_dropped_purge_is_detected_purged_again_and_verified(
    edge, origin, clock, verifier, akamai_emulator
):
    cached_then_changed(edge, origin, clock)
    akamai_emulator.edge_faults(drop_next=1)

    funnel.request_purge([URL])
    advance(clock, verifier, DUE)

    first = record()
    assert first.verify_state == "pending"  # purged again, its second check to come
    assert (first.verified_fresh, first.verified_stale, first.verify_repurged) == (0, 1, 1)
    assert "older than the purge" in first.verify_details
    assert len(akamai_emulator.purges) == 2
    again = PurgeRecord.objects.get(actor=VERIFY_ACTOR)  # through the funnel: in the history
    assert again.object_list == [URL]

    advance(clock, verifier, DUE)
    final = record(first.purge_id)
    assert final.verify_state == "done"
    assert (final.verified_fresh, final.verified_stale, final.verify_repurged) == (1, 0, 1)
    assert final.verify_stale_urls == ""
    assert edge.counters["purges_dropped"] == 1
    assert len(akamai_emulator.purges) == 2  # the verifier's own purge is not re-verified
    assert through_edge(edge).content == b"new"


def test_a_purge_dropped_twice_is_reported_stale(
    edge, origin, clock, verifier, akamai_emulator, caplog
):
    cached_then_changed(edge, origin, clock)
    akamai_emulator.edge_faults(drop_next=2)

    funnel.request_purge([URL])
    advance(clock, verifier, DUE)
    advance(clock, verifier, DUE)

    final = record()
    assert final.verify_state == "done"
    assert (final.verified_fresh, final.verified_stale, final.verify_repurged) == (0, 1, 1)
    assert final.verify_stale_urls == URL
    assert final.verify_latency is None
    assert len(akamai_emulator.purges) == 2  # purged once more, never a third time
    assert any("stale: 'https://www.example.com/a'" in r.getMessage() for r in caplog.records)


def test_a_recache_race_is_detected_by_the_origin_s_etag(
    edge, origin, clock, verifier, akamai_emulator, settings
):
    settings.AKAMAI_VERIFY = {**settings.AKAMAI_VERIFY, "ORIGIN": origin.url}
    cached_then_changed(edge, origin, clock)
    akamai_emulator.edge_faults(recache_next=1)

    funnel.request_purge([URL])
    advance(clock, verifier, DUE)

    first = record()
    # The old copy is back and looks new by its Age; only its ETag gives it away.
    assert edge.counters["purges_recached"] == 1
    assert (first.verified_stale, first.verify_repurged) == (1, 1)
    assert "re-cached" in first.verify_details
    assert verifier.counts["origin"] == 1

    advance(clock, verifier, DUE)
    final = record(first.purge_id)
    assert (final.verify_state, final.verified_fresh, final.verified_stale) == ("done", 1, 0)
    assert through_edge(edge).content == b"new"


def test_a_recache_race_is_detected_by_last_modified(edge, origin, clock, verifier):
    cached_then_changed(edge, origin, clock, Last_Modified="Mon, 01 Jan 2024 00:00:00 GMT")
    edge.faults.add(recache_next=1)

    funnel.request_purge([URL])
    advance(clock, verifier, DUE)

    first = record()
    assert (first.verified_stale, first.verify_repurged) == (1, 1)
    assert "predates the purged change" in first.verify_details


def test_an_uncacheable_url_is_unverifiable_not_stale(
    edge, origin, clock, verifier, akamai_emulator
):
    cached_then_changed(edge, origin, clock, Cache_Control="no-store")

    funnel.request_purge([URL])
    advance(clock, verifier, DUE)

    checked = record()
    assert (checked.verified_fresh, checked.verified_stale, checked.verified_unverifiable) == (
        0,
        0,
        1,
    )
    assert "not cacheable" in checked.verify_details
    assert checked.verify_repurged == 0
    assert len(akamai_emulator.purges) == 1


def test_a_tag_purge_is_unverifiable(edge, origin, clock, verifier, akamai_emulator):
    funnel.request_purge(["news"], options={"type": "tag"})
    assert verifier.wait_idle(30)  # nothing to wait for: recorded at once

    checked = record()
    assert (checked.verify_state, checked.verified_unverifiable, checked.verified_stale) == (
        "done",
        1,
        0,
    )
    assert "a tag purge" in checked.verify_details
    assert verifier.counts["edge"] == 0


def urls_for_tags(tags):
    return [URL] if "news" in tags else []


def test_a_tag_purge_is_verified_when_the_site_names_its_urls(
    edge, origin, clock, verifier, settings
):
    settings.AKAMAI_VERIFY = {
        **settings.AKAMAI_VERIFY,
        "TAG_URLS": "tests.test_verification.urls_for_tags",
    }
    cached_then_changed(edge, origin, clock, Edge_Cache_Tag="news")

    funnel.request_purge(["news"], options={"type": "tag"})
    advance(clock, verifier, DUE)

    checked = record()
    assert (checked.verify_state, checked.verified_fresh, checked.verified_stale) == ("done", 1, 0)


def test_an_unreachable_edge_is_unverifiable(akamai_emulator, clock, verifier, settings):
    with socket_closed() as port:
        settings.AKAMAI_VERIFY = {"EDGE": f"http://127.0.0.1:{port}", "MARGIN": MARGIN}
        funnel.request_purge([URL])
        advance(clock, verifier, DUE)

    checked = record()
    assert (checked.verified_unverifiable, checked.verified_stale) == (1, 0)
    assert "not reachable" in checked.verify_details
    assert len(akamai_emulator.purges) == 1


def test_a_sample_is_bounded(edge, origin, clock, verifier, settings):
    settings.AKAMAI_VERIFY = {**settings.AKAMAI_VERIFY, "SAMPLE": 3}
    for n in range(10):
        origin.page(f"/p{n}", "page")
    funnel.request_purge([f"https://{HOST}/p{n}" for n in range(10)])
    advance(clock, verifier, DUE)

    checked = record()
    assert checked.verified_fresh == 3
    assert verifier.counts["edge"] == 3


def test_a_delivered_purge_is_verified_with_its_commit_time(
    edge, origin, clock, verifier, akamai_emulator
):
    cached_then_changed(edge, origin, clock)
    with transaction.atomic():
        funnel.request_purge([URL])  # recorded as an intent, delivered after the commit
    assert PurgeIntent.objects.count() == 1
    report = deliver_pending("default")
    assert report.accepted == 1
    advance(clock, verifier, DUE)

    checked = record()
    assert (checked.verify_state, checked.verified_fresh) == ("done", 1)
    assert checked.verify_latency is not None and checked.verify_latency >= DUE


def test_verification_off_sends_nothing_to_the_edge(edge, origin, clock, verifier, settings):
    settings.AKAMAI_VERIFY = None
    origin.page("/a", "page")
    funnel.request_purge([URL])
    advance(clock, verifier, DUE)

    assert record().verify_state == ""
    assert verifier.pending() == 0
    assert verifier.counts["edge"] == 0


class socket_closed:
    """A port on 127.0.0.1 that nothing listens on (bound, then closed)."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    def __exit__(self, *exc) -> None:
        return None


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_the_outcome_is_visible_in_status_the_worker_and_the_admin(
    edge, origin, clock, verifier, akamai_emulator, admin_client
):
    from io import StringIO

    from django.core.management import call_command

    from django_akamai.status import pipeline_status

    cached_then_changed(edge, origin, clock)
    origin.page("/b", "b")
    funnel.request_purge([f"https://{HOST}/b"])  # fresh at once
    akamai_emulator.edge_faults(drop_next=2)
    funnel.request_purge([URL])  # stale twice: reported
    advance(clock, verifier, DUE)
    advance(clock, verifier, DUE)

    summary = pipeline_status().verification
    assert (summary.purges, summary.fresh, summary.stale, summary.unverifiable) == (2, 1, 1, 0)
    assert summary.repurged == 1
    assert summary.share_fresh == 0.5
    assert len(summary.latencies) == 1  # the stale purge never became fresh

    out = StringIO()
    call_command("akamai_worker", "--status", stdout=out)
    line = [row for row in out.getvalue().splitlines() if row.startswith("verified:")]
    assert line == [
        line[0]  # the latency figures depend on the clock: the counts are what is asserted
    ]
    assert line[0].startswith("verified: fresh 1, stale 1, unverifiable 0 (50.0% fresh, 2 purge")
    assert "median" in line[0] and "p99" in line[0]

    page = admin_client.get("/admin/django_akamai/statuspage/")
    assert page.status_code == 200
    assert b'id="akamai-verified-stale"' in page.content
    listing = admin_client.get("/admin/django_akamai/purgerecord/")
    assert b"0 fresh, 1 stale, 0 unverifiable" in listing.content
    stale = record(PurgeRecord.objects.filter(verified_stale=1).get().purge_id)
    detail = admin_client.get(f"/admin/django_akamai/purgerecord/{stale.pk}/change/")
    assert URL.encode() in detail.content
    assert b"older than the purge" in detail.content


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_worker_status_says_when_verification_is_off(settings):
    from io import StringIO

    from django.core.management import call_command

    settings.AKAMAI_VERIFY = None
    out = StringIO()
    call_command("akamai_worker", "--status", stdout=out)
    assert "verified: off (AKAMAI_VERIFY is not set)" in out.getvalue().splitlines()


def test_a_dropped_request_is_purged_again_whole_when_its_sample_is_stale(
    edge, origin, clock, verifier, akamai_emulator, settings
):
    settings.AKAMAI_VERIFY = {**settings.AKAMAI_VERIFY, "SAMPLE": 2}
    urls = [f"https://{HOST}/p{n}" for n in range(6)]
    for n in range(6):
        origin.page(f"/p{n}", "old")
        through_edge(edge, f"/p{n}")
    clock.advance(10)
    for n in range(6):
        origin.page(f"/p{n}", "new")
    akamai_emulator.edge_faults(drop_next=1)

    funnel.request_purge(urls)
    advance(clock, verifier, DUE)
    first = record()
    assert (first.verified_stale, first.verify_repurged) == (2, 6)
    assert [list(p.objects) for p in akamai_emulator.purges][1] == [
        urls[0],
        urls[3],
        *urls[1:3],
        *urls[4:],
    ]

    advance(clock, verifier, DUE)
    final = record(first.purge_id)
    assert (final.verify_state, final.verified_fresh, final.verified_stale) == ("done", 2, 0)
    assert [through_edge(edge, f"/p{n}").content for n in range(6)] == [b"new"] * 6


class CountingEdge:
    """An 'edge' that answers every GET with a miss after a short hold, and counts how many
    requests it held at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = self.peak = self.requests = 0
        counter = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                with counter.lock:
                    counter.requests += 1
                    counter.in_flight += 1
                    counter.peak = max(counter.peak, counter.in_flight)
                threading.Event().wait(0.05)  # long enough for the others to arrive, if allowed
                with counter.lock:
                    counter.in_flight -= 1
                self.send_response(200)
                self.send_header("X-Cache", "TCP_MISS from a1")
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_concurrency_is_bounded(akamai_emulator, clock, verifier, settings):
    counting = CountingEdge()
    settings.AKAMAI_VERIFY = {
        "EDGE": counting.url,
        "MARGIN": MARGIN,
        "SAMPLE": 8,
        "CONCURRENCY": 2,
        "RATE": 1000,
    }
    funnel.request_purge([f"https://{HOST}/c{n}" for n in range(8)])
    advance(clock, verifier, DUE)
    counting.server.shutdown()

    assert counting.requests == 8
    assert counting.peak <= 2
    assert record().verified_fresh == 8


def test_purges_of_another_network_are_not_verified(edge, origin, clock, verifier):
    origin.page("/a", "page")
    funnel.request_purge([URL], options={"network": "staging"})
    assert verifier.pending() == 0
    advance(clock, verifier, DUE)
    assert record().verify_state == ""
