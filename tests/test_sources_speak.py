"""`muie-bench data speak`: spoken versions of imported text and text+image sets.

The audio checks are muie-synth's (tests/test_datagen_exactness.py): every spoken mention's
time span carries speech energy, spans follow the text order and do not overlap, the padding
after the speech is silent.
"""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from muie_bench.benchmark import Benchmark, load_benchmark, validate_benchmark
from muie_bench.errors import UserError
from muie_bench.sources import import_dataset
from muie_bench.sources.speak import parse_target, speak_benchmark
from tests.test_sources_import import _m2e2_files

pytest.importorskip("espeakng_loader")

SENTENCES = [
    ("Maria Lopez joined Acme Corp in Boston .", [(0, 2, "PER:Individual"), (3, 5, "ORG:Commercial"), (6, 7, "GPE:Population-Center")]),
    ("The mayor of Paris met workers from Renault yesterday .", [(1, 2, "PER:Individual"), (3, 4, "GPE:Population-Center"), (7, 8, "ORG:Commercial")]),
    ("Police in Texas arrested two men near the border .", [(0, 1, "ORG:Government"), (2, 3, "GPE:State-or-Province"), (5, 6, "PER:Group"), (8, 9, "LOC:Boundary")]),
]


def _ace(tmp_path: Path) -> Path:
    recs = []
    for text, ents in SENTENCES:
        words = text.split()
        recs.append({"words": words, "golden-event-mentions": [], "golden-entity-mentions": [
            {"start": s, "end": e, "text": " ".join(words[s:e]), "entity-type": t} for s, e, t in ents]})
    (tmp_path / "ace.json").write_text(json.dumps(recs))
    import_dataset("ace05", [tmp_path / "ace.json"], tmp_path / "t")
    return tmp_path / "t"


def check_speech(bench: Benchmark) -> int:
    """muie-synth's audio checks on every audio instance; the number of spans checked."""
    n = 0
    for inst in bench.instances:
        assert inst.audio is not None
        x, rate = bench.media.audio(inst.audio)
        voiced = x[: int(len(x) - 0.25 * rate)]
        level = float(np.sqrt(np.mean(voiced.astype(np.float64) ** 2)))
        assert np.abs(x[int(len(x) - 0.2 * rate):]).max() == 0.0, inst.id
        spoken = [m for m in inst.gold.mentions() if m.audio_spans]
        for m in spoken:
            for s, e in m.audio_spans or []:
                seg = x[int(s * rate): int(e * rate)]
                assert len(seg) > 0.05 * rate, (inst.id, m.id)
                rms = float(np.sqrt(np.mean(seg.astype(np.float64) ** 2)))
                assert rms > 0.3 * level, (inst.id, m.id, rms, level)
                n += 1
        times = sorted(s for m in spoken if m.id.startswith("e") for s in m.audio_spans or [])
        for (_, e0), (s1, _) in pairwise(times):
            assert e0 <= s1, (inst.id, times)
    return n


def test_speak_text_set_a_and_ta(tmp_path: Path) -> None:
    src = _ace(tmp_path)
    r = speak_benchmark(src, tmp_path / "sp")
    assert r.counts == {"a-ner": 3, "ta-ner": 3} and r.unlocated == 0
    bench = validate_benchmark(tmp_path / "sp")
    assert check_speech(bench) == 2 * 10
    t = load_benchmark(src)
    by = {i.id: i for i in t.instances}
    for inst in bench.instances:
        orig = by[inst.meta["speech_of"]]
        assert [(m.type, m.text) for m in inst.gold.entities] == [(m.type, m.text) for m in orig.gold.entities]
        if inst.set == "a-ner":
            assert inst.text is None and all(m.span is None for m in inst.gold.entities)
        else:
            assert inst.text == orig.text and [m.span for m in inst.gold.entities] == [m.span for m in orig.gold.entities]
        in_text_order = sorted(orig.gold.entities, key=lambda m: m.span or (0, 0))
        starts = [(inst.gold.entity(m.id).audio_spans or [[0.0, 0.0]])[0][0] for m in in_text_order]
        assert starts == sorted(starts)  # spoken in text order
    spec = bench.manifest.set("ta-ner")
    assert spec.source == "ACE05 (speech)" and spec.entity_types == t.manifest.set("t-ner").entity_types
    assert any(a.name == "espeak-ng" for a in bench.manifest.assets)


def test_speak_text_image_set_keeps_masks(tmp_path: Path) -> None:
    import_dataset("m2e2", _m2e2_files(tmp_path), tmp_path / "ti", media=tmp_path / "img")
    r = speak_benchmark(tmp_path / "ti", tmp_path / "sp", targets=["I+A", "T+I+A"], seed=3)
    assert r.counts == {"ia-ee": 1, "tia-ee": 1}
    bench = validate_benchmark(tmp_path / "sp")
    assert check_speech(bench) == 2 * 4  # three entities and the trigger
    orig = load_benchmark(tmp_path / "ti").instances[0]
    for inst in bench.instances:
        assert inst.image == orig.image
        assert [m.image_mask for m in inst.gold.mentions()] == [m.image_mask for m in orig.gold.mentions()]
        assert inst.gold.events[0].trigger.audio_spans
    assert bench.manifest.set("tia-ee").grounding == "box"


def test_speak_is_deterministic(tmp_path: Path) -> None:
    src = _ace(tmp_path)
    a = speak_benchmark(src, tmp_path / "a", targets=["A"], seed=5)
    b = speak_benchmark(src, tmp_path / "b", targets=["A"], seed=5)
    assert (a.out / "instances.jsonl").read_bytes() == (b.out / "instances.jsonl").read_bytes()
    assert load_benchmark(a.out).manifest.files == load_benchmark(b.out).manifest.files


def test_speak_rejects_what_it_cannot_speak(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not a speech target"):
        parse_target("T+I")
    with pytest.raises(UserError, match="only text and text\\+image sets can be spoken"):
        speak_benchmark(Path(__file__).parent / "data" / "tiny", tmp_path / "x", sets=["i-ee"])
