"""What the emulator remembers: accepted purges, CCU v2 progress and counters (thread-safe)."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

# The most recent refusals kept for GET /emulator/refusals (older ones are forgotten).
REFUSALS_KEPT = 1000


@dataclass(frozen=True)
class AcceptedPurge:
    """One accepted purge request, with its objects exactly as the client sent them."""

    api: str  # "v3" or "v2"
    action: str  # v3: invalidate|delete; v2: remove|invalidate
    type: str  # v3: url|cpcode|tag; v2: arl|cpcode
    network: str  # production|staging (v2's "domain")
    hostname: str | None  # only when the v3 "hostname" + paths form was used
    objects: tuple[Any, ...]
    purge_id: str
    support_id: str
    estimated_seconds: int
    received_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "api": self.api,
            "action": self.action,
            "type": self.type,
            "network": self.network,
            "hostname": self.hostname,
            "objects": list(self.objects),
            "purgeId": self.purge_id,
            "supportId": self.support_id,
            "estimatedSeconds": self.estimated_seconds,
            "receivedAt": _iso(self.received_at),
        }


@dataclass(frozen=True)
class V2Progress:
    purge: AcceptedPurge
    submitted_by: str
    submitted_at: float  # monotonic clock
    done_at: float  # monotonic clock
    original_queue_length: int


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class EmulatorState:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._purges: list[AcceptedPurge] = []
        self._v2: dict[str, V2Progress] = {}
        self._counts: Counter[str] = Counter()
        self._refused: Counter[int] = Counter()
        self._faults: Counter[int] = Counter()
        self._refusals: deque[dict[str, Any]] = deque(maxlen=REFUSALS_KEPT)

    # --- counters -----------------------------------------------------------------------

    def count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] += amount

    def count_refused(self, status: int) -> None:
        with self._lock:
            self._refused[status] += 1

    def count_fault(self, status: int) -> None:
        with self._lock:
            self._faults[status] += 1

    def record_refusal(self, method: str, path: str, status: int, body: dict[str, Any]) -> None:
        """Remember why a request was refused (429s and faults included), newest last."""
        entry = {
            "method": method,
            "path": path,
            "status": status,
            "title": body.get("title", ""),
            "detail": body.get("detail", ""),
        }
        with self._lock:
            self._refusals.append(entry)

    def refusals(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._refusals)

    def counters(self) -> dict[str, Any]:
        with self._lock:
            snapshot: dict[str, Any] = {
                name: self._counts[name]
                for name in (
                    "requests",
                    "accepted",
                    "objects_accepted",
                    "rate_limited",
                    "bytes_received",
                    "dropped",
                    "slowed",
                )
            }
            snapshot["refused"] = dict(sorted(self._refused.items()))
            snapshot["faults"] = dict(sorted(self._faults.items()))
            return snapshot

    # --- purges -------------------------------------------------------------------------

    def accept(self, purge: AcceptedPurge) -> None:
        with self._lock:
            self._purges.append(purge)
            self._counts["accepted"] += 1
            self._counts["objects_accepted"] += len(purge.objects)

    def accept_v2(self, purge: AcceptedPurge, submitted_by: str, seconds: float) -> V2Progress:
        """Record a CCU v2 purge that reports Done ``seconds`` (real time) from now."""
        with self._lock:
            now = self._clock()
            queued = self._queued_objects(now)
            progress = V2Progress(purge, submitted_by, now, now + seconds, queued)
            self._v2[purge.purge_id] = progress
            self._purges.append(purge)
            self._counts["accepted"] += 1
            self._counts["objects_accepted"] += len(purge.objects)
            return progress

    def purges(self) -> list[AcceptedPurge]:
        with self._lock:
            return list(self._purges)

    def accepted_objects(self) -> list[Any]:
        with self._lock:
            return [obj for purge in self._purges for obj in purge.objects]

    def v2_status(self, purge_id: str) -> dict[str, Any] | None:
        """CCU v2's purge status document, or None for an unknown purge id."""
        with self._lock:
            progress = self._v2.get(purge_id)
            now = self._clock()
        if progress is None:
            return None
        purge = progress.purge
        done = now >= progress.done_at
        finished = purge.received_at + timedelta(seconds=progress.done_at - progress.submitted_at)
        remaining = max(0, round(progress.done_at - now))
        return {
            "httpStatus": 200,
            "purgeId": purge.purge_id,
            "supportId": purge.support_id,
            "purgeStatus": "Done" if done else "In-Progress",
            "submittedBy": progress.submitted_by,
            "submissionTime": _iso(purge.received_at),
            "completionTime": _iso(finished) if done else None,
            "originalEstimatedSeconds": purge.estimated_seconds,
            "originalQueueLength": progress.original_queue_length,
            "pingAfterSeconds": 0 if done else max(1, remaining),
            "progressUri": f"/ccu/v2/purges/{purge.purge_id}",
        }

    def _queued_objects(self, now: float) -> int:
        return sum(len(p.purge.objects) for p in self._v2.values() if p.done_at > now)

    def v2_queue_length(self) -> int:
        """Objects of CCU v2 purges still In-Progress (Akamai's queueLength counts objects)."""
        with self._lock:
            return self._queued_objects(self._clock())

    def reset(self) -> None:
        with self._lock:
            self._purges.clear()
            self._v2.clear()
            self._counts.clear()
            self._refused.clear()
            self._faults.clear()
            self._refusals.clear()
