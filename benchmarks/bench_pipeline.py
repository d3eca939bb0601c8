"""Throughput of a pipeline preset: instances/s per modality, time per stage, harness overhead.

Runs the preset through the real runner (a fresh run, no scoring) and reads its predictions:

- per modality combination: instances, system seconds, instances/s (one worker);
- per stage: the share of the system's time from each prediction's ``trace["timings"]``
  (stages are disjoint); ``other`` is the rest of ``Prediction.seconds`` (media decoding,
  glue);
- harness overhead: the runner's wall time of the prediction loop minus the summed
  ``Prediction.seconds``, over that wall time (scheduling, JSON, fsync).

Usage: ``python benchmarks/bench_pipeline.py [--system pipeline-offline] [--benchmark
muie-synth-mini] [--limit N] [--keep DIR]``. With ``--keep`` the run directory stays there
(score it later with ``muie_bench.run.runner.score_run``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from muie_bench.benchmark import load_benchmark
from muie_bench.paper_sets import modality_label
from muie_bench.run.runner import RunOptions, run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--system", default="pipeline-offline")
    ap.add_argument("--benchmark", default="muie-synth-mini")
    ap.add_argument("--limit", type=int, default=None, help="first N instances of each set")
    ap.add_argument("--keep", type=Path, default=None, help="runs folder to keep")
    args = ap.parse_args()

    bench = load_benchmark(args.benchmark)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        t0 = time.perf_counter()
        res = run(RunOptions(system=args.system, benchmark=args.benchmark, limit=args.limit,
                             out=out, fresh=True, score=False))
        total_wall = time.perf_counter() - t0
        preds = res.run.predictions()
        record = res.run.record()
        run_dir = res.run_dir

    by_mod: dict[str, list[float]] = defaultdict(list)
    stages: dict[str, float] = defaultdict(float)
    for p in preds:
        inst = bench.get(p.id)
        by_mod[modality_label(inst.modalities)].append(p.seconds)
        for k, v in p.trace.get("timings", {}).items():
            stages[k] += float(v)
    system_s = sum(p.seconds for p in preds)
    wall = float(record.timings.get("wall_predict", 0.0))
    failed = sum(1 for p in preds if p.error)

    print(f"{args.system} on {bench.name}: {len(preds)} instances ({failed} failed), "
          f"total {total_wall:.1f} s with model loading")
    print("\nmodality   n   system s   inst/s   s/inst")
    for mod, secs in sorted(by_mod.items(), key=lambda kv: -sum(kv[1]) / len(kv[1])):
        s = sum(secs)
        print(f"{mod:<8} {len(secs):>3} {s:>10.1f} {len(secs) / s:>8.2f} {s / len(secs):>8.2f}")
    print(f"{'all':<8} {len(preds):>3} {system_s:>10.1f} {len(preds) / system_s:>8.2f} "
          f"{system_s / len(preds):>8.2f}")
    print("\nstage          seconds   share")
    other = system_s - sum(stages.values())
    for k, v in sorted([*stages.items(), ("other", other)], key=lambda kv: -kv[1]):
        print(f"{k:<12} {v:>9.1f} {100 * v / system_s:>6.1f} %")
    if wall > 0:
        print(f"\nharness overhead: {wall - system_s:.2f} s of {wall:.1f} s prediction wall time "
              f"= {100 * (wall - system_s) / wall:.2f} %")
    if args.keep:
        print(f"run directory: {run_dir}")


if __name__ == "__main__":
    main()
