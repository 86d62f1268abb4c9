"""Render the raw numbers of one run as Markdown tables (every ratio from the same run)."""

from __future__ import annotations

from typing import Any

from figures import figure

MAX_BODY = 50_000


_f = figure


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


#: Each rate-limited row's target: (largest ratio to the minimum, most 429s).
RATE_TARGETS = {"ours": (1.10, 5), "ours_stress": (1.10, 5), "ours_from_add": (1.05, 0)}
RATE_LABELS = {
    "ours_stress": " (`purge_all()` timed)",
    "ours_from_add": " (from `add()` of the raw URLs, as a user times it)",
}


def rate_limited(data: dict[str, Any]) -> list[str]:
    rows = []
    for key in ("ours", "fastpurge", "ours_stress", "ours_from_add"):
        if key not in data:
            continue
        row = data[key]
        minimum = row["minimum_seconds"]
        seconds = _seconds(row)
        target = ""
        if key in RATE_TARGETS:
            ratio, most_429s = RATE_TARGETS[key]
            met = (
                seconds is not None
                and seconds <= ratio * minimum
                and row["rate_limited_429"] <= most_429s
                and row["objects_lost"] == 0
            )
            verdict = "met" if met else "**missed**"
            target = f"≤{ratio:.2f}×, ≤{most_429s} 429s, 0 lost: {verdict}"
        done = row["completed"]
        wall = _f(seconds, 2) if done else f"{_f(row['seconds_returned'], 1)} (then failed)"
        runs = row.get("runs_seconds") or []
        if len(runs) > 1:
            wall += " (median of " + ", ".join(_f(r, 2) for r in runs) + ")"
        rows.append(
            [
                row["client"] + RATE_LABELS.get(key, ""),
                _f(row["time_scale"], 0),
                _f(minimum, 1),
                wall,
                _ratio(seconds, minimum, 3) if done else "–",
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
            "target",
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


def _us(seconds: float | None, count: int) -> str:
    return "–" if seconds is None else f"{seconds / count * 1e6:.2f}"


def _runs(result: dict[str, Any]) -> str:
    runs = [r for r in result.get("runs_cpu_seconds") or [] if r is not None]
    return ", ".join(f"{r:.2f}" for r in runs) if len(runs) > 1 else "–"


def _verdict(value: float | None, reference: float | None, most: float) -> str:
    if value is None or not reference:
        return "–"
    return f"≤{most:.2f}×: " + ("met" if value / reference <= most else "**missed**")


def _failed(result: dict[str, Any]) -> str | None:
    if not result.get("error"):
        return None
    return "**fails**: " + str(result["error"]).replace("|", "\\|")[:160]


def client_cost(data: dict[str, Any], count: int) -> list[str]:
    ours, fp = data["send_ours"], data["send_fastpurge"]
    runs = data.get("runs", 1)
    lines = [f"CPU: the median of {runs} fresh processes (every run's CPU seconds listed).", ""]
    rows = []
    for label, result in (
        ("django-akamai (this project): raw URLs in, everything included", ours),
        ("python-fastpurge 1.0.6: canonical URLs in (it validates nothing)", fp),
    ):
        failed = _failed(result)
        if failed:
            rows.append([label, failed, "–", "–", "–", "–", "–"])
            continue
        cpu = result["cpu_seconds"]
        rows.append(
            [
                label,
                _us(cpu, count),
                _ratio(cpu, fp.get("cpu_seconds")),
                _verdict(cpu, fp.get("cpu_seconds"), 0.5) if result is ours else "",
                _f(result.get("peak_mib_above_baseline"), 1),
                _f(result.get("wall_seconds"), 2),
                _runs(result),
            ]
        )
    lines += _table(
        [
            f"send {count:,} URLs",
            "CPU µs per URL",
            "÷ python-fastpurge",
            "target",
            "peak MiB above baseline",
            "wall (s)",
            "CPU s of each run",
        ],
        rows,
    )
    stages = data.get("stages", {})
    if stages.get("error"):
        stages = {}
    if "add" in ours and not _failed(ours):
        add = ours["add"]["cpu_seconds"]
        send = ours["send_cpu_seconds"]
        pack = stages.get("pack_cpu_seconds")
        encode = stages.get("encode_cpu_seconds")
        sign = stages.get("sign_cpu_seconds")
        rest = None if None in (pack, encode, sign) else send - pack - encode - sign
        rows = [
            ["`add()`: resolve, validate, normalise, check each fits", _us(add, count)],
            ["`purge_all()`, all of it", _us(send, count)],
            ["… packing (`count_fitting`)", _us(pack, count)],
            ["… encoding (`encode_body`)", _us(encode, count)],
            ["… signing (EdgeGrid)", _us(sign, count)],
            ["… HTTP and the rest (`purge_all()` minus the three above)", _us(rest, count)],
            [
                "floor: `json.dumps` of the same bodies + one HMAC-SHA256 each",
                _us(stages.get("floor_encode_sign_cpu_seconds"), count),
            ],
            [
                "floor + packing by summed lengths + raw `http.client` POSTs",
                _us(
                    None
                    if not stages
                    else stages["floor_encode_sign_cpu_seconds"]
                    + stages["floor_pack_cpu_seconds"]
                    + stages["floor_http_cpu_seconds"],
                    count,
                ),
            ],
        ]
        lines += [
            "",
            f"Where the CPU goes, µs per URL ({stages.get('requests', '?')} requests; the "
            f"stages and the floor are medians of {stages.get('repeat', '?')} passes in one "
            "process over the same canonical URLs):",
            "",
            *_table(["stage", "CPU µs per URL"], rows),
        ]
    if "memory_ours" in data:
        rows = []
        for label, result in (
            ("django-akamai (this project): raw URLs in", data["memory_ours"]),
            ("python-fastpurge 1.0.6: canonical URLs in", data["memory_fastpurge"]),
        ):
            failed = _failed(result)
            rows.append(
                [label, failed or _f(result.get("peak_mib_above_baseline"), 1)]
                + (["–", "–"] if failed else [_f(result["cpu_seconds"], 2), result.get("urls")])
            )
        lines += [
            "",
            "Peak memory, 1,000,000 URLs sent (one run each; the input list is the baseline):",
            "",
            *_table(["client", "peak MiB above baseline", "CPU s", "URLs"], rows),
        ]
    qs_ours, qs_plain = data["queryset_ours"], data["queryset_plain"]
    rows = []
    for label, result in (
        ("django-akamai `add(queryset)`", qs_ours),
        ("plain `[o.get_absolute_url() for o in qs]`", qs_plain),
        ("django-akamai 2.0.0 `add(queryset)`", data["queryset_original"]),
    ):
        failed = _failed(result)
        if failed:
            rows.append([label, failed, "–", "–", "–", "–"])
            continue
        cpu = result["cpu_seconds"]
        rows.append(
            [
                label,
                _us(cpu, result.get("urls") or count),
                _ratio(cpu, qs_plain.get("cpu_seconds")),
                _verdict(cpu, qs_plain.get("cpu_seconds"), 1.5) if result is qs_ours else "",
                _f(result.get("peak_mib_above_baseline"), 1),
                _runs(result),
            ]
        )
    lines += [
        "",
        *_table(
            [
                f"QuerySet of {qs_plain.get('urls') or count:,} rows → URLs",
                "CPU µs per row",
                "÷ plain",
                "target",
                "peak MiB above baseline",
                "CPU s of each run",
            ],
            rows,
        ),
    ]
    return lines


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


def _verification(data: dict[str, Any]) -> list[str]:
    import bench_verify

    return bench_verify.render(data)


def _peers(data: dict[str, Any]) -> list[str]:
    import bench_peers

    return bench_peers.render(data)


def _save_cost(data: dict[str, Any]) -> list[str]:
    import bench_save_cost

    return bench_save_cost.render(data)


def _load(values: list[float] | None) -> str:
    return "unknown" if not values else " / ".join(f"{v:.2f}" for v in values)


def render(results: dict[str, Any], charts: list[str] = ()) -> str:
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
        f"The machine may have been shared with other work: load average "
        f"{_load(meta.get('load_before'))} before, {_load(meta.get('load_after'))} after. "
        "Figures marked as medians are the median of several runs for that reason.",
        "",
        "See benchmarks/README.md for what each scenario does and how to read it.",
        "",
    ]
    if charts:
        lines += ["Charts: " + ", ".join(f"[{name}]({name})" for name in charts) + ".", ""]
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
        ("7. Purge intents: deliverers and a busy site", "delivery", django_side),
        ("8. Peers, fairly: python-fastpurge with and without replay refusal", "peers", _peers),
        ("9. The emulator's capacity, and commit -> fresh at the edge", "edge", _edge),
        ("10. Verification at the edge", "verification", _verification),
        ("11. What purging costs a save, and delivering an intent", "save_cost", _save_cost),
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
