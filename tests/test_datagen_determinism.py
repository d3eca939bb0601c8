"""The generator is deterministic: rebuilding a slice gives the committed mini's bytes."""

from __future__ import annotations

import json
from pathlib import Path

from muie_bench.benchmark import sha256_file
from muie_bench.datagen.build import build
from muie_bench.paper_sets import PAPER_SETS


def _lines(d: Path) -> dict[str, str]:
    out = {}
    for line in (d / "instances.jsonl").read_text().splitlines():
        out[json.loads(line)["id"]] = line
    return out


def test_rebuilt_slice_matches_committed_mini(mini_dir: Path, tmp_path: Path) -> None:
    """Two instances of every set, rebuilt in 2 worker processes, are byte-identical to
    the committed ones (instance lines and every media file)."""
    out = tmp_path / "slice"
    report = build("mini", seed=0, out=out, workers=2, per_set=2, progress=False)
    assert report.instances == 2 * len(PAPER_SETS)
    committed = json.loads((mini_dir / "manifest.json").read_text())["files"]
    rebuilt = json.loads((out / "manifest.json").read_text())["files"]
    media = [rel for rel in rebuilt if rel != "instances.jsonl"]
    assert len(media) >= 2 * len(PAPER_SETS)
    for rel in media:
        assert rebuilt[rel] == committed[rel], rel
        assert sha256_file(out / rel) == committed[rel], rel
    mine, theirs = _lines(out), _lines(mini_dir)
    for iid, line in mine.items():
        assert line == theirs[iid], iid


def test_mini_is_prefix_of_larger_build(mini_dir: Path, tmp_path: Path) -> None:
    """Instance k depends only on (seed, set, k): a 9-per-set build of i-ner starts with
    mini's 8 i-ner instances; another seed gives other instances."""
    out = tmp_path / "nine"
    build("full", seed=0, out=out, workers=1, sets=["i-ner"], per_set=9, progress=False)
    mine = list(_lines(out).items())
    theirs = {k: v for k, v in _lines(mini_dir).items() if k.startswith("i-ner-")}
    assert len(mine) == 9
    assert dict(mine[:8]) == theirs
    other = tmp_path / "seed1"
    build("mini", seed=1, out=other, workers=1, sets=["i-ner"], per_set=1, progress=False)
    assert _lines(other)["i-ner-0000"] != theirs["i-ner-0000"]


def test_every_voice_is_clock_independent() -> None:
    """eSpeak NG seeds some voice variants' noise from the clock (whole seconds): each voice
    used gives the same samples in two fresh processes more than a second apart."""
    import time

    from muie_bench.datagen.speech import VOICES, speak

    text = "Ilsa Varga met Bram Strand in Westmere."
    first = {v: speak(text, v).samples.tobytes() for v in VOICES}
    time.sleep(1.1)
    for v in VOICES:
        assert speak(text, v).samples.tobytes() == first[v], v
