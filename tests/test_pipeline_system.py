"""The ``pipeline`` kind end to end on real instances of muie-synth-mini, network blocked."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from muie_bench.benchmark import Benchmark, load_benchmark
from muie_bench.errors import UserError
from muie_bench.schema import RLE, Prediction, VideoTrack
from muie_bench.systems.registry import build_system, presets

pytest.importorskip("faster_whisper")
pytest.importorskip("rapidocr_onnxruntime")
pytest.importorskip("spacy")

pytestmark = pytest.mark.offline_models


@pytest.fixture(scope="module")
def no_network() -> Iterator[None]:
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else str(address)
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in (
                "127.0.0.1", "::1", "localhost"):
            raise RuntimeError(f"network blocked in tests: {address}")
        return real_connect(self, address)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setattr(socket.socket, "connect", guarded)
        yield


@pytest.fixture(scope="module")
def bench(mini_dir: Path) -> Benchmark:
    return load_benchmark(mini_dir)


@pytest.fixture(scope="module")
def system(bench: Benchmark, no_network: None) -> Any:
    s = build_system("pipeline-offline")
    s.setup(bench)
    return s


def _first(bench: Benchmark, set_id: str) -> Any:
    return next(i for i in bench if i.set == set_id)


def test_presets_are_registered() -> None:
    p = presets()
    for name in ("pipeline-offline", "asr-spacy", "ocr-spacy", "text-spacy"):
        assert p[name].kind == "pipeline" and p[name].description
    s = build_system("pipeline-offline")
    assert s.parallelism == "process"
    assert s.components()["pocketsphinx"] != "missing"


def test_overrides_reach_nested_settings() -> None:
    s = build_system("asr-spacy", {"grounder.asr.beam_size": 2, "grounder.min_ratio": 0.9,
                                   "text_ie": {"trigger_pos": ["VERB", "NOUN"]}})
    assert s.grounder.component("asr").beam_size == 2  # type: ignore[attr-defined]
    assert s.grounder.min_ratio == 0.9  # type: ignore[attr-defined]
    assert s.ie.trigger_pos == ["VERB", "NOUN"]  # type: ignore[attr-defined]
    assert s.settings.ground == ["audio"]  # preset value kept


def test_unknown_setting_is_a_user_error() -> None:
    with pytest.raises(UserError, match="setting"):
        build_system("pipeline-offline", {"no_such_setting": 1})


@pytest.mark.parametrize("set_id", ["ti-ner", "ta-re", "ia-re", "tv-ee", "a-ner"])
def test_predictions_are_grounded_and_traced(system: Any, bench: Benchmark, set_id: str) -> None:
    inst = _first(bench, set_id)
    pred = system.predict(inst, bench)
    Prediction.model_validate_json(pred.model_dump_json())  # serialisable, schema-valid
    out = pred.output
    spec = bench.manifest.set(set_id)
    assert out.entities, pred.trace.get("ie_text")
    for m in out.entities:
        assert m.type is None or m.type in spec.entity_types
        assert m.span is None or inst.text is not None
    timings = pred.trace["timings"]
    assert "text_ie" in timings and "ground" in timings
    assert all(v >= 0 for v in timings.values())
    media = [m for m in ("image", "audio", "video") if m in inst.modalities]
    grounded = {g for m in out.mentions() for g in m.grounded_modalities()}
    assert grounded, "no mention grounded"
    assert grounded <= set(media)
    if "audio" in media:
        assert "asr" in timings or "align" in timings
        assert pred.trace["audio_words"]["words"]
    if "image" in media:
        assert "ocr" in pred.trace and "detect" in timings
    if "video" in media:
        assert pred.trace["video"]["tracklets"]


def test_text_spacy_grounds_nothing(bench: Benchmark, no_network: None) -> None:
    s = build_system("text-spacy")
    inst = _first(bench, "ta-ner")
    pred = s.predict(inst, bench)
    assert pred.output.entities
    assert all(not m.grounded_modalities() for m in pred.output.entities)
    assert set(pred.trace["timings"]) == {"text_ie", "ground"}


def test_builtin_grounder_api(bench: Benchmark, no_network: None) -> None:
    """The contract the MLLM systems rely on: RLE / VideoTrack / spans / None."""
    from muie_bench.systems.pipeline.grounders import BuiltinGrounder

    g = BuiltinGrounder.from_settings({})
    inst = _first(bench, "ti-ner")
    sign = next(m for m in inst.gold.entities if m.type == "LOC" and m.image_mask is not None)
    r = g.ground("image", sign.text, "LOC", inst, bench)
    assert isinstance(r, RLE) and tuple(r.size) == tuple(sign.image_mask.size)  # type: ignore[union-attr]
    assert g.ground("image", "zzqx wvvk", None, inst, bench) is None
    assert g.ground("audio", sign.text, None, inst, bench) is None  # no audio input

    inst = _first(bench, "ta-ner")
    m = inst.gold.entities[0]
    spans = g.ground("audio", m.text, m.type, inst, bench)
    assert isinstance(spans, list) and spans
    assert abs(spans[0][0] - m.audio_spans[0][0]) < 0.15  # type: ignore[index]

    inst = _first(bench, "tv-ee")
    t = g.ground("video", "person", "person", inst, bench)
    assert isinstance(t, VideoTrack) and t.frames


def test_trigger_region_is_the_union_of_its_arguments(system: Any, bench: Benchmark) -> None:
    from pycocotools import mask as mask_utils

    inst = _first(bench, "ti-ee")
    pred = system.predict(inst, bench)
    ev = next(e for e in pred.output.events if e.arguments)
    masks = [pred.output.entity(a.mention).image_mask for a in ev.arguments]
    assert ev.trigger.image_mask is not None and all(m is not None for m in masks)
    area = mask_utils.area({"size": list(ev.trigger.image_mask.size),
                            "counts": ev.trigger.image_mask.counts})
    parts = [mask_utils.area({"size": list(m.size), "counts": m.counts}) for m in masks if m]
    assert max(parts) <= area <= sum(parts)


def test_ocr_names_correct_the_transcript() -> None:
    from muie_bench.systems.pipeline.asr import Transcript, correct_with_lexicon, split_camel
    from muie_bench.systems.pipeline.common import Word

    heard = ["North", "Orangcroft", "celebrated", "the", "anniversary"]
    tr = Transcript(" ".join(heard), [Word(w, i * 0.5, i * 0.5 + 0.4) for i, w in enumerate(heard)])
    out = correct_with_lexicon(tr, [split_camel("NoorThorncroft")], 0.7)
    assert out.text == "Noor Thorncroft celebrated the anniversary"
    assert out.words[0].start == 0.0 and out.words[1].end == 0.9
    assert correct_with_lexicon(tr, ["Lake Sorrow"], 0.7) is tr  # nothing sounds like it


def test_text_times_from_asr_when_alignment_fails() -> None:
    from muie_bench.systems.pipeline.common import Word
    from muie_bench.systems.pipeline.grounders import anchor_to_asr

    asr = [Word("volunteers", 0.0, 0.6), Word("from", 0.6, 0.8), Word("coravid", 0.8, 1.2),
           Word("robotics", 1.2, 1.8), Word("cleaned", 1.8, 2.2)]
    words = anchor_to_asr("Volunteers from Corvid Robotics cleaned.", asr)
    assert [w.text for w in words] == ["volunteers", "from", "corvid", "robotics", "cleaned"]
    assert words[2].start == 0.8 and words[2].end == 1.2  # between its matched neighbours
    assert anchor_to_asr("nothing alike", asr) == []


def test_spans_trimmed_to_speech(bench: Benchmark, no_network: None) -> None:
    s = build_system("asr-spacy", {"grounder.trim_to_speech": True})
    inst = _first(bench, "ta-ner")
    pred = s.predict(inst, bench)
    speech = s.grounder.speech(inst, bench)  # type: ignore[attr-defined]
    assert speech and "vad" in pred.trace["timings"]
    spans = [sp for m in pred.output.entities for sp in (m.audio_spans or [])]
    assert spans
    for a, b in spans:
        assert any(lo <= a and b <= hi for lo, hi in speech) or any(
            lo < b and a < hi for lo, hi in speech)
