"""Run by ``harness.AcceptanceWatch`` in a process of its own: polls the emulator's counters
and prints the ``time.monotonic()`` at which it first saw ``target`` objects accepted.

A process, not a thread beside the client being timed: a thread that wakes every few
milliseconds takes the GIL from the client each time (up to Python's switch interval, 5 ms),
which slowed the very ``add()`` it was timing by a measurable share.

    python benchmarks/acceptance_watch.py BASE_URL TARGET INTERVAL
"""

from __future__ import annotations

import json
import sys
import time
from urllib.request import urlopen


def accepted(base_url: str) -> int:
    with urlopen(base_url + "/emulator/counters", timeout=60) as response:  # noqa: S310
        return int(json.loads(response.read())["objects_accepted"])


def main() -> None:
    base_url, target, interval = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    print("ready", flush=True)
    while accepted(base_url) < target:
        time.sleep(interval)
    print(time.monotonic(), flush=True)


if __name__ == "__main__":
    main()
