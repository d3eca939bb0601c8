"""Golden cases of every metric, with expected values computed by hand in the comments."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from muie_bench.errors import UserError
from muie_bench.metrics.evaluate import aggregate, score_instance
from muie_bench.metrics.grounding import hungarian_mean, mask_iou_matrix, span_iou
from muie_bench.metrics.normalise import normalise_text
from muie_bench.schema import (
    RLE,
    Annotation,
    Instance,
    Manifest,
    Mention,
    Prediction,
    SetSpec,
    VideoTrack,
)

H, W = 20, 30


def box(y0: int, x0: int, y1: int, x1: int, h: int = H, w: int = W) -> RLE:
    m = np.zeros((h, w), np.uint8)
    m[y0:y1, x0:x1] = 1
    enc = mask_utils.encode(np.asfortranarray(m))
    return RLE(size=(h, w), counts=enc["counts"].decode())


def ent(mid: str, typ: str | None, text: str, span: tuple[int, int] | None = None, **g: Any) -> Mention:
    return Mention(id=mid, type=typ, text=text, span=span, **g)


def inst(
    task: str, gold: dict[str, Any], text: str | None = None, mods: tuple[str, ...] = ("text",),
    set_id: str = "s", iid: str = "x",
) -> Instance:
    media = {m: f"media/{iid}.{m}" for m in mods if m != "text"}
    return Instance(id=iid, set=set_id, modalities=list(mods), task=task, text=text,
                    gold=Annotation(**gold), **media)


def pred(iid: str = "x", **out: Any) -> Prediction:
    return Prediction(id=iid, output=Annotation(**out))


def c(score: Any, metric: str) -> tuple[int, int, int]:
    k = score.counts[metric]
    return k.tp, k.predicted, k.gold


TEXT = "Ann met Bob in Paris"
ANN = ent("a", "PER", "Ann", (0, 3))
BOB = ent("b", "PER", "Bob", (8, 11))
PARIS = ent("p", "LOC", "Paris", (15, 20))


def test_empty_vs_empty_counts_nothing_and_reports_no_metric() -> None:
    i = inst("ner", {}, TEXT)
    s = score_instance(i, pred())
    assert c(s, "f1") == (0, 0, 0) and c(s, "grounded_f1") == (0, 0, 0)
    assert s.grounding == {}
    m = Manifest(name="m", version="1", sets=[SetSpec(id="s", modalities=["text"], task="ner",
                                                       count=1)])
    agg = aggregate(m, [s], {"name": "m"}, n_resamples=10)
    assert agg.sets["s"].metrics == {}  # nothing to score: no gold, nothing predicted


def test_duplicates_in_prediction_are_false_positives() -> None:
    i = inst("ner", {"entities": [ANN]}, TEXT)
    s = score_instance(i, pred(entities=[ANN, ent("a2", "PER", "Ann", (0, 3))]))
    assert c(s, "f1") == (1, 2, 1)  # P 50, R 100, F1 66.7


def test_one_gold_matched_by_two_predictions_counts_once_in_text_mode() -> None:
    # audio-only: no text, keys are (type, normalised text); "Paris," and "paris" both -> "paris"
    g = ent("p", "LOC", "Paris", audio_spans=[(0.0, 1.0)])
    i = inst("ner", {"entities": [g]}, None, mods=("audio",))
    s = score_instance(i, pred(entities=[ent("1", "LOC", "Paris,"), ent("2", "LOC", " paris")]))
    assert c(s, "f1") == (1, 2, 1)


def test_span_right_type_wrong_is_no_match_and_per_type_counts() -> None:
    i = inst("ner", {"entities": [ANN, PARIS]}, TEXT)
    s = score_instance(i, pred(entities=[ent("1", "ORG", "Ann", (0, 3)), PARIS]))
    assert c(s, "f1") == (1, 2, 2)
    pt = s.per_type["f1"]
    assert (pt["PER"].tp, pt["PER"].predicted, pt["PER"].gold) == (0, 0, 1)
    assert (pt["ORG"].tp, pt["ORG"].predicted, pt["ORG"].gold) == (0, 1, 0)
    assert (pt["LOC"].tp, pt["LOC"].predicted, pt["LOC"].gold) == (1, 1, 1)


def test_span_wrong_text_same_is_no_match_when_both_have_spans() -> None:
    text = "Ann and Ann"
    i = inst("ner", {"entities": [ent("a", "PER", "Ann", (0, 3))]}, text)
    assert c(score_instance(i, pred(entities=[ent("1", "PER", "Ann", (8, 11))])), "f1") == (0, 1, 1)
    # a predicted mention without a span falls back to its text
    assert c(score_instance(i, pred(entities=[ent("1", "PER", "ann")])), "f1") == (1, 1, 1)


def test_mixed_span_and_text_keys_find_the_maximum_matching() -> None:
    text = "Ann and Ann"
    g = [ent("a", "PER", "Ann", (0, 3)), ent("b", "PER", "Ann", (8, 11))]
    i = inst("ner", {"entities": g}, text)
    # greedy could give the span-less "Ann" the first gold and leave (0, 3) unmatched: tp 1
    p = [ent("1", "PER", "Ann"), ent("2", "PER", "Ann", (0, 3))]
    assert c(score_instance(i, pred(entities=p)), "f1") == (2, 2, 2)


def test_re_swapped_head_tail_is_wrong_and_typed_variant() -> None:
    gold = {"entities": [ANN, BOB], "relations": [{"type": "knows", "head": "a", "tail": "b"}]}
    i = inst("re", gold, TEXT)
    swapped = score_instance(i, pred(entities=[ANN, BOB],
                                     relations=[{"type": "knows", "head": "b", "tail": "a"}]))
    assert c(swapped, "f1") == (0, 1, 1) and c(swapped, "re_typed") == (0, 1, 1)
    # right boundaries, wrong entity type of the head: strict triple right, typed wrong
    wrong_type = score_instance(i, pred(entities=[ent("a", "ORG", "Ann", (0, 3)), BOB],
                                        relations=[{"type": "knows", "head": "a", "tail": "b"}]))
    assert c(wrong_type, "f1") == (1, 1, 1) and c(wrong_type, "re_typed") == (0, 1, 1)


def _event(eid: str, etype: str, trig: tuple[str, tuple[int, int]], args: list[tuple[str, str]],
           **g: Any) -> dict[str, Any]:
    return {"type": etype, "trigger": ent(eid, None, trig[0], trig[1], **g),
            "arguments": [{"role": r, "mention": m} for r, m in args]}


def test_two_events_of_same_type_arguments_not_swapped() -> None:
    text = "Ann hit Bob and Cy hit Dee"
    e = [ent("a", "PER", "Ann", (0, 3)), ent("b", "PER", "Bob", (8, 11)),
         ent("c", "PER", "Cy", (16, 18)), ent("d", "PER", "Dee", (23, 26))]
    gold = {"entities": e, "events": [
        _event("t1", "Attack", ("hit", (4, 7)), [("attacker", "a"), ("target", "b")]),
        _event("t2", "Attack", ("hit", (19, 22)), [("attacker", "c"), ("target", "d")])]}
    i = inst("ee", gold, text)
    # the prediction attaches the second event's arguments to the first trigger and vice versa
    p = {"entities": e, "events": [
        _event("t1", "Attack", ("hit", (4, 7)), [("attacker", "c"), ("target", "d")]),
        _event("t2", "Attack", ("hit", (19, 22)), [("attacker", "a"), ("target", "b")])]}
    s = score_instance(i, pred(**p))
    assert c(s, "et") == (2, 2, 2) and c(s, "ti") == (2, 2, 2)
    assert c(s, "ea") == (4, 4, 4)  # ea is not anchored on the trigger (by definition)
    assert c(s, "ea_anchored") == (0, 4, 4)
    assert c(s, "ai") == (4, 4, 4)
    # the right attachment scores everywhere
    s2 = score_instance(i, pred(**gold))
    assert c(s2, "ea_anchored") == (4, 4, 4)


def test_event_role_and_type_errors() -> None:
    text = "Ann hit Bob"
    e = [ent("a", "PER", "Ann", (0, 3)), ent("b", "PER", "Bob", (8, 11))]
    gold = {"entities": e, "events": [
        _event("t", "Attack", ("hit", (4, 7)), [("attacker", "a"), ("target", "b")])]}
    i = inst("ee", gold, text)
    p = {"entities": e, "events": [
        _event("t", "Meet", ("hit", (4, 7)), [("attacker", "b"), ("target", "a")])]}
    s = score_instance(i, pred(**p))
    assert c(s, "ti") == (1, 1, 1) and c(s, "et") == (0, 1, 1)
    assert c(s, "ai") == (0, 2, 2)  # event type is part of argument identification
    p["events"][0]["type"] = "Attack"
    s = score_instance(i, pred(**p))
    assert c(s, "ai") == (2, 2, 2) and c(s, "ea") == (0, 2, 2)
    assert s.per_type["ea"]["Attack/attacker"].gold == 1


def test_masks_with_more_predictions_than_gold() -> None:
    ga, gb = box(0, 0, 4, 4), box(10, 10, 14, 14)
    i = inst("ner", {"entities": [ent("a", "PER", "Ann", (0, 3), image_mask=ga),
                                  ent("b", "PER", "Bob", (8, 11), image_mask=gb)]},
             TEXT, mods=("text", "image"))
    # exact copy of a (IoU 1), top half of b (8 / 16 = 0.5), a far box (0): (1 + .5 + 0) / 3
    p = [ent("1", "PER", "Ann", (0, 3), image_mask=ga),
         ent("2", "PER", "Bob", (8, 11), image_mask=box(10, 10, 12, 14)),
         ent("3", "LOC", "Paris", (15, 20), image_mask=box(16, 20, 19, 29))]
    s = score_instance(i, pred(entities=p))
    assert s.grounding["i_seg"] == pytest.approx(0.5)
    assert c(s, "grounded_f1") == (2, 3, 2)  # IoU 0.5 >= tau 0.5
    assert c(score_instance(i, pred(entities=p), tau=0.6), "grounded_f1") == (1, 3, 2)
    # fewer predictions than gold: one exact mask, padded to 2 -> 0.5
    s = score_instance(i, pred(entities=[ent("1", "PER", "Ann", (0, 3), image_mask=gb)]))
    assert s.grounding["i_seg"] == pytest.approx(0.5)
    assert c(s, "grounded_f1") == (0, 1, 2)  # Ann's key matches but its mask is Bob's


def test_hungarian_beats_greedy() -> None:
    iou = np.array([[0.9, 0.8], [0.85, 0.0]])  # greedy takes 0.9 then 0: 0.45; best .8+.85
    assert hungarian_mean(iou) == pytest.approx((0.8 + 0.85) / 2)
    assert hungarian_mean(np.zeros((2, 0))) == 0.0


def test_track_on_disjoint_frames_and_partial_overlap() -> None:
    m = box(2, 2, 8, 8)
    g = VideoTrack(fps=8, frames={0: m, 1: m, 2: m})
    i = inst("ee", {"entities": [ent("a", "PER", "man", video_track=g)], "events": [
        _event("t", "Walk", ("walk", None), [("agent", "a")])]}, None, mods=("video",))
    walk = [_event("t", "Walk", ("walk", None), [("agent", "1")])]  # "1" is a region: an argument
    disjoint = VideoTrack(fps=8, frames={5: m, 6: m})
    s = score_instance(i, pred(entities=[ent("1", "PER", "man", video_track=disjoint)],
                                   events=walk))
    assert s.grounding["v_trck"] == 0.0
    # frames {1,2,3} vs {0,1,2} with equal masks: 2 frames IoU 1 out of 4 in the union
    shifted = VideoTrack(fps=8, frames={1: m, 2: m, 3: m})
    s = score_instance(i, pred(entities=[ent("1", "PER", "man", video_track=shifted)],
                                   events=walk))
    assert s.grounding["v_trck"] == pytest.approx(0.5)
    # half-size mask on every frame: mean per-frame IoU 0.5
    half = VideoTrack(fps=8, frames={k: box(2, 2, 5, 8) for k in (0, 1, 2)})
    s = score_instance(i, pred(entities=[ent("1", "PER", "man", video_track=half)], events=walk))
    assert s.grounding["v_trck"] == pytest.approx(0.5)


def test_audio_mentions_with_several_spans() -> None:
    # union of gold = [0,1] + [2,3] = 2 s; predicted [0.5, 2.5] = 2 s; overlap 0.5 + 0.5 = 1 s
    assert span_iou([(0.0, 1.0), (2.0, 3.0)], [(0.5, 2.5)]) == pytest.approx(1 / 3)
    # overlapping spans on one side are merged before measuring: [0, 2] vs [0, 2]
    assert span_iou([(0.0, 1.5), (1.0, 2.0)], [(0.0, 2.0)]) == pytest.approx(1.0)
    g = ent("a", "PER", "Ann", audio_spans=[(0.0, 1.0), (2.0, 3.0)])
    i = inst("ner", {"entities": [g]}, None, mods=("audio",))
    s = score_instance(i, pred(entities=[ent("1", "PER", "ann", audio_spans=[(0.5, 2.5)])]))
    assert s.grounding["a_seg"] == pytest.approx(1 / 3)
    assert c(s, "grounded_f1") == (0, 1, 1)
    assert c(score_instance(i, pred(entities=[ent("1", "PER", "ann", audio_spans=[(0.5, 2.5)])]),
                            tau=0.3), "grounded_f1") == (1, 1, 1)


def test_empty_region_conventions() -> None:
    empty = box(0, 0, 0, 0)
    full = box(0, 0, 5, 5)
    iou = mask_iou_matrix([empty, full], [empty, full])
    assert iou.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert span_iou([], []) == 1.0 and span_iou([], [(0.0, 1.0)]) == 0.0


def test_masks_of_different_sizes_are_an_error() -> None:
    i = inst("ner", {"entities": [ent("a", "PER", "Ann", (0, 3), image_mask=box(0, 0, 4, 4))]},
             TEXT, mods=("text", "image"))
    small = box(0, 0, 4, 4, h=10, w=10)
    with pytest.raises(UserError, match=r"output\.entities\[0\]\.image_mask\.size"):
        score_instance(i, pred(entities=[ent("1", "PER", "Ann", (0, 3), image_mask=small)]))


def test_malformed_rle_is_an_error_not_a_hang() -> None:
    i = inst("ner", {"entities": [ent("a", "PER", "Ann", (0, 3), image_mask=box(0, 0, 4, 4))]},
             TEXT, mods=("text", "image"))
    for counts in ("zzzz", "1", "d0"):  # bad alphabet, truncated, runs not summing to h*w
        bad = RLE(size=(H, W), counts=counts)
        with pytest.raises(UserError, match="not a valid COCO RLE"):
            score_instance(i, pred(entities=[ent("1", "PER", "Ann", (0, 3), image_mask=bad)]))


def test_re_grounded_f1_needs_head_and_tail() -> None:
    ga, gb = box(0, 0, 4, 4), box(10, 10, 14, 14)
    e = [ent("a", "PER", "Ann", (0, 3), image_mask=ga), ent("b", "PER", "Bob", (8, 11),
                                                            image_mask=gb)]
    gold = {"entities": e, "relations": [{"type": "knows", "head": "a", "tail": "b"}]}
    i = inst("re", gold, TEXT, mods=("text", "image"))
    rel = [{"type": "knows", "head": "a", "tail": "b"}]
    tail_off = [e[0], ent("b", "PER", "Bob", (8, 11), image_mask=box(0, 20, 4, 24))]
    s = score_instance(i, pred(entities=tail_off, relations=rel))
    assert c(s, "f1") == (1, 1, 1) and c(s, "grounded_f1") == (0, 1, 1)
    tail_missing = [e[0], ent("b", "PER", "Bob", (8, 11))]
    assert c(score_instance(i, pred(entities=tail_missing, relations=rel)),
             "grounded_f1") == (0, 1, 1)
    assert c(score_instance(i, pred(**gold)), "grounded_f1") == (1, 1, 1)


def test_ee_grounded_f1_checks_audio_trigger() -> None:
    gold = {"entities": [ent("a", "PER", "Ann", audio_spans=[(0.0, 1.0)])], "events": [
        _event("t", "Walk", ("walks", None), [("agent", "a")], audio_spans=[(1.0, 2.0)])]}
    i = inst("ee", gold, None, mods=("audio",))
    p = {"entities": [ent("a", "PER", "Ann", audio_spans=[(0.0, 1.0)])], "events": [
        _event("t", "Walk", ("walks", None), [("agent", "a")], audio_spans=[(3.0, 4.0)])]}
    s = score_instance(i, pred(**p))
    assert c(s, "ea") == (1, 1, 1) and c(s, "grounded_f1") == (0, 1, 1)
    # a_seg: regions = argument [0,1] (IoU 1) and trigger [1,2] vs [3,4] (IoU 0) -> 0.5
    assert s.grounding["a_seg"] == pytest.approx(0.5)


def test_parse_error_scores_empty_and_missing_instances() -> None:
    i = inst("ner", {"entities": [ANN]}, TEXT)
    p = Prediction(id="x", output=Annotation(entities=[ANN]), raw="garbage", parse_error="bad")
    s = score_instance(i, p)
    assert s.parse_failed and c(s, "f1") == (0, 0, 1)
    miss = score_instance(i, None)
    assert miss.missing and c(miss, "f1") == (0, 0, 1)
    m = Manifest(name="m", version="1", sets=[SetSpec(id="s", modalities=["text"], task="ner",
                                                       count=3)])
    ok = score_instance(inst("ner", {"entities": [ANN]}, TEXT, iid="y"), pred("y", entities=[ANN]))
    agg = aggregate(m, [s, miss, ok], {"name": "m"}, n_resamples=0)
    assert agg.parse_failure_rate == pytest.approx(50.0)  # 1 of the 2 answered
    assert agg.missing == 1 and agg.sets["s"].parse_failures == 1
    f1 = agg.sets["s"].metrics["f1"]
    assert (f1.precision, f1.recall, f1.value) == pytest.approx((100.0, 100 / 3, 50.0))


def test_grounding_mean_only_over_instances_with_gold_regions() -> None:
    with_mask = inst("ner", {"entities": [ent("a", "PER", "Ann", (0, 3),
                                              image_mask=box(0, 0, 4, 4))]},
                     TEXT, mods=("text", "image"), set_id="ti", iid="1")
    without = inst("ner", {"entities": [ent("a", "PER", "Ann", (0, 3))]}, TEXT,
                   mods=("text", "image"), set_id="ti", iid="2")
    s1 = score_instance(with_mask, pred("1", entities=[ent("1", "PER", "Ann", (0, 3),
                                                           image_mask=box(0, 0, 2, 4))]))
    s2 = score_instance(without, pred("2", entities=[ent("1", "PER", "Ann", (0, 3),
                                                         image_mask=box(0, 0, 2, 4))]))
    assert "i_seg" not in s2.grounding
    m = Manifest(name="m", version="1", sets=[SetSpec(id="ti", modalities=["text", "image"],
                                                       task="ner", count=2)])
    agg = aggregate(m, [s1, s2], {"name": "m"}, n_resamples=50)
    v = agg.sets["ti"].metrics["i_seg"]
    assert v.value == pytest.approx(50.0) and v.n == 1


def test_macro_is_mean_over_sets_reporting_the_metric() -> None:
    sets = [SetSpec(id="a", modalities=["text"], task="ner", count=1),
            SetSpec(id="b", modalities=["text"], task="ner", count=1),
            SetSpec(id="c", modalities=["text"], task="ee", count=1)]
    m = Manifest(name="m", version="1", sets=sets)
    ia = score_instance(inst("ner", {"entities": [ANN, BOB]}, TEXT, set_id="a", iid="1"),
                        pred("1", entities=[ANN]))  # F1 = 2*1/(1+2) = 66.67
    ib = score_instance(inst("ner", {"entities": [ANN]}, TEXT, set_id="b", iid="2"),
                        pred("2", entities=[ANN]))  # 100
    ic = score_instance(inst("ee", {"events": [_event("t", "Meet", ("met", (4, 7)), [])]}, TEXT,
                             set_id="c", iid="3"), pred("3"))
    agg = aggregate(m, [ia, ib, ic], {"name": "m"}, n_resamples=100)
    assert agg.macro["f1"].value == pytest.approx((200 / 3 + 100) / 2)
    assert agg.macro["f1"].n == 2
    assert agg.macro["et"].value == 0.0 and "ea" not in agg.macro  # no gold, nothing predicted


def test_normalise_text() -> None:
    assert normalise_text("  New \n York, ") == "new york"
    assert normalise_text("«U.S.»") == "u.s"
    assert normalise_text("...") == ""
