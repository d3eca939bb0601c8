"""Wiring of the enabled full-tier components into a pipeline system."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from muie_bench.systems.pipeline.full.grounder import FullGrounder
from muie_bench.systems.pipeline.text_ie import SpacyIE


def build_full(s: Any) -> tuple[SpacyIE, FullGrounder]:
    """The text IE and grounder of the pipeline settings ``s`` with its enabled components
    (models not loaded)."""
    from muie_bench.systems.pipeline.full.captioner import Captioner
    from muie_bench.systems.pipeline.full.hf_ner import TransformersIE
    from muie_bench.systems.pipeline.full.pyannote_vad import PyannoteSpeech
    from muie_bench.systems.pipeline.full.referring import ReferringSegmenter
    from muie_bench.systems.pipeline.full.whisper_asr import OpenAIWhisperASR
    from muie_bench.systems.pipeline.full.yolo import YoloSegmenter

    ie: SpacyIE = SpacyIE.from_settings(s.text_ie.model_dump())
    if s.hf_ner.enabled:
        ie = TransformersIE(**s.text_ie.model_dump(), ner=s.hf_ner, default_device=s.device)
    g = FullGrounder(**s.grounder.model_dump())
    if s.captioner.enabled:
        g.captioner = Captioner(s.captioner, s.device)
        g.caption_with_ocr = s.captioner.with_ocr
    if s.yolo.enabled:
        g.yolo = YoloSegmenter(s.yolo, s.device)
        g.type_map = {**g.type_map, **s.yolo.class_map}
    if s.whisper.enabled:
        g.whisper = OpenAIWhisperASR(s.whisper, s.device)
    if s.pyannote.enabled:
        g.pyannote = PyannoteSpeech(s.pyannote, s.device)
    if s.referring.enabled:
        g.referring = ReferringSegmenter(s.referring, s.device)
        g.referring_first = s.referring.order == "first"
    return ie, g


def load_full(system: Any, mods: Collection[str]) -> None:
    """Loads the enabled components of the pipeline ``system`` that the benchmark's
    modalities can use (once per worker)."""
    g = system.grounder
    assert isinstance(g, FullGrounder)
    comps: list[Any] = []
    if set(mods) & {"image", "video"}:
        comps += [g.captioner, g.yolo, g.referring]
    if set(mods) & {"audio", "video"}:
        comps += [g.whisper, g.pyannote]
    for comp in comps:
        if comp is not None:
            comp.load()

