"""Write the score fixtures of ``tests/test_scores_identical.py`` (run once, with the code
whose scores are the reference).

For the muie-synth-mini benchmark it writes, under ``tests/data/score_fixtures/<name>/``,
``predictions.jsonl.gz`` (the input) and the ``scores.json`` / ``instance_scores.jsonl``
that ``muie-bench score`` produced from it:

- ``oracle``: the gold annotation of every instance;
- ``empty``: an empty annotation for every instance;
- ``perturbed``: a seeded mix of what systems get wrong: missing instances, errors, parse
  failures, dropped / retyped / re-spanned / extra mentions, shifted and emptied masks,
  dropped, shifted and added video frames, jittered audio spans, reordered mentions;
- ``pipeline``: the predictions of ``pipeline-offline`` when a predictions file of that
  system is given (``--pipeline PATH``).

    PYTHONPATH=. python tests/data/make_score_fixtures.py [--pipeline PATH]
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
MINI = ROOT / "benchmark_data" / "muie-synth-mini"
OUT = HERE / "score_fixtures"


def _shift_rle(rle: dict[str, Any], dy: int, dx: int) -> dict[str, Any]:
    m = mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()})
    m = np.roll(np.roll(m, dy, axis=0), dx, axis=1)
    enc = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
    return {"size": rle["size"], "counts": enc["counts"].decode()}


def _empty_rle(size: list[int]) -> dict[str, Any]:
    enc = mask_utils.encode(np.zeros(size, dtype=np.uint8, order="F"))
    return {"size": size, "counts": enc["counts"].decode()}


def _box_rle(size: list[int], rng: random.Random) -> dict[str, Any]:
    h, w = size
    m = np.zeros((h, w), dtype=np.uint8, order="F")
    y, x = rng.randrange(h // 2), rng.randrange(w // 2)
    m[y:y + rng.randrange(1, h // 2), x:x + rng.randrange(1, w // 2)] = 1
    return {"size": size, "counts": mask_utils.encode(m)["counts"].decode()}


def _perturb_mention(m: dict[str, Any], rng: random.Random, types: list[str]) -> None:
    if m.get("type") is not None and rng.random() < 0.15 and types:
        m["type"] = rng.choice(types)
    if m.get("span") is not None and rng.random() < 0.1:
        del m["span"]  # matched on normalised text instead
        m["text"] = m["text"].upper() + "."
    if m.get("image_mask") is not None:
        r = rng.random()
        if r < 0.1:
            m["image_mask"] = _empty_rle(m["image_mask"]["size"])
        elif r < 0.2:
            del m["image_mask"]
        elif r < 0.7:
            m["image_mask"] = _shift_rle(m["image_mask"], rng.randrange(-12, 13), rng.randrange(-12, 13))
    if m.get("audio_spans") is not None:
        if rng.random() < 0.15:
            del m["audio_spans"]
        else:
            m["audio_spans"] = [[max(0.0, s + rng.uniform(-0.3, 0.3)), e + rng.uniform(0.0, 0.4)]
                                for s, e in m["audio_spans"]]
    if m.get("video_track") is not None:
        frames = m["video_track"]["frames"]
        out = {}
        dy, dx = rng.randrange(-8, 9), rng.randrange(-8, 9)
        for f, rle in frames.items():
            r = rng.random()
            if r < 0.15:
                continue
            out[f] = _shift_rle(rle, dy, dx) if r < 0.6 else rle
        if frames and rng.random() < 0.3:
            size = next(iter(frames.values()))["size"]
            out[str(max(int(f) for f in frames) + 1)] = _box_rle(size, rng)
        m["video_track"]["frames"] = out


def perturbed(inst: dict[str, Any], rng: random.Random, types: list[str]) -> dict[str, Any] | None:
    """A perturbed prediction of ``inst`` (None: the instance is left without prediction)."""
    r = rng.random()
    if r < 0.05:
        return None
    if r < 0.08:
        return {"id": inst["id"], "error": "RuntimeError: boom"}
    if r < 0.11:
        return {"id": inst["id"], "raw": "not json", "parse_error": "no JSON object"}
    gold = copy.deepcopy(inst["gold"])
    dropped = {m["id"] for m in gold["entities"] if rng.random() < 0.12}
    ents = [m for m in gold["entities"] if m["id"] not in dropped]
    for m in ents:
        _perturb_mention(m, rng, types)
    if rng.random() < 0.3 and gold["entities"]:
        extra = copy.deepcopy(rng.choice(gold["entities"]))
        extra["id"] = "extra0"
        _perturb_mention(extra, rng, types)
        if extra.get("image_mask") is not None:
            extra["image_mask"] = _box_rle(extra["image_mask"]["size"], rng)
        ents.append(extra)
    rng.shuffle(ents)
    rels = [r for r in gold["relations"] if r["head"] not in dropped and r["tail"] not in dropped]
    events = []
    for e in gold["events"]:
        e["arguments"] = [a for a in e["arguments"] if a["mention"] not in dropped]
        _perturb_mention(e["trigger"], rng, [])
        if rng.random() < 0.1:
            e["type"] = e["type"] + "X"
        events.append(e)
    return {"id": inst["id"], "output": {"entities": ents, "relations": rels, "events": events},
            "seconds": 0.5}


def write_fixture(name: str, preds: list[dict[str, Any]], python: str) -> None:
    d = OUT / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    data = "".join(json.dumps(p, sort_keys=True) + "\n" for p in preds).encode()
    with gzip.GzipFile(d / "predictions.jsonl.gz", "wb", mtime=0) as f:
        f.write(data)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "predictions.jsonl"
        path.write_bytes(data)
        subprocess.run([python, "-m", "muie_bench.cli", "score", str(path), "--benchmark", str(MINI),
                        "--out", str(d)], check=True, stdout=subprocess.DEVNULL)
    print(f"wrote {d}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pipeline", type=Path, help="predictions.jsonl of pipeline-offline on the mini")
    a = ap.parse_args()
    insts = [json.loads(x) for x in (MINI / "instances.jsonl").read_text().splitlines() if x.strip()]
    manifest = json.loads((MINI / "manifest.json").read_text())
    types = {s["id"]: s["entity_types"] for s in manifest["sets"]}
    write_fixture("oracle", [{"id": i["id"], "output": i["gold"]} for i in insts], sys.executable)
    write_fixture("empty", [{"id": i["id"]} for i in insts], sys.executable)
    rng = random.Random(16)
    preds = [p for i in insts if (p := perturbed(i, rng, types[i["set"]])) is not None]
    write_fixture("perturbed", preds, sys.executable)
    if a.pipeline is not None:
        lines = [json.loads(x) for x in a.pipeline.read_text().splitlines() if x.strip()]
        write_fixture("pipeline", lines, sys.executable)


if __name__ == "__main__":
    main()
