"""The verifier: its own daemon thread, so a save or a delivery never waits on the edge.

``verifier().submit(job)`` (the receiver calls it for each accepted request) queues a
:class:`Job` due ``estimatedSeconds`` plus ``MARGIN`` after the purge was accepted. When it
falls due the thread probes the job's URLs through the edge, ``CONCURRENCY`` at a time and at
most ``RATE`` requests a second (edge and origin together), judges each, and then:

* a stale URL is purged once more through the funnel (``funnel.request_purge``, so the purge
  switches, the history and the pacing from the account's buckets apply as to any purge) and
  checked again after that purge's ``estimatedSeconds`` plus the margin. When every verifiable
  URL of the sample holds a copy older than the purge, the request's purge did not take at
  all: every URL of the request is purged again, not only the sampled ones;
* a URL stale a second time is reported: kept on the history record with the reason (a
  warning is logged), never purged a third time.

Time: due times are on the verifier's ``clock`` (``time.monotonic``; a test passes the
emulated edge's ``ManualClock`` and calls :meth:`Verifier.wake` after advancing it). The rate
is paced in real time: it bounds the load on the edge, whatever a test's clock says.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.db import connections

from .. import funnel
from ..options import PurgeOptions
from . import outcome as outcomes
from .judge import FRESH, NOT_APPLIED, STALE, UNVERIFIABLE, Verdict, copy_served, judge
from .options import VerifyOptions, verify_options
from .probe import DEBUG_PRAGMA, Answer, fetch

logger = logging.getLogger("django_akamai.verification")

__all__ = ["VERIFY_ACTOR", "Job", "Verifier", "install", "verifier"]

#: The actor of the verifier's own second purges (the history shows it; the receiver skips
#: them: the verifier follows them itself).
VERIFY_ACTOR = "akamai-verify"


@dataclass
class Job:
    """One purge request to verify (or, ``round`` 2, its stale URLs purged once more)."""

    purge_id: str
    options: PurgeOptions
    urls: list[str]  # the sample checked
    accepted: float  # verifier clock
    due: float  # verifier clock
    changed_after: float = 0.0  # seconds from the change's commit to the purge's acceptance
    changed_at: float | None = None  # epoch seconds of the commit
    #: Every URL of the request when the sample is smaller: purged again when the sample
    #: shows the request's purge did not take at all.
    objects: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)  # a tag purge: the site may know its URLs
    unverifiable: str = ""  # why nothing of it can be checked (tags, CP codes)
    round: int = 1
    earlier: list[Verdict] = field(default_factory=list)  # round 1's verdicts, for round 2
    repurged: int = 0
    latency: float | None = None  # round 1's, for round 2


class _Pacer:
    """At most ``rate`` starts a second, in real time, across the probing threads."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next)
            self.next = start + self.interval
        if start > now:
            time.sleep(start - now)


class Verifier:
    """The queue of jobs and the thread that works it."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.wall = wall
        self.pid = os.getpid()
        self.lock = threading.Condition()
        self.jobs: list[tuple[float, int, Job]] = []
        self.sequence = itertools.count()
        self.running = 0
        self.stopping = threading.Event()
        #: Requests made: to the edge, to the origin; purge requests sent again.
        self.counts = {"edge": 0, "origin": 0, "repurges": 0}
        self._pacer: _Pacer | None = None
        self.thread = threading.Thread(target=self._loop, name="django-akamai-verify", daemon=True)
        self.thread.start()

    # --- the queue ------------------------------------------------------------------------

    def submit(self, job: Job) -> None:
        with self.lock:
            heapq.heappush(self.jobs, (job.due, next(self.sequence), job))
            self.lock.notify_all()

    def wake(self) -> None:
        """Look at the clock again (a test moved it)."""
        with self.lock:
            self.lock.notify_all()

    def pending(self) -> int:
        with self.lock:
            return len(self.jobs) + self.running

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no job is due or running (jobs not yet due do not count)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.running or (self.jobs and self.jobs[0][0] <= self.clock()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.lock.notify_all()
                self.lock.wait(min(remaining, 0.05))
        return True

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        self.wake()
        self.thread.join(timeout)

    def _next(self) -> Job | None:
        with self.lock:
            while not self.stopping.is_set():
                now = self.clock()
                if self.jobs and self.jobs[0][0] <= now:
                    self.running += 1
                    return heapq.heappop(self.jobs)[2]
                # A real clock: sleep until the first is due; a test's clock: look again soon.
                wait = (self.jobs[0][0] - now) if self.jobs else 3600.0
                self.lock.wait(min(max(0.01, wait), 1.0))
            return None

    def _loop(self) -> None:
        while not self.stopping.is_set():
            job = self._next()
            if job is None:
                return
            try:
                self._run(job)
            except Exception:  # one job must not stop the verifier
                logger.exception("Verifying purge %s failed", job.purge_id)
            finally:
                connections.close_all()  # this thread's connections only
                with self.lock:
                    self.running -= 1
                    self.lock.notify_all()

    # --- one job --------------------------------------------------------------------------

    def _run(self, job: Job) -> None:
        options = verify_options()
        if options is None:
            return  # switched off meanwhile
        if job.tags and options.tag_urls is not None:
            try:
                job.urls = sample(list(options.tag_urls(job.tags)), options.sample)
                job.unverifiable = ""
            except Exception as exc:
                job.unverifiable = f"TAG_URLS raised {type(exc).__name__}: {exc}"
        if job.unverifiable:
            verdicts = [
                Verdict(str(obj), UNVERIFIABLE, job.unverifiable) for obj in job.tags or job.urls
            ]
            outcomes.save(outcomes.Outcome(job.purge_id, verdicts))
            return
        verdicts = self._check(job, options)
        now = self.clock()
        fresh_now = any(v.state == FRESH for v in verdicts)
        latency = job.changed_after + (now - job.accepted) if fresh_now else None
        if job.round == 1:
            stale = [v.url for v in verdicts if v.state == STALE]
            targets = _purge_targets(job, verdicts)
            estimated = self._purge_again(job, targets) if stale and options.repurge else None
            if estimated is not None:
                kept = [v for v in verdicts if v.state != STALE]
                interim = outcomes.Outcome(
                    job.purge_id, verdicts, repurged=len(targets), latency=latency, final=False
                )
                outcomes.save(interim)
                self._follow(job, stale, kept, latency, estimated + options.margin, len(targets))
                return
            outcomes.save(outcomes.Outcome(job.purge_id, verdicts, latency=latency))
            return
        # Round 2: the earlier verdicts of the other URLs, these for the purged-again ones.
        final = [*job.earlier, *verdicts]
        if any(v.state == STALE for v in verdicts):
            latency = None  # not all fresh: no commit → fresh time for this purge
        else:
            latency = max(filter(None, (job.latency, latency)), default=None)
        outcomes.save(outcomes.Outcome(job.purge_id, final, repurged=job.repurged, latency=latency))

    def _check(self, job: Job, options: VerifyOptions) -> list[Verdict]:
        if self._pacer is None or self._pacer.interval != 1.0 / options.rate:
            self._pacer = _Pacer(options.rate)
        since = self.clock() - job.accepted
        with ThreadPoolExecutor(options.concurrency, thread_name_prefix="akamai-verify") as pool:
            return list(pool.map(lambda url: self._check_one(url, job, options, since), job.urls))

    def _get(self, url: str, via: str | None, options: VerifyOptions, **headers: str) -> Answer:
        assert self._pacer is not None
        self._pacer.wait()
        return fetch(url, via=via, timeout=options.timeout, headers=headers)

    def _check_one(self, url: str, job: Job, options: VerifyOptions, since: float) -> Verdict:
        answer = self._get(url, options.edge, options, Pragma=DEBUG_PRAGMA)
        self._count("edge")
        origin = None
        if options.origin and answer.status is not None and copy_served(answer):
            stamps = {}
            if answer.header("ETag"):
                stamps["If-None-Match"] = answer.header("ETag") or ""
            if answer.header("Last-Modified"):
                stamps["If-Modified-Since"] = answer.header("Last-Modified") or ""
            if stamps:
                origin = self._get(url, options.origin, options, **stamps)
                self._count("origin")
        return judge(
            url,
            answer,
            since_purge=since,
            changed_at=job.changed_at,
            now=self.wall,
            origin=origin,
            last_modified=options.last_modified,
        )

    def _count(self, name: str) -> None:
        with self.lock:
            self.counts[name] += 1

    def _purge_again(self, job: Job, urls: list[str]) -> float | None:
        """Purge ``urls`` once more through the funnel; return the longest
        ``estimatedSeconds`` of its answers, or None when nothing was sent."""
        try:
            results = funnel.request_purge(urls, options=job.options, actor=VERIFY_ACTOR)
        except Exception as exc:
            logger.warning("Could not purge %d stale URL(s) again: %s", len(urls), exc)
            return None
        if not results:
            return None  # purging is off or suspended: nothing to check again
        with self.lock:
            self.counts["repurges"] += len(results)
        return max(estimated_seconds(result) for result in results)

    def _follow(
        self,
        job: Job,
        urls: list[str],
        kept: list[Verdict],
        latency: float | None,
        wait: float,
        repurged: int,
    ) -> None:
        now = self.clock()
        self.submit(
            Job(
                purge_id=job.purge_id,
                options=job.options,
                urls=urls,
                accepted=now,
                due=now + wait,
                changed_after=job.changed_after + (now - job.accepted),
                changed_at=job.changed_at,
                round=2,
                earlier=kept,
                repurged=repurged,
                latency=latency,
            )
        )


def _purge_targets(job: Job, verdicts: list[Verdict]) -> list[str]:
    """What to purge again: the stale URLs; and every URL of the request when each verifiable
    URL of the sample holds a copy older than the purge (the sample stands for the request:
    its purge did not take). A re-cached URL is a race of its own: only it is purged."""
    stale = [v for v in verdicts if v.state == STALE]
    verifiable = [v for v in verdicts if v.state != UNVERIFIABLE]
    urls = [v.url for v in stale]
    if job.objects and stale and len(stale) == len(verifiable):
        if all(v.cause == NOT_APPLIED for v in stale):
            return list(dict.fromkeys([*urls, *job.objects]))
    return urls


def estimated_seconds(result: Any) -> float:
    value = result.get("estimatedSeconds") if isinstance(result, dict) else None
    return float(value) if isinstance(value, (int, float)) and value >= 0 else 5.0


def sample(urls: list[str], size: int) -> list[str]:
    """At most ``size`` of ``urls``, spread over the list (the first, then evenly apart)."""
    urls = list(dict.fromkeys(urls))
    if len(urls) <= size:
        return urls
    step = len(urls) / size
    return [urls[int(index * step)] for index in range(size)]


_instance: Verifier | None = None
_instance_lock = threading.Lock()


def verifier() -> Verifier:
    """This process's verifier, started on first use (again after a fork)."""
    global _instance
    with _instance_lock:
        if _instance is None or _instance.pid != os.getpid():
            _instance = Verifier()
        return _instance


def install(instance: Verifier | None) -> Verifier | None:
    """Use ``instance`` as this process's verifier (tests: one on a manual clock); return
    the one it replaces (not stopped). ``None`` forgets it: the next use starts a new one."""
    global _instance
    with _instance_lock:
        previous, _instance = _instance, instance
        return previous
