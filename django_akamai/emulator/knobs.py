"""The emulator's behaviour settings (faults, limits, time), validated in one place."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .faults import Latency, parse_latency

RATE_LIMIT_MODES = ("akamai", "off")


def _rate(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a probability between 0 and 1, not {value!r}")
    return float(value)


def _non_negative(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a non-negative number, not {value!r}")
    return float(value)


def parse_hosts(value: str | Iterable[str] | None) -> frozenset[str] | None:
    """``None`` (every host) or host names, as an iterable or one comma-separated string."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    hosts = frozenset(str(item).strip().lower() for item in items if str(item).strip())
    return hosts


@dataclass(frozen=True)
class Knobs:
    rate_limits: str = "akamai"
    time_scale: float = 1.0
    fail_rate: float = 0.0
    latency_ms: Latency = 0.0
    drop_rate: float = 0.0
    slow_rate: float = 0.0
    slow_seconds: float = 5.0
    seed: int | None = None
    allowed_hosts: frozenset[str] | None = None
    v2_estimate_seconds: float = 2.0
    # Strict mode, NOT confirmed for Akamai (which documents no such refusal): a nonce seen
    # before inside the timestamp window is refused with 401.
    refuse_replayed_nonces: bool = False
    # The edge's faults toward accepted purges (faults.PurgeFaults): the share it ignores, and
    # the share after which it re-caches the old copy (a race).
    edge_drop_rate: float = 0.0
    edge_recache_rate: float = 0.0

    def __post_init__(self) -> None:
        # Normalise through object.__setattr__: the dataclass is frozen for thread safety.
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        if self.rate_limits not in RATE_LIMIT_MODES:
            raise ValueError(f"rate_limits must be 'akamai' or 'off', not {self.rate_limits!r}")
        scale = _non_negative("time_scale", self.time_scale)
        if scale == 0:
            raise ValueError("time_scale must be greater than 0")
        put("time_scale", scale)
        for name in ("fail_rate", "drop_rate", "slow_rate", "edge_drop_rate", "edge_recache_rate"):
            put(name, _rate(name, getattr(self, name)))
        put("slow_seconds", _non_negative("slow_seconds", self.slow_seconds))
        put("v2_estimate_seconds", _non_negative("v2_estimate_seconds", self.v2_estimate_seconds))
        put("latency_ms", parse_latency(self.latency_ms))
        seed = self.seed
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"seed must be an integer or None, not {self.seed!r}")
        put("allowed_hosts", parse_hosts(self.allowed_hosts))
        if not isinstance(self.refuse_replayed_nonces, bool):
            raise ValueError(
                f"refuse_replayed_nonces must be True or False, not {self.refuse_replayed_nonces!r}"
            )

    def replace(self, **changes: Any) -> Knobs:
        unknown = set(changes) - {field.name for field in dataclasses.fields(self)}
        if unknown:
            raise TypeError(f"unknown emulator setting(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)

    def as_json(self) -> dict[str, Any]:
        """The knobs as JSON values, in the shapes :meth:`replace` accepts back."""
        document = dataclasses.asdict(self)
        if isinstance(self.latency_ms, tuple):
            document["latency_ms"] = list(self.latency_ms)
        if self.allowed_hosts is not None:
            document["allowed_hosts"] = sorted(self.allowed_hosts)
        return document


KNOB_NAMES = tuple(field.name for field in dataclasses.fields(Knobs))
