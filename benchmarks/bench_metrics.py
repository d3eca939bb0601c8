"""Speed of scoring on the benchmark users run (``make bench``).

Benchmark: ``muie-synth`` when built, else muie-synth-mini replicated to ``--n`` instances
(all 15 sets, video and audio included). Oracle predictions of every instance. Measures:

- ``muie-bench score`` through the CLI (child process: wall, CPU = user + sys of it and its
  workers, peak RSS), median of ``--repeat`` runs;
- the mask IoUs of I-Seg and V-Trck three ways, in-process, CPU time, values compared bit
  for bit: batched (what ``score`` does: one exact numpy pass per chunk of instances),
  the previous code (one ``pycocotools.mask.iou`` call per image and per video frame,
  areas decoded per call), and naive dense numpy (decode every mask, and/or per pair;
  image masks only, it is too slow on video);
- peak RSS of the CLI at ``--n`` and at ``--big`` instances (the benchmark replicated).

Prints ratios measured in the same run and writes ``results/bench/metrics.json``.

    .venv/bin/python benchmarks/bench_metrics.py [--n 3000] [--big 30000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import cli, oracle_predictions, pick_benchmark, write_result  # type: ignore[import-not-found]
from pycocotools import mask as mask_utils

from muie_bench.benchmark import load_benchmark
from muie_bench.metrics.grounding import (
    MaskBank,
    _masks,
    _selected,
    _tracks,
    hungarian_mean,
    plan_grounding,
    task_regions,
)
from muie_bench.metrics.rle import rle_areas, to_coco
from muie_bench.replicate import replicate_benchmark
from muie_bench.schema import RLE, Instance, VideoTrack


def _regions(inst: Instance) -> tuple[list[RLE], list[VideoTrack]]:
    ms = inst.gold.mentions()
    reg = task_regions(inst.gold, inst.task)
    _, masks = _masks(ms, _selected(ms, reg, True))
    _, tracks = _tracks(ms, _selected(ms, reg, True))
    return masks, tracks


def previous_values(items: list[tuple[list[RLE], list[VideoTrack]]]) -> list[float]:
    """The previous code: pycocotools per image and per frame, areas decoded per call."""
    def iou(g: list[RLE], k: list[RLE]) -> np.ndarray:
        out = np.asarray(mask_utils.iou([to_coco(m) for m in g], [to_coco(m) for m in k],
                                        [0] * len(k)), dtype=np.float64).reshape(len(g), len(k))
        ge, ke = rle_areas(g) == 0, rle_areas(k) == 0
        out[np.outer(ge, ke)] = 1.0
        return out

    vals = []
    for masks, tracks in items:
        if masks:
            vals.append(hungarian_mean(iou(masks, masks)))
        if tracks:
            n = len(tracks)
            parts: dict[tuple[int, int], list[float]] = {}
            for f in {f for t in tracks for f in t.frames}:
                here = [(i, t.frames[f]) for i, t in enumerate(tracks) if f in t.frames]
                m = iou([r for _, r in here], [r for _, r in here])
                for a, (i, _) in enumerate(here):
                    for b, (j, _) in enumerate(here):
                        parts.setdefault((i, j), []).append(float(m[a, b]))
            inter = np.zeros((n, n))
            for (i, j), v in parts.items():
                inter[i, j] = math.fsum(v)
            union = np.array([[len(set(a.frames) | set(b.frames)) for b in tracks] for a in tracks],
                             dtype=np.float64)
            out = np.ones((n, n))
            nz = union > 0
            out[nz] = inter[nz] / union[nz]
            vals.append(hungarian_mean(out))
    return vals


def batched_values(insts: list[Instance]) -> list[float]:
    """What ``score`` does: plans of a chunk of instances, one exact numpy pass per chunk."""
    vals: list[float] = []
    bank, plans = MaskBank(), []

    def flush() -> None:
        ious = bank.compute()
        for plan in plans:
            g = plan.finish(bank, ious)
            for mod in ("image", "video"):
                if mod in g:
                    vals.append(g[mod].value())  # type: ignore[index]

    for inst in insts:
        ms = inst.gold.mentions()
        reg = task_regions(inst.gold, inst.task)
        plans.append(plan_grounding(bank, ms, ms, inst.id, [""] * len(ms), False, reg, reg))
        if bank.chars >= 1 << 15 or len(bank) >= 4096:
            flush()
            bank, plans = MaskBank(), []
    flush()
    return vals


def dense_values(items: list[tuple[list[RLE], list[VideoTrack]]]) -> list[float]:
    """Naive: decode every image mask to pixels, and/or per pair (image masks only)."""
    from scipy.optimize import linear_sum_assignment

    vals = []
    for masks, _ in items:
        if not masks:
            continue
        d = [mask_utils.decode(to_coco(m)).astype(bool) for m in masks]
        iou = np.zeros((len(d), len(d)))
        for a, x in enumerate(d):
            for b, y in enumerate(d):
                u = np.logical_or(x, y).sum()
                iou[a, b] = 1.0 if u == 0 else np.logical_and(x, y).sum() / u
        r, c = linear_sum_assignment(iou, maximize=True)
        vals.append(float(iou[r, c].sum()) / len(d))
    return vals


def cpu(fn, *args):  # type: ignore[no-untyped-def]
    t = time.process_time()
    out = fn(*args)
    return out, time.process_time() - t


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--big", type=int, default=30000, help="0: skip the memory-growth run")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    res: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bench_dir = pick_benchmark(a.n, tmp)
        bench = load_benchmark(bench_dir)
        preds = oracle_predictions(bench_dir, tmp / "predictions.jsonl")
        print(f"benchmark: {bench_dir} ({len(bench)} instances), predictions "
              f"{preds.stat().st_size / 1e6:.1f} MB")
        res["benchmark"] = {"path": str(bench_dir), "instances": len(bench)}
        cli(["score", str(preds), "--benchmark", str(bench_dir), "--out", str(tmp / "s0")])
        runs = [cli(["score", str(preds), "--benchmark", str(bench_dir), "--out", str(tmp / "s")])
                for _ in range(a.repeat)]
        walls = [r["wall_s"] for r in runs]
        score = {"wall_s_median": statistics.median(walls), "wall_s": walls,
                 "cpu_s": [r["cpu_s"] for r in runs], "peak_rss_mb": max(r["peak_rss_mb"] for r in runs)}
        res["score_cli"] = score
        print(f"muie-bench score (CLI, oracle): wall median {score['wall_s_median']:.2f} s "
              f"({min(walls):.2f}-{max(walls):.2f}), CPU {statistics.median(score['cpu_s']):.2f} s, "
              f"peak RSS {score['peak_rss_mb']:.0f} MB")

        insts = list(bench.instances)
        items = [_regions(i) for i in insts]
        new, t_new = cpu(batched_values, insts)
        old, t_old = cpu(previous_values, items)
        assert np.array(new).tobytes() == np.array(old).tobytes(), "batched != previous"
        image_items = [(m, []) for m, _ in items if m]
        dense, t_dense = cpu(dense_values, image_items)
        img_new, t_img = cpu(previous_values, image_items)
        assert np.allclose(dense, img_new), "dense != RLE"
        res["grounding_cpu_s"] = {"batched": round(t_new, 3), "previous_per_frame": round(t_old, 3),
                                  "image_only_rle": round(t_img, 3),
                                  "image_only_dense": round(t_dense, 3),
                                  "values": len(new)}
        print(f"I-Seg + V-Trck IoUs ({len(new)} instance values): batched {t_new:.2f} s CPU, "
              f"previous per-frame pycocotools {t_old:.2f} s: {t_old / t_new:.1f}x")
        print(f"I-Seg alone: RLE (pycocotools) {t_img:.2f} s, naive dense {t_dense:.2f} s: "
              f"{t_dense / t_img:.1f}x")
        if a.big:
            big = replicate_benchmark(bench_dir, tmp / "big", a.big, name=f"bench-x{a.big}")
            big_preds = oracle_predictions(big, tmp / "big-predictions.jsonl")
            cli(["score", str(big_preds), "--benchmark", str(big), "--out", str(tmp / "b0")])
            r = cli(["score", str(big_preds), "--benchmark", str(big), "--out", str(tmp / "b")])
            growth = r["peak_rss_mb"] / score["peak_rss_mb"]  # type: ignore[operator]
            res["score_cli_big"] = {"instances": a.big, **r, "rss_growth": round(growth, 3)}
            print(f"muie-bench score of {a.big} instances: wall {r['wall_s']:.1f} s, CPU "
                  f"{r['cpu_s']:.1f} s, peak RSS {r['peak_rss_mb']:.0f} MB ({growth:.2f}x of "
                  f"{len(bench)} instances)")
    write_result("metrics", res)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
