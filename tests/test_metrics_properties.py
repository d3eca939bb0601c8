"""Property tests (hypothesis): IoU laws, bounds, oracle = 100, empty = 0, order invariance."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools import mask as mask_utils

from muie_bench.benchmark import Benchmark
from muie_bench.metrics.evaluate import aggregate, score_instance
from muie_bench.metrics.grounding import mask_iou_matrix, span_iou, track_iou_matrix
from muie_bench.schema import (
    RLE,
    Annotation,
    Instance,
    InstanceScore,
    Manifest,
    Prediction,
    SetSpec,
    VideoTrack,
)
from muie_bench.systems.registry import build_system

ORACLE = build_system("oracle")
EMPTY = build_system("empty")
H, W = 6, 7
WORDS = [f"w{i}" for i in range(8)]
TEXT = " ".join(WORDS)
TYPES = ["PER", "ORG", "LOC"]
ROLES = ["agent", "target"]
EVENTS = ["Attack", "Meet"]


def rle_of(m: np.ndarray) -> RLE:
    enc = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
    return RLE(size=(m.shape[0], m.shape[1]), counts=enc["counts"].decode())


masks = st.lists(st.booleans(), min_size=H * W, max_size=H * W).map(
    lambda bits: rle_of(np.array(bits, dtype=np.uint8).reshape(H, W))
)
spans = st.lists(
    st.tuples(st.floats(0, 10, allow_nan=False), st.floats(0.01, 3, allow_nan=False)).map(
        lambda t: (t[0], t[0] + t[1])
    ),
    max_size=3,
)
tracks = st.dictionaries(st.integers(0, 5), masks, max_size=4).map(
    lambda fr: VideoTrack(fps=8.0, frames=fr)
)


def _token_span(rng: random.Random) -> tuple[tuple[int, int], str]:
    k = rng.randrange(len(WORDS))
    start = sum(len(w) + 1 for w in WORDS[:k])
    return (start, start + len(WORDS[k])), WORDS[k]


def _mention(rng: random.Random, mid: str, mods: list[str], typed: bool,
             mask_pool: list[RLE], track_pool: list[VideoTrack]) -> dict[str, Any]:
    span, word = _token_span(rng)
    m: dict[str, Any] = {"id": mid, "text": word, "type": rng.choice(TYPES) if typed else None}
    if "text" in mods:
        m["span"] = span
    if "image" in mods and rng.random() < 0.8:
        m["image_mask"] = rng.choice(mask_pool)
    if "audio" in mods and rng.random() < 0.8:
        s = rng.uniform(0, 5)
        m["audio_spans"] = [(s, s + rng.uniform(0.1, 2))]
    if "video" in mods and rng.random() < 0.8:
        m["video_track"] = rng.choice(track_pool)
    return m


def random_annotation(rng: random.Random, task: str, mods: list[str], mask_pool: list[RLE],
                      track_pool: list[VideoTrack]) -> Annotation:
    ents = [_mention(rng, f"e{i}", mods, True, mask_pool, track_pool)
            for i in range(rng.randrange(5))]
    ids = [e["id"] for e in ents]
    rels: list[dict[str, str]] = []
    events: list[dict[str, Any]] = []
    if task == "re" and ids:
        rels = [{"type": rng.choice(["r1", "r2"]), "head": rng.choice(ids), "tail": rng.choice(ids)}
                for _ in range(rng.randrange(4))]
    if task == "ee":
        for j in range(rng.randrange(3)):
            trig = _mention(rng, f"t{j}", [m for m in mods if m in ("text", "audio")], False,
                            mask_pool, track_pool)
            args = [{"role": rng.choice(ROLES), "mention": rng.choice(ids)}
                    for _ in range(rng.randrange(3))] if ids else []
            events.append({"type": rng.choice(EVENTS), "trigger": trig, "arguments": args})
    return Annotation.model_validate({"entities": ents, "relations": rels, "events": events})


MODS = [["text"], ["image"], ["audio"], ["video"], ["text", "image"], ["text", "audio"],
        ["image", "audio"], ["text", "video"], ["video", "audio"], ["text", "image", "audio"]]


@st.composite
def cases(draw: Any) -> tuple[Instance, Annotation]:
    """A random instance and an independent random prediction over the same inputs."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    mods = draw(st.sampled_from(MODS))
    task = draw(st.sampled_from(["ner", "re", "ee"]))
    mask_pool = [draw(masks) for _ in range(3)]
    track_pool = [draw(tracks) for _ in range(2)]
    gold = random_annotation(rng, task, mods, mask_pool, track_pool)
    pred = random_annotation(rng, task, mods, mask_pool, track_pool)
    media = {m: f"media/x.{m}" for m in mods if m != "text"}
    inst = Instance(id="x", set="s", modalities=mods, task=task,
                    text=TEXT if "text" in mods else None, gold=gold, **media)
    return inst, pred


def _manifest(inst: Instance) -> Manifest:
    return Manifest(name="m", version="1", sets=[SetSpec(id="s", modalities=inst.modalities,
                                                          task=inst.task, count=1)])


@settings(max_examples=60, deadline=None)
@given(st.lists(masks, min_size=1, max_size=4), st.lists(masks, min_size=1, max_size=4))
def test_mask_iou_symmetric_bounded_and_reflexive(a: list[RLE], b: list[RLE]) -> None:
    ab, ba = mask_iou_matrix(a, b), mask_iou_matrix(b, a)
    assert np.allclose(ab, ba.T)
    assert ((ab >= 0) & (ab <= 1)).all()
    assert np.allclose(np.diag(mask_iou_matrix(a, a)), 1.0)


@settings(max_examples=60, deadline=None)
@given(spans, spans)
def test_span_iou_symmetric_bounded_and_reflexive(a: list[tuple[float, float]],
                                                  b: list[tuple[float, float]]) -> None:
    assert abs(span_iou(a, b) - span_iou(b, a)) < 1e-12
    assert 0.0 <= span_iou(a, b) <= 1.0
    assert abs(span_iou(a, a) - 1.0) < 1e-12


@settings(max_examples=40, deadline=None)
@given(st.lists(tracks, min_size=1, max_size=3), st.lists(tracks, min_size=1, max_size=3))
def test_track_iou_symmetric_bounded_and_reflexive(a: list[VideoTrack],
                                                   b: list[VideoTrack]) -> None:
    ab, ba = track_iou_matrix(a, b), track_iou_matrix(b, a)
    assert np.allclose(ab, ba.T)
    assert ((ab >= -1e-12) & (ab <= 1 + 1e-12)).all()
    assert np.allclose(np.diag(track_iou_matrix(a, a)), 1.0)


def _all_values(inst: Instance, s: InstanceScore) -> dict[str, float]:
    agg = aggregate(_manifest(inst), [s], {"name": "m"}, n_resamples=0)
    return {k: v.value for k, v in agg.sets["s"].metrics.items()} if "s" in agg.sets else {}


@settings(max_examples=120, deadline=None)
@given(cases())
def test_oracle_system_scores_100_and_empty_system_0(case: tuple[Instance, Annotation]) -> None:
    inst, _ = case
    bench = Benchmark(Path("."), _manifest(inst), [inst], "-")
    oracle = score_instance(inst, ORACLE.predict(inst, bench))
    for metric, value in _all_values(inst, oracle).items():
        assert value == 100.0, metric
    empty = score_instance(inst, EMPTY.predict(inst, bench))
    for metric, value in _all_values(inst, empty).items():
        assert value == 0.0, metric
    if any(m.grounded_modalities() for m in inst.gold.mentions()):
        assert oracle.grounding and all(v == 1.0 for v in oracle.grounding.values())


@settings(max_examples=120, deadline=None)
@given(cases())
def test_values_bounded_and_tp_consistent(case: tuple[Instance, Annotation]) -> None:
    inst, pred = case
    s = score_instance(inst, Prediction(id="x", output=pred))
    for c in s.counts.values():
        assert 0 <= c.tp <= min(c.predicted, c.gold)
    assert s.counts["grounded_f1"].tp <= s.counts["f1" if inst.task != "ee" else "ea"].tp
    for v in s.grounding.values():
        assert 0.0 <= v <= 1.0
    agg = aggregate(_manifest(inst), [s], {"name": "m"}, n_resamples=20)
    for mv in agg.sets["s"].metrics.values() if "s" in agg.sets else []:
        assert 0.0 <= mv.value <= 100.0
        if mv.ci_low is not None and mv.ci_high is not None:
            assert mv.ci_low <= mv.value + 1e-9 <= mv.ci_high + 2e-9


@settings(max_examples=120, deadline=None)
@given(cases(), st.randoms(use_true_random=False))
def test_permuting_the_prediction_changes_nothing(case: tuple[Instance, Annotation],
                                                  r: random.Random) -> None:
    inst, pred = case
    shuffled = pred.model_copy(deep=True)
    r.shuffle(shuffled.entities)
    r.shuffle(shuffled.relations)
    r.shuffle(shuffled.events)
    for e in shuffled.events:
        r.shuffle(e.arguments)
    a = score_instance(inst, Prediction(id="x", output=pred))
    b = score_instance(inst, Prediction(id="x", output=shuffled))
    assert a == b
