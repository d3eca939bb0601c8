"""The fast scoring paths give the scores of the reference code bit for bit.

``tests/data/score_fixtures/<name>/`` holds predictions on muie-synth-mini and the
``scores.json`` / ``instance_scores.jsonl`` that ``muie-bench score`` wrote for them with
the code before the speed work (``tests/data/make_score_fixtures.py``): oracle, empty, a
seeded mix of perturbations (missing, failed, parse failures, shifted / emptied masks,
dropped and added video frames, jittered audio spans, retyped and extra mentions) and, when
present, the ``pipeline-offline`` system's predictions. Every file must come out byte for
byte the same.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools import mask as mask_utils

from muie_bench.metrics.grounding import MaskBank, mask_iou_matrix
from muie_bench.metrics.rle import decode_batch, pair_iou
from muie_bench.schema import RLE
from muie_bench.scoring import score_command

FIXTURES = Path(__file__).parent / "data" / "score_fixtures"
NAMES = sorted(p.name for p in FIXTURES.iterdir() if (p / "predictions.jsonl.gz").is_file())
MINI = Path(__file__).parent.parent / "benchmark_data" / "muie-synth-mini"


def _predictions(name: str, tmp: Path) -> Path:
    path = tmp / "predictions.jsonl"
    path.write_bytes(gzip.decompress((FIXTURES / name / "predictions.jsonl.gz").read_bytes()))
    return path


@pytest.mark.parametrize("name", NAMES)
def test_score_files_identical_to_reference(name: str, tmp_path: Path) -> None:
    assert {"oracle", "empty", "perturbed", "pipeline"} <= set(NAMES)
    out = tmp_path / "out"
    score_command(_predictions(name, tmp_path), MINI, out=out)
    for f in ("scores.json", "instance_scores.jsonl"):
        assert (out / f).read_bytes() == (FIXTURES / name / f).read_bytes(), f


def test_score_cli_identical_to_reference(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "muie_bench.cli", "score",
                        str(_predictions("perturbed", tmp_path)), "--benchmark", str(MINI),
                        "--out", str(out)], capture_output=True, text=True, env=dict(os.environ),
                       timeout=300)
    assert r.returncode == 0, r.stderr
    for f in ("scores.json", "instance_scores.jsonl"):
        assert (out / f).read_bytes() == (FIXTURES / "perturbed" / f).read_bytes(), f


def _coco_iou(a: list[RLE], b: list[RLE]) -> np.ndarray:
    """The reference: pycocotools on the masks, two empty masks scoring 1."""
    ca = [{"size": list(r.size), "counts": r.counts.encode()} for r in a]
    cb = [{"size": list(r.size), "counts": r.counts.encode()} for r in b]
    iou = np.asarray(mask_utils.iou(ca, cb, [0] * len(cb)), dtype=np.float64).reshape(len(a), len(b))
    area_a = np.array([int(mask_utils.area(c)) for c in ca])
    area_b = np.array([int(mask_utils.area(c)) for c in cb])
    iou[np.outer(area_a == 0, area_b == 0)] = 1.0
    return iou


def _encode(m: np.ndarray) -> RLE:
    enc = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
    return RLE(size=(m.shape[0], m.shape[1]), counts=enc["counts"].decode())


def _runs_to_counts(runs: list[int]) -> str:
    """pycocotools' rleToString of raw runs (zero-length runs allowed)."""
    out = []
    for i, x in enumerate(runs):
        if i > 2:
            x -= runs[i - 2]
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = (x != -1) if (c & 0x10) else (x != 0)
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


@st.composite
def mask_sets(draw: st.DrawFn) -> list[RLE]:
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    n = draw(st.integers(1, 6))
    out = []
    for _ in range(n):
        bits = draw(st.lists(st.booleans(), min_size=h * w, max_size=h * w))
        m = np.array(bits, dtype=np.uint8).reshape(h, w)
        if draw(st.integers(0, 4)) == 0:
            m = np.zeros((h, w), np.uint8)
        out.append(_encode(m))
    return out


@settings(max_examples=300, deadline=None)
@given(mask_sets())
def test_pair_iou_is_pycocotools_bit_for_bit(masks: list[RLE]) -> None:
    got = mask_iou_matrix(masks, masks[::-1])
    assert got.tobytes() == _coco_iou(masks, masks[::-1]).tobytes()


def test_non_canonical_runs_fall_back_to_pycocotools() -> None:
    """Zero-length runs after the first make pycocotools' run walk stop early: the fast
    kernel must not be used on them (the value is pycocotools', whatever it is)."""
    weird = RLE(size=(2, 4), counts=_runs_to_counts([5, 0, 0, 3]))
    same = RLE(size=(2, 4), counts=_runs_to_counts([5, 3]))
    masks = [weird, same, RLE(size=(2, 4), counts=_runs_to_counts([0, 2, 6]))]
    batch = decode_batch(masks)
    assert batch is not None and batch.canonical().tolist() == [False, True, True]
    got = mask_iou_matrix(masks, masks)
    assert got.tobytes() == _coco_iou(masks, masks).tobytes()
    a = np.array([0, 1, 2, 0], dtype=np.int64)
    b = np.array([0, 0, 1, 2], dtype=np.int64)
    assert pair_iou(batch, a, b).tolist() == [_coco_iou([masks[i]], [masks[j]])[0, 0]
                                              for i, j in zip(a, b, strict=True)]


def test_bank_shares_equal_masks() -> None:
    m = _encode(np.eye(4, dtype=np.uint8))
    copy = RLE(size=m.size, counts=str(m.counts))
    bank = MaskBank()
    assert bank.request(m, copy) == 0 and len(bank.masks) == 1
    assert bank.compute().tolist() == [1.0]


@st.composite
def rle_strings(draw: st.DrawFn) -> RLE:
    """Valid masks and strings that are not (alphabet, truncated numbers, wrong totals)."""
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    if draw(st.booleans()):
        bits = draw(st.lists(st.booleans(), min_size=h * w, max_size=h * w))
        return _encode(np.array(bits, dtype=np.uint8).reshape(h, w))
    runs = draw(st.lists(st.integers(0, h * w), min_size=1, max_size=6))
    counts = _runs_to_counts(runs) if draw(st.booleans()) else draw(
        st.text(alphabet=st.characters(min_codepoint=40, max_codepoint=115), min_size=0, max_size=8))
    return RLE(size=(h, w), counts=counts)


@settings(max_examples=400, deadline=None)
@given(st.lists(rle_strings(), min_size=1, max_size=5))
def test_decode_batch_agrees_with_the_one_mask_decoder(rles: list[RLE]) -> None:
    from muie_bench.metrics.rle import first_invalid, rle_error, rle_runs

    errors = [rle_error(r) for r in rles]
    batch = decode_batch(rles)
    assert (batch is None) == any(e is not None for e in errors)
    bad = first_invalid(rles)
    assert bad == next(((i, e) for i, e in enumerate(errors) if e is not None), None)
    if batch is not None:
        for i, r in enumerate(rles):
            assert batch.runs[batch.first[i]:batch.first[i + 1]].tolist() == rle_runs(r.counts).tolist()


def test_oracle_output_is_an_independent_copy_of_the_gold() -> None:
    from muie_bench.benchmark import load_benchmark
    from muie_bench.systems.reference import Oracle

    bench = load_benchmark(MINI)
    oracle = Oracle.__new__(Oracle)
    for inst in bench:
        out = oracle.predict(inst, bench).output
        assert out == inst.gold and out.model_dump_json() == inst.gold.model_dump_json()
    inst = next(i for i in bench if any(m.video_track for m in i.gold.entities))
    out = oracle.predict(inst, bench).output
    m = next(m for m in out.entities if m.video_track is not None)
    assert m.video_track is not None
    f = next(iter(m.video_track.frames))
    m.video_track.frames[f].counts = "zz"
    m.video_track.frames.clear()
    m.text = "changed"
    out.entities.clear()
    assert inst.gold.entities and all(g.text != "changed" for g in inst.gold.entities)
    assert all(g.video_track is None or g.video_track.frames for g in inst.gold.entities)
    assert all(r.counts != "zz" for g in inst.gold.entities if g.video_track
               for r in g.video_track.frames.values())


def test_lsap_is_scipys_function() -> None:
    import scipy.optimize

    from muie_bench.metrics.lsap import linear_sum_assignment

    assert linear_sum_assignment is scipy.optimize.linear_sum_assignment
