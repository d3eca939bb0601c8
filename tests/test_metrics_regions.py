"""Grounding regions are the mentions the task's tuples refer to, on the gold and predicted side."""

from __future__ import annotations

from pathlib import Path

import pytest

from muie_bench.benchmark import Benchmark, load_benchmark
from muie_bench.metrics.evaluate import score, score_instance
from muie_bench.metrics.grounding import task_regions
from muie_bench.schema import Annotation, Instance, Prediction

GROUNDING = ("i_seg", "a_seg", "v_trck")


def perfect_answer(gold: Annotation, task: str) -> Annotation:
    """The gold tuples and only the mentions they refer to (entities in no tuple removed)."""
    ann = gold.model_copy(deep=True)
    if task == "re":
        used = {r.head for r in ann.relations} | {r.tail for r in ann.relations}
        ann.entities = [e for e in ann.entities if e.id in used]
    elif task == "ee":
        used = {a.mention for e in ann.events for a in e.arguments}
        ann.entities = [e for e in ann.entities if e.id in used]
    return ann


def _bench(request: pytest.FixtureRequest, which: str) -> Benchmark:
    return load_benchmark(request.getfixturevalue(f"{which}_dir"))


@pytest.mark.parametrize("which", ["tiny", "mini"])
def test_a_perfect_answer_is_100_on_every_grounding_column(request: pytest.FixtureRequest,
                                                           which: str) -> None:
    bench = _bench(request, which)
    preds = [Prediction(id=i.id, output=perfect_answer(i.gold, i.task)) for i in bench]
    scores, inst_scores = score(bench, preds, n_resamples=0)
    reported = 0
    for sid, ss in scores.sets.items():
        for metric in (*GROUNDING, "grounded_f1"):
            if metric in ss.metrics:
                assert ss.metrics[metric].value == 100.0, (sid, metric)
                reported += 1
    assert reported > len(scores.sets)  # grounded F1 everywhere and grounding columns too
    for s in inst_scores:
        assert all(v == 1.0 for v in s.grounding.values()), s.id


def test_gold_entities_in_no_relation_do_not_cap_a_perfect_re_answer(mini_dir: Path) -> None:
    bench = load_benchmark(mini_dir)
    inst = bench.get("a-re-0002")  # C1 is grounded in audio but in no relation
    assert {e.id for e in inst.gold.entities} - {r.head for r in inst.gold.relations} - {
        r.tail for r in inst.gold.relations}
    s = score_instance(inst, Prediction(id=inst.id, output=perfect_answer(inst.gold, "re")))
    assert s.grounding == {"a_seg": 1.0}  # was 2/3 (A-Seg 66.7)


@pytest.mark.parametrize("which", ["tiny", "mini"])
def test_entities_without_tuples_earn_nothing_in_re_and_ee(request: pytest.FixtureRequest,
                                                           which: str) -> None:
    bench = _bench(request, which)
    checked = 0
    for inst in bench:
        if inst.task == "ner":
            continue
        entities_only = Annotation(entities=[e.model_copy() for e in inst.gold.entities])
        s = score_instance(inst, Prediction(id=inst.id, output=entities_only))
        assert all(v == 0.0 for v in s.grounding.values()), (inst.id, s.grounding)
        assert s.counts["grounded_f1"].tp == 0
        checked += bool(s.grounding)
    assert checked > 0


def test_i_re_0000_entities_without_relations_score_0_not_100(mini_dir: Path) -> None:
    inst = load_benchmark(mini_dir).get("i-re-0000")
    s = score_instance(inst, Prediction(id=inst.id, output=Annotation(entities=inst.gold.entities)))
    assert s.grounding == {"i_seg": 0.0}  # was 1.0 (I-Seg 100 with F1 0)
    assert s.counts["f1"].tp == 0


def _ee_instance(trigger_audio: bool) -> Instance:
    trig: dict[str, object] = {"id": "t", "text": "hit"}
    if trigger_audio:
        trig["audio_spans"] = [[2.0, 2.5]]
    gold = {
        "entities": [{"id": "a", "type": "PER", "text": "Ann", "audio_spans": [[0.0, 1.0]]},
                     {"id": "x", "type": "PER", "text": "Bob", "audio_spans": [[4.0, 5.0]]}],
        "events": [{"type": "Attack", "trigger": trig,
                    "arguments": [{"role": "agent", "mention": "a"}]}],
    }
    return Instance(id="e", set="s", modalities=["audio"], task="ee", audio="media/e.wav",
                    gold=Annotation.model_validate(gold))


def test_triggers_are_regions_only_where_a_gold_trigger_is_grounded() -> None:
    plain = _ee_instance(trigger_audio=False)
    regions = task_regions(plain.gold, "ee")
    assert regions.mentions == {0} and regions.triggers == {2}  # "x" is in no tuple
    # a predicted trigger grounded in audio where no gold trigger is: not a region
    pred = Annotation.model_validate({
        "entities": [{"id": "a", "type": "PER", "text": "Ann", "audio_spans": [[0.0, 1.0]]}],
        "events": [{"type": "Attack", "trigger": {"id": "t", "text": "hit",
                                                   "audio_spans": [[7.0, 8.0]]},
                    "arguments": [{"role": "agent", "mention": "a"}]}],
    })
    s = score_instance(plain, Prediction(id="e", output=pred))
    assert s.grounding == {"a_seg": 1.0}
    assert s.counts["grounded_f1"].tp == 1
    # a grounded gold trigger is a region: the wrong predicted trigger time costs half
    grounded = _ee_instance(trigger_audio=True)
    s = score_instance(grounded, Prediction(id="e", output=pred))
    assert s.grounding == {"a_seg": 0.5}
    assert s.counts["grounded_f1"].tp == 0
    oracle = perfect_answer(grounded.gold, "ee")
    s = score_instance(grounded, Prediction(id="e", output=oracle))
    assert s.grounding == {"a_seg": 1.0} and s.counts["grounded_f1"].tp == 1
