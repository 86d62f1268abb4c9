"""Where recorded purge intents are delivered from: the ``AKAMAI_DELIVERY`` setting.

``kick(alias)`` is called once intents are committed on database ``alias`` (``intents`` does
it after the commit). It never raises and never waits on Akamai or a broker:

``"background"`` (default)
    A daemon thread of this process runs ``worker.deliver_pending`` shortly after the kick
    (``AKAMAI_DELIVERY_DELAY`` seconds: what commits meanwhile joins the same delivery, so a
    busy site sends about one request per window instead of one per save), with its own
    database connection, and again when backed-off intents fall due. A
    short-lived process (a management command, a script) waits at exit, at most
    ``AKAMAI_DELIVERY_EXIT_WAIT`` seconds, for what it kicked; anything left stays pending for
    the next deliverer. An in-memory SQLite database cannot be seen from another connection,
    so with one the delivery runs in the committing thread right after the commit instead.
``"worker"``
    Nothing is sent from this process: ``manage.py akamai_worker`` delivers.
``"celery"``
    The Celery task ``django_akamai.tasks.deliver_intents`` delivers. It is published from
    the background thread (a broker outage delays it, never the save); a lost kick is picked
    up by the next kick or by the periodic safety net (schedule the same task with Celery
    beat). Any number of workers may run it: the lease keeps one sender per account.

Another mode plugs in with ``MODES[name] = "dotted.path.to.kick_function"``, e.g. a Django
Tasks one: a function taking the alias, called in the committing thread right after the commit
(so it can bind what is thread-local there, such as Celery's current app), that returns the
callable the background thread then runs to hand the work over.

Public functions: ``kick``, ``mode``, ``wait_idle``, ``stop_background``, ``log_report``.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.signals import request_started
from django.db import connections
from django.utils.module_loading import import_string

from .. import conf
from ..exceptions import AkamaiConfigurationError
from . import worker

logger = logging.getLogger("django_akamai")

__all__ = [
    "MODES",
    "kick",
    "log_report",
    "mode",
    "start_sweeping",
    "stop_background",
    "sweep_from_first_request",
    "wait_idle",
]

#: Delivery modes: "background" and "worker" are built in; others name a kick function (see
#: the module docstring); what it returns runs in the background thread, so a slow broker
#: never holds up the committing request.
MODES: dict[str, str | None] = {
    "background": None,
    "worker": None,
    "celery": "django_akamai.tasks.kick_delivery",
    "tasks": "django_akamai.contrib.django_tasks.kick_delivery",
}

#: When another process holds the lease, look again this often (it may die mid-delivery).
BUSY_RETRY_SECONDS = 1.0
#: After a delivery or a handover raised (the database or the broker away), try again after
#: this long, doubled for each failure in a row up to the maximum: what was committed must not
#: wait for the next save's kick, which may never come.
FAILURE_RETRY_SECONDS = 1.0
FAILURE_RETRY_MAX_SECONDS = 60.0
#: While Akamai refuses the credentials or the clock (a setup problem), look again this long
#: after the last refusal, doubled for each in a row up to the maximum: a fixed edgerc file is
#: noticed without a restart, and a restart (new process) tries at once.
SETUP_RETRY_SECONDS = 5.0
SETUP_RETRY_MAX_SECONDS = 60.0


def mode() -> str:
    """The configured ``AKAMAI_DELIVERY``, validated."""
    value = conf.setting("AKAMAI_DELIVERY")
    if value not in MODES:
        raise AkamaiConfigurationError(
            f"AKAMAI_DELIVERY is {value!r}; use one of {', '.join(map(repr, MODES))}."
        )
    return value


def _sweep_seconds() -> float:
    return conf.setting("AKAMAI_DELIVERY_SWEEP_SECONDS")


def _in_memory(alias: str) -> bool:
    connection = connections[alias]
    return connection.vendor == "sqlite" and connection.is_in_memory_db()  # type: ignore[attr-defined]


def _handover(chosen: str, alias: str) -> Callable[[], None] | None:
    """What the background thread runs for ``alias`` in mode ``chosen``: None (deliver here)
    or the callable that hands the work to another mode (bound in the calling thread)."""
    target = MODES[chosen]
    return import_string(target)(alias) if target else None


def kick(alias: str) -> None:
    """Intents were committed on ``alias``: have them delivered, as ``AKAMAI_DELIVERY`` says."""
    try:
        chosen = mode()
        if chosen == "worker":
            return
        if chosen == "background" and _in_memory(alias):
            _deliver_inline(alias)
            return
        handover = _handover(chosen, alias)
        thread = _background()
        thread.kick(alias, handover, conf.setting("AKAMAI_DELIVERY_DELAY"))
        thread.sweep(alias, handover)
    except Exception:  # the change is committed; delivery is someone else's job now
        logger.exception("Could not start delivering the purge intents of %r", alias)


def start_sweeping() -> None:
    """Have this process look for due intents every ``AKAMAI_DELIVERY_SWEEP_SECONDS``, with no
    kick: what a skipped ``on_commit`` hook, a killed sibling process or a restart left
    pending is delivered within that bound. A no-op in ``"worker"`` mode (``akamai_worker``
    polls) and for in-memory SQLite (no other connection can see the rows). Never raises."""
    try:
        chosen = mode()
        if chosen == "worker":
            return
        for alias in worker.intent_databases():
            if not _in_memory(alias):
                _background().sweep(alias, _handover(chosen, alias))
    except Exception:
        logger.exception("Could not start looking for pending purge intents")


SWEEP_RECEIVER = "django_akamai.delivery.sweep"


def _sweep_on_first_request(sender: Any, **kwargs: Any) -> None:
    request_started.disconnect(dispatch_uid=SWEEP_RECEIVER)
    start_sweeping()


def sweep_from_first_request() -> None:
    """Connected in ``AppConfig.ready()``: a web process starts sweeping with its first request
    (not at start-up, so that ``migrate`` and other commands start no thread)."""
    request_started.connect(_sweep_on_first_request, dispatch_uid=SWEEP_RECEIVER)


def _deliver_inline(alias: str) -> None:
    """Deliver in the committing thread (an in-memory SQLite database is not seen from
    another connection); what it could not do is logged as the background thread logs it."""
    log_report(worker.deliver_pending(alias))


def log_report(report: worker.DeliveryReport) -> None:
    """Log what a delivery could not do and nobody else reports: the one way every deliverer
    of a process (inline, the background thread, the Celery task) says it. Refusals and
    unreachable rounds are logged by the deliverer as they happen."""
    if report.config_error:
        logger.error("Purge intents stay pending: %s", report.config_error)


class _Background:
    """The daemon thread that delivers (or kicks another mode) after commits."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.lock = threading.Condition()
        # alias -> None (deliver here) or the callable that hands the work to another mode
        self.kicked: dict[str, Callable[[], None] | None] = {}
        # alias -> (monotonic time to look again, the handover to run then)
        self.due: dict[str, tuple[float, Callable[[], None] | None]] = {}
        self.failures: dict[str, int] = {}  # alias -> deliveries in a row that raised
        self.setup_refusals: dict[str, int] = {}  # alias -> setup refusals in a row
        # alias -> the handover a sweep runs (None: deliver here); aliases swept periodically
        self.sweeping: dict[str, Callable[[], None] | None] = {}
        # alias -> (when the coalescing window closes, the handover to run then)
        self.windows: dict[str, tuple[float, Callable[[], None] | None]] = {}
        self.running = False
        self.stopping = threading.Event()
        self.thread = threading.Thread(
            target=self._loop, name="django-akamai-delivery", daemon=True
        )
        self.thread.start()

    def kick(self, alias: str, handover: Callable[[], None] | None, delay: float = 0.0) -> None:
        with self.lock:
            if delay > 0:
                # The first kick opens the window; later ones join it (and keep the newest
                # handover), so a busy site makes one delivery per window, not one per save.
                when, _ = self.windows.get(alias, (time.monotonic() + delay, None))
                self.windows[alias] = (when, handover)
            else:
                self.kicked[alias] = handover
            self.lock.notify_all()

    def sweep(self, alias: str, handover: Callable[[], None] | None) -> None:
        """Look at ``alias`` every ``AKAMAI_DELIVERY_SWEEP_SECONDS`` from now on."""
        with self.lock:
            if alias in self.sweeping:
                return
            self.sweeping[alias] = handover
        self._look_again(alias, time.monotonic() + _sweep_seconds(), handover)

    def idle(self) -> bool:
        return not self.kicked and not self.windows and not self.running

    def flush(self) -> None:
        """Close every open window now (someone waits for the delivery)."""
        with self.lock:
            for alias, (_, handover) in self.windows.items():
                self.kicked[alias] = handover
            self.windows.clear()
            self.lock.notify_all()

    def _next_work(self) -> dict[str, Callable[[], None] | None]:
        with self.lock:
            while not self.stopping.is_set():
                now = time.monotonic()
                for alias, (when, handover) in list(self.due.items()):
                    if when <= now:
                        del self.due[alias]
                        self.kicked.setdefault(alias, handover)
                for alias, (when, handover) in list(self.windows.items()):
                    if when <= now:
                        del self.windows[alias]
                        self.kicked[alias] = handover
                if self.kicked:
                    work, self.kicked = self.kicked, {}
                    self.running = True
                    return work
                wake = [when for when, _ in (*self.due.values(), *self.windows.values())]
                timeout = min(wake, default=now + 3600) - now
                self.lock.wait(max(0.01, timeout))
            return {}

    def _loop(self) -> None:
        while not self.stopping.is_set():
            work = self._next_work()
            try:
                for alias, handover in work.items():
                    self._run(alias, handover)
            finally:
                connections.close_all()  # this thread's connections only
                with self.lock:
                    self.running = False
                    self.lock.notify_all()

    def _run(self, alias: str, handover: Callable[[], None] | None) -> None:
        try:
            self._deliver(alias, handover)
        finally:
            if alias in self.sweeping:  # the next look, whatever happened now
                self._look_again(alias, time.monotonic() + _sweep_seconds(), self.sweeping[alias])

    def _deliver(self, alias: str, handover: Callable[[], None] | None) -> None:
        try:
            if handover is not None:
                handover()
                self.failures.pop(alias, None)
                return
            report = worker.deliver_pending(alias, stop=self.stopping)
        except Exception:
            failures = self.failures[alias] = self.failures.get(alias, 0) + 1
            wait = min(FAILURE_RETRY_MAX_SECONDS, FAILURE_RETRY_SECONDS * 2 ** (failures - 1))
            logger.exception(
                "Delivering the purge intents of %r failed; they stay pending, next try in %.0fs",
                alias,
                wait,
            )
            self._look_again(alias, time.monotonic() + wait, handover)
            return
        self.failures.pop(alias, None)
        log_report(report)
        if report.config_error:
            refusals = self.setup_refusals[alias] = self.setup_refusals.get(alias, 0) + 1
            wait = min(SETUP_RETRY_MAX_SECONDS, SETUP_RETRY_SECONDS * 2 ** (refusals - 1))
            self._look_again(alias, time.monotonic() + wait)
            return
        self.setup_refusals.pop(alias, None)
        if report.busy:
            self._look_again(alias, time.monotonic() + BUSY_RETRY_SECONDS)
        elif report.seconds_until_due is not None:
            # By the database's clock: this host's may be minutes off.
            self._look_again(alias, time.monotonic() + report.seconds_until_due)

    def _look_again(
        self, alias: str, when: float, handover: Callable[[], None] | None = None
    ) -> None:
        with self.lock:
            earlier = self.due.get(alias)
            if earlier is None or when < earlier[0]:
                self.due[alias] = (when, handover)
                self.lock.notify_all()  # the thread may be asleep until a later time

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every kick so far has been handled (not for backed-off retries)."""
        self.flush()
        deadline = time.monotonic() + timeout
        with self.lock:
            while not self.idle():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.lock.wait(remaining)
        return True

    def stop(self, timeout: float) -> None:
        self.stopping.set()
        with self.lock:
            self.lock.notify_all()
        self.thread.join(timeout)


_instance: _Background | None = None
_instance_lock = threading.Lock()


def _background() -> _Background:
    global _instance
    with _instance_lock:
        if _instance is None or _instance.pid != os.getpid():  # none yet, or forked
            if _instance is None:
                atexit.register(_at_exit)
            _instance = _Background()
        return _instance


def wait_idle(timeout: float = 10.0) -> bool:
    """Wait until this process's background deliveries are done; False on timeout."""
    instance = _instance
    if instance is None or instance.pid != os.getpid():
        return True
    return instance.wait_idle(timeout)


def stop_background(timeout: float = 10.0) -> None:
    """Stop the background thread after the request in flight."""
    global _instance
    with _instance_lock:
        instance, _instance = _instance, None
    if instance is not None and instance.pid == os.getpid():
        instance.stop(timeout)


def _at_exit() -> None:
    instance = _instance
    if instance is None or instance.pid != os.getpid():
        return
    try:
        wait = conf.setting("AKAMAI_DELIVERY_EXIT_WAIT")
    except Exception:
        wait = 10.0
    if not instance.wait_idle(wait):
        logger.warning(
            "Exiting with purge deliveries unfinished after %.0fs; they stay pending for the "
            "next deliverer",
            wait,
        )
    instance.stop(1.0)
