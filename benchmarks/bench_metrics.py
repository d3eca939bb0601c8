"""Benchmark of the metrics: score 3,000 instances with ~3 masks each (``make bench``).

Builds 3,000 text+image instances in memory (15 sets x 200, NER / RE / EE, 2-4 gold masks
of 480x640 per instance, predictions with shifted, missing and extra masks), then measures:

- ``score()``: the whole scoring (IE counts, grounded F1, I-Seg, aggregation, 1,000
  bootstrap resamples);
- I-Seg alone on RLE (pycocotools on encoded masks, the path ``score()`` uses);
- I-Seg alone on a naive dense numpy path (decode every mask, logical and/or per pair).

Prints seconds, the ratios and the peak RSS. Usage: ``python benchmarks/bench_metrics.py
[--instances N]``.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils
from scipy.optimize import linear_sum_assignment

from muie_bench.benchmark import Benchmark
from muie_bench.metrics.evaluate import score
from muie_bench.metrics.grounding import all_masks, ground_instance
from muie_bench.metrics.rle import first_invalid
from muie_bench.schema import (
    RLE,
    Annotation,
    Argument,
    Event,
    Instance,
    Manifest,
    Mention,
    Prediction,
    Relation,
    SetSpec,
)
from muie_bench.scoring import read_predictions

H, W = 480, 640
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]


def box_rle(y0: int, x0: int, y1: int, x1: int) -> RLE:
    m = np.zeros((H, W), np.uint8, order="F")
    m[y0:y1, x0:x1] = 1
    return RLE(size=(H, W), counts=mask_utils.encode(m)["counts"].decode())


def random_box(rng: random.Random) -> tuple[int, int, int, int]:
    y0, x0 = rng.randrange(H - 60), rng.randrange(W - 60)
    return y0, x0, y0 + rng.randrange(30, min(200, H - y0)), x0 + rng.randrange(30, min(200, W - x0))


def build(n: int, seed: int = 0) -> tuple[Manifest, list[Instance], list[Prediction]]:
    rng = random.Random(seed)
    text = " ".join(WORDS)
    starts = [sum(len(w) + 1 for w in WORDS[:k]) for k in range(len(WORDS))]
    tasks = ("ner", "re", "ee")
    sets = [SetSpec(id=f"set{k}-{tasks[k % 3]}", modalities=["text", "image"], task=tasks[k % 3],
                    count=0) for k in range(15)]
    instances, preds = [], []
    for i in range(n):
        spec = sets[i % 15]
        spec.count += 1
        k = rng.randrange(2, 5)
        words = rng.sample(range(len(WORDS)), k)
        boxes = [random_box(rng) for _ in range(k)]
        gold_e, pred_e = [], []
        for j, (w, b) in enumerate(zip(words, boxes, strict=True)):
            span = (starts[w], starts[w] + len(WORDS[w]))
            typ = rng.choice(["PER", "ORG", "LOC"])
            gold_e.append(Mention(id=f"e{j}", type=typ, text=WORDS[w], span=span,
                                  image_mask=box_rle(*b)))
            if rng.random() < 0.85:  # predicted with a shifted box (IoU ~0.3-1)
                dy, dx = rng.randrange(-25, 26), rng.randrange(-25, 26)
                pb = (max(0, b[0] + dy), max(0, b[1] + dx), min(H, b[2] + dy), min(W, b[3] + dx))
                ptyp = typ if rng.random() < 0.8 else "MISC"
                pred_e.append(Mention(id=f"p{j}", type=ptyp, text=WORDS[w], span=span,
                                      image_mask=box_rle(*pb)))
        if rng.random() < 0.3:  # an extra predicted mask
            w = rng.randrange(len(WORDS))
            pred_e.append(Mention(id="px", type="PER", text=WORDS[w],
                                  span=(starts[w], starts[w] + len(WORDS[w])),
                                  image_mask=box_rle(*random_box(rng))))
        gold = Annotation(entities=gold_e)
        out = Annotation(entities=pred_e)
        if spec.task == "re":
            gold.relations = [Relation(type="rel", head="e0", tail="e1")]
            if {"p0", "p1"} <= {m.id for m in pred_e}:
                out.relations = [Relation(type="rel", head="p0", tail="p1")]
        if spec.task == "ee":
            trig = Mention(id="t", text=WORDS[words[0]], span=gold_e[0].span)
            gold.events = [Event(type="Meet", trigger=trig,
                                 arguments=[Argument(role="r", mention=m.id) for m in gold_e])]
            out.events = [Event(type="Meet", trigger=trig,
                                arguments=[Argument(role="r", mention=m.id) for m in pred_e])]
        instances.append(Instance(id=f"i{i}", set=spec.id, modalities=["text", "image"],
                                  task=spec.task, text=text, image=f"media/i{i}.png", gold=gold))
        preds.append(Prediction(id=f"i{i}", output=out))
    return Manifest(name="bench", version="1", sets=sets), instances, preds


def dense_iseg(instances: list[Instance], preds: list[Prediction]) -> list[float]:
    """The naive path: decode every mask to a dense array, IoU with numpy, Hungarian."""
    out = []
    for inst, p in zip(instances, preds, strict=True):
        g = [mask_utils.decode({"size": list(m.image_mask.size),
                                "counts": m.image_mask.counts.encode()}).astype(bool)
             for m in inst.gold.mentions() if m.image_mask is not None]
        k = [mask_utils.decode({"size": list(m.image_mask.size),
                                "counts": m.image_mask.counts.encode()}).astype(bool)
             for m in p.output.mentions() if m.image_mask is not None]
        iou = np.zeros((len(g), len(k)))
        for a, ga in enumerate(g):
            for b, kb in enumerate(k):
                union = np.logical_or(ga, kb).sum()
                iou[a, b] = 1.0 if union == 0 else np.logical_and(ga, kb).sum() / union
        r, c = linear_sum_assignment(iou, maximize=True)
        out.append(float(iou[r, c].sum()) / max(len(g), len(k)))
    return out


def rle_iseg(instances: list[Instance], preds: list[Prediction]) -> list[float]:
    """I-Seg alone on RLE, the path score() takes: validate all masks in one batch, then
    pycocotools IoU on the encoded masks and Hungarian matching per instance."""
    masks = [m for i in instances for m in all_masks(i.gold.mentions())]
    masks += [m for p in preds for m in all_masks(p.output.mentions())]
    assert first_invalid(masks) is None
    out = []
    for inst, p in zip(instances, preds, strict=True):
        pm = p.output.mentions()
        g = ground_instance(inst.gold.mentions(), pm, inst.id, [""] * len(pm), check_rle=False)
        out.append(g["image"].value())
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=3000)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    manifest, instances, preds = build(args.instances)
    n_masks = sum(m.image_mask is not None for i in instances for m in i.gold.mentions())
    n_pred = sum(m.image_mask is not None for p in preds for m in p.output.mentions())
    print(f"built {len(instances)} instances, {n_masks} gold masks "
          f"({n_masks / len(instances):.2f}/instance), {n_pred} predicted masks, {H}x{W} "
          f"in {time.perf_counter() - t0:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        bench = Benchmark(Path(tmp), manifest, instances, "-")
        t = time.perf_counter()
        scores, _ = score(bench, preds, n_resamples=1000)
        t_score = time.perf_counter() - t
        path = Path(tmp) / "predictions.jsonl"
        path.write_text("".join(p.model_dump_json() + "\n" for p in preds))
        t = time.perf_counter()
        assert len(read_predictions(path)) == len(preds)
        t_read = time.perf_counter() - t
        size_mb = path.stat().st_size / 1e6
    t = time.perf_counter()
    fast = rle_iseg(instances, preds)
    t_rle = time.perf_counter() - t
    t = time.perf_counter()
    slow = dense_iseg(instances, preds)
    t_dense = time.perf_counter() - t
    assert np.allclose(fast, slow), "RLE and dense I-Seg disagree"
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"score() all metrics + 1000 bootstrap resamples: {t_score:.2f} s "
          f"(macro F1 {scores.macro['f1'].value:.1f}, I-Seg {scores.macro['i_seg'].value:.1f})")
    print(f"read_predictions():    {t_read:.2f} s ({size_mb:.1f} MB) - not in the "
          "targets")
    print(f"I-Seg on RLE:          {t_rle:.2f} s")
    print(f"I-Seg naive dense:     {t_dense:.2f} s")
    print(f"ratio dense / RLE I-Seg: {t_dense / t_rle:.1f}x; "
          f"dense I-Seg alone / whole score(): {t_dense / t_score:.1f}x")
    print(f"peak RSS: {rss:.0f} MB")
    ok = t_score < 3.0 and t_dense / t_rle >= 10 and rss < 400
    print("targets (< 3 s, >= 10x, < 400 MB):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
