"""``make bench``: set up the benchmark's own environment, run every scenario, write results.

The peers are installed only into ``.venv-bench`` (never into the package's dependencies):
this project editable, python-fastpurge 1.0.6, and the original django-akamai 2.0.0 into a
directory of its own (``.venv-bench/original-2.0.0``) that is never on ``sys.path``, so its
``django_akamai`` cannot shadow ours; the harness imports it as ``original_django_akamai``.

    python benchmarks/run.py [--only packing,faults] [--quick] [--render]

Writes ``benchmarks/results/results.md`` and ``results.json`` (plus time-stamped copies).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BENCH_VENV = ROOT / ".venv-bench"
BENCH_PYTHON = BENCH_VENV / "bin" / "python"
ORIGINAL_DIR = BENCH_VENV / "original-2.0.0"
ORIGINAL_LOG = BENCH_VENV / "original-install.json"
STAMP = BENCH_VENV / ".installed"
FASTPURGE = "fastpurge==1.0.6"
ORIGINAL = "django-akamai==2.0.0"
SCENARIOS = (
    "packing",
    "rate_limited",
    "faults",
    "latency",
    "client_cost",
    "django_side",
    "delivery",
    "peers",  # benchmarks/bench_peers.py
    "edge",  # benchmarks/bench_edge.py
    "verification",  # benchmarks/bench_verify.py
    "save_cost",  # benchmarks/bench_save_cost.py
)


def _fingerprint() -> str:
    digest = hashlib.sha256(FASTPURGE.encode() + ORIGINAL.encode())
    digest.update((ROOT / "setup.py").read_bytes())
    return digest.hexdigest()


def _pip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BENCH_PYTHON), "-m", "pip", "--disable-pip-version-check", "--quiet", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def ensure_environment() -> None:
    """Create or refresh .venv-bench when setup.py or the pinned peers changed."""
    if STAMP.exists() and STAMP.read_text() == _fingerprint() and BENCH_PYTHON.exists():
        return
    print(
        f"Setting up {BENCH_VENV.relative_to(ROOT)} (this project, {FASTPURGE}, {ORIGINAL})...",
        flush=True,
    )
    if not BENCH_PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    done = _pip("install", "-e", str(ROOT), FASTPURGE)
    if done.returncode != 0:
        sys.exit(f"pip could not install the benchmark environment:\n{done.stderr}")
    # The original is a source distribution: let pip build it, into a directory of its own.
    done = _pip("install", "--no-deps", "--upgrade", "--target", str(ORIGINAL_DIR), ORIGINAL)
    ORIGINAL_LOG.write_text(
        json.dumps(
            {
                "installed": done.returncode == 0,
                "command": (
                    f"pip install --no-deps --target {ORIGINAL_DIR.relative_to(ROOT)} {ORIGINAL}"
                ),
                "stderr_tail": done.stderr.strip().splitlines()[-5:],
            }
        )
    )
    STAMP.write_text(_fingerprint())


def inside_environment() -> bool:
    return Path(sys.prefix).resolve() == BENCH_VENV.resolve()


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("django-akamai", "fastpurge", "Django", "requests", "edgegrid-python"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    original = json.loads(ORIGINAL_LOG.read_text()) if ORIGINAL_LOG.exists() else {}
    found["original django-akamai"] = (
        "2.0.0" if original.get("installed") else "2.0.0 (could not be installed)"
    )
    return found


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run(selected: list[str], quick: bool, runs: int) -> dict:
    sys.path.insert(0, str(HERE))
    import bench_edge
    import bench_peers
    import bench_save_cost
    import bench_verify
    import harness
    import inputs
    import scenarios

    # Retries are logged at WARNING by design; here they would only drown the progress lines.
    logging.getLogger("django_akamai").setLevel(logging.ERROR)
    harness.configure_django()
    count = 10_000 if quick else 100_000
    small = 4_000 if quick else 20_000
    raw, urls = scenarios.corpus(count)
    started = time.perf_counter()
    results: dict = {
        "meta": {
            "started": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "seed": scenarios.SEED,
            "versions": _versions(),
            "corpus": inputs.describe(raw),
            "quick": quick,
            "runs": runs,
            # The machine may be shared: its load before and after says how much.
            "load_before": _load(),
            "original_install": (
                json.loads(ORIGINAL_LOG.read_text()) if ORIGINAL_LOG.exists() else None
            ),
        }
    }
    jobs = {
        "packing": lambda: scenarios.packing(urls, ORIGINAL_DIR),
        "rate_limited": lambda: scenarios.rate_limited(urls, raw, runs=1 if quick else runs),
        "faults": lambda: scenarios.faults(urls[:small]),
        "latency": lambda: scenarios.latency(urls[:small]),
        "client_cost": lambda: scenarios.client_cost(
            count, ORIGINAL_DIR, runs=runs, memory_count=None if quick else 1_000_000
        ),
        "django_side": lambda: scenarios.django_side(harness.env_python()),
        # Purge intents and their deliverers (benchmarks/bench_delivery.py, its own processes).
        "delivery": lambda: scenarios.django_side(
            harness.env_python(), ("bench_delivery.py",), timeout=3600
        ),
        "peers": lambda: bench_peers.peers(urls[:small]),
        "edge": lambda: bench_edge.edge(seconds=5.0 if quick else 10.0),
        "verification": lambda: bench_verify.run(seconds=5.0 if quick else 10.0),
        # Its own processes, with the project's .venv (the database drivers are there).
        "save_cost": lambda: bench_save_cost.scenario(harness.env_python(), quick),
    }
    for name in selected:
        print(f"[{time.perf_counter() - started:6.0f}s] {name}...", flush=True)
        try:
            results[name] = jobs[name]()
        except Exception as exc:  # noqa: BLE001 (one failed scenario must not hide the rest)
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
    results["meta"]["seconds"] = time.perf_counter() - started
    results["meta"]["load_after"] = _load()
    results["meta"]["counts"] = {"main": count, "faults_and_latency": small}
    return results


def write(results: dict) -> Path:
    import charts
    import report

    out = HERE / "results"
    out.mkdir(exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    markdown = report.render(results, charts.draw(results, out))
    for name in ("results", f"results-{stamp}"):
        (out / f"{name}.md").write_text(markdown + "\n", encoding="utf-8")
        (out / f"{name}.json").write_text(
            json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8"
        )
    return out / "results.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(SCENARIOS)}")
    parser.add_argument(
        "--render", action="store_true", help="only re-write results.md from the last results.json"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="10,000 URLs instead of 100,000 (a smoke run; figures not comparable)",
    )
    parser.add_argument(
        "--runs",
        type=int,
        help="fresh processes per CPU figure, whose median is reported (default 5; 3 with --quick)",
    )
    args = parser.parse_args()
    if args.render:
        sys.path.insert(0, str(HERE))
        import charts
        import report

        out = HERE / "results" / "results.md"
        results = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
        drawn = charts.draw(results, out.parent)
        out.write_text(report.render(results, drawn) + "\n", encoding="utf-8")
        print(out.read_text(encoding="utf-8"))
        return
    selected = args.only.split(",") if args.only else list(SCENARIOS)
    unknown = set(selected) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    if not inside_environment():
        ensure_environment()
        env = dict(os.environ, BENCH_PROJECT_PYTHON=sys.executable)
        os.chdir(ROOT)
        os.execve(
            str(BENCH_PYTHON),
            [str(BENCH_PYTHON), str(Path(__file__).resolve()), *sys.argv[1:]],
            env,
        )
    runs = args.runs or (3 if args.quick else 5)
    path = write(run(selected, args.quick, runs))
    print(path.read_text(encoding="utf-8"))
    print(f"Written to {path.relative_to(ROOT)} and {path.with_suffix('.json').relative_to(ROOT)}")


if __name__ == "__main__":
    main()
