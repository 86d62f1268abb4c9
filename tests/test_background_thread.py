"""The background deliverer's thread (``AKAMAI_DELIVERY = "background"`` and the handovers of
the other modes): a delivery that raises is tried again without waiting for another kick.

The thread is driven through its kick and handover interface; the handover stands in for the
work (a delivery, or publishing a Celery kick) so the counts depend on nothing else.
"""

import threading

import pytest

from django_akamai.delivery import modes as delivery


@pytest.fixture
def background(monkeypatch):
    monkeypatch.setattr(delivery, "FAILURE_RETRY_SECONDS", 0.01)
    thread = delivery._Background()
    yield thread
    thread.stop(5)


class FlakyHandover:
    """Raises the first ``failures`` times it runs, then succeeds."""

    def __init__(self, failures: int):
        self.failures = failures
        self.calls = 0
        self.succeeded = threading.Event()

    def __call__(self) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("the broker is away")
        self.succeeded.set()


def test_a_handover_that_raises_is_tried_again_until_it_succeeds(background, caplog):
    handover = FlakyHandover(failures=3)
    background.kick("default", handover)
    assert handover.succeeded.wait(30)
    assert handover.calls == 4
    failures = [r for r in caplog.records if "next try in" in r.getMessage()]
    assert len(failures) == 3
    assert background.wait_idle(30)
    assert "default" not in background.failures  # the streak ends with the success


def test_a_delivery_that_raises_is_tried_again(background, monkeypatch):
    from django_akamai.delivery import worker as deliver

    calls = []
    delivered = threading.Event()

    def deliver_pending(alias, stop=None):
        calls.append(alias)
        if len(calls) == 1:
            raise deliver.AkamaiConfigurationError("stand-in for an OperationalError")
        delivered.set()
        return deliver.DeliveryReport(accepted=1, requests=1)

    monkeypatch.setattr(deliver, "deliver_pending", deliver_pending)
    background.kick("default", None)
    assert delivered.wait(30)
    assert calls == ["default", "default"]


def test_the_wait_doubles_with_each_failure_in_a_row_up_to_the_maximum(monkeypatch):
    monkeypatch.setattr(delivery, "FAILURE_RETRY_SECONDS", 1.0)
    monkeypatch.setattr(delivery, "FAILURE_RETRY_MAX_SECONDS", 4.0)
    thread = delivery._Background()
    try:
        for expected in (1.0, 2.0, 4.0, 4.0):
            before = delivery.time.monotonic()
            thread._run("default", FlakyHandover(failures=1))
            after = delivery.time.monotonic()
            when, _ = thread.due.pop("default")
            assert before + expected <= when <= after + expected
    finally:
        thread.stop(5)
