"""Harness overhead of the runner: `run --system oracle` end to end (load, predict, write,
score) on the benchmark users run, the resume of the finished run, and CLI start-up.

Benchmark: ``muie-synth`` when built, else muie-synth-mini replicated to ``--n`` instances
(all 15 sets, video and audio included). CLI commands run in a child process: wall, CPU
(user + sys, workers included) and peak RSS. The naive baseline measured in the same run
is the oracle's previous prediction (pydantic's generic deep copy of the gold) against
the structural copy it makes now. Targets: >= 1,000 instances/s end to end through the
CLI, a resume under 0.5 s, ``muie-bench --help`` under 0.3 s (on an idle machine: compare
CPU times when it is shared). Writes ``results/bench/runner.json``.

    .venv/bin/python benchmarks/bench_runner.py [--n 3000] [--resamples 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from _common import cli, pick_benchmark, write_result  # type: ignore[import-not-found]

from muie_bench.benchmark import load_benchmark
from muie_bench.run.runner import RunOptions, run
from muie_bench.systems.reference import copy_annotation


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    res: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bench = pick_benchmark(a.n, tmp)
        loaded = load_benchmark(bench)
        n = len(loaded)
        print(f"benchmark: {bench} ({n} instances)")
        res["benchmark"] = {"path": str(bench), "instances": n}

        golds = [i.gold for i in loaded]
        t = time.process_time()
        for g in golds:
            g.model_copy(deep=True)
        t_deep = time.process_time() - t
        t = time.process_time()
        for g in golds:
            copy_annotation(g)
        t_fast = time.process_time() - t
        res["oracle_copy_cpu_s"] = {"pydantic_deep_copy": round(t_deep, 3),
                                    "structural_copy": round(t_fast, 3)}
        print(f"oracle prediction of every instance: structural copy {t_fast:.2f} s CPU, "
              f"pydantic deep copy {t_deep:.2f} s: {t_deep / t_fast:.1f}x")

        out = tmp / "runs-inproc"
        t = time.perf_counter()
        c = time.process_time()
        r = run(RunOptions(system="oracle", benchmark=bench, out=out, n_resamples=a.resamples))
        total, total_cpu = time.perf_counter() - t, time.process_time() - c
        tm = r.record.timings
        res["in_process"] = {"wall_s": round(total, 3), "cpu_s": round(total_cpu, 3),
                             "timings": tm}
        print(f"in-process, 1 worker: {total:.2f} s wall ({total_cpu:.2f} s CPU) = "
              f"{n / total:.0f} instances/s (load {tm['load']:.2f} s, predict+write "
              f"{tm['wall_predict']:.2f} s, score {tm['score']:.2f} s)")

        runs = []
        for k in range(a.repeat):
            args = ["run", "-s", "oracle", "-b", str(bench), "--out", str(tmp / f"cli-{k}"),
                    "--resamples", str(a.resamples), "--no-progress"]
            first = cli(args)
            resume = cli(args)
            runs.append((first, resume))
        walls = [f["wall_s"] for f, _ in runs]
        cpus = [f["cpu_s"] for f, _ in runs]
        rwalls = [r["wall_s"] for _, r in runs]
        rcpus = [r["cpu_s"] for _, r in runs]
        helps = [cli(["--help"]) for _ in range(a.repeat)]
        res["cli_run"] = {"wall_s": walls, "cpu_s": cpus,
                          "instances_per_s_median_wall": round(n / statistics.median(walls)),
                          "instances_per_s_median_cpu": round(n / statistics.median(cpus)),
                          "peak_rss_mb": max(f["peak_rss_mb"] for f, _ in runs)}
        res["cli_resume"] = {"wall_s": rwalls, "cpu_s": rcpus}
        res["cli_help"] = {"wall_s": [h["wall_s"] for h in helps], "cpu_s": [h["cpu_s"] for h in helps]}
        print(f"CLI `muie-bench run --system oracle`: wall median {statistics.median(walls):.2f} s = "
              f"{n / statistics.median(walls):.0f} instances/s; CPU median {statistics.median(cpus):.2f} s "
              f"= {n / statistics.median(cpus):.0f} instances/s per CPU second")
        print(f"CLI resume of the finished run: wall median {statistics.median(rwalls):.2f} s, "
              f"CPU {statistics.median(rcpus):.2f} s")
        print(f"CLI --help: wall median {statistics.median(h['wall_s'] for h in helps):.2f} s, "
              f"CPU {statistics.median(h['cpu_s'] for h in helps):.2f} s")
    write_result("runner", res)


if __name__ == "__main__":
    main()
