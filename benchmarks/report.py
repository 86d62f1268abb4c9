"""Render the raw numbers of one run as Markdown tables (every ratio from the same run)."""

from __future__ import annotations

from typing import Any

MAX_BODY = 50_000


def _f(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _ratio(value: float | None, reference: float | None, digits: int = 2) -> str:
    if value is None or not reference:
        return "–"
    return f"{value / reference:.{digits}f}×"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(_f(cell) for cell in row) + " |" for row in rows]
    return lines


def _error(row: dict[str, Any]) -> str:
    error = row.get("error")
    if not error:
        return "yes"
    return "**no**: " + error.replace("|", "\\|")[:160]


def _seconds(row: dict[str, Any]) -> float | None:
    return row.get("seconds_all_accepted") or row.get("seconds_returned")


def packing(data: dict[str, Any], count: int) -> list[str]:
    ideal = data["ideal"]["requests"]
    rows = [
        [
            "ideal: ceil(bytes / 50,000)",
            ideal,
            "1.00×",
            _f(data["ideal"]["total_body_bytes"] / ideal, 0),
            f"{data['ideal']['total_body_bytes'] / ideal / MAX_BODY:.1%}",
            "–",
            "–",
        ]
    ]
    for key in ("ours", "fastpurge", "batch_200"):
        row = data[key]
        mean = row["bytes_received"] / row["http_requests"]
        rows.append(
            [
                row["client"],
                row["http_requests"],
                _ratio(row["http_requests"], ideal),
                _f(mean, 0),
                f"{mean / MAX_BODY:.1%}",
                row["largest_body"],
                row["objects_lost"],
            ]
        )
    rule = data["original_rule"]
    mean = rule["bytes_received"] / rule["requests"]
    rows.append(
        [
            rule["client"],
            rule["requests"],
            _ratio(rule["requests"], ideal),
            _f(mean, 0),
            f"{mean / MAX_BODY:.1%}",
            f"{rule['largest_body']:,} ({rule['over_limit']} over 50,000)",
            "–",
        ]
    )
    original = data["original"]
    steps = "; ".join(f"`{step}` → {result}" for step, result in original["steps"])
    rows.append(
        [
            "django-akamai 2.0.0 as released",
            "**fails**",
            "–",
            "–",
            "–",
            "–",
            f"all {count:,} ({steps})".replace("|", "\\|"),
        ]
    )
    return _table(
        [
            "client",
            "requests",
            "÷ ideal",
            "mean body (bytes)",
            "mean fill",
            "largest body",
            "objects lost",
        ],
        rows,
    )


def rate_limited(data: dict[str, Any]) -> list[str]:
    rows = []
    for key in ("ours", "fastpurge", "ours_stress"):
        row = data[key]
        minimum = row["minimum_seconds"]
        seconds = _seconds(row)
        target = ""
        if key.startswith("ours"):
            met = (
                seconds is not None
                and seconds <= 1.10 * minimum
                and row["rate_limited_429"] <= 5
                and row["objects_lost"] == 0
            )
            target = "met" if met else "**missed**"
        done = row["completed"]
        wall = _f(seconds, 1) if done else f"{_f(row['seconds_returned'], 1)} (then failed)"
        rows.append(
            [
                row["client"],
                _f(row["time_scale"], 0),
                _f(minimum, 1),
                wall,
                _ratio(seconds, minimum) if done else "–",
                row["rate_limited_429"],
                row["objects_lost"],
                row["http_requests"],
                _error(row),
                target,
            ]
        )
    return _table(
        [
            "client",
            "time scale",
            "minimum (s)",
            "wall (s)",
            "÷ minimum",
            "429s",
            "objects lost",
            "requests",
            "completed",
            "target ≤1.10×, ≤5 429s, 0 lost",
        ],
        rows,
    )


def faults(data: dict[str, Any]) -> list[str]:
    rows = []
    for key in ("ours", "fastpurge"):
        clean, faulty = data[f"{key}_clean"], data[f"{key}_faulty"]
        met = faulty["faults_5xx"] + faulty["dropped"]
        rows.append(
            [
                faulty["client"],
                _error(faulty),
                faulty["objects_lost"],
                faulty["objects_twice"],
                f"{met} ({faulty['faults_5xx']} 5xx, {faulty['dropped']} drops)",
                faulty["http_requests"],
                _f(_seconds(clean)),
                _f(_seconds(faulty)),
                _ratio(_seconds(faulty), _seconds(clean)),
            ]
        )
    return _table(
        [
            "client",
            "completed",
            "objects lost",
            "objects accepted twice",
            "faults met",
            "requests",
            "fault-free (s)",
            "with faults (s)",
            "÷ fault-free",
        ],
        rows,
    )


def latency(data: dict[str, Any]) -> list[str]:
    ours = _seconds(data["ours"])
    rows = []
    for key in ("ours", "fastpurge"):
        row = data[key]
        rows.append(
            [
                row["client"],
                row["http_requests"],
                _f(row["seconds_all_accepted"]),
                _f(row["seconds_returned"]),
                _ratio(_seconds(row), ours),
                row["objects_lost"],
            ]
        )
    return _table(
        [
            "client",
            "requests",
            "all accepted (s)",
            "call returned (s)",
            "÷ this project",
            "objects lost",
        ],
        rows,
    )


def client_cost(data: dict[str, Any], count: int) -> list[str]:
    def row(label: str, client: str, result: dict[str, Any], reference: dict[str, Any]):
        if result.get("error"):
            error = str(result["error"]).replace("|", "\\|")[:160]
            return [label, client, f"**fails**: {error}", "–", "–", "–"]
        cpu = result.get("cpu_seconds")
        return [
            label,
            client,
            _f(cpu, 2),
            _ratio(cpu, reference.get("cpu_seconds")),
            _f(result.get("peak_mib_above_baseline"), 1),
            _f(result.get("wall_seconds"), 2),
        ]

    ours, fp = data["send_ours"], data["send_fastpurge"]
    qs_ours = data["queryset_ours"]
    phases = []
    if "add" in ours:
        phases = [
            row(
                f"send {count:,} URLs",
                "… of which `add()`: resolve, validate, normalise",
                ours["add"],
                ours,
            ),
            row(
                f"send {count:,} URLs",
                "… of which `purge_all()`: pack, sign, send",
                {"cpu_seconds": ours["send_cpu_seconds"]},
                ours,
            ),
        ]
    rows = [
        row(f"send {count:,} URLs", "django-akamai (this project): raw URLs in", ours, ours),
        *phases,
        row(f"send {count:,} URLs", "python-fastpurge 1.0.6: canonical URLs in", fp, ours),
        row(
            f"QuerySet of {count:,} rows → URLs", "django-akamai `add(queryset)`", qs_ours, qs_ours
        ),
        row(
            f"QuerySet of {count:,} rows → URLs",
            "plain `[o.get_absolute_url() for o in qs]`",
            data["queryset_plain"],
            qs_ours,
        ),
        row(
            f"QuerySet of {count:,} rows → URLs",
            "django-akamai 2.0.0 `add(queryset)`",
            data["queryset_original"],
            qs_ours,
        ),
    ]
    return _table(
        [
            "task",
            "client",
            "CPU s (user+sys)",
            "÷ this project",
            "peak MiB above baseline",
            "wall (s)",
        ],
        rows,
    )


def django_side(data: dict[str, Any]) -> list[str]:
    lines = _table(
        ["script", "status"],
        [[f"`benchmarks/{name}`", result["status"]] for name, result in data.items()],
    )
    for name, result in data.items():
        if result.get("output"):
            lines += ["", f"`benchmarks/{name}` printed:", "", "```", result["output"], "```"]
        if result["status"] not in ("ok", "not present yet") and result.get("stderr_tail"):
            lines += ["", "```", *result["stderr_tail"], "```"]
    return lines


def _edge(data: dict[str, Any]) -> list[str]:
    import bench_edge

    return bench_edge.render(data)


def _peers(data: dict[str, Any]) -> list[str]:
    import bench_peers

    return bench_peers.render(data)


def render(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        "# django-akamai benchmarks",
        "",
        f"Run {meta['started']} on {meta['cpus']} CPUs, Python {meta['python']}, "
        f"seed {meta['seed']}; {meta['seconds']:.0f} s in all. Inputs: "
        f"{meta['corpus']['count']:,} URLs of {meta['corpus']['min_length']} to "
        f"{meta['corpus']['max_length']} characters (mean {meta['corpus']['mean_length']}), "
        f"{meta['corpus']['non_ascii_share']:.0%} with non-ASCII characters, "
        f"{meta['corpus']['query_share']:.0%} with a query string. Peers: "
        + ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
        + ".",
        "",
        "See benchmarks/README.md for what each scenario does and how to read it.",
        "",
    ]
    count, small = meta["counts"]["main"], meta["counts"]["faults_and_latency"]
    sections = [
        (
            f"1. Packing: {count:,} URLs, rate limits off",
            "packing",
            lambda d: packing(d, meta["corpus"]["count"]),
        ),
        (
            f"2. Rate-limited throughput: {count:,} URLs, Akamai's buckets, time compressed",
            "rate_limited",
            rate_limited,
        ),
        (f"3. Faults: {small:,} URLs, 20 % 5xx and 5 % dropped connections", "faults", faults),
        (f"4. Latency: {small:,} URLs, 50 ms per answer, no rate limits", "latency", latency),
        (
            "5. Client cost (emulator in another process)",
            "client_cost",
            lambda d: client_cost(d, meta["corpus"]["count"]),
        ),
        ("6. Django side (signals, history)", "django_side", django_side),
        ("7. Peers, fairly: python-fastpurge with and without replay refusal", "peers", _peers),
    ]
    for title, key, render_section in sections:
        lines += [f"## {title}", ""]
        if key not in results:
            lines += ["(not run)", ""]
            continue
        if "error" in results[key] and len(results[key]) == 1:
            lines += [f"**The scenario failed**: {results[key]['error']}", ""]
            continue
        lines += render_section(results[key]) + [""]
        notes = results.get("notes", {}).get(key)
        if notes:
            lines += [notes, ""]
    return "\n".join(lines)
