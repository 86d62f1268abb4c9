"""Seeded transient faults: rates, reproducibility, and what a faulted request leaves behind."""

import threading

import pytest
import requests
from akamai.edgegrid import EdgeGridAuth

from django_akamai.emulator import Emulator
from django_akamai.emulator.faults import FaultInjector, parse_latency


def session_for(emu):
    c = emu.credentials
    session = requests.Session()
    session.auth = EdgeGridAuth(c.client_token, c.client_secret, c.access_token)
    return session


def outcome(session, emu, n, timeout=10):
    try:
        response = session.post(
            emu.base_url + "/ccu/v3/delete/url/staging",
            json={"objects": [f"https://www.example.com/{n}"]},
            timeout=timeout,
        )
    except requests.ConnectionError:
        return "dropped"
    return response.status_code


def run(emu, count):
    with session_for(emu) as session:
        return [outcome(session, emu, n) for n in range(count)]


def test_fail_rate_gives_about_that_many_5xx(emu):
    emu.configure(rate_limits="off", fail_rate=0.2, seed=1234)
    outcomes = run(emu, 200)
    faults = [o for o in outcomes if o != 201]
    assert 25 <= len(faults) <= 60
    assert set(faults) <= {500, 503, 504}
    counters = emu.counters
    assert sum(counters["faults"].values()) == len(faults)
    assert counters["faults"] == {s: faults.count(s) for s in sorted(set(faults))}
    assert counters["accepted"] == len(emu.purges) == 200 - len(faults)
    assert counters["requests"] == 200
    # Faulted requests were not accepted: exactly the 201s are recorded.
    accepted = [f"https://www.example.com/{n}" for n, o in enumerate(outcomes) if o == 201]
    assert emu.accepted_objects() == accepted


def test_fault_problem_body(emu):
    emu.configure(fail_rate=1.0, seed=5)
    with session_for(emu) as session:
        response = session.post(
            emu.base_url + "/ccu/v3/delete/url/staging",
            json={"objects": ["https://www.example.com/"]},
            timeout=10,
        )
    assert response.status_code in (500, 503, 504)
    assert response.headers["Content-Type"] == "application/api-problem+json"
    problem = response.json()
    assert problem["httpStatus"] == response.status_code and problem["supportId"]


def test_same_seed_same_sequence(emu):
    emu.configure(rate_limits="off", fail_rate=0.3, drop_rate=0.1, seed=7)
    first = run(emu, 60)
    emu.reset()  # restarts the draws from the seed
    second = run(emu, 60)
    emu.configure(seed=7)
    third = run(emu, 60)
    emu.configure(seed=8)
    other = run(emu, 60)
    assert first == second == third
    assert other != first
    assert "dropped" in first and {500, 503, 504} & set(first)


def test_same_seed_same_sequence_across_emulators():
    def sequence():
        with Emulator(port=0, rate_limits="off", fail_rate=0.25, drop_rate=0.05, seed=99) as emu:
            return run(emu, 40)

    assert sequence() == sequence()


def test_drop_closes_without_an_answer(emu):
    emu.configure(drop_rate=1.0, seed=1)
    with session_for(emu) as session:
        assert outcome(session, emu, 1) == "dropped"
        assert outcome(session, emu, 2) == "dropped"
    counters = emu.counters
    assert counters["dropped"] == 2 and counters["accepted"] == 0
    assert emu.purges == []


def test_drop_rate_about_right(emu):
    emu.configure(rate_limits="off", drop_rate=0.3, seed=21)
    outcomes = run(emu, 100)
    assert 15 <= outcomes.count("dropped") <= 45
    assert emu.counters["dropped"] == outcomes.count("dropped")
    assert len(emu.purges) == outcomes.count(201)


def test_slow_answer_outlasts_the_client_and_is_not_accepted(emu):
    emu.configure(slow_rate=1.0, slow_seconds=0.5, seed=1)
    with session_for(emu) as session:
        with pytest.raises(requests.ReadTimeout):
            session.post(
                emu.base_url + "/ccu/v3/delete/url/staging",
                json={"objects": ["https://www.example.com/slow"]},
                timeout=0.1,
            )
        # A patient client gets an answer, and it is not an acceptance.
        patient = session.post(
            emu.base_url + "/ccu/v3/delete/url/staging",
            json={"objects": ["https://www.example.com/slow"]},
            timeout=10,
        )
    assert patient.status_code == 504
    counters = emu.counters
    assert counters["slowed"] == 2 and counters["accepted"] == 0
    assert emu.purges == []


def test_latency_still_answers(emu):
    emu.configure(latency_ms=(1, 5), seed=3)
    assert run(emu, 3) == [201, 201, 201]
    emu.configure(latency_ms=2)
    assert run(emu, 1) == [201]


def test_faults_apply_to_v2_too_but_not_to_introspection(emu):
    emu.configure(fail_rate=1.0, seed=2)
    response = requests.get(
        emu.base_url + "/ccu/v2/queues/default",
        auth=(emu.credentials.username, emu.credentials.password),
        timeout=10,
    )
    assert response.status_code in (500, 503, 504)
    assert requests.get(emu.base_url + "/emulator/counters", timeout=10).status_code == 200


def test_stop_interrupts_a_slow_answer():
    emu = Emulator(port=0, slow_rate=1.0, slow_seconds=60, seed=1).start()
    results = []

    def client():
        results.append(outcome(session_for(emu), emu, 1, timeout=120))

    thread = threading.Thread(target=client)
    thread.start()
    while emu.counters["slowed"] == 0:
        thread.join(0.01)
    emu.stop()
    thread.join(30)
    assert not thread.is_alive()
    assert results == ["dropped"]


def test_injector_draws_are_independent_of_the_rates():
    a = FaultInjector(seed=5, fail_rate=0.5)
    b = FaultInjector(seed=5, fail_rate=0.5, drop_rate=0.0, latency_ms=(10, 20))
    fails_a = [a.decide().fail_status for _ in range(50)]
    fails_b = [b.decide().fail_status for _ in range(50)]
    assert fails_a == fails_b


@pytest.mark.parametrize(
    "value, expected",
    [
        (50, 50.0),
        ("50", 50.0),
        ("20-80", (20.0, 80.0)),
        ((20, 80), (20.0, 80.0)),
        ([0, 0], (0.0, 0.0)),
    ],
)
def test_parse_latency(value, expected):
    assert parse_latency(value) == expected


@pytest.mark.parametrize("value", ["x", "80-20", (1, 2, 3), -1, True])
def test_parse_latency_refuses(value):
    with pytest.raises(ValueError):
        parse_latency(value)
