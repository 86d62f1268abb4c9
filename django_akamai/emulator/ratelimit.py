"""Fast Purge v3 rate limits: Akamai's token buckets, shared by every client of the account.

Sizes and refill rates are Akamai's documented ones. ``time_scale`` multiplies the refill
rates (and the advertised per-second rates), so a test can drain and refill a bucket in
milliseconds while every count stays what Akamai would give.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

REQUEST_BUCKET = "request"


@dataclass(frozen=True)
class BucketSpec:
    size: int
    per_second: float  # refill at time_scale 1
    title: str  # 429 title when this bucket is the one that is short


SPECS: dict[str, BucketSpec] = {
    REQUEST_BUCKET: BucketSpec(100, 50.0, "Rate Limit exceeded"),
    "url": BucketSpec(10_000, 12_000 / 60, "URL Rate Limit exceeded"),
    "cpcode": BucketSpec(300, 30 / 60, "CPCODE Rate Limit exceeded"),
    "tag": BucketSpec(5_000, 500 / 60, "TAG Rate Limit exceeded"),
}


@dataclass(frozen=True)
class Denial:
    bucket: str
    title: str
    limit: int
    requested: int
    remaining: int


@dataclass(frozen=True)
class Outcome:
    """Result of one admission attempt; ``headers`` are the X-Ratelimit-* to send back."""

    denial: Denial | None
    headers: dict[str, str]


class RateLimiter:
    """Token buckets for requests and for each object type; all-or-nothing admission."""

    def __init__(
        self,
        *,
        enabled: bool = True,
        time_scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._enabled = enabled
        self._time_scale = time_scale
        self._tokens = {name: float(spec.size) for name, spec in SPECS.items()}
        self._updated = clock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._updated = now
        for name, spec in SPECS.items():
            gained = elapsed * spec.per_second * self._time_scale
            self._tokens[name] = min(float(spec.size), self._tokens[name] + gained)

    def configure(self, *, enabled: bool | None = None, time_scale: float | None = None) -> None:
        with self._lock:
            # Tokens earned so far were earned at the old rate.
            self._refill()
            if time_scale is not None:
                self._time_scale = time_scale
            if enabled is not None:
                if enabled and not self._enabled:
                    self._fill()
                self._enabled = enabled

    def _fill(self) -> None:
        self._tokens = {name: float(spec.size) for name, spec in SPECS.items()}

    def reset(self) -> None:
        with self._lock:
            self._fill()
            self._updated = self._clock()

    def _remaining(self, name: str) -> int:
        if not self._enabled:
            return SPECS[name].size
        return math.floor(self._tokens[name])

    def _seconds_to_refresh(self, name: str) -> str:
        """Seconds until a full burst of ``name`` is available again."""
        spec = SPECS[name]
        if not self._enabled:
            return "0.000000"
        missing = spec.size - self._tokens[name]
        return f"{max(0.0, missing) / (spec.per_second * self._time_scale):.6f}"

    def _headers(self, object_type: str) -> dict[str, str]:
        request, objects = SPECS[REQUEST_BUCKET], SPECS[object_type]
        return {
            "X-Ratelimit-Limit": str(request.size),
            "X-Ratelimit-Limit-Per-Second": f"{request.per_second * self._time_scale:.2f}",
            "X-Ratelimit-Remaining": str(self._remaining(REQUEST_BUCKET)),
            "X-Ratelimit-Limit-Objects": str(objects.size),
            "X-Ratelimit-Limit-Per-Second-Objects": f"{objects.per_second * self._time_scale:.2f}",
            "X-Ratelimit-Remaining-Objects": str(self._remaining(object_type)),
            "X-Ratelimit-Seconds-To-Refresh-Limit": self._seconds_to_refresh(REQUEST_BUCKET),
            "X-Ratelimit-Seconds-To-Refresh-Limit-Objects": self._seconds_to_refresh(object_type),
        }

    def peek(self, object_type: str) -> dict[str, str]:
        """Headers for a response that takes no tokens (refusals, faults)."""
        with self._lock:
            self._refill()
            return self._headers(object_type)

    def admit(self, object_type: str, count: int) -> Outcome:
        """Take one request token and ``count`` object tokens, or nothing and a denial."""
        with self._lock:
            self._refill()
            if self._enabled:
                denial = self._shortage(REQUEST_BUCKET, 1) or self._shortage(object_type, count)
                if denial is not None:
                    return Outcome(denial, self._headers(object_type))
                self._tokens[REQUEST_BUCKET] -= 1
                self._tokens[object_type] -= count
            return Outcome(None, self._headers(object_type))

    def _shortage(self, name: str, wanted: int) -> Denial | None:
        if self._tokens[name] >= wanted:
            return None
        spec = SPECS[name]
        return Denial(name, spec.title, spec.size, wanted, self._remaining(name))
