"""Harness overhead of the runner: `run --system oracle` over a 3,000-instance benchmark
(end to end: load, predict, write, score) and the resume of the finished run.

Benchmark: benchmark_data/muie-synth when built, else muie-synth-mini (or the tiny test
benchmark) replicated to 3,000 instances in a temporary folder. Targets: >= 300
instances/s end to end; resume of a finished run < 2 s. Prints the measured figures.

    .venv/bin/python benchmarks/bench_runner.py [--n 3000] [--resamples 1000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from muie_bench.benchmark import known_benchmarks, load_benchmark
from muie_bench.replicate import replicate_benchmark
from muie_bench.run.runner import RunOptions, run

ROOT = Path(__file__).resolve().parent.parent


def pick_benchmark(n: int, tmp: Path) -> Path:
    full = known_benchmarks()["muie-synth"]
    if (full / "manifest.json").is_file() and len(load_benchmark(full)) >= n:
        return full
    mini = known_benchmarks()["muie-synth-mini"]
    src = mini if (mini / "manifest.json").is_file() else ROOT / "tests" / "data" / "tiny"
    return replicate_benchmark(src, tmp / "bench", n, name=f"bench-x{n}")


def cli(args: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "muie_bench.cli", *args], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--resamples", type=int, default=1000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bench = pick_benchmark(a.n, tmp)
        n = len(load_benchmark(bench))
        print(f"benchmark: {bench} ({n} instances)")
        for workers in (1, 2):
            out = tmp / f"runs-{workers}"
            t = time.perf_counter()
            res = run(RunOptions(system="oracle", benchmark=bench, out=out, workers=workers,
                                 n_resamples=a.resamples))
            total = time.perf_counter() - t
            tm = res.record.timings
            print(f"oracle, {workers} worker(s), in-process: {total:.2f} s end to end = "
                  f"{n / total:.0f} instances/s (load {tm['load']:.2f} s, predict+write "
                  f"{tm['wall_predict']:.2f} s = {n / tm['wall_predict']:.0f} inst/s, score "
                  f"{tm['score']:.2f} s, rest "
                  f"{total - tm['load'] - tm['wall_predict'] - tm['score']:.2f} s)")
            print(f"  harness without scoring: {n / (total - tm['score']):.0f} instances/s")
            t = time.perf_counter()
            again = run(RunOptions(system="oracle", benchmark=bench, out=out, workers=workers,
                                   n_resamples=a.resamples))
            assert again.resumed and again.predicted_now == 0
            print(f"  resume of the finished run, in-process: {time.perf_counter() - t:.3f} s")
        args = ["run", "-s", "oracle", "-b", str(bench), "--out", str(tmp / "runs-cli"),
                "--resamples", str(a.resamples), "--no-progress"]
        first = cli(args)
        print(f"CLI `muie-bench run --system oracle`: {first:.2f} s = {n / first:.0f} "
              "instances/s (with interpreter start-up)")
        print(f"CLI resume of the finished run: {cli(args):.2f} s (with interpreter start-up)")


if __name__ == "__main__":
    main()
