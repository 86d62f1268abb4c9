"""The main comparisons of one run as SVG bar charts, written by hand (no plotting library).

``draw(results, directory)`` writes one ``.svg`` per comparison next to ``results.md`` and
returns their names; a chart whose scenario was not run is skipped. Each chart is a set of
horizontal bars (stacked where a bar has parts, e.g. CPU per stage), with an optional
vertical line for a target or a reference.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

#: One colour per part name, so the same stage has the same colour in every chart.
PALETTE = (
    "#3b6ea5",
    "#e08a2e",
    "#5a9e4b",
    "#c44e52",
    "#8172b2",
    "#937860",
    "#da8bc3",
    "#8c8c8c",
)
WIDTH = 760
LABEL_WIDTH = 300
BAR_HEIGHT = 22
GAP = 10


Bar = tuple[str, list[tuple[str, float]], str]  # label, parts (name, value), note at the end


def hbar_chart(title: str, unit: str, bars: list[Bar], lines: list[tuple[float, str]] = ()) -> str:
    """An SVG of horizontal (stacked) bars; ``lines`` are vertical marks (value, label)."""
    names: list[str] = []
    for _, parts, _ in bars:
        names += [name for name, _ in parts if name not in names]
    colour = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}
    largest = max(
        [sum(v for _, v in parts) for _, parts, _ in bars] + [v for v, _ in lines] + [1e-9]
    )
    plot = WIDTH - LABEL_WIDTH - 110
    scale = plot / (largest * 1.05)
    legend_rows = (len(names) + 3) // 4 if len(names) > 1 else 0
    top = 40 + legend_rows * 18
    height = top + len(bars) * (BAR_HEIGHT + GAP) + 34
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="10" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    if legend_rows:
        for i, name in enumerate(names):
            x, y = 10 + (i % 4) * 185, 36 + (i // 4) * 18
            out.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{colour[name]}"/>')
            out.append(f'<text x="{x + 16}" y="{y}">{escape(name)}</text>')
    for row, (label, parts, note) in enumerate(bars):
        y = top + row * (BAR_HEIGHT + GAP)
        out.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + BAR_HEIGHT * 0.7}" '
            f'text-anchor="end">{escape(label)}</text>'
        )
        x = float(LABEL_WIDTH)
        for name, value in parts:
            w = max(0.0, value * scale)
            out.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{BAR_HEIGHT}" '
                f'fill="{colour[name]}"><title>{escape(name)}: {value:,.2f} {unit}</title></rect>'
            )
            x += w
        total = sum(v for _, v in parts)
        text = f"{total:,.2f} {unit}" + (f"  {note}" if note else "")
        out.append(f'<text x="{x + 5:.1f}" y="{y + BAR_HEIGHT * 0.7}">{escape(text)}</text>')
    bottom = top + len(bars) * (BAR_HEIGHT + GAP)
    for value, text in lines:
        x = LABEL_WIDTH + value * scale
        out.append(
            f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{bottom}" stroke="black" '
            'stroke-dasharray="4 3"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle">{escape(text)}</text>'
        )
    out.append(
        f'<line x1="{LABEL_WIDTH}" y1="{top - 6}" x2="{LABEL_WIDTH}" y2="{bottom}" stroke="#444"/>'
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _us(seconds: float | None, count: int) -> float:
    return 0.0 if not seconds else seconds / count * 1e6


def cpu_per_url(data: dict[str, Any], count: int) -> str | None:
    ours, fp, stages = data.get("send_ours", {}), data.get("send_fastpurge", {}), data.get("stages")
    if not ours.get("cpu_seconds") or not fp.get("cpu_seconds") or not stages:
        return None
    add, send = ours["add"]["cpu_seconds"], ours["send_cpu_seconds"]
    pack, encode, sign = (
        stages["pack_cpu_seconds"],
        stages["encode_cpu_seconds"],
        stages["sign_cpu_seconds"],
    )
    ratio = ours["cpu_seconds"] / fp["cpu_seconds"]
    bars: list[Bar] = [
        (
            "django-akamai: raw URLs in",
            [
                ("resolve, validate, normalise", _us(add, count)),
                ("pack", _us(pack, count)),
                ("encode", _us(encode, count)),
                ("sign", _us(sign, count)),
                ("HTTP and the rest", _us(send - pack - encode - sign, count)),
            ],
            f"({ratio:.2f}× python-fastpurge)",
        ),
        (
            "python-fastpurge: canonical URLs in",
            [("python-fastpurge, all stages", _us(fp["cpu_seconds"], count))],
            "",
        ),
        (
            "floor: json.dumps + HMAC",
            [("floor", _us(stages["floor_encode_sign_cpu_seconds"], count))],
            "",
        ),
        (
            "floor + packing + raw HTTP",
            [
                (
                    "floor",
                    _us(
                        stages["floor_encode_sign_cpu_seconds"]
                        + stages["floor_pack_cpu_seconds"]
                        + stages["floor_http_cpu_seconds"],
                        count,
                    ),
                )
            ],
            "",
        ),
    ]
    target = 0.5 * _us(fp["cpu_seconds"], count)
    return hbar_chart(
        f"Client CPU per URL, {count:,} URLs sent (median of {data.get('runs', 1)} runs)",
        "µs",
        bars,
        [(target, "target: 0.5× python-fastpurge")],
    )


def rate_limited(data: dict[str, Any]) -> str | None:
    labels = {
        "ours": "django-akamai, scale 5",
        "fastpurge": "python-fastpurge, scale 5",
        "ours_stress": "django-akamai, scale 50",
        "ours_from_add": "django-akamai, scale 50, from add()",
    }
    bars: list[Bar] = []
    for key, label in labels.items():
        row = data.get(key)
        if not row or not row.get("minimum_seconds") or not row.get("seconds_all_accepted"):
            continue
        ratio = row["seconds_all_accepted"] / row["minimum_seconds"]
        note = f"{row['rate_limited_429']} 429s, {row['objects_lost']} lost"
        bars.append((label, [("time ÷ theoretical minimum", ratio)], note))
    if not bars:
        return None
    return hbar_chart(
        "Rate-limited throughput: wall time ÷ Akamai's theoretical minimum",
        "×",
        bars,
        [(1.0, "minimum"), (1.05, "1.05×")],
    )


def queryset(data: dict[str, Any]) -> str | None:
    ours, plain = data.get("queryset_ours", {}), data.get("queryset_plain", {})
    if not ours.get("cpu_seconds") or not plain.get("cpu_seconds"):
        return None
    rows = plain.get("urls") or 1
    ratio = ours["cpu_seconds"] / plain["cpu_seconds"]
    return hbar_chart(
        f"QuerySet of {rows:,} rows to URLs: CPU per row",
        "µs",
        [
            (
                "django-akamai add(queryset)",
                [("CPU", _us(ours["cpu_seconds"], rows))],
                f"{ratio:.2f}×",
            ),
            ("plain list comprehension", [("CPU", _us(plain["cpu_seconds"], rows))], "1.00×"),
        ],
        [(1.5 * _us(plain["cpu_seconds"], rows), "target: 1.5× plain")],
    )


def memory(data: dict[str, Any]) -> str | None:
    ours, fp = data.get("memory_ours", {}), data.get("memory_fastpurge", {})
    if ours.get("peak_mib_above_baseline") is None or fp.get("peak_mib_above_baseline") is None:
        return None
    return hbar_chart(
        "Peak memory sending 1,000,000 URLs (above the input list)",
        "MiB",
        [
            ("django-akamai", [("MiB", ours["peak_mib_above_baseline"])], ""),
            ("python-fastpurge", [("MiB", fp["peak_mib_above_baseline"])], ""),
        ],
    )


def packing(data: dict[str, Any]) -> str | None:
    if "ideal" not in data:
        return None
    ideal = data["ideal"]["requests"]
    bars: list[Bar] = [("ideal: ceil(bytes / 50,000)", [("requests", ideal)], "")]
    for key, label in (("ours", "django-akamai"), ("fastpurge", "python-fastpurge")):
        row = data.get(key)
        if row and row.get("http_requests"):
            bars.append(
                (
                    label,
                    [("requests", row["http_requests"])],
                    f"{row['http_requests'] / ideal:.2f}×",
                )
            )
    return hbar_chart("Requests for the same URLs (rate limits off)", "requests", bars)


def deliverers(data: dict[str, Any]) -> str | None:
    """Scenario 7's deliverer processes: wall time over the minimum, 429s, per process count."""
    bars: list[Bar] = []
    for row in data.get("deliverers", []):
        if not row.get("ratio"):
            continue
        note = f"{row['rate_limited']} 429s, {row['lost']} lost"
        where = f"{row['database']}, " if row.get("database") else ""
        label = f"{where}{row['deliverers']} deliverer(s), {row['intents']:,} intents"
        bars.append((label, [("wall ÷ theoretical minimum", row["ratio"])], note))
    if not bars:
        return None
    return hbar_chart(
        "Deliverer processes on one account: wall time ÷ Akamai's theoretical minimum",
        "×",
        bars,
        [(1.0, "minimum"), (1.05, "1.05×")],
    )


def save_cost(results: dict[str, Any]) -> str | None:
    """Scenario 11 (``bench_save_cost.py``): what purging adds to a save, per save, beside
    the floor (one INSERT of an intent-shaped row in the transaction), per database."""
    bars: list[Bar] = []
    for data in results.get("databases", []):
        name = data["database"]
        floor = None
        for row in data.get("one_save", []):
            if floor is None:  # the first mode's ("worker": nothing else running)
                floor = row["floor_ms"] * 1e3
            bars.append(
                (
                    f"{name}: one save, {row['mode']}",
                    [("added by purging", row["added_ms"] * 1e3)],
                    f"({row['ratio']}× floor)",
                )
            )
        many = data.get("many_saves")
        if many:
            for key, label in (("purged_us", "in one transaction"), ("suspended_us", "suspended")):
                added = many[key] - many["plain_us"]
                note = f"({added / floor:.2f}× floor)" if floor else ""
                bars.append(
                    (
                        f"{name}: {many['saves']:,} saves {label}",
                        [("added by purging", added)],
                        note,
                    )
                )
        bulk = data.get("bulk", {})
        for row in bulk.get("rows", []) if bulk.get("available") else []:
            added = (row["purged_ms"] - row["plain_ms"]) * 1e3 / row["rows"]
            note = f"({added / floor:.2f}× floor)" if floor else ""
            bars.append(
                (f"{name}: {row['operation']}, per row", [("added by purging", added)], note)
            )
        if floor is not None:
            bars.append((f"{name}: floor, one INSERT", [("floor: one INSERT", floor)], ""))
    if not bars:
        return None
    return hbar_chart(
        "Added cost per save of automatic purging, beside one plain INSERT", "µs", bars
    )


def _delivery_results(results: dict[str, Any], directory: Path) -> dict[str, Any]:
    """``bench_delivery.py``'s own results file, when this run ran it (scenario 7)."""
    path = directory / "delivery.json"
    if "delivery" not in results or not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def draw(results: dict[str, Any], directory: Path) -> list[str]:
    """Write every chart this run has data for; return the file names written."""
    count = results.get("meta", {}).get("corpus", {}).get("count", 1)
    charts = {
        "cpu-per-url.svg": lambda: cpu_per_url(results.get("client_cost", {}), count),
        "rate-limited.svg": lambda: rate_limited(results.get("rate_limited", {})),
        "queryset.svg": lambda: queryset(results.get("client_cost", {})),
        "memory-1m.svg": lambda: memory(results.get("client_cost", {})),
        "packing.svg": lambda: packing(results.get("packing", {})),
        "deliverers.svg": lambda: deliverers(_delivery_results(results, directory)),
        "save-cost.svg": lambda: save_cost(results.get("save_cost", {})),
    }
    written = []
    for name, make in charts.items():
        try:
            svg = make()
        except (KeyError, TypeError, ZeroDivisionError):
            svg = None  # a scenario that failed has nothing to draw
        if svg:
            (directory / name).write_text(svg, encoding="utf-8")
            written.append(name)
    return written
