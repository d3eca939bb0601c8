"""Helpers of the benchmark scripts: the benchmark users run, CLI timings, JSON results.

The benchmark is ``benchmark_data/muie-synth`` when it is built, else muie-synth-mini (all
15 sets, video and audio included) replicated to the requested size. CLI commands run in
a child process measured with ``wait4``: wall time, CPU time (user + system, the child and
the worker processes it waited for) and peak RSS. On a shared machine compare CPU times
and the ratios measured in the same run; wall times depend on the load (recorded too).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from muie_bench.benchmark import INSTANCES, known_benchmarks, load_benchmark
from muie_bench.replicate import replicate_benchmark

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results" / "bench"


def pick_benchmark(n: int, tmp: Path) -> Path:
    """muie-synth when built (and at least ``n`` instances), else the mini replicated to n."""
    full = known_benchmarks()["muie-synth"]
    if (full / "manifest.json").is_file() and len(load_benchmark(full)) >= n:
        return full
    mini = known_benchmarks()["muie-synth-mini"]
    src = mini if (mini / "manifest.json").is_file() else ROOT / "tests" / "data" / "tiny"
    return replicate_benchmark(src, tmp / "bench", n, name=f"bench-x{n}")


def oracle_predictions(bench: Path, path: Path) -> Path:
    """Write the gold annotation of every instance as a predictions file."""
    with open(bench / INSTANCES, "rb") as f, open(path, "wb") as out:
        for line in f:
            if line.strip():
                d = orjson.loads(line)
                out.write(orjson.dumps({"id": d["id"], "output": d["gold"]}) + b"\n")
    return path


def cli(args: list[str]) -> dict[str, float]:
    """Run ``muie-bench ARGS`` in a child process: wall s, CPU s (user + sys), peak RSS MB."""
    t = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-m", "muie_bench.cli", *args],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    err = p.stderr.read().decode() if p.stderr else ""
    if p.stderr:
        p.stderr.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit(f"muie-bench {' '.join(args)} failed: {err.strip()}")
    return {"wall_s": round(wall, 3), "cpu_s": round(ru.ru_utime + ru.ru_stime, 3),
            "peak_rss_mb": round(ru.ru_maxrss / 1024, 1)}


def machine() -> dict[str, Any]:
    """Load average, cores and versions: what a figure was measured under."""
    return {"load_average_1min": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
            "python": platform.python_version(), "time": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                      time.gmtime())}


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **data}, indent=2) + "\n")
    print(f"wrote {path}")
    return path
