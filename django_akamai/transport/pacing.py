"""Client-side view of Akamai's Fast Purge token buckets, read from the X-Ratelimit headers.

Akamai refills each bucket continuously and refuses a request (429, no tokens taken) when the
request bucket is empty or the object bucket of the request's type holds fewer tokens than the
request has objects. Tracking the last headers lets the client wait just long enough before
sending, instead of learning about the limit through 429s.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

#: Akamai's documented bucket sizes; used until the first response's headers say otherwise.
#: A single request can never carry more objects than its bucket holds.
DEFAULT_BUCKET_SIZES = {"url": 10_000, "cpcode": 300, "tag": 5_000}

# A little slack over the computed refill time, so a request is not sent a hair too early.
_SAFETY = 1.02
_MIN_WAIT = 0.005


def _number(headers: Mapping[str, str], name: str) -> float | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


@dataclass
class _Bucket:
    size: float | None = None
    rate: float | None = None  # tokens per second
    remaining: float | None = None
    seen_at: float = 0.0

    def tokens(self, now: float) -> float | None:
        if self.remaining is None:
            return None
        refilled = self.remaining + (self.rate or 0.0) * max(0.0, now - self.seen_at)
        return refilled if self.size is None else min(self.size, refilled)

    def wait_for(self, needed: float, now: float) -> float:
        available = self.tokens(now)
        if available is None or available >= needed:
            return 0.0
        if not self.rate:
            return 1.0  # refill unknown: look again in a second
        return max(_MIN_WAIT, (needed - available) / self.rate * _SAFETY)


class RateLimitPacer:
    """Tracks the request bucket and one object bucket per object type."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._requests = _Bucket()
        self._objects: dict[str, _Bucket] = {}

    def observe(self, headers: Mapping[str, str], object_type: str | None) -> None:
        """Record the X-Ratelimit headers of a response to a request of ``object_type``."""
        now = self._clock()
        remaining = _number(headers, "X-Ratelimit-Remaining")
        if remaining is not None:
            self._requests = _Bucket(
                size=_number(headers, "X-Ratelimit-Limit"),
                rate=_number(headers, "X-Ratelimit-Limit-Per-Second"),
                remaining=remaining,
                seen_at=now,
            )
        remaining_objects = _number(headers, "X-Ratelimit-Remaining-Objects")
        if object_type and remaining_objects is not None:
            self._objects[object_type] = _Bucket(
                size=_number(headers, "X-Ratelimit-Limit-Objects"),
                rate=_number(headers, "X-Ratelimit-Limit-Per-Second-Objects"),
                remaining=remaining_objects,
                seen_at=now,
            )

    def max_objects(self, object_type: str) -> int:
        """The most objects one request of this type can ever carry (its bucket size)."""
        bucket = self._objects.get(object_type)
        if bucket and bucket.size:
            return max(1, int(bucket.size))
        return DEFAULT_BUCKET_SIZES.get(object_type, 10_000)

    def snapshot(self) -> dict[str, object]:
        """The buckets as JSON-friendly data, stamped with the wall clock, to hand to the next
        process that sends for this account (``restore``)."""
        now, wall = self._clock(), time.time()

        def dump(bucket: _Bucket) -> dict[str, float | None] | None:
            tokens = bucket.tokens(now)
            if tokens is None:
                return None
            return {"size": bucket.size, "rate": bucket.rate, "remaining": tokens, "at": wall}

        return {
            "requests": dump(self._requests),
            "objects": {t: d for t, b in self._objects.items() if (d := dump(b)) is not None},
        }

    def restore(self, state: Mapping[str, object] | None) -> None:
        """Continue from a ``snapshot`` (taken by this or another process); bad data is ignored."""
        if not state:
            return
        now, wall = self._clock(), time.time()

        def load(data: object) -> _Bucket | None:
            if not isinstance(data, Mapping):
                return None
            try:
                age = max(0.0, wall - float(data["at"]))
                return _Bucket(
                    size=None if data.get("size") is None else float(data["size"]),
                    rate=None if data.get("rate") is None else float(data["rate"]),
                    remaining=float(data["remaining"]),
                    seen_at=now - age,
                )
            except (KeyError, TypeError, ValueError):
                return None

        def fresher(loaded: _Bucket, current: _Bucket | None) -> bool:
            # The pacer may be the process's shared one (transport.sharing), which may have
            # seen newer headers than the snapshot: keep whichever view is more recent.
            return current is None or current.remaining is None or loaded.seen_at > current.seen_at

        requests = load(state.get("requests"))
        if requests is not None and fresher(requests, self._requests):
            self._requests = requests
        objects = state.get("objects")
        if isinstance(objects, Mapping):
            for object_type, data in objects.items():
                bucket = load(data)
                if bucket is not None and fresher(bucket, self._objects.get(str(object_type))):
                    self._objects[str(object_type)] = bucket

    def delay(self, object_type: str | None, count: int) -> float:
        """Seconds to wait before a request of ``count`` objects would be accepted."""
        now = self._clock()
        wait = self._requests.wait_for(1, now)
        if object_type in self._objects:
            wait = max(wait, self._objects[object_type].wait_for(count, now))
        return wait
