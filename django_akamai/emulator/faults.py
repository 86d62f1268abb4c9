"""Seeded, reproducible transient faults: dropped connections, slow answers, 5xx, latency.

Every request that reaches the fault stage takes exactly five draws from one
``random.Random(seed)``, in arrival order, whatever the knobs are; so the same seed and the
same request sequence give the same faults, and changing one rate does not shift the others.
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
