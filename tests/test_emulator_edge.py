"""The emulated edge: caching, purges applied estimatedSeconds later, Akamai's debug headers.

Time is the edge's ManualClock: a test advances it and asserts states and counts, never
elapsed time. The origin is a small HTTP server here whose pages, ETags and failures the
test controls; purges go through the emulator over real HTTP, signed by edgegrid-python.
"""

from __future__ import annotations

import threading
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from django_akamai.emulator import Emulator
from django_akamai.emulator.edge import Edge, ManualClock, cache_key
from tests.origin_server import Origin

HOST = "www.example.com"
DEBUG = {"Pragma": "akamai-x-cache-on, akamai-x-get-cache-key, akamai-x-get-cache-tags"}


@pytest.fixture
def origin():
    server = Origin()
    yield server
    server.close()


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def edge(emu, origin, clock):
    edge = emu.start_edge(origin.url, public_host=HOST, cp_codes=[4711], clock=clock)
    yield edge
    emu.stop_edge()


def get(edge, path, **headers):
    return requests.get(edge.base_url + path, headers={**DEBUG, **headers}, timeout=10)


def x_cache(response):
    return response.headers["X-Cache"].split()[0]


def purge(v3, emu, objects, action="invalidate", object_type="url", network="production", **extra):
    response = v3.post(
        f"{emu.base_url}/ccu/v3/{action}/{object_type}/{network}",
        json={"objects": objects, **extra},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_miss_then_hit_with_akamai_debug_headers(edge, origin):
    origin.page("/a", "A1", Edge_Cache_Tag="article-1, list")
    first = get(edge, "/a?x=1")
    assert first.text == "not found"  # the query is part of the key: another object
    origin.page("/a?x=1", "A1q")
    assert x_cache(get(edge, "/a")) == "TCP_MISS"
    hit = get(edge, "/a")
    assert hit.text == "A1" and x_cache(hit) == "TCP_HIT"
    assert hit.headers["X-Cache"].endswith("(AkamaiGHost/emulator)")
    assert hit.headers["X-Cache-Key"] == cache_key(HOST, "/a") == "www.example.com/a"
    assert hit.headers["X-Cache-Tags"] == "article-1,list"
    assert "X-Cache" not in requests.get(edge.base_url + "/a", timeout=10).headers
    assert [p for _, p, _ in origin.requests].count("/a") == 1
    counters = edge.counters
    assert counters["hits"] == 2 and counters["misses"] == 2 and counters["cached_objects"] == 2


def test_cache_control(edge, origin, clock):
    origin.page("/short", "s", Cache_Control="max-age=600, s-maxage=10")
    origin.page("/never", "n", Cache_Control="no-store")
    origin.page("/private", "p", Cache_Control="private, max-age=600")
    origin.page("/cookie", "c", Set_Cookie="a=b")
    origin.page("/default", "d")
    for path in ("/short", "/never", "/private", "/cookie", "/default"):
        get(edge, path)
    assert [x_cache(get(edge, p)) for p in ("/never", "/private", "/cookie")] == ["TCP_MISS"] * 3
    assert x_cache(get(edge, "/short")) == "TCP_HIT"
    clock.advance(11)  # past s-maxage (which wins over max-age), within the default TTL
    assert edge.state(f"https://{HOST}/short") == "expired"
    assert x_cache(get(edge, "/short")) == "TCP_REFRESH_HIT"  # revalidated: 304
    assert x_cache(get(edge, "/default")) == "TCP_HIT"
    clock.advance(600)
    assert x_cache(get(edge, "/default")) == "TCP_REFRESH_HIT"
    assert origin.conditional_gets() == 2


def test_invalidate_takes_effect_estimated_seconds_later_then_revalidates(
    emu, v3, edge, origin, clock
):
    origin.page("/a", "old")
    get(edge, "/a")
    answer = purge(v3, emu, [f"https://{HOST}/a"])
    assert answer["estimatedSeconds"] == 5
    origin.page("/a", "new")
    clock.advance(4.9)
    assert edge.state(f"https://{HOST}/a") == "fresh" and edge.pending() == 1
    assert get(edge, "/a").text == "old"  # the purge has not reached the edge yet
    clock.advance(0.1)
    assert edge.state(f"https://{HOST}/a") == "stale" and edge.pending() == 0
    refreshed = get(edge, "/a")
    assert refreshed.text == "new" and x_cache(refreshed) == "TCP_REFRESH_MISS"
    assert origin.conditional_gets() == 1  # a conditional GET, answered 200 with the change
    assert x_cache(get(edge, "/a")) == "TCP_HIT"
    [applied] = edge.applied()
    assert applied.purge_id == answer["purgeId"]
    assert applied.applied_at - applied.accepted_at == 5.0 and applied.hit == 1


def test_invalidate_of_unchanged_content_is_a_refresh_hit(emu, v3, edge, origin, clock):
    origin.page("/same", "same")
    get(edge, "/same")
    purge(v3, emu, [f"https://{HOST}/same"])
    clock.advance(5)
    response = get(edge, "/same")
    assert response.text == "same" and x_cache(response) == "TCP_REFRESH_HIT"


def test_stale_copy_is_served_when_the_origin_fails(emu, v3, edge, origin, clock):
    origin.page("/a", "old")
    get(edge, "/a")
    purge(v3, emu, [f"https://{HOST}/a"])
    clock.advance(5)
    origin.failing = True
    response = get(edge, "/a")
    assert response.status_code == 200 and response.text == "old"
    assert x_cache(response) == "TCP_REFRESH_FAIL_HIT"
    assert edge.state(f"https://{HOST}/a") == "stale"  # it will try again next time
    origin.failing = False
    origin.page("/a", "new")
    assert get(edge, "/a").text == "new"


def test_delete_drops_the_copy(emu, v3, edge, origin, clock):
    origin.page("/a", "old")
    get(edge, "/a")
    purge(v3, emu, [f"https://{HOST}/a"], action="delete")
    clock.advance(5)
    assert edge.state(f"https://{HOST}/a") == "absent"
    origin.page("/a", "new")
    response = get(edge, "/a")
    assert response.text == "new" and x_cache(response) == "TCP_MISS"
    assert origin.conditional_gets() == 0
    assert edge.counters["objects_deleted"] == 1


def test_tag_purge_reaches_every_tagged_object(emu, v3, edge, origin, clock):
    origin.page("/a", "a", Edge_Cache_Tag="article-1,articles")
    origin.page("/b", "b", Edge_Cache_Tag="article-2,articles")
    origin.page("/c", "c", Edge_Cache_Tag="other")
    for path in ("/a", "/b", "/c"):
        get(edge, path)
    purge(v3, emu, ["articles"], object_type="tag")
    clock.advance(5)
    states = [edge.state(f"https://{HOST}{p}") for p in ("/a", "/b", "/c")]
    assert states == ["stale", "stale", "fresh"]
    assert edge.counters["objects_invalidated"] == 2


def test_cp_code_purge_only_for_the_edges_cp_code(emu, v3, edge, origin, clock):
    origin.page("/a", "a")
    origin.page("/b", "b")
    get(edge, "/a")
    get(edge, "/b")
    purge(v3, emu, [1234], object_type="cpcode")
    clock.advance(5)
    assert edge.state(f"https://{HOST}/a") == "fresh"
    purge(v3, emu, [4711], object_type="cpcode", action="delete")
    clock.advance(5)
    assert edge.counters["cached_objects"] == 0


def test_hostname_form_arls_and_other_hosts(emu, v3, edge, origin, clock):
    origin.page("/a", "a")
    origin.page("/b", "b")
    origin.page("/c", "c")
    for path in ("/a", "/b", "/c"):
        get(edge, path)
    purge(v3, emu, ["/a"], hostname=HOST)
    purge(v3, emu, [f"/L/1/4711/1d/{HOST}/b"])
    purge(v3, emu, ["https://other.example.org/c"])
    clock.advance(5)
    states = [edge.state(f"https://{HOST}{p}") for p in ("/a", "/b", "/c")]
    assert states == ["stale", "stale", "fresh"]


def test_staging_purges_do_not_reach_the_production_edge(emu, v3, edge, origin, clock):
    origin.page("/a", "a")
    get(edge, "/a")
    purge(v3, emu, [f"https://{HOST}/a"], network="staging")
    clock.advance(5)
    assert edge.state(f"https://{HOST}/a") == "fresh" and edge.applied() == []


def test_time_scale_shortens_the_delay(emu, v3, edge, origin, clock):
    emu.configure(time_scale=5)
    origin.page("/a", "a")
    get(edge, "/a")
    purge(v3, emu, [f"https://{HOST}/a"])
    clock.advance(0.99)
    assert edge.state(f"https://{HOST}/a") == "fresh"
    clock.advance(0.01)
    assert edge.state(f"https://{HOST}/a") == "stale"


def test_v2_purges_reach_the_edge_when_done(emu, edge, origin, clock):
    emu.configure(v2_estimate_seconds=2)
    origin.page("/a", "a")
    get(edge, "/a")
    response = requests.post(
        emu.base_url + "/ccu/v2/queues/default",
        json={"objects": [f"https://{HOST}/a"]},
        auth=(emu.credentials.username, emu.credentials.password),
        timeout=10,
    )
    assert response.status_code == 201
    clock.advance(2)
    assert edge.state(f"https://{HOST}/a") == "absent"  # v2's default action is remove


def test_non_get_requests_pass_through_uncached(edge, origin):
    origin.page("/form", "posted")
    for _ in range(2):
        response = requests.post(edge.base_url + "/form", data=b"x=1", headers=DEBUG, timeout=10)
        assert response.text == "posted" and x_cache(response) == "TCP_MISS"
    assert edge.counters["passed"] == 2 and edge.counters["cached_objects"] == 0


def test_edge_state_endpoint_and_reset(emu, edge, origin):
    origin.page("/a", "a", Edge_Cache_Tag="t")
    get(edge, "/a")
    state = requests.get(edge.base_url + "/emulator/edge", timeout=10).json()
    assert state["objects"][0]["key"] == "www.example.com/a"
    assert state["objects"][0]["tags"] == ["t"]
    emu.reset()
    assert edge.counters["cached_objects"] == 0 and edge.counters["requests"] == 0


def test_unreachable_origin_is_a_502(emu):
    edge = emu.start_edge("http://127.0.0.1:9", public_host=HOST)
    try:
        assert get(edge, "/a").status_code == 502
        assert edge.counters["origin_errors"] == 1
    finally:
        emu.stop_edge()


def test_wait_until_fresh_says_how_long(emu, v3, origin):
    # Real time here, compressed 50x: Akamai's 5 s become 0.1 s.
    emu.configure(time_scale=50)
    edge = emu.start_edge(origin.url, public_host=HOST)
    try:
        origin.page("/a", "old")
        get(edge, "/a")
        origin.page("/a", "new")
        purge(v3, emu, [f"https://{HOST}/a"])
        fresh = edge.wait_until_fresh(f"https://{HOST}/a", lambda body: body == b"new")
        assert fresh.x_cache == "TCP_REFRESH_MISS" and fresh.body == b"new"
        assert fresh.requests >= 1 and fresh.seconds >= 0
        with pytest.raises(TimeoutError):
            edge.wait_until_fresh(f"https://{HOST}/a", lambda body: False, timeout=0.1)
    finally:
        emu.stop_edge()


def test_edge_from_the_constructor_and_validation(origin):
    with Emulator(port=0, edge_origin=origin.url, edge_host=HOST, edge_cp_codes=[1]) as emu:
        assert emu.edge is not None and emu.edge.base_url.startswith("http://127.0.0.1:")
        assert emu.edge.cp_codes == {1}
        with pytest.raises(RuntimeError, match="already running"):
            emu.start_edge(origin.url)
    assert emu.edge is None
    with pytest.raises(ValueError, match="http://host:port"):
        Edge("https://example.com")


# --- the host it caches under -------------------------------------------------------------


def test_by_default_it_caches_under_the_origins_host_so_the_sites_own_urls_purge_it(
    emu, v3, origin, clock
):
    # As a site served from 127.0.0.1:8000 purges http://127.0.0.1:8000/... (Wagtail's Site).
    edge = emu.start_edge(origin.url, clock=clock)
    try:
        origin_host = origin.url.removeprefix("http://")
        assert edge.cache_host == origin_host and edge.public_host is None
        origin.page("/a", "old")
        first = get(edge, "/a")  # requested as 127.0.0.1:<edge port>, cached as the origin
        assert first.headers["X-Cache-Key"] == f"{origin_host}/a"
        origin.page("/a", "new")
        purge(v3, emu, [f"{origin.url}/a"])
        clock.advance(5)
        assert edge.state(f"{origin.url}/a") == "stale"
        assert get(edge, "/a").text == "new"
    finally:
        emu.stop_edge()


def test_star_caches_under_each_requests_host(emu, v3, origin, clock):
    edge = emu.start_edge(origin.url, public_host="*", clock=clock)
    try:
        assert edge.cache_host is None
        origin.page("/a", "a")
        for host in ("one.example.com", "two.example.com"):
            response = get(edge, "/a", Host=host)
            assert response.headers["X-Cache-Key"] == f"{host}/a"
        purge(v3, emu, ["https://one.example.com/a"])
        clock.advance(5)
        states = [edge.state(f"https://{h}.example.com/a") for h in ("one", "two")]
        assert states == ["stale", "fresh"]
    finally:
        emu.stop_edge()


# --- the origin's timeout -----------------------------------------------------------------


class SlowOrigin:
    """An origin that answers only when the test releases it (or the socket times out)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        slow = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                slow.release.wait(10)
                self.send_response(200)
                self.send_header("Content-Length", "4")
                self.end_headers()
                self.wfile.write(b"slow")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_origin_timeout_is_a_setting_and_a_late_origin_is_a_502(emu):
    slow = SlowOrigin()
    try:
        edge = emu.start_edge(slow.url, origin_timeout=0.2)
        assert edge.origin_timeout == 0.2
        response = get(edge, "/a")
        assert response.status_code == 502 and edge.counters["origin_errors"] == 1
        emu.stop_edge()
        edge = emu.start_edge(slow.url)  # the default waits far longer than this origin
        assert edge.origin_timeout == 60.0
        threading.Timer(0.3, slow.release.set).start()
        response = get(edge, "/a")
        assert response.status_code == 200 and response.text == "slow"
        assert edge.counters["origin_errors"] == 0
    finally:
        emu.stop_edge()
        slow.close()
    with pytest.raises(ValueError, match="origin_timeout"):
        Edge("http://127.0.0.1:9", origin_timeout=0)


# --- Akamai's debug headers, Date and Age ---------------------------------------------------


def test_request_id_cacheable_and_true_cache_key(edge, origin):
    origin.page("/a", "a")
    origin.page("/never", "n", Cache_Control="no-store")
    pragma = {
        "Pragma": "akamai-x-get-request-id, akamai-x-check-cacheable, akamai-x-get-true-cache-key"
    }
    answers = [get(edge, path, **pragma) for path in ("/a", "/a", "/never")]
    ids = [answer.headers["X-Akamai-Request-ID"] for answer in answers]
    assert len(set(ids)) == 3 and all(int(i, 16) >= 0 for i in ids)
    assert [a.headers["X-Check-Cacheable"] for a in answers] == ["YES", "YES", "NO"]
    assert answers[0].headers["X-True-Cache-Key"] == "www.example.com/a"
    plain = requests.get(edge.base_url + "/a", timeout=10).headers
    assert "X-Akamai-Request-ID" not in plain and "X-Check-Cacheable" not in plain


def test_date_and_age_count_from_the_copys_arrival_on_the_edges_clock(edge, origin, clock):
    origin.page("/a", "a", Date="Thu, 01 Jan 1970 00:00:00 GMT", Age="999")
    miss = get(edge, "/a")
    assert x_cache(miss) == "TCP_MISS" and "Age" not in miss.headers
    clock.advance(7)
    hit = get(edge, "/a")
    assert x_cache(hit) == "TCP_HIT" and hit.headers["Age"] == "7"
    assert hit.headers["Date"] == miss.headers["Date"]  # the origin's Date gave way
    origin.page("/b", "b")
    later = get(edge, "/b")
    seconds = parsedate_to_datetime(later.headers["Date"]) - parsedate_to_datetime(
        miss.headers["Date"]
    )
    assert seconds.total_seconds() == 7


# --- an edge that ignores a purge, or re-caches the old copy after it ----------------------


@pytest.mark.parametrize("fault", [None, "drop", "recache"])
def test_a_purge_the_edge_ignores_or_races_leaves_the_old_body(emu, v3, edge, origin, clock, fault):
    origin.page("/a", "old", Last_Modified="Mon, 01 Jan 2024 00:00:00 GMT")
    get(edge, "/a")
    if fault == "drop":
        assert emu.edge_faults(drop_next=1)["drop_next"] == 1
    elif fault == "recache":
        assert emu.edge_faults(recache_next=1)["recache_next"] == 1
    origin.page("/a", "new", Last_Modified="Tue, 02 Jan 2024 00:00:00 GMT")
    answer = purge(v3, emu, [f"https://{HOST}/a"])  # accepted with a 201 in every case
    clock.advance(answer["estimatedSeconds"] + 2)
    after = get(edge, "/a")
    [applied] = edge.applied()
    counters = edge.counters
    if fault is None:
        assert after.text == "new" and x_cache(after) == "TCP_REFRESH_MISS"
        assert applied.fault == "apply" and applied.hit == 1
        assert counters["purges_dropped"] == counters["purges_recached"] == 0
        return
    # The old body, served from the edge as a hit, after estimatedSeconds.
    assert after.text == "old" and x_cache(after) == "TCP_HIT"
    assert after.headers["Last-Modified"] == "Mon, 01 Jan 2024 00:00:00 GMT"
    assert applied.fault == fault
    if fault == "drop":
        assert applied.hit == 0 and counters["purges_dropped"] == 1
        assert after.headers["Age"] == str(answer["estimatedSeconds"] + 2)  # older than it
    else:
        # Re-cached when the purge took effect: by Age it looks newer than the purge.
        assert applied.hit == 1 and after.headers["Age"] == "2"
        assert counters["purges_recached"] == 1 and counters["objects_recached"] == 1
    assert [r for r in origin.requests if r[1] == "/a"] == [("GET", "/a", False)]
    assert emu.edge_faults() == {
        "drop_next": 0,
        "recache_next": 0,
        "edge_drop_rate": 0.0,
        "edge_recache_rate": 0.0,
    }
    # The fault was spent: purging again reaches the edge.
    purge(v3, emu, [f"https://{HOST}/a"])
    clock.advance(5)
    assert get(edge, "/a").text == "new"


def test_faults_by_count_come_first_then_in_order(emu, v3, edge, origin, clock):
    emu.edge_faults(drop_next=2, recache_next=1)
    for _ in range(4):
        purge(v3, emu, [f"https://{HOST}/a"])
    clock.advance(5)
    assert [a.fault for a in edge.applied()] == ["drop", "drop", "recache", "apply"]
    with pytest.raises(ValueError, match="drop_next"):
        emu.edge_faults(drop_next=-1)
    emu.edge_faults(drop_next=3)
    emu.reset()  # forgets faults asked for by count
    assert emu.edge_faults()["drop_next"] == 0


def test_fault_rates_are_seeded_and_reproducible(emu, v3, edge, origin, clock):
    def run() -> list[str]:
        emu.reset()
        for _ in range(40):
            purge(v3, emu, ["https://www.example.com/a"])
        clock.advance(5)
        return [a.fault for a in edge.applied()]

    emu.configure(edge_drop_rate=0.3, edge_recache_rate=0.3, seed=11)
    first = run()
    assert first == run()  # the same seed and purges: the same faults
    assert {"apply", "drop", "recache"} <= set(first)
    emu.configure(fail_rate=0.0, seed=11)
    assert run() == first  # the purge API's knobs do not shift the edge's draws
    emu.configure(edge_drop_rate=1.0, edge_recache_rate=0.0)
    assert set(run()) == {"drop"}
    emu.restore_defaults()
    assert set(run()) == {"apply"}


def test_faults_from_the_control_api(emu, v3, edge, origin, clock):
    url = emu.base_url + "/emulator/edge/faults"
    answer = requests.post(url, json={"drop_next": 1, "recache_next": 2}, timeout=10)
    assert answer.status_code == 200 and answer.json()["recache_next"] == 2
    bad = requests.post(url, json={"drop": 1}, timeout=10)
    assert bad.status_code == 400 and "drop_next" in bad.json()["detail"]
    negative = requests.post(url, json={"drop_next": -1}, timeout=10)
    assert negative.status_code == 400 and negative.json()["title"] == "invalid fault"

    knobs = emu.base_url + "/emulator/knobs"
    changed = requests.post(knobs, json={"edge_recache_rate": 0.5, "seed": 4}, timeout=10)
    assert changed.status_code == 200 and changed.json()["edge_recache_rate"] == 0.5
    assert emu.knobs.edge_recache_rate == 0.5 and emu.knobs.seed == 4
    assert requests.get(knobs, timeout=10).json() == changed.json()
    for body in ({"edge_drop_rate": 2}, {"no_such_knob": 1}, [1]):
        refused = requests.post(knobs, json=body, timeout=10)
        assert refused.status_code == 400, body
    state = requests.get(edge.base_url + "/emulator/edge", timeout=10).json()
    assert state["faults"] == {
        "dropRate": 0.0,
        "recacheRate": 0.5,
        "dropNext": 1,
        "recacheNext": 2,
    }
    assert state["cacheHost"] == HOST and state["originTimeout"] == 60.0
    # Control requests are not Akamai's: not counted.
    assert emu.counters["requests"] == 0
