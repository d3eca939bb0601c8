"""Load time of ``analysis.instances_df`` for three runs over a 3,000-instance benchmark.

Benchmark: benchmark_data/muie-synth when built, else muie-synth-mini replicated to 3,000
instances. Three runs (``oracle``, ``empty``, ``oracle`` with other bootstrap settings) are
made through the CLI, then ``instances_df`` is timed (median of 3) against a naive
baseline measured in the same process: every file parsed with the pydantic models
(``load_benchmark``, ``Prediction``, ``InstanceScore``) and the rows built from them.
Target: under 2 s. Prints the figures and writes them to ``results/bench/analysis.json``.

    .venv/bin/python benchmarks/bench_analysis.py [--n 3000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from muie_bench.analysis import instances_df
from muie_bench.benchmark import known_benchmarks, load_benchmark
from muie_bench.replicate import replicate_benchmark
from muie_bench.schema import InstanceScore, Prediction

ROOT = Path(__file__).resolve().parent.parent


def pick_benchmark(n: int, tmp: Path) -> Path:
    full = known_benchmarks()["muie-synth"]
    if (full / "manifest.json").is_file():
        return full
    return replicate_benchmark(known_benchmarks()["muie-synth-mini"], tmp / "bench", n, name=f"bench-x{n}")


def naive(runs: Path) -> int:
    """The same rows from the pydantic models of every file (the baseline)."""
    rows: list[dict[str, Any]] = []
    benches: dict[str, Any] = {}
    for rj in sorted(runs.rglob("run.json")):
        rec = json.loads(rj.read_text())
        path = rec["benchmark"]["path"]
        if path not in benches:
            benches[path] = {i.id: i for i in load_benchmark(path)}
        preds = {}
        for line in (rj.parent / "predictions.jsonl").read_text().splitlines():
            p = Prediction.model_validate_json(line)
            preds[p.id] = p
        for line in (rj.parent / "instance_scores.jsonl").read_text().splitlines():
            s = InstanceScore.model_validate_json(line)
            inst = benches[path][s.id]
            row: dict[str, Any] = {"run_id": rec["run_id"], "id": s.id, "set": s.set}
            for m, c in s.counts.items():
                row.update({f"{m}.tp": c.tp, f"{m}.predicted": c.predicted, f"{m}.gold": c.gold})
            row.update(s.grounding)
            row["seconds"] = preds[s.id].seconds
            row.update({f"meta.{k}": v for k, v in inst.meta.items()})
            rows.append(row)
    import pandas as pd

    return len(pd.DataFrame(rows))


def timed(fn: Any, *args: Any, repeat: int = 3) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(*args)
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=3000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bench = pick_benchmark(a.n, tmp)
        runs = tmp / "runs"
        for system, extra in (("oracle", []), ("empty", []), ("oracle", ["--seed", "1", "--fresh"])):
            subprocess.run([sys.executable, "-m", "muie_bench.cli", "run", "-s", system, "-b", str(bench),
                            "--out", str(runs), "--resamples", "0", *extra], check=True,
                           stdout=subprocess.DEVNULL)
        t_fast, df = timed(instances_df, runs)
        t_naive, n_naive = timed(naive, runs, repeat=1)
    assert len(df) == n_naive, (len(df), n_naive)
    res = {"benchmark": bench.name, "runs": 3, "rows": len(df), "columns": len(df.columns),
           "instances_df_s": round(t_fast, 3), "naive_s": round(t_naive, 3),
           "speedup": round(t_naive / t_fast, 1), "target_s": 2.0}
    print(f"instances_df: {len(df)} rows x {len(df.columns)} columns from 3 runs on {bench.name}: "
          f"{t_fast:.2f} s (median of 3); pydantic baseline {t_naive:.2f} s ({res['speedup']}x); "
          f"target < 2 s: {'met' if t_fast < 2 else 'NOT met'}")
    out = ROOT / "results" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "analysis.json").write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
