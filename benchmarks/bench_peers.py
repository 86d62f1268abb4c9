"""Scenario "peers" (8): python-fastpurge against Akamai's buckets, fairly.

python-fastpurge retries through urllib3's ``Retry``, which re-sends the same prepared
request: the same EdgeGrid nonce and timestamp. Akamai documents no refusal of that, so the
emulator by default accepts it, as Akamai is believed to (``AKAMAI_API.md`` §4). The rows:

* python-fastpurge with its default in-flight cap (``MAX_REQUESTS`` = 10 purges kept until
  their ``estimatedSeconds`` pass) and with a raised one (100), against the emulator as
  Akamai documents it;
* the same two against the emulator's strict mode (``--refuse-replayed-nonces``), labelled
  as such: a refusal NOT confirmed for Akamai, shown only to explain earlier figures;
* django-akamai on the same input, for reference.

Akamai's buckets at time scale 5 (the peer's timers are divided by 5 too, see README), so
the physical minimum is ``max(0, N - 10,000) / (200 x 5)`` seconds. Each row reports what
was lost and how long the call took.
"""

from __future__ import annotations

from typing import Any

import harness

SCALE = 5.0
RAISED_CAP = 100
ROWS = (
    # key, label, client, in-flight cap, strict mode
    ("fastpurge_default", "python-fastpurge, cap 10", "fastpurge", None, False),
    ("fastpurge_raised", f"python-fastpurge, cap {RAISED_CAP}", "fastpurge", RAISED_CAP, False),
    (
        "fastpurge_default_strict",
        "python-fastpurge, cap 10, STRICT replay refusal (not Akamai)",
        "fastpurge",
        None,
        True,
    ),
    (
        "fastpurge_raised_strict",
        f"python-fastpurge, cap {RAISED_CAP}, STRICT replay refusal (not Akamai)",
        "fastpurge",
        RAISED_CAP,
        True,
    ),
    ("ours", "django-akamai (reference)", "ours", None, False),
)


def minimum_seconds(count: int, scale: float = SCALE) -> float:
    return max(0, count - 10_000) / (200 * scale)


def peers(urls: list[str], scale: float = SCALE) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for key, label, client, cap, strict in ROWS:
        options: dict[str, Any] = {"rate_limits": "akamai", "time_scale": scale}
        if strict:
            options["refuse_replayed_nonces"] = "true"
        with harness.EmulatorProcess(options) as emu:
            if client == "ours":
                row = harness.run_ours(emu, urls)
            else:
                row = harness.run_fastpurge(emu, urls, time_scale=scale, max_requests=cap)
        row.update(label=label, strict=strict, in_flight_cap=cap or 10, time_scale=scale)
        rows[key] = row
    return {"count": len(urls), "minimum_seconds": minimum_seconds(len(urls), scale), "rows": rows}


def render(data: dict[str, Any]) -> list[str]:
    minimum = data["minimum_seconds"]
    lines = [
        f"{data['count']:,} URLs, Akamai's buckets at time scale {SCALE:g}; physical minimum "
        f"{minimum:.1f} s. STRICT rows use the emulator's opt-in replay refusal, which Akamai "
        "is not known to make: they explain older figures, not production.",
        "",
        "| client | completed | objects lost | 429s | refused | call returned (s) "
        "| all accepted (s) | × minimum |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for row in data["rows"].values():
        accepted = row.get("seconds_all_accepted")
        returned = row.get("seconds_returned") or 0.0
        ratio = f"{returned / minimum:.2f}" if minimum else "-"
        lines.append(
            f"| {row['label']} | {'yes' if row['completed'] else 'no'} "
            f"| {row['objects_lost']:,} | {row['rate_limited_429']:,} | {row['refused'] or '-'} "
            f"| {returned:.1f} | {'-' if accepted is None else f'{accepted:.1f}'} | {ratio} |"
        )
    errors = [f"- {row['label']}: {row['error']}" for row in data["rows"].values() if row["error"]]
    if errors:
        lines += ["", "Errors:", *(e[:300] for e in errors)]
    return lines
