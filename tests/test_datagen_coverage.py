"""The bundled mini benchmark validates and grounds mentions in every scored modality."""

from __future__ import annotations

import json
from pathlib import Path

from muie_bench.benchmark import load_benchmark, validate_benchmark
from muie_bench.paper_sets import PAPER_SETS
from muie_bench.schema import Instance, Mention

COLUMN_MODALITY = {"i_seg": "image", "a_seg": "audio", "v_trck": "video"}


def test_mini_validates_with_paper_layout(mini_dir: Path) -> None:
    bench = validate_benchmark(mini_dir)
    assert len(bench) == 120
    assert [s.id for s in bench.manifest.sets] == [p.id for p in PAPER_SETS]
    for ps, spec in zip(PAPER_SETS, bench.manifest.sets, strict=True):
        assert tuple(spec.modalities) == ps.modalities and spec.task == ps.task
        assert spec.count == 8 and spec.entity_types
        if ps.task == "re":
            assert spec.relation_types
        if ps.task == "ee":
            assert spec.event_types and all(spec.event_types.values())


def _grounded(m: Mention, modality: str) -> bool:
    return {"image": m.image_mask, "audio": m.audio_spans, "video": m.video_track}[modality] is not None


def _spoken(inst: Instance, m: Mention) -> bool:
    """tia-ner hashtags follow the spoken part of the tweet: text-only by design."""
    return not (inst.set == "tia-ner" and m.text.startswith("#"))


def test_every_scored_modality_is_grounded(mini_dir: Path) -> None:
    """Sets without text: every entity and trigger carries each scored grounding. Sets with
    text: every mention has its exact span and is spoken (audio sets); most entities of
    image sets are depicted, the rest are the text-only (modality-specific) ones."""
    bench = load_benchmark(mini_dir)
    for ps in PAPER_SETS:
        insts = [i for i in bench.instances if i.set == ps.id]
        mods = [COLUMN_MODALITY[c] for c in ps.columns if c in COLUMN_MODALITY]
        shown = total = 0
        for inst in insts:
            assert not inst.gold.is_empty(), inst.id
            if ps.task == "re":
                assert inst.gold.relations, inst.id
            if ps.task == "ee":
                assert inst.gold.events and all(e.arguments for e in inst.gold.events), inst.id
            for m in inst.gold.mentions():
                if inst.text is not None:
                    assert m.span is not None and inst.text[m.span[0]:m.span[1]] == m.text
                for mod in mods:
                    if mod == "image" and inst.text is not None:
                        total += 1
                        shown += _grounded(m, mod)
                    elif mod == "audio" and not _spoken(inst, m):
                        assert m.audio_spans is None
                    else:
                        assert _grounded(m, mod), (inst.id, m.id, mod)
        if total:
            assert shown >= total / 2, ps.id
    ia = [i for i in bench.instances if i.set == "ia-re"]
    for inst in ia:
        for r in inst.gold.relations:
            for side in (r.head, r.tail):
                m = inst.gold.entity(side)
                assert m.image_mask is not None and m.audio_spans, (inst.id, side)


def test_manifest_assets_and_hashes(mini_dir: Path) -> None:
    man = json.loads((mini_dir / "manifest.json").read_text())
    media = {rel for rel in man["files"] if rel != "instances.jsonl"}
    used: set[str] = set()
    for a in man["assets"]:
        assert a["licence"] and a["source"] and a["used_in"], a["name"]
        used.update(a["used_in"])
    assert used == media
    assert "fictional" in man["description"]
    assert man["generator"]["seed"] == 0 and man["generator"]["per_set"] == 8
