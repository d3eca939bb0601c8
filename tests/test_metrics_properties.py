"""Property tests (hypothesis): IoU laws, bounds, oracle = 100, empty = 0, order invariance."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pycocotools import mask as mask_utils

from muie_bench.benchmark import Benchmark
from muie_bench.metrics.evaluate import aggregate, score_instance
from muie_bench.metrics.grounding import (
    hungarian_mean,
    mask_iou_matrix,
    span_iou,
    task_regions,
    track_iou_matrix,
)
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
    regions = task_regions(inst.gold, inst.task)
    gold = inst.gold.mentions()
    if any(gold[i].grounded_modalities() for i in regions.mentions | regions.triggers):
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


# A counterexample of the old summation (matched IoUs summed in matching order): gold rows
# 0, 2, 3 carry the same mask, so permuting the predicted entities makes the Hungarian
# algorithm assign the IoUs {1, 0.29.., 0.21..} to the rows in another order, and the
# naive sum gave I-Seg 0.3743047830923248 against 0.37430478309232484.
_M_A = {"size": [6, 7], "counts": "01111031LN1010O1OO20N00001"}
_M_B = {"size": [6, 7], "counts": "1221ON00131N24LM1O"}
_M_C = {"size": [6, 7], "counts": "811132MM2011NOO012"}
ORDER_CASE = (
    Instance(id="x", set="s", modalities=["image"], task="ner", image="media/x.image",
             gold=Annotation.model_validate({"entities": [
                 {"id": "e0", "type": "LOC", "text": "w2", "image_mask": _M_A},
                 {"id": "e1", "type": "PER", "text": "w3", "image_mask": _M_B},
                 {"id": "e2", "type": "ORG", "text": "w5", "image_mask": _M_A},
                 {"id": "e3", "type": "LOC", "text": "w4", "image_mask": _M_A}]})),
    Annotation.model_validate({"entities": [
        {"id": "e0", "type": "LOC", "text": "w3", "image_mask": _M_A},
        {"id": "e1", "type": "PER", "text": "w6", "image_mask": _M_C},
        {"id": "e2", "type": "ORG", "text": "w5", "image_mask": _M_C}]}),
)


def _old_hungarian_mean(iou: np.ndarray) -> float:
    """The summation the order-invariance fix replaced (matched IoUs in matching order)."""
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(iou, maximize=True)
    return float(iou[rows, cols].sum()) / max(iou.shape)


def test_old_matched_iou_sum_depended_on_the_prediction_order_and_the_new_one_does_not() -> None:
    inst, pred = ORDER_CASE
    gold_masks = [m.image_mask for m in inst.gold.entities if m.image_mask is not None]
    pred_masks = [m.image_mask for m in pred.entities if m.image_mask is not None]
    iou = mask_iou_matrix(gold_masks, pred_masks)
    permuted = iou[:, [1, 2, 0]]  # the order random.Random(1) shuffles the entities into
    assert _old_hungarian_mean(iou) == 0.3743047830923248
    assert _old_hungarian_mean(permuted) == 0.37430478309232484
    for cols in ([0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]):
        assert hungarian_mean(iou[:, cols]) == hungarian_mean(iou)
    shuffled = pred.model_copy(deep=True)
    shuffled.entities = [shuffled.entities[i] for i in (1, 2, 0)]
    a = score_instance(inst, Prediction(id="x", output=pred)).grounding["i_seg"]
    b = score_instance(inst, Prediction(id="x", output=shuffled)).grounding["i_seg"]
    assert a == b == hungarian_mean(iou)


def test_hungarian_mean_is_an_exactly_rounded_sum_in_any_order() -> None:
    iou = np.diag([0.1, 0.2, 0.3])
    reversed_ = iou[::-1, ::-1]  # the same regions, listed in the opposite order
    assert _old_hungarian_mean(iou) == 0.6000000000000001 / 3  # (0.1 + 0.2) + 0.3
    assert _old_hungarian_mean(reversed_) == 0.6 / 3  # (0.3 + 0.2) + 0.1
    assert hungarian_mean(iou) == hungarian_mean(reversed_) == math.fsum([0.1, 0.2, 0.3]) / 3


def test_span_iou_and_set_means_are_order_invariant_sums() -> None:
    spans = [(0.1, 0.2), (1.0, 1.3), (2.0, 2.7), (5.0, 5.1)]
    other = [(0.15, 1.1), (2.2, 5.05)]
    v = span_iou(spans, other)
    for r in range(5):
        perm = spans[:]
        random.Random(r).shuffle(perm)
        assert span_iou(perm, other[::-1]) == v
    from muie_bench.metrics.stats import metric_from_columns, metric_resamples

    vals = np.array([[0.1], [0.2], [0.3], [np.nan], [0.7]])
    weights = np.array([[1.0, 2.0, 0.0, 1.0, 1.0], [0.0, 0.0, 3.0, 1.0, 1.0]])
    base, base_r = metric_from_columns(vals), metric_resamples(vals, weights)
    for r in range(5):
        idx = list(range(5))
        random.Random(r).shuffle(idx)
        assert metric_from_columns(vals[idx]) == base
        assert (metric_resamples(vals[idx], weights[:, idx]) == base_r).all()


@settings(max_examples=120, deadline=None)
@given(cases(), st.randoms(use_true_random=False))
@example(ORDER_CASE, random.Random(1))
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
