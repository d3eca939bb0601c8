"""The real-data path on the real samples: import, speak, assemble, HF round trip.

Reads the samples under ``$MUIE_REALDATA`` (default ``<repo>/../shared/realdata``); their
images are not distributed, so stand-in images of the right names and sizes are drawn (as
the tests do). Prints per step: instances, seconds, and for speech how many mentions got a
spoken time span.

    .venv/bin/python benchmarks/bench_realdata.py [--workers 2]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import tempfile
import time
from pathlib import Path

from PIL import Image

from muie_bench.benchmark import load_benchmark, validate_benchmark
from muie_bench.sources import import_dataset
from muie_bench.sources.assemble import assemble
from muie_bench.sources.hf import export_hf
from muie_bench.sources.speak import speak_benchmark

ROOT = Path(__file__).resolve().parent.parent
REAL = Path(os.environ.get("MUIE_REALDATA", ROOT.parent / "shared" / "realdata"))


def standins(tmp: Path) -> Path:
    d = tmp / "img"
    d.mkdir()

    def save(name: str, w: int = 64, h: int = 48) -> None:
        Image.new("RGB", (w, h), (128, 128, 128)).save(d / name)

    for f in ("test_head40.txt", "train_head10.txt"):
        for line in (REAL / "twitter2017" / f).read_text(encoding="utf-8").splitlines():
            if line.startswith("IMGID:"):
                save(line[6:].strip() + ".jpg")
    for f in ("mnre_test_head30.txt", "mnre_train_head10.txt"):
        for line in (REAL / "mnre" / f).read_text(encoding="utf-8").splitlines():
            save(ast.literal_eval(line)["img_id"])
    for name, wh in json.loads((REAL / "vrd" / "test_image_metadata_first6.json").read_text()).items():
        save(name, wh["width"], wh["height"])
    for name, rec in json.loads((REAL / "m2e2" / "image_multimedia_event_sample4.json").read_text()).items():
        boxes = [b for bs in rec["role"].values() for b in bs]
        save(name + ".jpg", max(b[3] for b in boxes) + 1, max(b[4] for b in boxes) + 1)
    return d


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        os.environ["MUIE_BENCH_CACHE"] = str(tmp / "cache")
        media = standins(tmp)
        jobs = {
            "twitter2017": [REAL / "twitter2017" / "test_head40.txt",
                            REAL / "twitter2017" / "train_head10.txt"],
            "mnre": [REAL / "mnre" / "mnre_test_head30.txt", REAL / "mnre" / "mnre_train_head10.txt"],
            "vrd": [REAL / "vrd" / "annotations_test_first6.json", REAL / "vrd" / "objects.json",
                    REAL / "vrd" / "predicates.json"],
            "m2e2": [REAL / "m2e2" / "text_multimedia_event_first1.json",
                     REAL / "m2e2" / "image_multimedia_event_sample4.json",
                     REAL / "m2e2" / "crossmedia_coref_head10.txt"],
        }
        outs = []
        for fmt, srcs in jobs.items():
            t0 = time.perf_counter()
            r = import_dataset(fmt, srcs, tmp / fmt, media=media)
            print(f"import {fmt}: {r.counts}, {len(r.skipped)} malformed, notes {r.notes}, "
                  f"{time.perf_counter() - t0:.2f} s (validated)")
            outs.append(tmp / fmt)
        for fmt in ("twitter2017", "mnre"):
            t0 = time.perf_counter()
            r2 = speak_benchmark(tmp / fmt, tmp / f"{fmt}-speech", workers=args.workers)
            dt = time.perf_counter() - t0
            bench = validate_benchmark(r2.out)
            spans = [m for i in bench.instances for m in i.gold.entities]
            timed = sum(1 for m in spans if m.audio_spans)
            print(f"speak {fmt}: {r2.counts}, {len(bench)} recordings in {dt:.1f} s "
                  f"({len(bench) / dt:.1f}/s, {args.workers} workers); {timed}/{len(spans)} mentions "
                  f"with a spoken time span")
            outs.append(r2.out)
        t0 = time.perf_counter()
        r3 = assemble(list(outs), tmp / "real", per_set=200)
        print(f"assemble: {r3.counts}, missing {r3.missing}, {time.perf_counter() - t0:.2f} s")
        t0 = time.perf_counter()
        export_hf(tmp / "real", tmp / "hf")
        t1 = time.perf_counter()
        back = validate_benchmark(tmp / "hf")
        same = back.instances == load_benchmark(tmp / "real").instances
        print(f"hf: export {t1 - t0:.2f} s, load + validate {time.perf_counter() - t1:.2f} s, "
              f"same instances: {same}")


if __name__ == "__main__":
    main()
