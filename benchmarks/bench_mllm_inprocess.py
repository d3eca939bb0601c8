"""CPU seconds per instance of the in-process MLLM presets with the tiny random-weight test
models (tests/mllm_tiny_models.py), one instance per call against ``batch_size`` per call.

For each preset (llava+seem, video-llava+seem, qwen2-audio+shas; grounder=none, so only the
MLLM is timed): build the tiny model, load it once, predict every instance of the tiny test
benchmark once to warm up, then ``--repeats`` times with batch_size 1 and with
``--batch`` (process CPU seconds and wall seconds, the median of the repeats). Prints a
Markdown table; the speed-up is CPU seconds at batch 1 over CPU seconds at ``--batch``.
The tiny models measure the harness and the batching, not a real model's speed.

    HF_HUB_OFFLINE=1 python benchmarks/bench_mllm_inprocess.py [--batch 7] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from muie_bench.benchmark import Benchmark, load_benchmark
from muie_bench.systems.registry import build_system

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from mllm_tiny_models import BUILDERS  # noqa: E402

PRESETS = {"llava": "llava+seem", "video-llava": "video-llava+seem", "qwen2-audio": "qwen2-audio+shas"}


def timed(system: Any, bench: Benchmark, batch: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) to predict every instance, ``batch`` per call."""
    insts = list(bench)
    c0, w0 = time.process_time(), time.perf_counter()
    for i in range(0, len(insts), batch):
        preds = system.predict_batch(insts[i : i + batch], bench)
        assert all(p.error is None for p in preds), [p.error for p in preds]
    return time.process_time() - c0, time.perf_counter() - w0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=7)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)  # one core: comparable across machines and runs
    bench = load_benchmark(ROOT / "tests" / "data" / "tiny")
    n = len(bench)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, preset in PRESETS.items():
            path = BUILDERS[name](Path(tmp) / name)
            out = {}
            for batch in (1, args.batch):
                system = build_system(preset, {"model": str(path), "grounder": "none",
                                               "batch_size": batch,
                                               "max_new_tokens": args.max_new_tokens})
                system.setup(bench)
                timed(system, bench, batch)  # warm-up
                runs = [timed(system, bench, batch) for _ in range(args.repeats)]
                out[batch] = (statistics.median(r[0] for r in runs) / n,
                              statistics.median(r[1] for r in runs) / n)
            rows.append((preset, out[1], out[args.batch]))
    print(f"tiny benchmark: {n} instances, max_new_tokens={args.max_new_tokens}, torch threads=1, "
          f"median of {args.repeats}")
    print(f"| preset | CPU s / instance (batch 1) | CPU s / instance (batch {args.batch}) | "
          f"wall s / instance (batch 1 / {args.batch}) | speed-up (CPU) |")
    print("|---|---:|---:|---:|---:|")
    for preset, one, many in rows:
        print(f"| {preset} | {one[0]:.3f} | {many[0]:.3f} | {one[1]:.3f} / {many[1]:.3f} | "
              f"{one[0] / many[0]:.1f}x |")


if __name__ == "__main__":
    main()
