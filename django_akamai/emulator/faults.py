"""Seeded, reproducible faults, of two kinds.

* :class:`FaultInjector`, the purge API's transient faults: dropped connections, slow
  answers, 5xx, latency. Every request that reaches the fault stage takes exactly five draws
  from one ``random.Random(seed)``, in arrival order, whatever the knobs are; so the same seed
  and the same request sequence give the same faults, and changing one rate does not shift
  the others.
* :class:`PurgeFaults`, the edge's misbehaviour toward a purge the API accepted (201): it
  ignores it (the edge keeps serving its copy), or it re-caches the old copy right after
  applying it, as when a request that read the old data before the commit refills the cache
  after the purge (a race). Each purge the edge receives takes exactly two draws from its
  own ``random.Random(seed)``, so these faults do not shift the purge API's draws. Faults
  asked for by count (``drop_next``, ``recache_next``) come before the draws decide.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

FAIL_STATUSES = (500, 503, 504)

Latency = float | tuple[float, float]


@dataclass(frozen=True)
class FaultDecision:
    drop: bool = False
    slow: bool = False
    fail_status: int | None = None
    latency_seconds: float = 0.0


def parse_latency(value: object) -> Latency:
    """``50``, ``"50"``, ``(20, 80)`` or ``"20-80"`` (milliseconds) → a number or a range."""
    if isinstance(value, str):
        low_text, sep, high_text = value.strip().partition("-")
        if sep:
            return parse_latency((float(low_text), float(high_text)))
        return parse_latency(float(low_text))
    if isinstance(value, tuple | list):
        if len(value) != 2:
            raise ValueError("latency_ms range must be (low, high)")
        low, high = float(value[0]), float(value[1])
        if low < 0 or high < low:
            raise ValueError(f"latency_ms range must be 0 <= low <= high, not {value!r}")
        return (low, high)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"latency_ms must be a non-negative number or a range, not {value!r}")
    return float(value)


class FaultInjector:
    def __init__(
        self,
        *,
        fail_rate: float = 0.0,
        drop_rate: float = 0.0,
        slow_rate: float = 0.0,
        latency_ms: Latency = 0.0,
        seed: int | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self.fail_rate = fail_rate
        self.drop_rate = drop_rate
        self.slow_rate = slow_rate
        self.latency_ms = latency_ms
        self._seed = seed
        self._rng = random.Random(seed)

    def reseed(self, seed: int | None) -> None:
        with self._lock:
            self._seed = seed
            self._rng = random.Random(seed)

    def restart(self) -> None:
        """Start the draw sequence again from the current seed."""
        self.reseed(self._seed)

    def decide(self) -> FaultDecision:
        with self._lock:
            drop_draw = self._rng.random()
            slow_draw = self._rng.random()
            fail_draw = self._rng.random()
            status = self._rng.choice(FAIL_STATUSES)
            latency_draw = self._rng.random()
        latency = self.latency_ms
        if isinstance(latency, tuple):
            millis = latency[0] + (latency[1] - latency[0]) * latency_draw
        else:
            millis = latency
        # Precedence: a dropped connection cannot also answer slowly or with an error.
        drop = drop_draw < self.drop_rate
        slow = not drop and slow_draw < self.slow_rate
        failed = not drop and not slow and fail_draw < self.fail_rate
        return FaultDecision(
            drop=drop,
            slow=slow,
            fail_status=status if failed else None,
            latency_seconds=millis / 1000.0,
        )


# What the edge does with a purge: apply it, ignore it, or apply it and re-cache the old copy.
APPLY, DROP, RECACHE = "apply", "drop", "recache"


class PurgeFaults:
    """The edge's seeded faults toward accepted purges (see the module's docstring)."""

    def __init__(
        self, *, drop_rate: float = 0.0, recache_rate: float = 0.0, seed: int | None = None
    ) -> None:
        self._lock = threading.Lock()
        self.drop_rate = drop_rate
        self.recache_rate = recache_rate
        self._seed = seed
        self._rng = random.Random(seed)
        self._drop_next = 0
        self._recache_next = 0

    def reseed(self, seed: int | None) -> None:
        with self._lock:
            self._seed = seed
            self._rng = random.Random(seed)

    def restart(self) -> None:
        """Start the draws again from the current seed and forget faults asked for by count."""
        self.reseed(self._seed)
        with self._lock:
            self._drop_next = self._recache_next = 0

    def add(self, *, drop_next: int = 0, recache_next: int = 0) -> None:
        """Ignore the next ``drop_next`` purges, then re-cache after the next ``recache_next``."""
        for name, value in (("drop_next", drop_next), ("recache_next", recache_next)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, not {value!r}")
        with self._lock:
            self._drop_next += drop_next
            self._recache_next += recache_next

    def pending(self) -> dict[str, int]:
        """Faults asked for by count and not yet spent."""
        with self._lock:
            return {"drop_next": self._drop_next, "recache_next": self._recache_next}

    def decide(self) -> str:
        """APPLY, DROP or RECACHE for the next purge the edge receives."""
        with self._lock:
            drop_draw = self._rng.random()
            recache_draw = self._rng.random()
            if self._drop_next:
                self._drop_next -= 1
                return DROP
            if self._recache_next:
                self._recache_next -= 1
                return RECACHE
        if drop_draw < self.drop_rate:
            return DROP
        if recache_draw < self.recache_rate:
            return RECACHE
        return APPLY
